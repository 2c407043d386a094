"""What every ``ChunkIndex`` backend does the same way, over a few engine-specific hooks.

Embedding, batching, the choice between a plain dense query and an RRF fusion, the
filters of ``window``/``count``/``delete_media`` and the lock that serialises engine
calls live here once. A backend supplies five hooks that speak its engine's types:
``_write``, ``_delete``, ``_query``, ``_scroll`` and ``_count`` (plus ``close``).
Embedding runs outside the lock, so a search is not held up by a media item's
embedding in the ingestion thread.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from vectorstore.bridge import KeywordBridge
from vectorstore.embedders import Embedder
from vectorstore.focus import CANDIDATE_MEDIA, QueryFocus
from vectorstore.index import (
    DENSE,
    SPARSE,
    UPSERT_BATCH,
    ChunkFilter,
    SearchMode,
    payload_chunk,
    prefetch_limit,
)
from vectorstore.schema import Chunk, SearchRequest, Source
from vectorstore.sparse import KeywordEncoder, SparseVec

# A point as the hooks receive it: the chunk, its dense row, its sparse vector.
PointData = tuple[Chunk, Any, SparseVec]


KEYWORD_WEIGHT = 0.05


def fuse(
    by_dense: Sequence[tuple[dict[str, Any] | None, float]],
    by_keyword: Sequence[tuple[dict[str, Any] | None, float]],
    weight: float,
    limit: int,
) -> list[tuple[Chunk, float]]:
    """Dense cosine + ``weight / (1 + keyword rank)``; a keyword-only candidate counts at
    the lowest dense score seen (it was not among the dense candidates)."""
    chunks: dict[str, Chunk] = {}
    cosine: dict[str, float] = {}
    for payload, score in by_dense:
        chunk = payload_chunk(payload)
        chunks[chunk.point_id], cosine[chunk.point_id] = chunk, float(score)
    floor = min(cosine.values(), default=0.0)
    bonus: dict[str, float] = {}
    for rank, (payload, _) in enumerate(by_keyword):
        chunk = payload_chunk(payload)
        chunks.setdefault(chunk.point_id, chunk)
        bonus[chunk.point_id] = weight / (1 + rank)
    scored = sorted(
        ((cosine.get(pid, floor) + bonus.get(pid, 0.0), pid) for pid in chunks), reverse=True
    )
    return [(chunks[pid], round(score, 6)) for score, pid in scored[:limit]]


def query_sides(mode: SearchMode, sparse: SparseVec) -> tuple[str, ...]:
    """Which vectors a query uses: ``(DENSE,)`` is a plain nearest query; anything else
    is fused with RRF, one prefetch per side. ``()`` means nothing can match."""
    if mode == "dense" or (mode == "hybrid" and not sparse.indices):
        return (DENSE,)
    if not sparse.indices:
        return ()
    return (DENSE, SPARSE) if mode == "hybrid" else (SPARSE,)


class BaseChunkIndex(ABC):
    """Shared ``ChunkIndex`` behaviour; subclasses implement the engine hooks."""

    def __init__(
        self,
        embedder: Embedder,
        keywords: KeywordEncoder | None = None,
        keyword_weight: float = KEYWORD_WEIGHT,
        bridge: KeywordBridge | None = None,
        focus: QueryFocus | None = None,
    ) -> None:
        self.embedder = embedder
        self.keywords = keywords or KeywordEncoder()
        self.keyword_weight = keyword_weight
        self.bridge = bridge
        self.focus = focus
        # the engines are called from the API's threads and the ingestion worker at once
        self._lock = threading.RLock()

    # --- engine hooks (called with the lock held) ---------------------------------------
    @abstractmethod
    def _write(self, points: Sequence[PointData]) -> None: ...

    @abstractmethod
    def _delete(self, flt: ChunkFilter) -> None: ...

    @abstractmethod
    def _query(
        self,
        dense: list[float],
        sparse: SparseVec,
        flt: ChunkFilter,
        limit: int,
        sides: tuple[str, ...],
    ) -> list[tuple[dict[str, Any] | None, float]]:
        """(payload, score) pairs, best first; ``sides`` as :func:`query_sides` says."""

    @abstractmethod
    def _scroll(self, flt: ChunkFilter) -> Iterator[dict[str, Any] | None]:
        """Payloads of every point matching ``flt``."""

    @abstractmethod
    def _count(self, flt: ChunkFilter) -> int: ...

    @abstractmethod
    def _set_payload(self, flt: ChunkFilter, payload: dict[str, Any]) -> None:
        """Set these payload fields on every point matching ``flt``."""

    @abstractmethod
    def close(self) -> None: ...

    # --- writes -------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk]) -> int:
        if not chunks:
            return 0
        # the embedder reads the moment with its neighbours (recall); keywords index the
        # moment's own words, so an exact number or name ranks the moment that says it
        # above the neighbours that merely share its context (bench/meeting_speakers.py)
        dense = self.embedder.embed_passages([c.embed_text for c in chunks])
        sparse = self.keywords.encode_documents([c.text for c in chunks])
        self.upsert_vectors(chunks, dense, sparse)
        return len(chunks)

    def upsert_vectors(
        self,
        chunks: Sequence[Chunk],
        dense: np.ndarray | Sequence[Sequence[float]],
        sparse: Sequence[SparseVec],
    ) -> None:
        """Store chunks with precomputed vectors (used by ``upsert`` and the benchmark)."""
        if not (len(chunks) == len(dense) == len(sparse)):
            raise ValueError("chunks, dense and sparse vectors differ in length")
        for i in range(0, len(chunks), UPSERT_BATCH):
            batch = list(
                zip(
                    chunks[i : i + UPSERT_BATCH],
                    dense[i : i + UPSERT_BATCH],
                    sparse[i : i + UPSERT_BATCH],
                    strict=True,
                )
            )
            with self._lock:
                self._write(batch)
        self._changed(c.media_id for c in chunks)

    def delete_media(self, media_id: str) -> None:
        with self._lock:
            self._delete(ChunkFilter(media_ids=(media_id,)))
        self._changed([media_id])

    def delete_document(self, media_id: str, document: str) -> None:
        """Remove one companion document's pieces from a media item."""
        with self._lock:
            self._delete(
                ChunkFilter(media_ids=(media_id,), sources=("document",), documents=(document,))
            )
        self._changed([media_id])

    def _changed(self, media_ids: Iterable[str]) -> None:
        """These items' chunks changed: what was derived from their words is stale."""
        if self.focus is not None:
            self.focus.forget(set(media_ids))

    def rename_speaker(self, media_id: str, old: str, new: str) -> None:
        """Relabel one media item's speaker ``old`` as ``new`` (payload only: no vector
        changes, so nothing is re-embedded)."""
        with self._lock:
            self._set_payload(ChunkFilter(media_ids=(media_id,), speakers=(old,)), {"speaker": new})

    # --- reads --------------------------------------------------------------------------
    def search(
        self,
        req: SearchRequest,
        exclude_media: Sequence[str] = (),
        *,
        mode: SearchMode = "hybrid",
    ) -> list[tuple[Chunk, float]]:
        flt = ChunkFilter.from_request(req, exclude_media)
        if flt.media_ids is not None and not flt.media_ids:
            return []
        dense = self.embedder.embed_query(req.query).tolist()
        sparse = self.keywords.encode_query(req.query)
        return self.search_vectors(dense, sparse, flt, req.limit, mode=mode, query=req.query)

    def search_vectors(
        self,
        dense: list[float],
        sparse: SparseVec,
        flt: ChunkFilter,
        limit: int,
        *,
        mode: SearchMode = "hybrid",
        query: str | None = None,
    ) -> list[tuple[Chunk, float]]:
        """Search with precomputed query vectors (used by ``search`` and the benchmark).

        Hybrid search is dense-first: a hit's score is its cosine similarity plus a keyword
        bonus of ``keyword_weight / (1 + keyword rank)``. Meetings repeat their topic words
        in every window, so rank fusion (RRF) that weighs the keyword list like the dense
        one buried the answering moment (bench/meeting_retrieval.py); a small bonus still
        breaks near-ties of the dense model on exact numbers, names and ids.

        With a ``bridge`` and the ``query`` text, the query's words in a script the dense
        candidates do not use (a Hindi question about English speech) also search as the
        candidates' words they mean (:mod:`vectorstore.bridge`). With a ``focus`` and the
        ``query`` text, a broad question ("summarize the discussion about …") searches by
        the mean of its and its focus's vectors, and by the focus's keywords alone
        (:mod:`vectorstore.focus`). A one-sided query (dense or keyword only) is neither
        bridged nor focused."""
        sides = query_sides(mode, sparse)
        if not sides:
            return []
        if len(sides) == 1:
            with self._lock:
                found = self._query(dense, sparse, flt, limit, sides)
            return [(payload_chunk(payload), float(score)) for payload, score in found]
        wide = prefetch_limit(limit)
        with self._lock:
            by_dense = self._query(dense, sparse, flt, wide, (DENSE,))
        if self.focus is not None and query and (focused := self._focused(query, flt, by_dense)):
            mean = (np.asarray(dense, dtype=np.float32) + self.embedder.embed_query(focused)) / 2
            with self._lock:
                by_dense = self._query(mean.tolist(), sparse, flt, wide, (DENSE,))
            query, sparse = focused, self.keywords.encode_query(focused)
        if self.bridge is not None and query:
            texts = [payload_chunk(payload).text for payload, _ in by_dense]
            if words := self.bridge.translate(query, texts):
                sparse = self.keywords.encode_query(" ".join([query, *words]))
        with self._lock:
            by_keyword = self._query(dense, sparse, flt, wide, (SPARSE,))
        return fuse(by_dense, by_keyword, self.keyword_weight, limit)

    def _focused(
        self, query: str, flt: ChunkFilter, by_dense: Sequence[tuple[dict[str, Any] | None, float]]
    ) -> str | None:
        """The focus of a broad ``query`` over the media searched (else the candidates')."""
        assert self.focus is not None
        if not self.focus.is_broad(query):
            return None
        if flt.media_ids is not None:
            media = [m for m in flt.media_ids if m not in flt.exclude_media]
        else:  # candidates match the filter already, so none is excluded
            media = list(dict.fromkeys(payload_chunk(p).media_id for p, _ in by_dense))
            media = media[:CANDIDATE_MEDIA]

        def texts(media_id: str) -> list[str]:
            with self._lock:
                return [payload_chunk(p).text for p in self._scroll(ChunkFilter((media_id,)))]

        return self.focus.focus(query, self.focus.vocabulary(media, self.count, texts))

    def window(
        self,
        media_id: str,
        start_s: float | None = None,
        end_s: float | None = None,
        sources: Sequence[Source] | None = None,
    ) -> list[Chunk]:
        flt = ChunkFilter(
            media_ids=(media_id,),
            start_s=start_s,
            end_s=end_s,
            sources=tuple(sources) if sources is not None else None,
        )
        with self._lock:
            payloads = list(self._scroll(flt))
        chunks = [payload_chunk(p) for p in payloads]
        return sorted(chunks, key=lambda c: (c.start_s, c.end_s, c.source))

    def count(self, media_id: str | None = None) -> int:
        with self._lock:
            return int(self._count(ChunkFilter(media_ids=(media_id,) if media_id else None)))
