"""The SQLite store behind the lifecycle: media rows, the persistent job queue, leases.

One file (``settings.db_path``), WAL mode, shared safely by every process on the host.
Every method is one transaction, so each lifecycle step is atomic: a claim takes the
oldest queued job *and* leases its media; ``finish`` and ``requeue`` only act while the
caller's lease is still the one recorded (compare-and-set). Only
:class:`app.lifecycle.Lifecycle` writes here in production; the state rules live there.
``postgres_store.PostgresStore`` is the same store on PostgreSQL (see ``store.MediaStore``).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app.lifecycle.columns import JOB_FIELDS, MEDIA_FIELDS, STATUSES, checked, sql_values
from app.lifecycle.records import JobRecord, Lease, Leased, MediaRecord, Status

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
# added after the first release: registries created before leases get them on open
_LEASE_COLUMNS = {
    "lease_host": "TEXT",
    "lease_pid": "INTEGER",
    "lease_token": "TEXT",
    "heartbeat_at": "TEXT",
}
_JOB_COLUMNS = {
    "attempts": "INTEGER NOT NULL DEFAULT 0",  # claims of the job so far
    "speakers": "INTEGER",  # the speaker count given with the upload
}
_CLEAR_LEASE = "lease_host=NULL, lease_pid=NULL, lease_token=NULL, heartbeat_at=NULL"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _media(row: sqlite3.Row) -> MediaRecord:
    return MediaRecord(**{k: row[k] for k in MediaRecord.model_fields})


class Registry:
    """Thread-safe access to the media and jobs tables (SQLite)."""

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
        with self._tx() as db:
            have = {row["name"] for row in db.execute("PRAGMA table_info(media)")}
            for name, kind in _LEASE_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE media ADD COLUMN {name} {kind}")
            have = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
            for name, kind in _JOB_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

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

    def _rows(self, sql: str, args: tuple[object, ...] | list[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _update(
        self, table: str, key: str, value: str, allowed: frozenset[str], fields: dict[str, object]
    ) -> None:
        """Set ``fields`` (checked against ``allowed``; statuses against ``Status``) of one row."""
        values = sql_values(checked(table, allowed, fields))
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
        lease: Lease | None = None,
    ) -> MediaRecord:
        """Register (or reset) an item. An item that is ``running`` is left as it is: the
        returned record then shows who holds it (compare its lease with yours)."""
        now = _now()
        rec_at = recorded_at.isoformat() if recorded_at else None
        host, pid, token = (lease.host, lease.pid, lease.token) if lease else (None, None, None)
        beat = now if lease else None
        with self._tx() as db:
            db.execute(
                """INSERT INTO media (media_id, title, path, sha256, recorded_at, status,
                                      stage, progress, error, chunks, created_at, updated_at,
                                      lease_host, lease_pid, lease_token, heartbeat_at)
                   VALUES (?, ?, ?, ?, ?, ?, NULL, 0, NULL, 0, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(media_id) DO UPDATE SET
                     title=excluded.title, path=excluded.path, recorded_at=excluded.recorded_at,
                     status=excluded.status, stage=NULL, progress=0, error=NULL, chunks=0,
                     updated_at=excluded.updated_at, lease_host=excluded.lease_host,
                     lease_pid=excluded.lease_pid, lease_token=excluded.lease_token,
                     heartbeat_at=excluded.heartbeat_at
                   WHERE media.status != 'running'""",
                (media_id, title, path, sha256, rec_at, status, now, now, host, pid, token, beat),
            )
        record = self.get_media(media_id)
        assert record is not None
        return record

    def update_media(self, media_id: str, **fields: object) -> None:
        self._update("media", "media_id", media_id, MEDIA_FIELDS, fields)

    def get_media(self, media_id: str) -> MediaRecord | None:
        rows = self._rows("SELECT * FROM media WHERE media_id=?", (media_id,))
        return _media(rows[0]) if rows else None

    def list_media(self, status: Status | None = None) -> list[MediaRecord]:
        query, args = "SELECT * FROM media", ()
        if status:
            query, args = query + " WHERE status=?", (status,)
        return [_media(r) for r in self._rows(query + " ORDER BY created_at, media_id", args)]

    def not_ready_ids(self) -> list[str]:
        """Ids that must never appear in search results (small: in-flight or failed)."""
        rows = self._rows("SELECT media_id FROM media WHERE status != 'ready'")
        return [r["media_id"] for r in rows]

    def is_ready(self, media_id: str) -> bool:
        rows = self._rows("SELECT 1 FROM media WHERE media_id=? AND status='ready'", (media_id,))
        return bool(rows)

    def titles(self, media_ids: list[str]) -> dict[str, str]:
        if not media_ids:
            return {}
        marks = ",".join("?" * len(media_ids))
        rows = self._rows(
            f"SELECT media_id, title FROM media WHERE media_id IN ({marks})", media_ids
        )
        return {r["media_id"]: r["title"] for r in rows}

    def delete_media(self, media_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE media_id=?", (media_id,))
            db.execute("DELETE FROM media WHERE media_id=?", (media_id,))

    # --- leases -----------------------------------------------------------------------
    def clock(self) -> datetime:
        """Now, on the clock heartbeats are written with (this host's)."""
        return datetime.now(UTC)

    def running(self) -> list[Leased]:
        """Every ``running`` item with its lease and the running job it belongs to."""
        rows = self._rows(
            """SELECT m.media_id, m.lease_host, m.lease_pid, m.lease_token, m.heartbeat_at,
                      (SELECT j.job_id FROM jobs j WHERE j.media_id=m.media_id
                         AND j.status='running' ORDER BY j.created_at DESC LIMIT 1) AS job_id
               FROM media m WHERE m.status='running' ORDER BY m.updated_at"""
        )
        out = []
        for r in rows:
            lease = None
            if r["lease_token"] is not None:
                beat = datetime.fromisoformat(r["heartbeat_at"]) if r["heartbeat_at"] else None
                lease = Lease(r["lease_host"], r["lease_pid"], r["lease_token"], beat)
            out.append(Leased(r["media_id"], lease, r["job_id"]))
        return out

    def heartbeat(
        self, media_id: str, token: str, job_id: str | None, stage: str, progress: float
    ) -> None:
        """Record progress of the run holding ``token`` (and renew its lease)."""
        now = _now()
        with self._tx() as db:
            held = db.execute(
                "UPDATE media SET stage=?, progress=?, heartbeat_at=?, updated_at=?"
                " WHERE media_id=? AND lease_token=?",
                (stage, progress, now, now, media_id, token),
            ).rowcount
            if held and job_id is not None:
                db.execute(
                    "UPDATE jobs SET stage=?, progress=?, updated_at=? WHERE job_id=?",
                    (stage, progress, now, job_id),
                )

    def renew(self, media_id: str, token: str) -> bool:
        """Renew the lease ``token`` holds (no progress); False when it holds it no more."""
        now = _now()
        with self._tx() as db:
            held = db.execute(
                "UPDATE media SET heartbeat_at=? WHERE media_id=? AND lease_token=?",
                (now, media_id, token),
            ).rowcount
        return held == 1

    def take_over(self, media_id: str, token: str | None, lease: Lease) -> bool:
        """Move a ``running`` item from the lease ``token`` (``None``: no lease) to ``lease``
        (recovery's first step: exactly one recoverer wins)."""
        with self._tx() as db:
            done = db.execute(
                "UPDATE media SET lease_host=?, lease_pid=?, lease_token=?, heartbeat_at=?"
                " WHERE media_id=? AND status='running' AND lease_token IS ?",
                (lease.host, lease.pid, lease.token, _now(), media_id, token),
            ).rowcount
        return done == 1

    def finish(
        self,
        media_id: str,
        token: str,
        job_id: str | None,
        status: Status,
        *,
        error: str | None = None,
        **fields: object,
    ) -> bool:
        """End the run holding ``token``: the item and its job become ``status`` and the
        lease is released. False (nothing written to the item) when the item is gone or
        another run holds it now."""
        checked("media", MEDIA_FIELDS, fields)
        values = sql_values({**fields, "status": status, "error": error})
        sets = ", ".join(f"{k}=?" for k in values)
        now = _now()
        job_stage, job_progress = ("done", 1.0) if status == "ready" else (None, None)
        with self._tx() as db:
            done = db.execute(
                f"UPDATE media SET {sets}, updated_at=?, {_CLEAR_LEASE}"
                " WHERE media_id=? AND lease_token=?",
                (*values.values(), now, media_id, token),
            ).rowcount
            if job_id is not None:
                db.execute(
                    "UPDATE jobs SET status=?, error=?, stage=COALESCE(?, stage),"
                    " progress=COALESCE(?, progress), updated_at=? WHERE job_id=?",
                    (status, error, job_stage, job_progress, now, job_id),
                )
        return done == 1

    def requeue(self, media_id: str, token: str | None, job_id: str) -> bool:
        """Put an interrupted job and its item back in the queue (if ``token`` still holds
        it; ``None`` matches an item without a lease)."""
        now = _now()
        with self._tx() as db:
            done = db.execute(
                "UPDATE media SET status='queued', stage=NULL, progress=0, error=NULL,"
                f" chunks=0, updated_at=?, {_CLEAR_LEASE}"
                " WHERE media_id=? AND status='running' AND lease_token IS ?",
                (now, media_id, token),
            ).rowcount
            if done:
                db.execute(
                    "UPDATE jobs SET status='queued', stage=NULL, progress=0, owner=NULL,"
                    " updated_at=? WHERE job_id=?",
                    (now, job_id),
                )
        return done == 1

    def interrupt(self, media_id: str, token: str | None, error: str) -> bool:
        """Mark an abandoned item ``failed`` (if ``token`` still holds it, as ``requeue``)."""
        with self._tx() as db:
            done = db.execute(
                f"UPDATE media SET status='failed', error=?, chunks=0, updated_at=?, {_CLEAR_LEASE}"
                " WHERE media_id=? AND status='running' AND lease_token IS ?",
                (error, _now(), media_id, token),
            ).rowcount
        return done == 1

    # --- jobs -------------------------------------------------------------------------
    def create_job(
        self, media_id: str, status: Status = "queued", *, speakers: int | None = None
    ) -> JobRecord:
        job_id = uuid.uuid4().hex
        now = _now()
        done = (("done", 1.0) if status == "ready" else (None, 0.0))
        with self._tx() as db:
            db.execute(
                """INSERT INTO jobs (job_id, media_id, status, stage, progress, created_at,
                                     updated_at, speakers)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (job_id, media_id, status, *done, now, now, speakers),
            )
        job = self.get_job(job_id)
        assert job is not None
        return job

    def claim_job(self, lease: Lease) -> JobRecord | None:
        """Atomically take the oldest queued job and lease its media item to ``lease``
        (``None`` when the queue is empty)."""
        now = _now()
        with self._tx() as db:
            row = db.execute(
                "SELECT job_id, media_id FROM jobs WHERE status='queued'"
                " ORDER BY created_at, rowid LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET status='running', owner=?, stage='starting', progress=0,"
                " attempts=attempts+1, updated_at=? WHERE job_id=?",
                (str(lease), now, row["job_id"]),
            )
            db.execute(
                "UPDATE media SET status='running', stage='starting', progress=0, error=NULL,"
                " updated_at=?, lease_host=?, lease_pid=?, lease_token=?, heartbeat_at=?"
                " WHERE media_id=?",
                (now, lease.host, lease.pid, lease.token, now, row["media_id"]),
            )
        return self.get_job(row["job_id"])

    def update_job(self, job_id: str, **fields: object) -> None:
        self._update("jobs", "job_id", job_id, JOB_FIELDS, fields)

    def get_job(self, job_id: str) -> JobRecord | None:
        rows = self._rows("SELECT * FROM jobs WHERE job_id=?", (job_id,))
        return JobRecord(**{k: rows[0][k] for k in JobRecord.model_fields}) if rows else None

    def latest_job_id(self, media_id: str) -> str | None:
        """The newest job of a media item (``None`` if it has none)."""
        rows = self._rows(
            "SELECT job_id FROM jobs WHERE media_id=? ORDER BY created_at DESC, rowid DESC"
            " LIMIT 1",
            (media_id,),
        )
        return rows[0]["job_id"] if rows else None

    def latest_job_ids(self) -> dict[str, str]:
        """media id → its newest job id, for every media item that has jobs (one query)."""
        rows = self._rows("SELECT media_id, job_id FROM jobs ORDER BY created_at, rowid")
        return {row["media_id"]: row["job_id"] for row in rows}

    def job_counts(self) -> dict[str, int]:
        """Number of jobs per status (all four statuses always present)."""
        counts = dict.fromkeys(STATUSES, 0)
        for row in self._rows("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"):
            counts[row["status"]] = row["n"]
        return counts
