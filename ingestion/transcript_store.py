"""A media item's transcript as stored at ingest: Whisper's words with their real times.

Segments are what a reader sees as lines: cut at every speaker change, after a sentence
end, at a pause of ``pause_s`` and at ``max_s``; each keeps its words (text, start, end).
Speakers are stored as the diarizer's ids (``S1``…) with a ``names`` map the user edits
(:meth:`TranscriptStore.rename`); :meth:`MediaTranscript.named` applies it.

Files live at ``<root>/<media_id>/transcript.json`` (written atomically; other per-item
files, such as the chapters ``app/chapters.py`` stores, sit in the same folder). The container
roots the store in the per-media artefact folder that also holds the keyframes, so the
lifecycle's cleanup of a failed, interrupted or deleted item removes it too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ingestion.chunking import SENTENCE_END
from ingestion.transcribe import Transcript, Word, join_words


class TranscriptWord(BaseModel):
    w: str
    start_s: float
    end_s: float


class TranscriptSegment(BaseModel):
    start_s: float
    end_s: float
    speaker: str | None = None
    text: str
    words: list[TranscriptWord] = Field(default_factory=list)


class MediaTranscript(BaseModel):
    media_id: str
    language: str | None = None
    names: dict[str, str] = Field(default_factory=dict, description="speaker id → name")
    segments: list[TranscriptSegment] = Field(default_factory=list)

    def speakers(self) -> list[str]:
        """Speaker ids in order of first appearance."""
        seen: dict[str, None] = {}
        for seg in self.segments:
            if seg.speaker:
                seen.setdefault(seg.speaker, None)
        return list(seen)

    def label(self, speaker: str | None) -> str | None:
        """What a speaker is called now: its name, else its id."""
        return self.names.get(speaker, speaker) if speaker else None

    def named(self) -> MediaTranscript:
        """A copy whose segments carry the speakers' current labels."""
        return self.model_copy(
            update={
                "segments": [
                    seg.model_copy(update={"speaker": self.label(seg.speaker)})
                    for seg in self.segments
                ]
            }
        )

    def between(self, start_s: float | None, end_s: float | None) -> MediaTranscript:
        """A copy with the segments overlapping ``[start_s, end_s]``."""
        lo = start_s if start_s is not None else float("-inf")
        hi = end_s if end_s is not None else float("inf")
        kept = [s for s in self.segments if s.start_s <= hi and s.end_s >= lo]
        return self.model_copy(update={"segments": kept})


def segment_words(
    words: Sequence[Word], *, pause_s: float = 1.0, max_s: float = 10.0
) -> list[list[Word]]:
    """Words into reader lines: a new line at a speaker change, a pause ≥ ``pause_s``, once
    ``max_s`` would be passed, and after a sentence end."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for w in words:
        if current and (
            w.speaker != current[-1].speaker
            or w.start - current[-1].end >= pause_s
            or w.end - current[0].start > max_s
        ):
            groups.append(current)
            current = []
        current.append(w)
        if w.text.endswith(SENTENCE_END):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def build_transcript(media_id: str, transcript: Transcript) -> MediaTranscript:
    segments = [
        TranscriptSegment(
            start_s=g[0].start,
            end_s=max(g[-1].end, g[0].start),
            speaker=g[0].speaker,
            text=join_words(g),
            words=[TranscriptWord(w=w.text, start_s=w.start, end_s=w.end) for w in g],
        )
        for g in segment_words(transcript.words)
    ]
    language = transcript.language if transcript.words else None
    return MediaTranscript(media_id=media_id, language=language, segments=segments)


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` via a temporary file in the same folder and a rename: a reader
    sees the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class TranscriptStore:
    """Stored transcripts, one JSON file per media item."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, media_id: str) -> Path:
        """The item's folder (removed with the item by the lifecycle)."""
        return self.root / media_id

    def path(self, media_id: str) -> Path:
        return self.folder(media_id) / "transcript.json"

    def save(self, doc: MediaTranscript) -> None:
        write_atomically(self.path(doc.media_id), doc.model_dump_json())

    def load(self, media_id: str) -> MediaTranscript | None:
        """The stored transcript, or None (media ingested before transcripts were kept)."""
        path = self.path(media_id)
        if not path.is_file():
            return None
        return MediaTranscript.model_validate_json(path.read_text(encoding="utf-8"))
