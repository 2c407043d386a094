"""PostgreSQL-only behaviour of the lifecycle store, on a real server: the versioned
schema is created once however many replicas open a fresh database at the same moment,
a database from a newer release is refused, and leases of other machines expire on the
server's clock."""

from __future__ import annotations

import psycopg
import pytest

from app.lifecycle import postgres_store
from app.lifecycle.postgres_store import PostgresStore, SchemaTooNewError
from tests.at_once import at_once


def test_replicas_opening_a_fresh_database_at_once_migrate_it_once(pg_url: str) -> None:
    stores, errors = at_once(lambda: PostgresStore(pg_url, max_size=2), 6)
    try:
        assert errors == [] and len(stores) == 6
        with psycopg.connect(pg_url) as conn:
            versions = conn.execute("SELECT version FROM chronorag_schema").fetchall()
        assert versions == [(postgres_store.SCHEMA_VERSION,)]
        # every replica sees the same queue
        stores[0].upsert_media("a" * 16, title="t", path="/a", sha256="a" * 64, recorded_at=None)
        job = stores[1].create_job("a" * 16)
        assert stores[5].get_job(job.job_id).status == "queued"
    finally:
        for store in stores:
            store.close()


def test_a_database_from_a_newer_release_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE chronorag_schema SET version = version + 1")
    with pytest.raises(SchemaTooNewError, match="this release knows"):
        PostgresStore(pg_url)


def test_reopening_an_existing_database_keeps_its_rows(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    store.upsert_media("b" * 16, title="kept", path="/b", sha256="b" * 64, recorded_at=None)
    store.close()
    store = PostgresStore(pg_url)
    try:
        assert store.get_media("b" * 16).title == "kept"
    finally:
        store.close()


def test_chat_memory_checkpointers_of_replicas_starting_at_once(pg_url: str) -> None:
    """``PostgresSaver.setup()`` races when replicas start together; ours runs locked."""
    from langgraph.checkpoint.base import empty_checkpoint

    from graphs.memory import open_checkpointer

    opened, errors = at_once(lambda: open_checkpointer(pg_url, pool_size=2), 4)
    try:
        assert errors == [] and len(opened) == 4
        config = {"configurable": {"thread_id": "t-1", "checkpoint_ns": ""}}
        checkpoint = empty_checkpoint()
        opened[0].saver.put(config, checkpoint, {"source": "input", "step": 0}, {})
        seen = opened[3].saver.get_tuple(config)  # another replica reads the same thread
        assert seen is not None and seen.checkpoint["id"] == checkpoint["id"]
    finally:
        for memory in opened:
            memory.close()
