"""Conversation memory: LangGraph checkpointers keyed by ``thread_id``.

Embedded: SQLite (``langgraph-checkpoint-sqlite``) in the data dir. Scale-out: a
``postgresql://`` URL selects the Postgres checkpointer
(``langgraph-checkpoint-postgres``) on a connection pool, shared by every app replica: a
follow-up may land on any replica. ``PostgresSaver.setup()`` is not safe when two
replicas start at once (both insert the same migration row), so it runs under a
PostgreSQL advisory lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

_SETUP_LOCK = 0x6C616E6767726170  # pg_advisory_lock key for the checkpointer's migrations


@dataclass
class Checkpointer:
    """A checkpointer and the way to release its connection."""

    saver: BaseCheckpointSaver
    close: Callable[[], None]


def open_checkpointer(
    url: str | None = None, *, sqlite_path: Path | None = None, pool_size: int = 4
) -> Checkpointer:
    """Postgres when ``url`` is ``postgres(ql)://…``; otherwise SQLite at ``sqlite_path``."""
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise ValueError(f"checkpointer URL must be postgresql://…, got {url.split(':')[0]}:")
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        # the settings langgraph-checkpoint-postgres documents for a pool
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs=kwargs, open=False)
        pool.open(wait=True, timeout=30)
        try:
            with pool.connection() as conn:
                # poll, never block: the migrations build indexes CONCURRENTLY, which waits
                # for every open statement, a blocked pg_advisory_lock call included
                while not conn.execute(
                    "SELECT pg_try_advisory_lock(%s) AS got", (_SETUP_LOCK,)
                ).fetchone()["got"]:
                    time.sleep(0.1)
                try:
                    PostgresSaver(conn).setup()
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        except BaseException:
            pool.close()
            raise
        return Checkpointer(PostgresSaver(pool), pool.close)
    if sqlite_path is None:
        raise ValueError("an SQLite path is required when no checkpointer URL is given")
    from langgraph.checkpoint.sqlite import SqliteSaver

    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(sqlite_path, check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    return Checkpointer(saver, conn.close)
