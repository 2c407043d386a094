"""The default multilingual model (whisper-base, from PyPI): language detected per media item,
words at the right times when the audio goes through Whisper in several pieces."""

from __future__ import annotations

import pytest

from app.assets import whisper_model_dir
from ingestion.transcribe import FasterWhisperTranscriber, Transcriber
from tests.media import MediaFixture, assert_words_at_clip_times, cache_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whisper_base(pytestconfig: pytest.Config) -> FasterWhisperTranscriber:
    models = cache_dir(pytestconfig, "models")  # assembled once, kept across sessions
    return FasterWhisperTranscriber(
        whisper_model_dir("whisper-base", models), name="whisper-base", max_piece_s=15.0
    )


def test_whisper_base_detects_language_and_times_words(
    whisper_base: FasterWhisperTranscriber, media: MediaFixture
) -> None:
    assert isinstance(whisper_base, Transcriber)
    assert (whisper_base.name, whisper_base.model) == ("faster-whisper", "whisper-base")
    transcript = whisper_base.transcribe(media.audio)
    assert transcript.language == media.truth.language
    assert transcript.language_probability > 0.5
    assert transcript.duration_s == pytest.approx(media.truth.duration_s, abs=0.2)
    assert_words_at_clip_times(transcript.words, media.truth.clips)
