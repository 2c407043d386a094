"""``ChunkIndex`` on ``qdrant-client``: a Qdrant server/cluster by URL, or local mode.

Server and local mode (``path=``, brute force in Python, one process, small data only)
run the same code; only the client differs. The embedder identity lives in the
collection's metadata. Against a cluster, the collection is created with the shard
count, replication factor and write consistency of :class:`ClusterParams` (from
settings), every call is retried on transient errors (``vectorstore.retry``), and
workers that start at once and race to create the collection all end up using it.
Sharding stays automatic (by point id): see docs/deploy.md for why not per-media keys.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from vectorstore.bridge import KeywordBridge
from vectorstore.embedders import Embedder
from vectorstore.focus import QueryFocus
from vectorstore.index import (
    DENSE,
    PAYLOAD_INDEXES,
    RRF_K,
    SPARSE,
    ChunkFilter,
    check_identity,
    chunk_payload,
    index_identity,
    prefetch_limit,
)
from vectorstore.index_base import KEYWORD_WEIGHT, BaseChunkIndex, PointData
from vectorstore.retry import retrying
from vectorstore.sparse import KeywordEncoder, SparseVec

_SCHEMA_TYPES = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "float": models.PayloadSchemaType.FLOAT,
    "datetime": models.PayloadSchemaType.DATETIME,
}


def _client_filter(f: ChunkFilter) -> models.Filter | None:
    must: list[models.Condition] = []
    must_not: list[models.Condition] = []
    if f.media_ids is not None:
        must.append(
            models.FieldCondition(key="media_id", match=models.MatchAny(any=list(f.media_ids)))
        )
    if f.exclude_media:
        must_not.append(
            models.FieldCondition(key="media_id", match=models.MatchAny(any=list(f.exclude_media)))
        )
    if f.end_s is not None:
        must.append(models.FieldCondition(key="start_s", range=models.Range(lte=float(f.end_s))))
    if f.start_s is not None:
        must.append(models.FieldCondition(key="end_s", range=models.Range(gte=float(f.start_s))))
    if f.sources is not None:
        must.append(models.FieldCondition(key="source", match=models.MatchAny(any=list(f.sources))))
    if f.documents is not None:
        must.append(
            models.FieldCondition(key="document", match=models.MatchAny(any=list(f.documents)))
        )
    if f.speakers is not None:
        must.append(
            models.FieldCondition(key="speaker", match=models.MatchAny(any=list(f.speakers)))
        )
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not or None)


def _floats(row: np.ndarray | Sequence[float]) -> list[float]:
    return row.tolist() if isinstance(row, np.ndarray) else [float(x) for x in row]


def _sparse(vec: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=vec.indices, values=vec.values)


@dataclass(frozen=True)
class ClusterParams:
    """How a new collection is laid out on a Qdrant cluster (``None``: the server's
    default, e.g. ``QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR``)."""

    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None


class QdrantChunkIndex(BaseChunkIndex):
    """Chunks in one collection reached through a ``QdrantClient``."""

    def __init__(
        self,
        client: QdrantClient,
        embedder: Embedder,
        *,
        collection: str = "chronorag",
        keywords: KeywordEncoder | None = None,
        keyword_weight: float = KEYWORD_WEIGHT,
        cluster: ClusterParams | None = None,
        attempts: int = 1,
        bridge: KeywordBridge | None = None,
        focus: QueryFocus | None = None,
    ) -> None:
        # local mode is not thread-safe; a server does not mind the serialisation (base lock)
        super().__init__(embedder, keywords, keyword_weight, bridge, focus)
        self.client = client
        self.collection = collection
        self._retry: Callable[[Callable[[], Any]], Any] = retrying(attempts)
        identity = index_identity(embedder, self.keywords)
        if not self._retry(lambda: client.collection_exists(collection)):
            try:
                self._retry(lambda: self._create(identity, cluster or ClusterParams()))
            except Exception:
                if not self._retry(lambda: client.collection_exists(collection)):
                    raise
                # another worker created it first: use theirs (its identity is checked)
        info = self._retry(lambda: client.get_collection(collection))
        check_identity(info.config.metadata, identity, f"collection {collection!r}")
        present = set(info.payload_schema or {})
        # also on open: a crash right after create would leave a collection without indexes
        with warnings.catch_warnings():
            # local mode warns that payload indexes do nothing there; a server uses them
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for field, kind in PAYLOAD_INDEXES.items():
                if field not in present:
                    self._retry(
                        lambda f=field, k=kind: client.create_payload_index(
                            collection, f, field_schema=_SCHEMA_TYPES[k]
                        )
                    )

    def _create(self, identity: dict[str, Any], cluster: ClusterParams) -> None:
        self.client.create_collection(
            self.collection,
            vectors_config={
                DENSE: models.VectorParams(size=self.embedder.dim, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            shard_number=cluster.shard_number,
            replication_factor=cluster.replication_factor,
            write_consistency_factor=cluster.write_consistency_factor,
            metadata=identity,
        )

    @classmethod
    def local(
        cls,
        path: Path,
        embedder: Embedder,
        *,
        collection: str = "chronorag",
        keyword_weight: float = KEYWORD_WEIGHT,
        bridge: KeywordBridge | None = None,
        focus: QueryFocus | None = None,
    ) -> QdrantChunkIndex:
        """qdrant-client local mode persisted at ``path`` (brute force; small data only)."""
        Path(path).mkdir(parents=True, exist_ok=True)
        client = QdrantClient(path=str(path))
        return cls._owning(
            client, embedder, collection, keyword_weight, bridge=bridge, focus=focus
        )

    @classmethod
    def server(
        cls,
        url: str,
        embedder: Embedder,
        *,
        api_key: str | None = None,
        collection: str = "chronorag",
        timeout_s: int = 30,
        keyword_weight: float = KEYWORD_WEIGHT,
        cluster: ClusterParams | None = None,
        attempts: int = 4,
        bridge: KeywordBridge | None = None,
        focus: QueryFocus | None = None,
    ) -> QdrantChunkIndex:
        """A Qdrant server or cluster (REST at ``url``); calls are tried ``attempts`` times."""
        client = QdrantClient(url=url, api_key=api_key, timeout=timeout_s)
        return cls._owning(
            client,
            embedder,
            collection,
            keyword_weight,
            cluster=cluster,
            attempts=attempts,
            bridge=bridge,
            focus=focus,
        )

    @classmethod
    def _owning(
        cls,
        client: QdrantClient,
        embedder: Embedder,
        collection: str,
        keyword_weight: float,
        **kwargs: Any,
    ) -> QdrantChunkIndex:
        try:
            return cls(
                client, embedder, collection=collection, keyword_weight=keyword_weight, **kwargs
            )
        except BaseException:
            client.close()  # local mode holds a file lock until closed
            raise

    def close(self) -> None:
        with self._lock:
            self.client.close()

    # --- engine hooks -------------------------------------------------------------------
    def _write(self, points: Sequence[PointData]) -> None:
        batch = [
            models.PointStruct(
                id=c.point_id,
                vector={DENSE: _floats(d), SPARSE: _sparse(s)},
                payload=chunk_payload(c),
            )
            for c, d, s in points
        ]
        self._retry(lambda: self.client.upsert(self.collection, points=batch, wait=True))

    def _delete(self, flt: ChunkFilter) -> None:
        qfilter = _client_filter(flt)
        if qfilter is None:
            raise ValueError("refusing to delete without a filter")
        selector = models.FilterSelector(filter=qfilter)
        self._retry(
            lambda: self.client.delete(self.collection, points_selector=selector, wait=True)
        )

    def _query(
        self,
        dense: list[float],
        sparse: SparseVec,
        flt: ChunkFilter,
        limit: int,
        sides: tuple[str, ...],
    ) -> list[tuple[dict[str, Any] | None, float]]:
        qfilter = _client_filter(flt)
        if sides == (DENSE,):
            response = self._retry(
                lambda: self.client.query_points(
                    self.collection,
                    query=dense,
                    using=DENSE,
                    query_filter=qfilter,
                    limit=limit,
                    with_payload=True,
                )
            )
        else:
            wide = prefetch_limit(limit)
            vectors = {DENSE: dense, SPARSE: _sparse(sparse)}
            response = self._retry(
                lambda: self.client.query_points(
                    self.collection,
                    prefetch=[
                        models.Prefetch(query=vectors[side], using=side, limit=wide, filter=qfilter)
                        for side in sides
                    ],
                    query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
                    query_filter=qfilter,
                    limit=limit,
                    with_payload=True,
                )
            )
        return [(p.payload, p.score) for p in response.points]

    def _scroll(self, flt: ChunkFilter) -> Iterator[dict[str, Any] | None]:
        qfilter = _client_filter(flt)
        offset = None
        while True:
            records, offset = self._retry(
                lambda offset=offset: self.client.scroll(
                    self.collection,
                    scroll_filter=qfilter,
                    limit=512,
                    offset=offset,
                    with_payload=True,
                    with_vectors=False,
                )
            )
            yield from (r.payload for r in records)
            if offset is None:
                return

    def _count(self, flt: ChunkFilter) -> int:
        qfilter = _client_filter(flt)
        counted = self._retry(
            lambda: self.client.count(self.collection, count_filter=qfilter, exact=True)
        )
        return counted.count

    def _set_payload(self, flt: ChunkFilter, payload: dict[str, Any]) -> None:
        qfilter = _client_filter(flt)
        if qfilter is None:
            raise ValueError("refusing to update every point without a filter")
        self._retry(
            lambda: self.client.set_payload(
                self.collection,
                payload=payload,
                points=models.FilterSelector(filter=qfilter),
                wait=True,
            )
        )
