"""Real TTS engines: Piper English round trip through Whisper, eSpeak NG for Indian
languages, the language router and the Speaker contract."""

from __future__ import annotations

import wave
from pathlib import Path

import jiwer
import numpy as np
import pytest

from app.assets import piper_voice, whisper_model_dir
from speech.audio import Audio, read_wav
from speech.avatar import AvatarError
from speech.espeak_tts import EspeakTTS, list_voices
from speech.factory import build_tts
from speech.piper_tts import PiperTTS
from speech.router import TTSRouter
from speech.speaker import Speaker
from speech.tts import TTS, TTSError, UnsupportedLanguageError

ENGLISH_ANSWER = (
    "The team approved the new budget [Weekly sync @ 02:05–02:30]. "
    "**Alice** asked for a review of the hiring plan before the end of March "
    "[Weekly sync @ 14:10–14:40]."
)
HINDI_ANSWER = (
    "टीम ने नया बजट मंज़ूर किया [साप्ताहिक बैठक @ 02:05–02:30]। एलिस ने भर्ती योजना की समीक्षा माँगी।"
)
TAMIL_ANSWER = "குழு புதிய பட்ஜெட்டை அங்கீகரித்தது [வாராந்திர கூட்டம் @ 02:05–02:30]. அடுத்த கூட்டம் திங்கள் அன்று."

_WER_TRANSFORM = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
        jiwer.ReduceToListOfListOfWords(),
    ]
)


def speech_fraction(audio: Audio, frame_s: float = 0.02) -> float:
    """Share of 20 ms frames louder than -35 dBFS (speech present)."""
    x = audio.to_float()
    hop = int(audio.sample_rate * frame_s)
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10((frames**2).mean(axis=1) + 1e-10)
    return float((level > -35).mean())


@pytest.fixture(scope="session")
def piper() -> PiperTTS:
    onnx, config = piper_voice()
    return PiperTTS(onnx, config, threads=2)


@pytest.fixture(scope="session")
def espeak() -> EspeakTTS:
    return EspeakTTS()


@pytest.fixture(scope="session")
def whisper(tmp_path_factory):
    """The project's transcriber on the small English Whisper model."""
    from ingestion.transcribe import FasterWhisperTranscriber

    folder = whisper_model_dir("tiny.en", tmp_path_factory.mktemp("models"))
    return FasterWhisperTranscriber(folder, threads=2)


@pytest.mark.slow
def test_english_answer_round_trips_through_whisper(piper, espeak, whisper, tmp_path):
    speaker = Speaker(TTSRouter([piper, espeak]))
    result = speaker.speak(ENGLISH_ANSWER, "en", tmp_path)
    assert result.audio_path.parent == tmp_path and result.audio_path.suffix == ".wav"
    assert result.video_path is None
    assert "at two minutes five seconds" in result.spoken_text
    assert "[" not in result.spoken_text and "*" not in result.spoken_text
    audio = read_wav(result.audio_path)
    assert audio.sample_rate == piper.sample_rate  # Piper, not the eSpeak fallback, spoke
    heard = whisper.transcribe(result.audio_path, language="en").text
    error = jiwer.wer(
        result.spoken_text,
        heard,
        reference_transform=_WER_TRANSFORM,
        hypothesis_transform=_WER_TRANSFORM,
    )
    assert error <= 0.3, (result.spoken_text, heard, error)


@pytest.mark.slow
def test_piper_without_sampled_noise_says_the_same_text_the_same_way():
    # eval recordings are rebuilt on every machine: without noise they are the same audio
    onnx, config = piper_voice()
    steady = PiperTTS(onnx, config, threads=1, sample_noise=False)
    text = "So the selling price will be twenty five euros."
    first, again = steady.synthesize(text, "en"), steady.synthesize(text, "en")
    assert first.samples.size > steady.sample_rate  # over a second of speech
    assert np.array_equal(first.samples, again.samples)
    # the default samples noise: the same text is spoken a little differently each time
    sampled = PiperTTS(onnx, config, threads=1)
    takes = [sampled.synthesize(text, "en").samples for _ in range(3)]
    assert not all(np.array_equal(takes[0], t) for t in takes[1:])


def test_piper_speaks_only_its_own_language(piper):
    assert piper.languages() == {"en"} and piper.supports("en-US")
    with pytest.raises(UnsupportedLanguageError, match="'hi'"):
        piper.synthesize("नमस्ते", "hi")


@pytest.mark.parametrize(("answer", "language"), [(HINDI_ANSWER, "hi"), (TAMIL_ANSWER, "ta")])
def test_indian_language_answers_are_audible_and_plausibly_long(espeak, tmp_path, answer, language):
    speaker = Speaker(espeak)
    result = speaker.speak(answer, language, tmp_path)
    audio = read_wav(result.audio_path)
    words = len(result.spoken_text.split())
    # Read speech runs at roughly 1.5–4 words per second.
    assert words / 4 <= audio.duration_s <= words / 1.0 + 1.0, (words, audio.duration_s)
    assert speech_fraction(audio) > 0.4
    assert "[" not in result.spoken_text and "02" not in result.spoken_text


def test_espeak_lists_the_indian_voices(espeak):
    voices = list_voices()
    for code in ("hi", "ta", "te", "bn", "mr", "gu", "kn", "ml", "pa"):
        assert code in voices and espeak.supports(code)
    assert voices["zh"] == "cmn"  # via eSpeak's own "other languages" ranking


def test_unknown_language_is_a_clear_error_not_silence(espeak, tmp_path):
    speaker = Speaker(TTSRouter([espeak]))
    with pytest.raises(UnsupportedLanguageError) as info:
        speaker.speak("Ẹ kú àárọ̀", "yo", tmp_path)
    assert "'yo'" in str(info.value) and "hi" in info.value.available
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_router_picks_backend_by_language(espeak):
    class EnglishOnly:
        name = "english-only"

        def __init__(self):
            self.calls = 0

        def languages(self):
            return {"en"}

        def supports(self, language):
            return language.startswith("en")

        def synthesize(self, text, language):
            self.calls += 1
            return Audio(np.ones(100, dtype=np.int16), 16000)

    first = EnglishOnly()
    assert isinstance(first, TTS)
    router = TTSRouter([first, espeak])
    assert router.backend_for("en") is first and router.backend_for("hi-IN") is espeak
    assert router.synthesize("नमस्ते", "hi").sample_rate == 22050
    assert first.calls == 0


def test_speaker_streams_sentence_by_sentence_with_unique_files(espeak, tmp_path):
    speaker = Speaker(espeak)
    pieces = list(speaker.stream("One. Two words. Three more words here.", "en"))
    assert [p.text for p in pieces] == ["One.", "Two words.", "Three more words here."]
    assert pieces[0].audio.duration_s < pieces[2].audio.duration_s
    a = speaker.speak("Hello.", "en", tmp_path / "answers")
    b = speaker.speak("Hello.", "en", tmp_path / "answers")
    assert a.audio_path != b.audio_path and a.audio_path.exists() and b.audio_path.exists()
    with wave.open(str(a.audio_path)) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
    assert speaker.spoken_text("Hello [x @ 00:05].", "en") == "Hello, at five seconds."


def test_speaker_rejects_empty_answers_and_missing_avatar(espeak, tmp_path):
    speaker = Speaker(espeak)
    with pytest.raises(ValueError, match="nothing to speak"):
        speaker.speak("**  []  **", "en", tmp_path)
    with pytest.raises(AvatarError, match="no avatar backend"):
        speaker.speak("Hello.", "en", tmp_path, avatar=True)
    assert list(tmp_path.iterdir()) == []


def test_espeak_errors_are_clear(tmp_path):
    with pytest.raises(TTSError, match="not installed"):
        EspeakTTS(binary="no-such-espeak")


@pytest.mark.slow
def test_factory_chains_configured_backend_with_fallbacks():
    tts = build_tts("auto", piper_voice=piper_voice())
    assert [b.name for b in tts.backends] == ["piper", "espeak"]
    assert tts.backend_for("en").name == "piper" and tts.backend_for("ta").name == "espeak"
    assert [b.name for b in build_tts("espeak").backends] == ["espeak"]
    with pytest.raises(ValueError, match="needs a server URL"):
        build_tts("openai")
    with pytest.raises(TTSError, match="no transformers checkpoint"):
        build_tts("transformers", transformers_path=Path("/nonexistent"))


def test_wav_stream_plays_as_one_file(espeak):
    speaker = Speaker(espeak)
    chunks = list(speaker.stream_wav("First sentence. Second one.", "en"))
    assert len(chunks) == 3 and chunks[0][:4] == b"RIFF"  # header, then one chunk a sentence
    audio = read_wav(b"".join(chunks))
    pieces = list(speaker.stream("First sentence. Second one.", "en"))
    assert len(audio.samples) == sum(len(p.audio.samples) for p in pieces)


def test_container_builds_speaker_from_settings(tmp_path):
    from app.config import Settings
    from app.container import Container

    settings = Settings(home=tmp_path, tts_backend="espeak", avatar_backend="http")
    speaker = Container(settings).speaker
    assert [b.name for b in speaker.tts.backends] == ["espeak"]
    result = speaker.speak("Hello there.", "en", settings.answers_dir)
    assert result.audio_path.parent == settings.answers_dir
    # A misconfigured avatar fails only the requests that ask for one, clearly.
    with pytest.raises(ValueError, match="lip-sync service URL"):
        speaker.speak("Hello there.", "en", settings.answers_dir, avatar=True)
