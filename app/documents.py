"""Attach companion documents to a media item: ``chronorag attach`` and
``POST /v1/media/{id}/documents`` both call ``attach``.

Every file is checked, read and split first (``ingestion.documents``); only when all of
them passed is anything written, so a bad, encrypted or oversized file leaves the index
as it was. Attaching a document again under the same name replaces its earlier pieces.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.container import Container
from ingestion.documents import DocumentError, document_chunks
from vectorstore.schema import Chunk


@dataclass(frozen=True)
class Attached:
    """One attached document: its name (as cited), how many pages and chunks."""

    name: str
    pages: int | None
    chunks: int


class NotAttachable(ValueError):
    """The media item is unknown or not indexed yet."""


def _read(container: Container, media_id: str, path: Path, name: str) -> list[Chunk]:
    s = container.settings
    size = path.stat().st_size
    if size > s.max_document_mb * 2**20:
        raise DocumentError(
            name, f"is {size / 2**20:.1f} MB; the limit is {s.max_document_mb} MB "
            "(CHRONORAG_MAX_DOCUMENT_MB)",
        )  # fmt: skip
    # the readers choose by suffix: read a copy under the name's suffix, whatever the
    # file on disk is called (uploads have server-chosen names)
    with tempfile.TemporaryDirectory(dir=s.data_dir, prefix="doc-") as tmp:
        local = Path(tmp) / f"document{Path(name).suffix.lower()}"
        shutil.copyfile(path, local)
        return document_chunks(local, name=name, media_id=media_id, max_pages=s.max_document_pages)


def attach(
    container: Container, media_id: str, files: Sequence[tuple[Path, str]]
) -> list[Attached]:
    """Index ``files`` (path, name as cited) as documents of the ready ``media_id``."""
    record = container.registry.get_media(media_id)
    if record is None:
        raise NotAttachable(f"no media with id {media_id!r}")
    if record.status != "ready":
        raise NotAttachable(f"{media_id!r} is not indexed (status {record.status})")
    names = [name for _, name in files]
    if len(set(names)) != len(names):
        raise DocumentError(", ".join(names), "two documents have the same name")
    read = [(name, _read(container, media_id, path, name)) for path, name in files]
    index = container.index
    written: list[str] = []
    try:
        for name, chunks in read:
            index.delete_document(media_id, name)
            written.append(name)
            index.upsert(chunks)
    except BaseException:
        for name in written:  # nothing half-attached
            index.delete_document(media_id, name)
        raise
    out = []
    for name, chunks in read:
        pages = {c.page for c in chunks if c.page is not None}
        out.append(Attached(name=name, pages=max(pages) if pages else None, chunks=len(chunks)))
    return out
