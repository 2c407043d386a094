"""Cached faster-whisper transcripts of the eval meetings (``transcript.json`` beside the audio).

The transcript is made by the project's own transcriber (``Container(settings).transcriber``,
exactly as the ingestion pipeline calls it) and additionally keeps Whisper's segments, so
chunking/ranking experiments and the naive baseline can run offline without Whisper.
:class:`CachedTranscriber` hands the same transcript to the ingestor when the audio hash
matches, so the eval does not run Whisper a second time on the same file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion.pipeline import file_sha256
from ingestion.transcribe import ProgressCallback, Transcriber, Transcript, Word

if TYPE_CHECKING:
    from app.container import Container


class _SegmentRecorder:
    """Wraps a ``faster_whisper.WhisperModel`` and keeps the segments of each call."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.segments: list[Any] = []

    def transcribe(self, audio: Any, **kwargs: Any) -> tuple[list[Any], Any]:
        segments, info = self._model.transcribe(audio, **kwargs)
        listed = list(segments)
        self.segments.extend(listed)
        return listed, info


def segments_from(recorded: list[Any], words: list[Word]) -> list[dict[str, Any]]:
    """Whisper segments in media time: each segment takes its words (in order) from the
    transcript, whose times are already offset to the media."""
    out: list[dict[str, Any]] = []
    k = 0
    for seg in recorded:
        n = sum(1 for w in seg.words or () if w.word.strip())
        mine = words[k:k + n]
        k += n
        if not mine:
            continue
        out.append({
            "start": mine[0].start, "end": mine[-1].end, "text": seg.text.strip(),
            "words": [[w.start, w.end, w.text, round(w.probability, 3)] for w in mine],
        })
    if k != len(words):
        raise RuntimeError(f"segment words ({k}) do not match transcript words ({len(words)})")
    return out


def transcribe_cached(container: Container, audio: Path, out: Path) -> Path:
    """Write ``out`` (transcript.json) for ``audio`` unless it exists for the same audio
    hash and model; returns ``out``."""
    sha = file_sha256(audio)
    transcriber = container.transcriber
    if out.is_file():
        old = json.loads(out.read_text(encoding="utf-8"))
        if old.get("audio_sha256") == sha and old.get("model") == transcriber.model:
            return out
    whisper = getattr(transcriber, "_whisper", None)
    if whisper is None:
        raise RuntimeError(f"{transcriber.name} keeps no Whisper segments: use faster-whisper")
    recorder = _SegmentRecorder(whisper)
    transcriber._whisper = recorder  # type: ignore[attr-defined]  # record, same calls
    try:
        transcript = transcriber.transcribe(audio, language=container.settings.asr_language)
    finally:
        transcriber._whisper = whisper  # type: ignore[attr-defined]
    payload = {
        "audio": audio.name, "audio_sha256": sha, "model": transcriber.model,
        "language": transcript.language,
        "language_probability": round(transcript.language_probability, 4),
        "duration_s": transcript.duration_s,
        "segments": segments_from(recorder.segments, transcript.words),
    }
    tmp = out.with_name("." + out.name + ".part")
    tmp.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def load_transcript(path: Path) -> Transcript:
    """A ``transcript.json`` back into the pipeline's ``Transcript``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    words = [
        Word(start=w[0], end=w[1], text=w[2], probability=w[3])
        for seg in data["segments"]
        for w in seg["words"]
    ]
    return Transcript(
        language=data["language"], language_probability=data["language_probability"],
        duration_s=data["duration_s"], words=words,
    )


class CachedTranscriber:
    """A ``Transcriber`` that answers from ``transcript.json`` files made by the same model
    for the same audio bytes, and asks ``inner`` for anything else."""

    def __init__(self, inner: Transcriber, transcripts: list[Path]) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._by_sha: dict[str, Path] = {}
        for path in transcripts:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("model") == inner.model:
                self._by_sha[data["audio_sha256"]] = path

    def transcribe(
        self,
        path: Path,
        *,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        cached = self._by_sha.get(file_sha256(Path(path)))
        if cached is None:
            return self.inner.transcribe(path, language=language, progress=progress)
        transcript = load_transcript(cached)
        if language and transcript.language != language:
            return self.inner.transcribe(path, language=language, progress=progress)
        if progress:
            progress(1.0)
        return transcript
