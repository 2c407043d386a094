"""The lifecycle's stores — SQLite (``Registry``) and PostgreSQL (``PostgresStore``, on a
real server), the same tests both ways: state transitions, atomic claims that lease the
item, compare-and-set ends of a run; a SQLite registry made before leases opens fine."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.lifecycle.records import Lease
from app.lifecycle.registry import Registry
from app.lifecycle.store import MediaStore


def _lease(token: str = "t1", host: str = "host-a") -> Lease:
    return Lease(host, 4242, token)


@pytest.fixture
def registry(open_store: Callable[[], MediaStore]) -> MediaStore:
    return open_store()


def _add(reg: MediaStore, media_id: str, title: str = "Weekly sync") -> None:
    reg.upsert_media(
        media_id,
        title=title,
        path=f"/media/{media_id}.mp4",
        sha256=media_id * 4,
        recorded_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
    )


def test_media_moves_queued_running_ready(registry: MediaStore) -> None:
    _add(registry, "a" * 16)
    rec = registry.get_media("a" * 16)
    assert rec is not None and rec.status == "queued" and rec.progress == 0
    assert rec.recorded_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert registry.not_ready_ids() == ["a" * 16]

    registry.update_media("a" * 16, status="running", stage="transcribe", progress=0.4)
    rec = registry.get_media("a" * 16)
    assert rec is not None
    assert (rec.status, rec.stage, rec.progress) == ("running", "transcribe", 0.4)
    assert registry.not_ready_ids() == ["a" * 16]

    registry.update_media(
        "a" * 16,
        status="ready",
        stage=None,
        progress=1.0,
        chunks=42,
        duration_s=61.5,
        language="en",
        kind="video",
    )
    rec = registry.get_media("a" * 16)
    assert rec is not None
    assert (rec.status, rec.chunks, rec.duration_s, rec.language) == ("ready", 42, 61.5, "en")
    assert registry.not_ready_ids() == []
    assert [m.media_id for m in registry.list_media("ready")] == ["a" * 16]
    assert registry.list_media("failed") == []


def test_failed_media_keeps_its_error_and_reingest_resets(registry: MediaStore) -> None:
    _add(registry, "b" * 16, "Demo")
    registry.update_media("b" * 16, status="failed", error="no audio stream")
    rec = registry.get_media("b" * 16)
    assert rec is not None and (rec.status, rec.error) == ("failed", "no audio stream")
    assert registry.not_ready_ids() == ["b" * 16]
    _add(registry, "b" * 16, "Demo (again)")  # re-ingesting the same file
    rec = registry.get_media("b" * 16)
    assert rec is not None
    assert (rec.status, rec.error, rec.title) == ("queued", None, "Demo (again)")


def test_titles_delete_and_bad_fields(registry: MediaStore) -> None:
    _add(registry, "c" * 16, "Budget review")
    _add(registry, "d" * 16, "Standup")
    assert registry.titles(["c" * 16, "d" * 16, "e" * 16]) == {
        "c" * 16: "Budget review",
        "d" * 16: "Standup",
    }
    assert registry.titles([]) == {}
    registry.create_job("c" * 16)
    registry.delete_media("c" * 16)
    assert registry.get_media("c" * 16) is None
    assert registry.claim_job(_lease()) is None  # its job went with it
    with pytest.raises(ValueError, match="unknown media fields"):
        registry.update_media("d" * 16, sha256="x")
    job = registry.create_job("d" * 16)
    with pytest.raises(ValueError, match="unknown job fields"):
        registry.update_job(job.job_id, owner="someone")
    with pytest.raises(ValueError, match="unknown status 'done'"):
        registry.update_job(job.job_id, status="done")
    assert registry.get_job(job.job_id).status == "queued"


def test_jobs_are_claimed_oldest_first_and_finish(registry: MediaStore) -> None:
    _add(registry, "f" * 16)
    jobs = [registry.create_job("f" * 16) for _ in range(5)]  # same second: tie on created_at
    claimed = [registry.claim_job(_lease(f"t{i}")) for i in range(5)]
    assert [j.job_id for j in claimed if j] == [j.job_id for j in jobs]
    assert all(j is not None and j.status == "running" for j in claimed)
    assert registry.claim_job(_lease()) is None
    registry.update_job(jobs[0].job_id, status="ready", stage="index", progress=1.0)
    done = registry.get_job(jobs[0].job_id)
    assert done is not None and (done.status, done.progress) == ("ready", 1.0)


@pytest.mark.parametrize("shared_connection", [True, False], ids=["threads", "connections"])
def test_claim_job_is_atomic_across_threads(
    open_store: Callable[[], MediaStore], shared_connection: bool
) -> None:
    main = open_store()
    _add(main, "9" * 16)
    created = {main.create_job("9" * 16).job_id for _ in range(60)}
    claims: dict[str, list[str]] = {}
    lock = threading.Lock()
    start = threading.Barrier(6)

    def worker(name: str) -> None:
        reg = main if shared_connection else open_store()
        start.wait()
        while (job := reg.claim_job(_lease(name))) is not None:
            with lock:
                claims.setdefault(job.job_id, []).append(name)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(claims) == created  # every job claimed …
    assert all(len(owners) == 1 for owners in claims.values())  # … exactly once


def test_claim_leases_the_item_and_only_its_holder_ends_the_run(registry: MediaStore) -> None:
    _add(registry, "7" * 16)
    job = registry.create_job("7" * 16)
    holder = _lease("holder")
    assert registry.claim_job(holder).job_id == job.job_id
    (item,) = registry.running()
    assert (item.media_id, item.job_id) == ("7" * 16, job.job_id)
    assert (item.lease.host, item.lease.pid, item.lease.token) == ("host-a", 4242, "holder")
    assert item.lease.heartbeat_at is not None
    assert registry.get_media("7" * 16).stage == "starting"

    registry.heartbeat("7" * 16, "holder", job.job_id, "speech", 0.25)
    registry.heartbeat("7" * 16, "stranger", job.job_id, "speech", 0.75)  # not its lease
    assert registry.get_media("7" * 16).progress == 0.25
    assert registry.get_job(job.job_id).progress == 0.25
    # a running item is never reset by a new registration (an upload of the same file)
    _add(registry, "7" * 16, "again")
    assert registry.get_media("7" * 16).status == "running"

    assert not registry.finish("7" * 16, "stranger", job.job_id, "ready", chunks=3)
    assert registry.get_media("7" * 16).status == "running"
    assert registry.finish("7" * 16, "holder", job.job_id, "ready", chunks=3, language="en")
    rec = registry.get_media("7" * 16)
    assert (rec.status, rec.chunks, rec.language, rec.error) == ("ready", 3, "en", None)
    done = registry.get_job(job.job_id)
    assert (done.status, done.stage, done.progress) == ("ready", "done", 1.0)
    assert registry.running() == []


def test_requeue_and_interrupt_only_while_the_lease_is_unchanged(registry: MediaStore) -> None:
    _add(registry, "8" * 16)
    _add(registry, "6" * 16)
    job = registry.create_job("8" * 16)
    registry.claim_job(_lease("dead-worker"))
    registry.heartbeat("8" * 16, "dead-worker", job.job_id, "index", 0.5)
    assert not registry.requeue("8" * 16, "someone-else", job.job_id)
    assert registry.requeue("8" * 16, "dead-worker", job.job_id)
    back, queued = registry.get_media("8" * 16), registry.get_job(job.job_id)
    assert (back.status, back.stage, back.progress) == ("queued", None, 0)
    assert (queued.status, queued.stage, queued.progress) == ("queued", None, 0)
    assert registry.claim_job(_lease("next")).job_id == job.job_id  # claimed again

    registry.upsert_media(
        "6" * 16, title="cli", path="/x.mp4", sha256="6" * 64, recorded_at=None,
        status="running", lease=_lease("dead-cli"),
    )  # fmt: skip
    assert not registry.interrupt("6" * 16, None, "interrupted")
    assert registry.interrupt("6" * 16, "dead-cli", "ingestion was interrupted")
    rec = registry.get_media("6" * 16)
    assert (rec.status, rec.error) == ("failed", "ingestion was interrupted")
    assert [r.media_id for r in registry.running()] == ["8" * 16]


def test_a_registry_from_before_leases_opens_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    reg = Registry(path)
    _add(reg, "5" * 16)
    reg.update_media("5" * 16, status="running")
    reg.close()
    with sqlite3.connect(path) as db:  # the columns an old release did not have
        for column in ("lease_host", "lease_pid", "lease_token", "heartbeat_at"):
            db.execute(f"ALTER TABLE media DROP COLUMN {column}")
    reg = Registry(path)
    try:
        (item,) = reg.running()
        assert item.media_id == "5" * 16 and item.lease is None and item.job_id is None
        assert reg.interrupt("5" * 16, None, "ingestion was interrupted")
        assert reg.job_counts() == {"queued": 0, "running": 0, "ready": 0, "failed": 0}
    finally:
        reg.close()


def test_renew_take_over_and_attempts_act_only_for_the_holder(registry: MediaStore) -> None:
    _add(registry, "4" * 16)
    job = registry.create_job("4" * 16)
    assert registry.claim_job(_lease("first")).attempts == 1
    assert registry.renew("4" * 16, "first")
    assert not registry.renew("4" * 16, "stranger")
    # recovery's first step: only the lease it saw can be taken over, and only once
    assert not registry.take_over("4" * 16, "stranger", _lease("recoverer", "host-b"))
    assert registry.take_over("4" * 16, "first", _lease("recoverer", "host-b"))
    assert not registry.take_over("4" * 16, "first", _lease("late", "host-c"))
    assert not registry.renew("4" * 16, "first")  # the old holder has lost it
    (item,) = registry.running()
    assert (item.lease.host, item.lease.token, item.job_id) == ("host-b", "recoverer", job.job_id)
    assert registry.requeue("4" * 16, "recoverer", job.job_id)
    again = registry.claim_job(_lease("second"))
    assert (again.job_id, again.attempts) == (job.job_id, 2)
    # heartbeats and the store's clock are one clock: a fresh lease is not in the future
    (item,) = registry.running()
    assert item.lease.heartbeat_at <= registry.clock()


def test_a_job_keeps_the_speaker_count_it_was_queued_with(registry: MediaStore) -> None:
    _add(registry, "3" * 16)
    plain = registry.create_job("3" * 16)
    assert plain.speakers is None
    registry.update_job(plain.job_id, status="failed", error="superseded")
    job = registry.create_job("3" * 16, speakers=3)
    claimed = registry.claim_job(_lease("first"))
    assert (claimed.job_id, claimed.speakers) == (job.job_id, 3)
    assert registry.requeue("3" * 16, "first", job.job_id)  # a re-claim runs it the same way
    assert registry.claim_job(_lease("second")).speakers == 3


def test_a_registry_from_before_speaker_counts_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    reg = Registry(path)
    _add(reg, "2" * 16)
    old = reg.create_job("2" * 16)
    reg.close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE jobs DROP COLUMN speakers")
    reg = Registry(path)
    try:
        assert reg.get_job(old.job_id).speakers is None
        assert reg.create_job("2" * 16, speakers=2).speakers == 2
    finally:
        reg.close()
