"""``ChunkIndex`` on ``qdrant-edge-py``: Qdrant's Rust engine in-process (embedded default).

Layout under ``path``: ``identity.json`` (which embedder / keyword encoder built the
index, written atomically before the shard exists) and ``shard/`` (the Qdrant edge
shard: segments + WAL). One process owns a shard at a time.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from vectorstore.embedders import Embedder
from vectorstore.index import (
    DENSE,
    PAYLOAD_INDEXES,
    RRF_K,
    SPARSE,
    UPSERT_BATCH,
    ChunkFilter,
    IndexMismatchError,
    SearchMode,
    check_identity,
    chunk_payload,
    index_identity,
    payload_chunk,
    prefetch_limit,
)
from vectorstore.schema import Chunk, SearchRequest, Source
from vectorstore.sparse import KeywordEncoder, SparseVec

_SCHEMA_TYPES = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "float": qe.PayloadSchemaType.Float,
    "datetime": qe.PayloadSchemaType.Datetime,
}


def _edge_filter(f: ChunkFilter) -> qe.Filter | None:
    must: list[Any] = []
    must_not: list[Any] = []
    if f.media_ids is not None:
        must.append(qe.FieldCondition("media_id", match=qe.MatchAny(list(f.media_ids))))
    if f.exclude_media:
        must_not.append(qe.FieldCondition("media_id", match=qe.MatchAny(list(f.exclude_media))))
    if f.end_s is not None:
        must.append(qe.FieldCondition("start_s", range=qe.RangeFloat(lte=float(f.end_s))))
    if f.start_s is not None:
        must.append(qe.FieldCondition("end_s", range=qe.RangeFloat(gte=float(f.start_s))))
    if f.sources is not None:
        must.append(qe.FieldCondition("source", match=qe.MatchAny(list(f.sources))))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


def _sparse(vec: SparseVec) -> qe.SparseVector:
    return qe.SparseVector(indices=vec.indices, values=vec.values)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".identity-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class EdgeChunkIndex:
    """Chunks in an embedded Qdrant edge shard at ``path`` (created on first use)."""

    def __init__(
        self,
        path: Path,
        embedder: Embedder,
        *,
        keywords: KeywordEncoder | None = None,
        search_threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.embedder = embedder
        self.keywords = keywords or KeywordEncoder()
        self._lock = threading.RLock()
        identity = index_identity(embedder, self.keywords)
        id_file = self.path / "identity.json"
        shard_dir = self.path / "shard"
        has_shard = shard_dir.is_dir() and any(shard_dir.iterdir())
        if id_file.exists():
            try:
                stored = json.loads(id_file.read_text())
            except json.JSONDecodeError as exc:
                raise IndexMismatchError(
                    f"{id_file} is unreadable ({exc}); re-index needed"
                ) from exc
            check_identity(stored, identity, f"index {self.path}")
        elif has_shard:
            check_identity(None, identity, f"index {self.path}")
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(id_file, identity)
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=embedder.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            max_search_threads=search_threads,
        )
        if has_shard:
            self._shard: qe.EdgeShard | None = qe.EdgeShard.load(str(shard_dir), config)
        else:
            self._shard = qe.EdgeShard.create(str(shard_dir), config)
        # also on load: a crash right after create would leave a shard without indexes
        present = set(self._shard.info().payload_schema)
        for field, kind in PAYLOAD_INDEXES.items():
            if field not in present:
                op = qe.UpdateOperation.create_field_index(field, _SCHEMA_TYPES[kind])
                self._shard.update(op)

    # --- plumbing -----------------------------------------------------------------------
    @property
    def shard(self) -> qe.EdgeShard:
        if self._shard is None:
            raise RuntimeError(f"index {self.path} is closed")
        return self._shard

    def close(self) -> None:
        with self._lock:
            if self._shard is not None:
                self._shard.flush()
                self._shard.close()
                self._shard = None

    def optimize(self) -> None:
        """Build HNSW indexes, merge segments and drop deleted points now (blocking).

        Never called implicitly: at 100k points it takes minutes on 2 cores, while
        filtered queries (the common case) are answered from the payload indexes in ~2 ms
        without it. Worth running after large deletions or for unfiltered-query speed.
        """
        with self._lock:
            self.shard.optimize()

    # --- writes -------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk]) -> int:
        if not chunks:
            return 0
        texts = [c.text for c in chunks]
        dense = self.embedder.embed_passages(texts)
        sparse = self.keywords.encode_documents(texts)
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
            points = [
                qe.Point(
                    c.point_id,
                    {DENSE: d, SPARSE: _sparse(s)},  # numpy rows go to Rust as-is
                    chunk_payload(c),
                )
                for c, d, s in zip(
                    chunks[i : i + UPSERT_BATCH],
                    dense[i : i + UPSERT_BATCH],
                    sparse[i : i + UPSERT_BATCH],
                    strict=True,
                )
            ]
            with self._lock:
                self.shard.update(qe.UpdateOperation.upsert_points(points))

    def delete_media(self, media_id: str) -> None:
        flt = _edge_filter(ChunkFilter(media_ids=(media_id,)))
        assert flt is not None
        with self._lock:
            self.shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

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
        return self.search_vectors(dense, sparse, flt, req.limit, mode=mode)

    def search_vectors(
        self,
        dense: list[float],
        sparse: SparseVec,
        flt: ChunkFilter,
        limit: int,
        *,
        mode: SearchMode = "hybrid",
    ) -> list[tuple[Chunk, float]]:
        """Search with precomputed query vectors (used by ``search`` and the benchmark)."""
        edge_filter = _edge_filter(flt)
        dense_q = qe.Query.Nearest(dense, using=DENSE)
        sparse_q = qe.Query.Nearest(_sparse(sparse), using=SPARSE)
        if mode == "keyword" and not sparse.indices:
            return []
        if mode == "dense" or (mode == "hybrid" and not sparse.indices):
            request = qe.QueryRequest(
                limit=limit, query=dense_q, filter=edge_filter, with_payload=True
            )
        else:
            wide = prefetch_limit(limit)
            prefetches = [qe.Prefetch(limit=wide, query=sparse_q, filter=edge_filter)]
            if mode == "hybrid":
                prefetches.insert(0, qe.Prefetch(limit=wide, query=dense_q, filter=edge_filter))
            request = qe.QueryRequest(
                limit=limit,
                prefetches=prefetches,
                query=qe.Fusion.Rrf(k=RRF_K),
                filter=edge_filter,
                with_payload=True,
            )
        with self._lock:
            points = self.shard.query(request)
        return [(payload_chunk(p.payload), float(p.score)) for p in points]

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
        edge_filter = _edge_filter(flt)
        chunks: list[Chunk] = []
        offset = None
        with self._lock:
            while True:
                records, offset = self.shard.scroll(
                    qe.ScrollRequest(
                        offset=offset, limit=512, filter=edge_filter, with_payload=True
                    )
                )
                chunks.extend(payload_chunk(r.payload) for r in records)
                if offset is None:
                    break
        return sorted(chunks, key=lambda c: (c.start_s, c.end_s, c.source))

    def count(self, media_id: str | None = None) -> int:
        flt = _edge_filter(ChunkFilter(media_ids=(media_id,) if media_id else None))
        with self._lock:
            return int(self.shard.count(qe.CountRequest(exact=True, filter=flt)))
