"""Media registry and job queue (SQLite): state transitions, atomic claims, crash recovery."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vectorstore.registry import Registry


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    reg = Registry(tmp_path / "db" / "chronorag.sqlite3")
    yield reg
    reg.close()


def _add(reg: Registry, media_id: str, title: str = "Weekly sync") -> None:
    reg.upsert_media(
        media_id,
        title=title,
        path=f"/media/{media_id}.mp4",
        sha256=media_id * 4,
        recorded_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
    )


def test_media_moves_queued_running_ready(registry: Registry) -> None:
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


def test_failed_media_keeps_its_error_and_reingest_resets(registry: Registry) -> None:
    _add(registry, "b" * 16, "Demo")
    registry.update_media("b" * 16, status="failed", error="no audio stream")
    rec = registry.get_media("b" * 16)
    assert rec is not None and (rec.status, rec.error) == ("failed", "no audio stream")
    assert registry.not_ready_ids() == ["b" * 16]
    _add(registry, "b" * 16, "Demo (again)")  # re-ingesting the same file
    rec = registry.get_media("b" * 16)
    assert rec is not None
    assert (rec.status, rec.error, rec.title) == ("queued", None, "Demo (again)")


def test_titles_delete_and_bad_fields(registry: Registry) -> None:
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
    assert registry.claim_job("w") is None  # its job went with it
    with pytest.raises(ValueError, match="unknown media fields"):
        registry.update_media("d" * 16, sha256="x")
    job = registry.create_job("d" * 16)
    with pytest.raises(ValueError, match="unknown job fields"):
        registry.update_job(job.job_id, owner="someone")
    with pytest.raises(ValueError, match="unknown status 'done'"):
        registry.update_job(job.job_id, status="done")
    assert registry.get_job(job.job_id).status == "queued"


def test_jobs_are_claimed_oldest_first_and_finish(registry: Registry) -> None:
    _add(registry, "f" * 16)
    jobs = [registry.create_job("f" * 16) for _ in range(5)]  # same second: tie on created_at
    claimed = [registry.claim_job("worker-1") for _ in range(5)]
    assert [j.job_id for j in claimed if j] == [j.job_id for j in jobs]
    assert all(j is not None and j.status == "running" for j in claimed)
    assert registry.claim_job("worker-1") is None
    registry.update_job(jobs[0].job_id, status="ready", stage="index", progress=1.0)
    done = registry.get_job(jobs[0].job_id)
    assert done is not None and (done.status, done.progress) == ("ready", 1.0)


@pytest.mark.parametrize("shared_connection", [True, False], ids=["threads", "connections"])
def test_claim_job_is_atomic_across_threads(tmp_path: Path, shared_connection: bool) -> None:
    path = tmp_path / "q.sqlite3"
    main = Registry(path)
    _add(main, "9" * 16)
    created = {main.create_job("9" * 16).job_id for _ in range(60)}
    claims: dict[str, list[str]] = {}
    lock = threading.Lock()
    start = threading.Barrier(6)

    def worker(name: str) -> None:
        reg = main if shared_connection else Registry(path)
        start.wait()
        while (job := reg.claim_job(name)) is not None:
            with lock:
                claims.setdefault(job.job_id, []).append(name)
        if reg is not main:
            reg.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(claims) == created  # every job claimed …
    assert all(len(owners) == 1 for owners in claims.values())  # … exactly once
    main.close()


def test_requeue_interrupted_puts_running_jobs_back(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    reg = Registry(path)
    _add(reg, "7" * 16)
    jobs = [reg.create_job("7" * 16) for _ in range(3)]
    first = reg.claim_job("w")
    second = reg.claim_job("w")
    assert first and second
    reg.update_job(first.job_id, stage="transcribe", progress=0.5)
    reg.update_job(second.job_id, status="ready", progress=1.0)
    reg.close()  # the service dies with `first` running

    reg = Registry(path)  # restart
    requeued = reg.requeue_interrupted()
    assert [j.job_id for j in requeued] == [first.job_id]
    back = reg.get_job(first.job_id)
    assert back is not None and (back.status, back.stage, back.progress) == ("queued", None, 0)
    done = reg.get_job(second.job_id)
    assert done is not None and done.status == "ready"
    assert reg.requeue_interrupted() == []
    again = [reg.claim_job("w2"), reg.claim_job("w2")]
    assert {j.job_id for j in again if j} == {first.job_id, jobs[2].job_id}
    assert reg.claim_job("w2") is None
    reg.close()
