"""Media registry and ingestion job state, in one SQLite file.

A media item moves ``queued → running(stage, progress) → ready | failed(error)``.
Only ``ready`` media are searchable (the index excludes every other id). Jobs are
a persistent queue: the service's worker claims them atomically, and a restart
puts interrupted ``running`` jobs back to ``queued``.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel

Status = Literal["queued", "running", "ready", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS media (
    media_id    TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    kind        TEXT,
    duration_s  REAL,
    language    TEXT,
    recorded_at TEXT,
    status      TEXT NOT NULL,
    stage       TEXT,
    progress    REAL NOT NULL DEFAULT 0,
    error       TEXT,
    chunks      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id      TEXT PRIMARY KEY,
    media_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    stage       TEXT,
    progress    REAL NOT NULL DEFAULT 0,
    error       TEXT,
    owner       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at);
"""


_MEDIA_FIELDS = frozenset(
    {"title", "path", "kind", "duration_s", "language", "recorded_at", "status", "stage",
     "progress", "error", "chunks"}
)  # fmt: skip
_JOB_FIELDS = frozenset({"status", "stage", "progress", "error"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class MediaState(BaseModel):
    """What may be shown about a media item (the service returns exactly this, plus links)."""

    media_id: str
    title: str
    kind: str | None = None
    duration_s: float | None = None
    language: str | None = None
    recorded_at: datetime | None = None
    status: Status
    stage: str | None = None
    progress: float = 0.0
    error: str | None = None
    chunks: int = 0
    created_at: datetime
    updated_at: datetime


class MediaRecord(MediaState):
    """The registry row: the public state plus where the file is and its checksum."""

    path: str
    sha256: str


class JobRecord(BaseModel):
    job_id: str
    media_id: str
    status: Status
    stage: str | None = None
    progress: float = 0.0
    error: str | None = None
    created_at: datetime
    updated_at: datetime


class Registry:
    """Thread-safe access to the media and jobs tables."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _update(
        self, table: str, key: str, value: str, allowed: frozenset[str], fields: dict[str, object]
    ) -> None:
        """Set ``fields`` (checked against ``allowed``; statuses against ``Status``) of one row."""
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown {table.rstrip('s')} fields: {sorted(bad)}")
        if "status" in fields and fields["status"] not in get_args(Status):
            raise ValueError(f"unknown status {fields['status']!r}: use {get_args(Status)}")
        values = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}
        values["updated_at"] = _now()
        sets = ", ".join(f"{k}=?" for k in values)
        with self._tx() as db:
            db.execute(f"UPDATE {table} SET {sets} WHERE {key}=?", (*values.values(), value))

    # --- media ------------------------------------------------------------------------
    def upsert_media(
        self,
        media_id: str,
        *,
        title: str,
        path: str,
        sha256: str,
        recorded_at: datetime | None,
        status: Status = "queued",
    ) -> MediaRecord:
        now = _now()
        rec_at = recorded_at.isoformat() if recorded_at else None
        with self._tx() as db:
            db.execute(
                """INSERT INTO media (media_id, title, path, sha256, recorded_at, status,
                                      stage, progress, error, chunks, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, NULL, 0, NULL, 0, ?, ?)
                   ON CONFLICT(media_id) DO UPDATE SET
                     title=excluded.title, path=excluded.path, recorded_at=excluded.recorded_at,
                     status=excluded.status, stage=NULL, progress=0, error=NULL,
                     updated_at=excluded.updated_at""",
                (media_id, title, path, sha256, rec_at, status, now, now),
            )
        record = self.get_media(media_id)
        assert record is not None
        return record

    def update_media(self, media_id: str, **fields: object) -> None:
        self._update("media", "media_id", media_id, _MEDIA_FIELDS, fields)

    def get_media(self, media_id: str) -> MediaRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM media WHERE media_id=?", (media_id,)
            ).fetchone()
        return MediaRecord(**dict(row)) if row else None

    def list_media(self, status: Status | None = None) -> list[MediaRecord]:
        query, args = "SELECT * FROM media", ()
        if status:
            query, args = query + " WHERE status=?", (status,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY created_at, media_id", args).fetchall()
        return [MediaRecord(**dict(r)) for r in rows]

    def not_ready_ids(self) -> list[str]:
        """Ids that must never appear in search results (small: in-flight or failed)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT media_id FROM media WHERE status != 'ready'"
            ).fetchall()
        return [r["media_id"] for r in rows]

    def titles(self, media_ids: list[str]) -> dict[str, str]:
        if not media_ids:
            return {}
        marks = ",".join("?" * len(media_ids))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT media_id, title FROM media WHERE media_id IN ({marks})", media_ids
            ).fetchall()
        return {r["media_id"]: r["title"] for r in rows}

    def delete_media(self, media_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE media_id=?", (media_id,))
            db.execute("DELETE FROM media WHERE media_id=?", (media_id,))

    # --- jobs -------------------------------------------------------------------------
    def create_job(self, media_id: str) -> JobRecord:
        job_id = uuid.uuid4().hex
        now = _now()
        with self._tx() as db:
            db.execute(
                """INSERT INTO jobs (job_id, media_id, status, progress, created_at, updated_at)
                   VALUES (?, ?, 'queued', 0, ?, ?)""",
                (job_id, media_id, now, now),
            )
        job = self.get_job(job_id)
        assert job is not None
        return job

    def claim_job(self, owner: str) -> JobRecord | None:
        """Atomically take the oldest queued job (``None`` when the queue is empty)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT job_id FROM jobs WHERE status='queued' ORDER BY created_at, rowid LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET status='running', owner=?, updated_at=? WHERE job_id=?",
                (owner, _now(), row["job_id"]),
            )
        return self.get_job(row["job_id"])

    def update_job(self, job_id: str, **fields: object) -> None:
        self._update("jobs", "job_id", job_id, _JOB_FIELDS, fields)

    def get_job(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        return JobRecord(**{k: row[k] for k in JobRecord.model_fields}) if row else None

    def requeue_interrupted(self) -> list[JobRecord]:
        """After a crash: running jobs go back to the queue (their media were cleaned)."""
        with self._tx() as db:
            rows = db.execute("SELECT job_id FROM jobs WHERE status='running'").fetchall()
            db.execute(
                "UPDATE jobs SET status='queued', stage=NULL, progress=0, owner=NULL,"
                " updated_at=? WHERE status='running'",
                (_now(),),
            )
        return [j for r in rows if (j := self.get_job(r["job_id"])) is not None]
