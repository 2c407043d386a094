"""The agent's tools: search, read_window, look, list_media, summarize.

Each tool turns index/registry data into :class:`~graphs.citations.Evidence` the
answer may cite. The search and registry objects are injected (``MediaSearch`` and
``Registry`` from ``vectorstore/``, or anything with the same methods).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from graphs.citations import Evidence, mmss
from graphs.prompts import NO_VLM_NOTE
from graphs.vlm import Frame, VLMClient, VLMError
from vectorstore.registry import MediaRecord
from vectorstore.schema import Chunk, Hit, SearchRequest


class MediaSearchPort(Protocol):
    def search(self, req: SearchRequest) -> list[Hit]: ...

    def window(
        self,
        media_id: str,
        start_s: float | None,
        end_s: float | None,
        sources: Sequence[str] | None = None,
    ) -> list[Chunk]: ...


class MediaCatalog(Protocol):
    def list_media(self, status: str | None = None) -> list[MediaRecord]: ...

    def get_media(self, media_id: str) -> MediaRecord | None: ...


def approx_tokens(text: str) -> int:
    """Rough token count: ~4 Latin characters per token, ~1.5 for other scripts."""
    ascii_chars = sum(1 for ch in text if ch.isascii())
    return max(1, round(ascii_chars / 4 + (len(text) - ascii_chars) / 1.5))


def spread(items: Sequence[Evidence], budget_tokens: int) -> list[Evidence]:
    """Evenly spaced items (kept in order) whose texts fit ``budget_tokens``."""
    items = list(items)
    total = sum(approx_tokens(ev.text) for ev in items)
    if total <= budget_tokens or not items:
        return items
    keep = max(1, int(len(items) * budget_tokens / total))
    step = len(items) / keep
    return [items[int(i * step)] for i in range(keep)]


class Tools:
    """Tool implementations over an injected search and media catalog."""

    def __init__(
        self,
        search: MediaSearchPort,
        catalog: MediaCatalog,
        vlm: VLMClient | None = None,
        *,
        search_limit: int = 4,
    ) -> None:
        self._search = search
        self._catalog = catalog
        self._vlm = vlm
        self.search_limit = search_limit

    # --- media ------------------------------------------------------------------------
    def ready_media(self, media_ids: Sequence[str] | None = None) -> list[MediaRecord]:
        ready = self._catalog.list_media(status="ready")
        if media_ids is None:
            return ready
        wanted = set(media_ids)
        return [m for m in ready if m.media_id in wanted]

    def media(self, media_id: str) -> MediaRecord | None:
        return self._catalog.get_media(media_id)

    def _title(self, media_id: str) -> str:
        record = self._catalog.get_media(media_id)
        return record.title if record else media_id

    # --- tools ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        media_ids: Sequence[str] | None = None,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        rank: int = 0,
        limit: int | None = None,
    ) -> list[Evidence]:
        """Hybrid search, optionally limited to media and a time window (overlap)."""
        if not query.strip():
            return []
        if media_ids is not None and not media_ids:
            return []
        req = SearchRequest(
            query=query,
            media_ids=list(media_ids) if media_ids is not None else None,
            start_s=start_s,
            end_s=end_s,
            limit=limit or self.search_limit,
        )
        return [
            Evidence(
                media_id=h.media_id,
                title=h.title or self._title(h.media_id),
                source=h.source,
                start_s=round(h.start_s, 3),
                end_s=round(h.end_s, 3),
                text=h.text,
                rank=rank + i,
            )
            for i, h in enumerate(self._search.search(req))
        ]

    def read_window(
        self,
        media_id: str,
        start_s: float | None,
        end_s: float | None,
        *,
        budget_tokens: int = 400,
        rank: int = 0,
    ) -> list[Evidence]:
        """Transcript and screen text of a span, evenly thinned to ``budget_tokens``."""
        title = self._title(media_id)
        chunks = self._search.window(media_id, start_s, end_s, sources=["speech", "screen"])
        items = [
            Evidence(
                media_id=c.media_id,
                title=title,
                source=c.source,
                start_s=round(c.start_s, 3),
                end_s=round(c.end_s, 3),
                text=c.text,
                rank=rank + i,
            )
            for i, c in enumerate(chunks)
        ]
        return spread(items, budget_tokens)

    def look(
        self, media_id: str, start_s: float, end_s: float, question: str, *, rank: int = 0
    ) -> list[Evidence]:
        """What was on screen in a span: the VLM on keyframes, else OCR text + scene cuts."""
        title = self._title(media_id)
        frames_chunks = self._search.window(media_id, start_s, end_s, sources=["screen"])
        if not frames_chunks:
            return []
        frames = [
            Frame(Path(c.keyframe), c.start_s)
            for c in frames_chunks
            if c.keyframe and Path(c.keyframe).is_file()
        ]
        span = (frames_chunks[0].start_s, frames_chunks[-1].end_s)
        if self._vlm is not None and frames:
            try:
                text = self._vlm.describe(question, frames)
            except VLMError as exc:
                text = f"(vision model failed: {exc}) " + self._ocr_text(frames_chunks)
            return [
                Evidence(
                    media_id=media_id,
                    title=title,
                    source="look",
                    start_s=span[0],
                    end_s=span[1],
                    text=text,
                    rank=rank,
                )
            ]
        return [
            Evidence(
                media_id=media_id,
                title=title,
                source="look",
                start_s=span[0],
                end_s=span[1],
                text=self._ocr_text(frames_chunks),
                rank=rank,
            )
        ]

    @staticmethod
    def _ocr_text(chunks: Sequence[Chunk]) -> str:
        cuts = ", ".join(mmss(c.start_s) for c in chunks)
        shown = " | ".join(f"{mmss(c.start_s)}: {c.text}" for c in chunks if c.text.strip())
        return f"{NO_VLM_NOTE} (scene changes at {cuts}). {shown or '(no text on screen)'}"

    def list_media(
        self, media_ids: Sequence[str] | None = None, *, rank: int = 0
    ) -> list[Evidence]:
        """One evidence line per ready recording: title, date, duration, language."""
        out = []
        for i, m in enumerate(self.ready_media(media_ids)):
            duration = m.duration_s or 0.0
            when = m.recorded_at.date().isoformat() if m.recorded_at else "date unknown"
            out.append(
                Evidence(
                    media_id=m.media_id,
                    title=m.title,
                    source="catalog",
                    start_s=0.0,
                    end_s=duration,
                    text=f"Recording '{m.title}', recorded {when}, {mmss(duration)} long, "
                    f"language {m.language or 'unknown'}.",
                    rank=rank + i,
                )
            )
        return out

    def summarize(
        self,
        media_id: str,
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        budget_tokens: int = 400,
        rank: int = 0,
    ) -> list[Evidence]:
        """An even sample across a recording (or a span of it) for an overview answer."""
        return self.read_window(media_id, start_s, end_s, budget_tokens=budget_tokens, rank=rank)
