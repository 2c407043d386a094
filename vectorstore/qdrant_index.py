"""``ChunkIndex`` on ``qdrant-client``: a Qdrant server/cluster by URL, or local mode.

Server and local mode (``path=``, brute force in Python, one process, small data only)
run the same code; only the client differs. The embedder identity lives in the
collection's metadata.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from vectorstore.embedders import Embedder
from vectorstore.index import (
    DENSE,
    PAYLOAD_INDEXES,
    RRF_K,
    SPARSE,
    UPSERT_BATCH,
    ChunkFilter,
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
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not or None)


def _floats(row: np.ndarray | Sequence[float]) -> list[float]:
    return row.tolist() if isinstance(row, np.ndarray) else [float(x) for x in row]


def _sparse(vec: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=vec.indices, values=vec.values)


class QdrantChunkIndex:
    """Chunks in one collection reached through a ``QdrantClient``."""

    def __init__(
        self,
        client: QdrantClient,
        embedder: Embedder,
        *,
        collection: str = "chronorag",
        keywords: KeywordEncoder | None = None,
    ) -> None:
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self.keywords = keywords or KeywordEncoder()
        # local mode is not thread-safe; a server does not mind the serialisation here
        self._lock = threading.RLock()
        identity = index_identity(embedder, self.keywords)
        if client.collection_exists(collection):
            stored = client.get_collection(collection).config.metadata
            check_identity(stored, identity, f"collection {collection!r}")
            return
        client.create_collection(
            collection,
            vectors_config={
                DENSE: models.VectorParams(size=embedder.dim, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            metadata=identity,
        )
        with warnings.catch_warnings():
            # local mode warns that payload indexes do nothing there; a server uses them
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for field, kind in PAYLOAD_INDEXES.items():
                client.create_payload_index(collection, field, field_schema=_SCHEMA_TYPES[kind])

    @classmethod
    def local(
        cls, path: Path, embedder: Embedder, *, collection: str = "chronorag"
    ) -> QdrantChunkIndex:
        """qdrant-client local mode persisted at ``path`` (brute force; small data only)."""
        Path(path).mkdir(parents=True, exist_ok=True)
        return cls._owning(QdrantClient(path=str(path)), embedder, collection)

    @classmethod
    def server(
        cls,
        url: str,
        embedder: Embedder,
        *,
        api_key: str | None = None,
        collection: str = "chronorag",
        timeout_s: int = 30,
    ) -> QdrantChunkIndex:
        """A Qdrant server or cluster (REST at ``url``)."""
        client = QdrantClient(url=url, api_key=api_key, timeout=timeout_s)
        return cls._owning(client, embedder, collection)

    @classmethod
    def _owning(cls, client: QdrantClient, embedder: Embedder, collection: str) -> QdrantChunkIndex:
        try:
            return cls(client, embedder, collection=collection)
        except BaseException:
            client.close()  # local mode holds a file lock until closed
            raise

    def close(self) -> None:
        with self._lock:
            self.client.close()

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
                models.PointStruct(
                    id=c.point_id,
                    vector={DENSE: _floats(d), SPARSE: _sparse(s)},
                    payload=chunk_payload(c),
                )
                for c, d, s in zip(
                    chunks[i : i + UPSERT_BATCH],
                    dense[i : i + UPSERT_BATCH],
                    sparse[i : i + UPSERT_BATCH],
                    strict=True,
                )
            ]
            with self._lock:
                self.client.upsert(self.collection, points=points, wait=True)

    def delete_media(self, media_id: str) -> None:
        flt = _client_filter(ChunkFilter(media_ids=(media_id,)))
        assert flt is not None
        with self._lock:
            self.client.delete(
                self.collection, points_selector=models.FilterSelector(filter=flt), wait=True
            )

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
        qfilter = _client_filter(flt)
        if mode == "keyword" and not sparse.indices:
            return []
        with self._lock:
            if mode == "dense" or (mode == "hybrid" and not sparse.indices):
                response = self.client.query_points(
                    self.collection,
                    query=dense,
                    using=DENSE,
                    query_filter=qfilter,
                    limit=limit,
                    with_payload=True,
                )
            else:
                wide = prefetch_limit(limit)
                prefetch = [
                    models.Prefetch(query=_sparse(sparse), using=SPARSE, limit=wide, filter=qfilter)
                ]
                if mode == "hybrid":
                    prefetch.insert(
                        0, models.Prefetch(query=dense, using=DENSE, limit=wide, filter=qfilter)
                    )
                response = self.client.query_points(
                    self.collection,
                    prefetch=prefetch,
                    query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
                    query_filter=qfilter,
                    limit=limit,
                    with_payload=True,
                )
        return [(payload_chunk(p.payload), float(p.score)) for p in response.points]

    def window(
        self,
        media_id: str,
        start_s: float | None = None,
        end_s: float | None = None,
        sources: Sequence[Source] | None = None,
    ) -> list[Chunk]:
        qfilter = _client_filter(
            ChunkFilter(
                media_ids=(media_id,),
                start_s=start_s,
                end_s=end_s,
                sources=tuple(sources) if sources is not None else None,
            )
        )
        chunks: list[Chunk] = []
        offset = None
        with self._lock:
            while True:
                records, offset = self.client.scroll(
                    self.collection,
                    scroll_filter=qfilter,
                    limit=512,
                    offset=offset,
                    with_payload=True,
                    with_vectors=False,
                )
                chunks.extend(payload_chunk(r.payload) for r in records)
                if offset is None:
                    break
        return sorted(chunks, key=lambda c: (c.start_s, c.end_s, c.source))

    def count(self, media_id: str | None = None) -> int:
        qfilter = _client_filter(ChunkFilter(media_ids=(media_id,) if media_id else None))
        with self._lock:
            return self.client.count(self.collection, count_filter=qfilter, exact=True).count
