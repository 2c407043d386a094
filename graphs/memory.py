"""Conversation memory: LangGraph checkpointers keyed by ``thread_id``.

Embedded: SQLite (``langgraph-checkpoint-sqlite``) in the data dir. Scale-out: a
``postgresql://`` URL selects the Postgres checkpointer
(``langgraph-checkpoint-postgres``), shared by every API worker.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver


@dataclass
class Checkpointer:
    """A checkpointer and the way to release its connection."""

    saver: BaseCheckpointSaver
    close: Callable[[], None]


def open_checkpointer(url: str | None = None, *, sqlite_path: Path | None = None) -> Checkpointer:
    """Postgres when ``url`` is ``postgres(ql)://…``; otherwise SQLite at ``sqlite_path``."""
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise ValueError(f"checkpointer URL must be postgresql://…, got {url.split(':')[0]}:")
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        conn = psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        saver = PostgresSaver(conn)
        saver.setup()
        return Checkpointer(saver, conn.close)
    if sqlite_path is None:
        raise ValueError("an SQLite path is required when no checkpointer URL is given")
    from langgraph.checkpoint.sqlite import SqliteSaver

    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(sqlite_path, check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    return Checkpointer(saver, conn.close)
