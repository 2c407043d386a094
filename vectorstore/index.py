"""The ``ChunkIndex`` protocol and what every backend shares.

One collection holds every chunk as one point: a named dense vector (``dense``), a
named BM25 sparse vector (``keywords``, IDF modifier) and the chunk as payload.
Hybrid search runs both as prefetches and fuses them with reciprocal rank fusion.
Time filters are overlap filters: chunk ``[s, e]`` matches ``[t0, t1]`` when
``s ≤ t1 and e ≥ t0``. The collection records which embedder built it; opening it
with another embedder raises ``IndexMismatchError`` (vectors from two models must
never mix). The backends (``edge_index``, ``qdrant_index``) share their behaviour
through ``index_base.BaseChunkIndex``; only the engine calls differ. Dependencies point
one way: the backends import this module, never the reverse; ``app.container`` chooses
the backend from the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from vectorstore.embedders import Embedder
from vectorstore.schema import Chunk, SearchRequest, Source
from vectorstore.sparse import KeywordEncoder

DENSE = "dense"
SPARSE = "keywords"
SCHEMA_VERSION = 1
RRF_K = 60
UPSERT_BATCH = 256

SearchMode = Literal["hybrid", "dense", "keyword"]

# payload field → index type (keyword, float, datetime)
PAYLOAD_INDEXES: dict[str, str] = {
    "media_id": "keyword",
    "source": "keyword",
    "start_s": "float",
    "end_s": "float",
    "recorded_at": "datetime",
    "speaker": "keyword",
}


class IndexMismatchError(RuntimeError):
    """The index was built by another embedder (or keyword encoder): re-index needed."""


class IndexInUseError(RuntimeError):
    """Another process holds the embedded index open (it locks its write-ahead log)."""


@runtime_checkable
class ChunkIndex(Protocol):
    """Stores chunks and finds them by hybrid search with media/time/source filters."""

    def upsert(self, chunks: Sequence[Chunk]) -> int: ...

    def delete_media(self, media_id: str) -> None: ...

    def delete_document(self, media_id: str, document: str) -> None: ...

    def search(
        self, req: SearchRequest, exclude_media: Sequence[str] = ()
    ) -> list[tuple[Chunk, float]]: ...

    def window(
        self,
        media_id: str,
        start_s: float | None = None,
        end_s: float | None = None,
        sources: Sequence[Source] | None = None,
    ) -> list[Chunk]: ...

    def count(self, media_id: str | None = None) -> int: ...

    def rename_speaker(self, media_id: str, old: str, new: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ChunkFilter:
    """Backend-neutral filter; each backend turns it into its own filter type."""

    media_ids: tuple[str, ...] | None = None
    exclude_media: tuple[str, ...] = ()
    start_s: float | None = None
    end_s: float | None = None
    sources: tuple[str, ...] | None = None
    documents: tuple[str, ...] | None = None  # companion documents by name
    speakers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.start_s is not None and self.end_s is not None and self.end_s < self.start_s:
            raise ValueError(f"time window ends before it starts: {self.start_s} > {self.end_s}")

    @classmethod
    def from_request(cls, req: SearchRequest, exclude_media: Sequence[str] = ()) -> ChunkFilter:
        return cls(
            media_ids=tuple(req.media_ids) if req.media_ids is not None else None,
            exclude_media=tuple(exclude_media),
            start_s=req.start_s,
            end_s=req.end_s,
            sources=(req.source,) if req.source else None,
            speakers=(req.speaker,) if req.speaker else None,
        )


def index_identity(embedder: Embedder, keywords: KeywordEncoder) -> dict[str, Any]:
    """What the collection records about the models that built it."""
    return {
        "schema": SCHEMA_VERSION,
        "embedder": embedder.name,
        "dim": int(embedder.dim),
        "keywords": keywords.name,
    }


def check_identity(stored: dict[str, Any] | None, current: dict[str, Any], where: str) -> None:
    """Raise a clear ``IndexMismatchError`` unless the stored identity equals the current one."""
    if not stored or "embedder" not in stored:
        raise IndexMismatchError(
            f"{where} has no record of the embedder that built it; re-index needed "
            "(delete it and ingest the media again)"
        )
    keys = ("schema", "embedder", "dim", "keywords")
    diffs = [k for k in keys if stored.get(k) != current.get(k)]
    if diffs:
        raise IndexMismatchError(
            f"{where} was built with embedder {stored.get('embedder')!r} "
            f"(dim {stored.get('dim')}, keywords {stored.get('keywords')!r}) but the current one "
            f"is {current['embedder']!r} (dim {current['dim']}, keywords "
            f"{current['keywords']!r}); vectors from two models must not mix: re-index needed "
            "(delete the index or use another collection, then ingest the media again)"
        )


def chunk_payload(chunk: Chunk) -> dict[str, Any]:
    """The point payload: the chunk itself (datetimes as RFC 3339 strings)."""
    return chunk.model_dump(mode="json")


def payload_chunk(payload: dict[str, Any] | None) -> Chunk:
    if not payload:
        raise ValueError("point has no payload")
    return Chunk.model_validate({k: payload.get(k) for k in Chunk.model_fields if k in payload})


def prefetch_limit(limit: int) -> int:
    """Candidates each side contributes to fusion."""
    return max(4 * limit, 40)
