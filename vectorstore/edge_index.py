"""``ChunkIndex`` on ``qdrant-edge-py``: Qdrant's Rust engine in-process (embedded default).

Layout under ``path``: ``identity.json`` (which embedder / keyword encoder built the
index, written atomically before the shard exists) and ``shard/`` (the Qdrant edge
shard: segments + WAL). One process owns a shard at a time.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from vectorstore.bridge import KeywordBridge
from vectorstore.diskspace import ensure_free
from vectorstore.embedders import Embedder
from vectorstore.focus import QueryFocus
from vectorstore.index import (
    DENSE,
    PAYLOAD_INDEXES,
    RRF_K,
    SPARSE,
    ChunkFilter,
    IndexInUseError,
    IndexMismatchError,
    check_identity,
    chunk_payload,
    index_identity,
    prefetch_limit,
)
from vectorstore.index_base import KEYWORD_WEIGHT, BaseChunkIndex, PointData
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
    if f.documents is not None:
        must.append(qe.FieldCondition("document", match=qe.MatchAny(list(f.documents))))
    if f.speakers is not None:
        must.append(qe.FieldCondition("speaker", match=qe.MatchAny(list(f.speakers))))
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


class EdgeChunkIndex(BaseChunkIndex):
    """Chunks in an embedded Qdrant edge shard at ``path`` (created on first use)."""

    def __init__(
        self,
        path: Path,
        embedder: Embedder,
        *,
        keywords: KeywordEncoder | None = None,
        search_threads: int | None = None,
        min_free_bytes: int = 0,
        keyword_weight: float = KEYWORD_WEIGHT,
        bridge: KeywordBridge | None = None,
        focus: QueryFocus | None = None,
    ) -> None:
        super().__init__(embedder, keywords, keyword_weight, bridge, focus)
        self.path = Path(path)
        self.min_free_bytes = min_free_bytes  # see vectorstore.diskspace: mmap + full disk
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
        try:
            if has_shard:
                self._shard: qe.EdgeShard | None = qe.EdgeShard.load(str(shard_dir), config)
            else:
                self._shard = qe.EdgeShard.create(str(shard_dir), config)
        except Exception as exc:  # the engine raises a bare Exception; the lock says WouldBlock
            if "WouldBlock" in str(exc):
                raise IndexInUseError(
                    f"index {self.path} is open in another ChronoRAG process (a server, a "
                    "worker, an eval): stop it, or use another CHRONORAG_HOME"
                ) from exc
            raise
        try:
            # also on load: a crash right after create would leave a shard without indexes
            present = set(self._shard.info().payload_schema)
            for field, kind in PAYLOAD_INDEXES.items():
                if field not in present:
                    op = qe.UpdateOperation.create_field_index(field, _SCHEMA_TYPES[kind])
                    self._shard.update(op)
        except BaseException:
            self.close()  # the shard holds its files open until closed
            raise

    # --- plumbing -----------------------------------------------------------------------
    @property
    def shard(self) -> qe.EdgeShard:
        if self._shard is None:
            raise RuntimeError(f"index {self.path} is closed")
        return self._shard

    def close(self) -> None:
        with self._lock:
            if self._shard is not None:
                shard, self._shard = self._shard, None
                try:
                    shard.flush()
                finally:
                    shard.close()

    def optimize(self) -> None:
        """Build HNSW indexes, merge segments and drop deleted points now (blocking).

        Never called implicitly: at 100k points it takes minutes on 2 cores, while
        filtered queries (the common case) are answered from the payload indexes in ~2 ms
        without it. Worth running after large deletions or for unfiltered-query speed.
        """
        with self._lock:
            self.shard.optimize()

    # --- engine hooks -------------------------------------------------------------------
    def _write(self, points: Sequence[PointData]) -> None:
        ensure_free(self.path, self.min_free_bytes, "the index")
        # numpy rows go to Rust as-is
        batch = [
            qe.Point(c.point_id, {DENSE: d, SPARSE: _sparse(s)}, chunk_payload(c))
            for c, d, s in points
        ]
        self.shard.update(qe.UpdateOperation.upsert_points(batch))

    def _delete(self, flt: ChunkFilter) -> None:
        edge_filter = _edge_filter(flt)
        if edge_filter is None:
            raise ValueError("refusing to delete without a filter")
        self.shard.update(qe.UpdateOperation.delete_points_by_filter(edge_filter))

    def _query(
        self,
        dense: list[float],
        sparse: SparseVec,
        flt: ChunkFilter,
        limit: int,
        sides: tuple[str, ...],
    ) -> list[tuple[dict[str, Any] | None, float]]:
        edge_filter = _edge_filter(flt)
        queries = {
            DENSE: lambda: qe.Query.Nearest(dense, using=DENSE),
            SPARSE: lambda: qe.Query.Nearest(_sparse(sparse), using=SPARSE),
        }
        if sides == (DENSE,):
            request = qe.QueryRequest(
                limit=limit, query=queries[DENSE](), filter=edge_filter, with_payload=True
            )
        else:
            wide = prefetch_limit(limit)
            request = qe.QueryRequest(
                limit=limit,
                prefetches=[
                    qe.Prefetch(limit=wide, query=queries[side](), filter=edge_filter)
                    for side in sides
                ],
                query=qe.Fusion.Rrf(k=RRF_K),
                filter=edge_filter,
                with_payload=True,
            )
        return [(p.payload, p.score) for p in self.shard.query(request)]

    def _scroll(self, flt: ChunkFilter) -> Iterator[dict[str, Any] | None]:
        edge_filter = _edge_filter(flt)
        offset = None
        while True:
            records, offset = self.shard.scroll(
                qe.ScrollRequest(offset=offset, limit=512, filter=edge_filter, with_payload=True)
            )
            yield from (r.payload for r in records)
            if offset is None:
                return

    def _count(self, flt: ChunkFilter) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=_edge_filter(flt))))

    def _set_payload(self, flt: ChunkFilter, payload: dict[str, Any]) -> None:
        edge_filter = _edge_filter(flt)
        if edge_filter is None:
            raise ValueError("refusing to update every point without a filter")
        self.shard.update(qe.UpdateOperation.set_payload_by_filter(edge_filter, payload))
