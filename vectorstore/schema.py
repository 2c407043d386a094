"""The index's data model: a time-stamped chunk, a search request and a hit.

Ingestion produces ``Chunk``s, the index stores them (one point each) and search
returns ``Hit``s. Time is first-class: every chunk spans ``[start_s, end_s]`` in
media time, and time filters are overlap filters.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Source = Literal["speech", "screen", "caption", "document"]

_POINT_NAMESPACE = uuid.UUID("6f1c3a52-4f0e-4a8e-9d61-2b0a4f7f9c11")


class Chunk(BaseModel):
    """One indexed piece of a media item: what was said or shown in a time span."""

    media_id: str
    source: Source
    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    text: str
    language: str | None = None
    recorded_at: datetime | None = None
    keyframe: str | None = Field(default=None, description="Keyframe JPEG path (screen).")
    speaker: str | None = None
    confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Speech: the mean recognition probability of the chunk's words "
        "(low: Whisper probably misheard it, so it is not quoted as said).",
    )
    context: str | None = Field(
        default=None,
        description="What the embedder reads when it differs from ``text``: a speech moment "
        "with its neighbours. ``text`` and the span stay the moment's own.",
    )
    # a companion document's piece (source "document", span 0–0: it has no media time)
    document: str | None = Field(default=None, description="The document's name.")
    page: int | None = Field(default=None, ge=1, description="Its page, when it has pages.")

    @property
    def embed_text(self) -> str:
        return self.context or self.text

    @model_validator(mode="after")
    def _ordered(self) -> Chunk:
        if self.end_s < self.start_s:
            raise ValueError(f"chunk ends before it starts: {self.start_s} > {self.end_s}")
        return self

    @property
    def point_id(self) -> str:
        """Deterministic id (media, source, start in ms; a document's piece: its name,
        page and text): re-ingesting changes nothing."""
        key = f"{self.media_id}/{self.source}/{round(self.start_s * 1000)}"
        if self.source == "document":
            digest = hashlib.sha256(self.text.encode()).hexdigest()[:16]
            key = f"{self.media_id}/document/{self.document}/{self.page}/{digest}"
        return str(uuid.uuid5(_POINT_NAMESPACE, key))


class SearchRequest(BaseModel):
    """A hybrid query with optional media, time-window and source filters."""

    query: str = Field(min_length=1)
    media_ids: list[str] | None = None
    start_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, ge=0)
    source: Source | None = None
    speaker: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=5, ge=1, le=100)


class Hit(BaseModel):
    """A search result; ``title`` is filled from the media registry."""

    media_id: str
    title: str = ""
    source: Source
    start_s: float
    end_s: float
    text: str
    score: float
    language: str | None = None
    keyframe: str | None = None
    document: str | None = None
    page: int | None = None
    speaker: str | None = None
    confidence: float | None = None

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float, title: str = "") -> Hit:
        return cls(
            media_id=chunk.media_id,
            title=title,
            source=chunk.source,
            start_s=chunk.start_s,
            end_s=chunk.end_s,
            text=chunk.text,
            score=score,
            language=chunk.language,
            keyframe=chunk.keyframe,
            document=chunk.document,
            page=chunk.page,
            speaker=chunk.speaker,
            confidence=chunk.confidence,
        )
