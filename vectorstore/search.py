"""``MediaSearch``: the index as the rest of the app sees it.

Adds what the raw index does not know: only media whose registry status is ``ready``
are searchable (in-flight or failed ingestions never leak into answers), and hits
carry the media title.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vectorstore.index import ChunkIndex
from vectorstore.schema import Chunk, Hit, SearchRequest, Source


class ReadyMedia(Protocol):
    """What search needs to know of media states (``app.lifecycle``'s store has it)."""

    def not_ready_ids(self) -> list[str]: ...

    def is_ready(self, media_id: str) -> bool: ...

    def titles(self, media_ids: list[str]) -> dict[str, str]: ...


class MediaSearch:
    """Hybrid, time-filtered search over ready media, with titles."""

    def __init__(self, index: ChunkIndex, registry: ReadyMedia) -> None:
        self.index = index
        self.registry = registry

    def search(self, req: SearchRequest) -> list[Hit]:
        results = self.index.search(req, exclude_media=self.registry.not_ready_ids())
        titles = self.registry.titles(sorted({chunk.media_id for chunk, _ in results}))
        return [
            Hit.from_chunk(chunk, score, titles.get(chunk.media_id, "")) for chunk, score in results
        ]

    def window(
        self,
        media_id: str,
        start_s: float | None,
        end_s: float | None,
        sources: Sequence[Source] | None = None,
    ) -> list[Chunk]:
        """Chunks of one ready media item overlapping ``[start_s, end_s]``, by start time."""
        if start_s is not None and end_s is not None and end_s < start_s:
            raise ValueError(f"time window ends before it starts: {start_s} > {end_s}")
        if not self.registry.is_ready(media_id):
            return []
        return self.index.window(media_id, start_s, end_s, sources)
