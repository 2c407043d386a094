"""Speak an answer: text for the ear → sentence-by-sentence TTS → WAV (→ avatar MP4).

``Speaker.speak`` is the contract the agent/CLI/API use (docs/contracts.md);
``Speaker.stream`` yields audio one sentence at a time so playback can start early.
Files get server-chosen unique names under ``out_dir`` and appear only when complete.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from speech.audio import Audio, WavStreamWriter, concat, streaming_wav_header
from speech.avatar import Avatar, AvatarError
from speech.spoken import split_sentences, to_spoken
from speech.tts import TTS, UnsupportedLanguageError, base_language


@dataclass(frozen=True)
class SpokenAnswer:
    """Where the spoken answer is, and exactly what was said."""

    audio_path: Path
    spoken_text: str
    video_path: Path | None = None


@dataclass(frozen=True)
class SpokenSentence:
    text: str
    audio: Audio


class Speaker:
    """Turns answers into speech with ``tts`` and, on request, a talking head with ``avatar``."""

    def __init__(
        self,
        tts: TTS,
        avatar: Avatar | Callable[[], Avatar] | None = None,
        *,
        pause_s: float = 0.25,
    ) -> None:
        """``avatar`` may be a zero-argument factory: it is then built on first use, so a
        misconfigured avatar only fails the requests that ask for one."""
        self.tts = tts
        self._avatar = avatar
        self._avatar_lock = threading.Lock()
        self.pause_s = pause_s

    @property
    def avatar(self) -> Avatar | None:
        with self._avatar_lock:
            if self._avatar is not None and not hasattr(self._avatar, "render"):
                self._avatar = self._avatar()  # type: ignore[operator]
            return self._avatar  # type: ignore[return-value]

    def spoken_text(self, text: str, language: str) -> str:
        """The exact text that :meth:`speak` will say for ``text``."""
        return " ".join(self._sentences(text, language))

    def _sentences(self, text: str, language: str) -> list[str]:
        sentences = split_sentences(to_spoken(text, language))
        if not sentences:
            raise ValueError("nothing to speak: the answer has no readable text")
        return sentences

    def stream(self, text: str, language: str) -> Iterator[SpokenSentence]:
        """Synthesise sentence by sentence; each sentence's audio ends with a short pause."""
        if not self.tts.supports(language):
            raise UnsupportedLanguageError(base_language(language), list(self.tts.languages()))
        for sentence in self._sentences(text, language):
            audio = self.tts.synthesize(sentence, language)
            pause = Audio.silence(self.pause_s, audio.sample_rate)
            yield SpokenSentence(sentence, concat([audio, pause]))

    def stream_wav(self, text: str, language: str) -> Iterator[bytes]:
        """The answer as a WAV byte stream (header, then PCM sentence by sentence) for HTTP
        streaming; the first bytes are ready as soon as the first sentence is."""
        rate: int | None = None
        for piece in self.stream(text, language):
            if rate is None:
                rate = piece.audio.sample_rate
                yield streaming_wav_header(rate)
            yield piece.audio.resampled(rate).samples.tobytes()

    def speak(
        self, text: str, language: str, out_dir: Path, *, avatar: bool = False
    ) -> SpokenAnswer:
        """Write ``<out_dir>/answer-<id>.wav`` (and ``.mp4`` with ``avatar=True``)."""
        renderer = self.avatar if avatar else None
        if avatar and renderer is None:
            raise AvatarError("an avatar was requested but no avatar backend is configured")
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"answer-{uuid.uuid4().hex}"
        audio_path = out_dir / f"{stem}.wav"
        said: list[str] = []
        with WavStreamWriter(audio_path) as writer:
            for piece in self.stream(text, language):
                writer.write(piece.audio)
                said.append(piece.text)
        video_path = None
        if renderer is not None:
            try:
                video_path = renderer.render(audio_path, out_dir / f"{stem}.mp4")
            except Exception:
                audio_path.unlink(missing_ok=True)  # no half answer left behind
                raise
        return SpokenAnswer(
            audio_path=audio_path, spoken_text=" ".join(said), video_path=video_path
        )
