"""ChronoRAG speech: spoken and avatar answers.

* :mod:`speech.spoken` — answer text → text for the ear (citations as spoken times).
* :mod:`speech.tts` — the ``TTS`` Protocol; backends :mod:`speech.piper_tts`,
  :mod:`speech.espeak_tts`, :mod:`speech.transformers_tts`, :mod:`speech.openai_tts`;
  :mod:`speech.router` picks one per language; :mod:`speech.factory` builds them.
* :mod:`speech.avatar` — the ``Avatar`` Protocol; :mod:`speech.cv_avatar` (built-in,
  OpenCV + ffmpeg, drawn by :mod:`speech.face`, mouth from :mod:`speech.mouth`) and
  :mod:`speech.http_avatar` (external lip-sync service).
* :mod:`speech.speaker` — ``Speaker.speak(text, language, out_dir, *, avatar=False)``.
"""

from speech.avatar import Avatar, AvatarError
from speech.speaker import Speaker, SpokenAnswer
from speech.tts import TTS, TTSError, UnsupportedLanguageError

__all__ = [
    "TTS",
    "Avatar",
    "AvatarError",
    "Speaker",
    "SpokenAnswer",
    "TTSError",
    "UnsupportedLanguageError",
]
