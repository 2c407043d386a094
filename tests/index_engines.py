"""The embedded index engines the tests run against, by name (pytest params)."""

from __future__ import annotations

from pathlib import Path

from app.lifecycle.registry import Registry
from vectorstore.edge_index import EdgeChunkIndex
from vectorstore.embedders import Embedder
from vectorstore.index import ChunkIndex
from vectorstore.qdrant_index import QdrantChunkIndex

ENGINES = ("edge", "qdrant-local")


def open_index(engine: str, path: Path, embedder: Embedder) -> ChunkIndex:
    if engine == "edge":
        return EdgeChunkIndex(path, embedder)
    return QdrantChunkIndex.local(path, embedder)


def registry_with(path: Path, titles: dict[str, str]) -> Registry:
    """A registry holding these media items (id → title), none of them ready yet."""
    registry = Registry(path)
    for media_id, title in titles.items():
        registry.upsert_media(
            media_id, title=title, path=f"/m/{media_id}.mp4", sha256=media_id * 4, recorded_at=None
        )
    return registry
