"""The lifecycle's store on PostgreSQL: media rows, the job queue and leases, shared by
every worker and app replica that points at one database (``CHRONORAG_DATABASE_URL``).

The same :class:`~app.lifecycle.store.MediaStore` as the SQLite ``Registry``, with the
same rules: each method is one transaction (a ``psycopg_pool`` connection per call);
``claim_job`` takes the oldest queued job with ``FOR UPDATE SKIP LOCKED`` (concurrent
claimers never wait on, or get, the same job) and leases its item in that transaction;
lease-holder writes are compare-and-set on the lease token. Times come from the server's
clock (``now()``), so leases written by different machines compare on one clock.

The schema is versioned (``chronorag_schema``) and migrated on open inside one
transaction holding an advisory lock: replicas that start at once apply each migration
exactly once, the others wait and find it done.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from app.lifecycle.columns import JOB_FIELDS, MEDIA_FIELDS, STATUSES, checked, sql_values
from app.lifecycle.records import JobRecord, Lease, Leased, MediaRecord, Status

# Each entry migrates version i to i + 1; never edit one that shipped, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE media (
        media_id     TEXT PRIMARY KEY,
        title        TEXT NOT NULL,
        path         TEXT NOT NULL,
        sha256       TEXT NOT NULL,
        kind         TEXT,
        duration_s   DOUBLE PRECISION,
        language     TEXT,
        recorded_at  TIMESTAMPTZ,
        status       TEXT NOT NULL,
        stage        TEXT,
        progress     DOUBLE PRECISION NOT NULL DEFAULT 0,
        error        TEXT,
        chunks       INTEGER NOT NULL DEFAULT 0,
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        lease_host   TEXT,
        lease_pid    INTEGER,
        lease_token  TEXT,
        heartbeat_at TIMESTAMPTZ,
        seq          BIGSERIAL
    );
    CREATE TABLE jobs (
        job_id     TEXT PRIMARY KEY,
        media_id   TEXT NOT NULL,
        status     TEXT NOT NULL,
        stage      TEXT,
        progress   DOUBLE PRECISION NOT NULL DEFAULT 0,
        error      TEXT,
        owner      TEXT,
        attempts   INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        seq        BIGSERIAL
    );
    CREATE INDEX jobs_queue ON jobs (created_at, seq) WHERE status = 'queued';
    CREATE INDEX jobs_media ON jobs (media_id, created_at, seq);
    CREATE INDEX media_status ON media (status);
    """,
    "ALTER TABLE jobs ADD COLUMN speakers INTEGER",  # the speaker count given with the upload
)
SCHEMA_VERSION = len(MIGRATIONS)
# pg_advisory_xact_lock key: any fixed 64-bit number, the same in every replica
_SCHEMA_LOCK = 0x6368726F6E6F  # "chrono"
_CLEAR_LEASE = "lease_host=NULL, lease_pid=NULL, lease_token=NULL, heartbeat_at=NULL"


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer release than this one."""


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema to ``SCHEMA_VERSION`` (one transaction, advisory lock); returns the
    version found before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS chronorag_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM chronorag_schema").fetchone()
        found = row["version"] if row else 0
        if found > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"the database schema is version {found}; this release knows {SCHEMA_VERSION}"
            )
        for step in MIGRATIONS[found:]:
            conn.execute(step)
        if row is None:
            conn.execute("INSERT INTO chronorag_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
        else:
            conn.execute("UPDATE chronorag_schema SET version=%s", (SCHEMA_VERSION,))
    return found


def _media(row: dict[str, Any]) -> MediaRecord:
    return MediaRecord(**{k: row[k] for k in MediaRecord.model_fields})


def _job(row: dict[str, Any]) -> JobRecord:
    return JobRecord(**{k: row[k] for k in JobRecord.model_fields})


class PostgresStore:
    """Thread-safe access to the media and jobs tables on a PostgreSQL server."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
            name="chronorag-store",
        )
        self._pool.open(wait=True, timeout=30)
        try:
            with self._pool.connection() as conn:
                migrate(conn)
        except BaseException:
            self._pool.close()
            raise

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[dict[str, Any]]:
        with self._pool.connection() as conn:
            return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]

    def close(self) -> None:
        self._pool.close()

    def _update(
        self, table: str, key: str, value: str, allowed: frozenset[str], fields: dict[str, object]
    ) -> None:
        values = sql_values(checked(table, allowed, fields))
        sets = "".join(f"{k}=%s, " for k in values)
        with self._tx() as db:
            db.execute(
                f"UPDATE {table} SET {sets}updated_at=now() WHERE {key}=%s",  # type: ignore[arg-type]
                (*values.values(), value),
            )

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
        """Register (or reset) an item; a ``running`` item is left as it is (see Registry)."""
        host, pid, token = (lease.host, lease.pid, lease.token) if lease else (None, None, None)
        with self._tx() as db:
            db.execute(
                """INSERT INTO media (media_id, title, path, sha256, recorded_at, status,
                                      lease_host, lease_pid, lease_token, heartbeat_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,
                           CASE WHEN %s::text IS NULL THEN NULL ELSE now() END)
                   ON CONFLICT (media_id) DO UPDATE SET
                     title=excluded.title, path=excluded.path, recorded_at=excluded.recorded_at,
                     status=excluded.status, stage=NULL, progress=0, error=NULL, chunks=0,
                     updated_at=now(), lease_host=excluded.lease_host,
                     lease_pid=excluded.lease_pid, lease_token=excluded.lease_token,
                     heartbeat_at=excluded.heartbeat_at
                   WHERE media.status != 'running'""",
                (media_id, title, path, sha256, recorded_at, status, host, pid, token, token),
            )
            row = db.execute("SELECT * FROM media WHERE media_id=%s", (media_id,)).fetchone()
        assert row is not None
        return _media(row)

    def update_media(self, media_id: str, **fields: object) -> None:
        self._update("media", "media_id", media_id, MEDIA_FIELDS, fields)

    def get_media(self, media_id: str) -> MediaRecord | None:
        rows = self._rows("SELECT * FROM media WHERE media_id=%s", (media_id,))
        return _media(rows[0]) if rows else None

    def list_media(self, status: Status | None = None) -> list[MediaRecord]:
        where, args = ("WHERE status=%s", (status,)) if status else ("", ())
        rows = self._rows(f"SELECT * FROM media {where} ORDER BY created_at, seq", args)
        return [_media(r) for r in rows]

    def not_ready_ids(self) -> list[str]:
        rows = self._rows("SELECT media_id FROM media WHERE status != 'ready' ORDER BY seq")
        return [r["media_id"] for r in rows]

    def is_ready(self, media_id: str) -> bool:
        sql = "SELECT 1 FROM media WHERE media_id=%s AND status='ready'"
        return bool(self._rows(sql, (media_id,)))

    def titles(self, media_ids: list[str]) -> dict[str, str]:
        if not media_ids:
            return {}
        rows = self._rows(
            "SELECT media_id, title FROM media WHERE media_id = ANY(%s)", (list(media_ids),)
        )
        return {r["media_id"]: r["title"] for r in rows}

    def delete_media(self, media_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE media_id=%s", (media_id,))
            db.execute("DELETE FROM media WHERE media_id=%s", (media_id,))

    # --- leases -----------------------------------------------------------------------
    def clock(self) -> datetime:
        """Now on the server's clock (the one every heartbeat is written with)."""
        row = self._rows("SELECT now() AS now")[0]
        return row["now"]

    def running(self) -> list[Leased]:
        """Every ``running`` item with its lease and the running job it belongs to."""
        rows = self._rows(
            """SELECT m.media_id, m.lease_host, m.lease_pid, m.lease_token, m.heartbeat_at,
                      (SELECT j.job_id FROM jobs j WHERE j.media_id=m.media_id
                         AND j.status='running' ORDER BY j.created_at DESC, j.seq DESC
                         LIMIT 1) AS job_id
               FROM media m WHERE m.status='running' ORDER BY m.updated_at, m.seq"""
        )
        out = []
        for r in rows:
            lease = None
            if r["lease_token"] is not None:
                lease = Lease(r["lease_host"], r["lease_pid"], r["lease_token"], r["heartbeat_at"])
            out.append(Leased(r["media_id"], lease, r["job_id"]))
        return out

    def heartbeat(
        self, media_id: str, token: str, job_id: str | None, stage: str, progress: float
    ) -> None:
        with self._tx() as db:
            held = db.execute(
                "UPDATE media SET stage=%s, progress=%s, heartbeat_at=now(), updated_at=now()"
                " WHERE media_id=%s AND lease_token=%s",
                (stage, progress, media_id, token),
            ).rowcount
            if held and job_id is not None:
                db.execute(
                    "UPDATE jobs SET stage=%s, progress=%s, updated_at=now() WHERE job_id=%s",
                    (stage, progress, job_id),
                )

    def renew(self, media_id: str, token: str) -> bool:
        with self._tx() as db:
            held = db.execute(
                "UPDATE media SET heartbeat_at=now() WHERE media_id=%s AND lease_token=%s",
                (media_id, token),
            ).rowcount
        return held == 1

    def take_over(self, media_id: str, token: str | None, lease: Lease) -> bool:
        with self._tx() as db:
            done = db.execute(
                "UPDATE media SET lease_host=%s, lease_pid=%s, lease_token=%s,"
                " heartbeat_at=now() WHERE media_id=%s AND status='running'"
                " AND lease_token IS NOT DISTINCT FROM %s",
                (lease.host, lease.pid, lease.token, media_id, token),
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
        """End the run holding ``token`` (see ``Registry.finish``)."""
        checked("media", MEDIA_FIELDS, fields)
        values = sql_values({**fields, "status": status, "error": error})
        sets = "".join(f"{k}=%s, " for k in values)
        job_stage, job_progress = ("done", 1.0) if status == "ready" else (None, None)
        with self._tx() as db:
            done = db.execute(
                f"UPDATE media SET {sets}updated_at=now(), {_CLEAR_LEASE}"  # type: ignore[arg-type]
                " WHERE media_id=%s AND lease_token=%s",
                (*values.values(), media_id, token),
            ).rowcount
            if job_id is not None:
                db.execute(
                    "UPDATE jobs SET status=%s, error=%s, stage=COALESCE(%s, stage),"
                    " progress=COALESCE(%s, progress), updated_at=now() WHERE job_id=%s",
                    (status, error, job_stage, job_progress, job_id),
                )
        return done == 1

    def requeue(self, media_id: str, token: str | None, job_id: str) -> bool:
        with self._tx() as db:
            done = db.execute(
                "UPDATE media SET status='queued', stage=NULL, progress=0, error=NULL,"
                f" chunks=0, updated_at=now(), {_CLEAR_LEASE}"
                " WHERE media_id=%s AND status='running'"
                " AND lease_token IS NOT DISTINCT FROM %s",
                (media_id, token),
            ).rowcount
            if done:
                db.execute(
                    "UPDATE jobs SET status='queued', stage=NULL, progress=0, owner=NULL,"
                    " updated_at=now() WHERE job_id=%s",
                    (job_id,),
                )
        return done == 1

    def interrupt(self, media_id: str, token: str | None, error: str) -> bool:
        with self._tx() as db:
            done = db.execute(
                f"UPDATE media SET status='failed', error=%s, chunks=0, updated_at=now(),"
                f" {_CLEAR_LEASE} WHERE media_id=%s AND status='running'"
                " AND lease_token IS NOT DISTINCT FROM %s",
                (error, media_id, token),
            ).rowcount
        return done == 1

    # --- jobs -------------------------------------------------------------------------
    def create_job(
        self, media_id: str, status: Status = "queued", *, speakers: int | None = None
    ) -> JobRecord:
        stage, progress = ("done", 1.0) if status == "ready" else (None, 0.0)
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO jobs (job_id, media_id, status, stage, progress, speakers)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
                (uuid.uuid4().hex, media_id, status, stage, progress, speakers),
            ).fetchone()
        assert row is not None
        return _job(row)

    def claim_job(self, lease: Lease) -> JobRecord | None:
        """Take the oldest queued job nobody else is claiming and lease its item."""
        with self._tx() as db:
            row = db.execute(
                """UPDATE jobs SET status='running', owner=%s, stage='starting', progress=0,
                                   attempts=attempts+1, updated_at=now()
                   WHERE job_id = (SELECT job_id FROM jobs WHERE status='queued'
                                   ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                   RETURNING *""",
                (str(lease),),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE media SET status='running', stage='starting', progress=0, error=NULL,"
                " updated_at=now(), lease_host=%s, lease_pid=%s, lease_token=%s,"
                " heartbeat_at=now() WHERE media_id=%s",
                (lease.host, lease.pid, lease.token, row["media_id"]),
            )
        return _job(row)

    def update_job(self, job_id: str, **fields: object) -> None:
        self._update("jobs", "job_id", job_id, JOB_FIELDS, fields)

    def get_job(self, job_id: str) -> JobRecord | None:
        rows = self._rows("SELECT * FROM jobs WHERE job_id=%s", (job_id,))
        return _job(rows[0]) if rows else None

    def latest_job_id(self, media_id: str) -> str | None:
        rows = self._rows(
            "SELECT job_id FROM jobs WHERE media_id=%s ORDER BY created_at DESC, seq DESC LIMIT 1",
            (media_id,),
        )
        return rows[0]["job_id"] if rows else None

    def latest_job_ids(self) -> dict[str, str]:
        rows = self._rows(
            "SELECT DISTINCT ON (media_id) media_id, job_id FROM jobs"
            " ORDER BY media_id, created_at DESC, seq DESC"
        )
        return {row["media_id"]: row["job_id"] for row in rows}

    def job_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for row in self._rows("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"):
            counts[row["status"]] = row["n"]
        return counts
