"""The writable columns of the lifecycle's two tables, checked the same way by every store.

``media`` and ``jobs`` are the same in SQLite (``registry``) and PostgreSQL
(``postgres_store``); a field outside these sets, or a status outside ``Status``, is a
programming error reported as ``ValueError`` before anything is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import get_args

from app.lifecycle.records import Status

MEDIA_FIELDS = frozenset(
    {"title", "path", "kind", "duration_s", "language", "recorded_at", "status", "stage",
     "progress", "error", "chunks"}
)  # fmt: skip
JOB_FIELDS = frozenset({"status", "stage", "progress", "error"})
STATUSES: tuple[str, ...] = get_args(Status)


def checked(table: str, allowed: frozenset[str], fields: dict[str, object]) -> dict[str, object]:
    """``fields`` when every name is in ``allowed`` and any status is a known one."""
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"unknown {table.rstrip('s')} fields: {sorted(bad)}")
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValueError(f"unknown status {fields['status']!r}: use {STATUSES}")
    return fields


def sql_values(fields: dict[str, object]) -> dict[str, object]:
    """Datetimes as ISO text (SQLite stores text; PostgreSQL casts it to timestamptz)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}
