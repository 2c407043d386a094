"""A media item's chapters for the faces: computed once by the summariser, then stored.

Chapters cost an LLM pass (topic segmentation, then the model titles each chapter:
:meth:`graphs.summarize.Summarizer` with ``style="chapters"``, the same code as
``chronorag summarize --style chapters``), so the first request computes them and stores
them as ``chapters.json`` beside the item's ``transcript.json``, written atomically. That
folder is removed with the item by the lifecycle (delete, a failed run, ``--reindex``), so
a re-indexed item gets new chapters; a stored list is used only while it belongs to the
indexed item it was made from (its ``updated_at``), else it is made again. Requests for
one item wait for each other: one LLM pass per item, whoever asks.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from graphs.summarize import Chapter
from ingestion.transcript_store import write_atomically

if TYPE_CHECKING:
    from app.container import Container

FILE_NAME = "chapters.json"


class NotReady(LookupError):
    """The item is unknown or not indexed (yet)."""


class StoredChapters(BaseModel):
    """What ``chapters.json`` holds."""

    media_id: str
    indexed_at: datetime  # the item's ``updated_at`` when the chapters were made
    chapters: list[Chapter]


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(media_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(media_id, threading.Lock())


def chapters_path(container: Container, media_id: str) -> Path:
    return container.transcripts.folder(media_id) / FILE_NAME


def stored(container: Container, media_id: str, indexed_at: datetime) -> list[Chapter] | None:
    """The stored chapters when they were made from this index of the item, else None."""
    path = chapters_path(container, media_id)
    try:
        doc = StoredChapters.model_validate_json(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValidationError):  # none yet, or unreadable: made again
        return None
    if doc.media_id != media_id or doc.indexed_at != indexed_at:
        return None
    return doc.chapters


def chapters(container: Container, media_id: str) -> list[Chapter]:
    """The item's chapters, stored or made now (an LLM pass). Raises :class:`NotReady`."""
    record = container.registry.get_media(media_id)
    if record is None or record.status != "ready":
        raise NotReady(media_id)
    with _lock(media_id):
        found = stored(container, media_id, record.updated_at)
        if found is not None:
            return found
        made = container.agent.summarize(media_id, style="chapters").chapters
        now = container.registry.get_media(media_id)
        # re-indexed or deleted meanwhile: these chapters are of what was there before
        if now is not None and now.status == "ready" and now.updated_at == record.updated_at:
            doc = StoredChapters(media_id=media_id, indexed_at=record.updated_at, chapters=made)
            write_atomically(chapters_path(container, media_id), doc.model_dump_json())
        return made
