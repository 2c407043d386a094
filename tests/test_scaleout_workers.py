"""Several ``chronorag worker`` processes on one PostgreSQL queue (a real server) and one
shared index (the Qdrant test double), killed with ``kill -9`` at random mid-job.

Every job ends ``ready`` or ``failed`` with a clear reason; the job of a killed worker is
cleaned and re-claimed (by its restarted self through the pid rule, or by another
"machine" once its lease expires); no job finishes twice; the index holds exactly the
points of the ready items. With ``unshare`` (root) each worker is its own machine (own
host name), so only heartbeat expiry can free a dead machine's job.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.container import Container
from app.lifecycle.records import Leased
from app.lifecycle.store import MediaStore
from tests.qdrant_double import QdrantDouble
from tests.scaleout import can_unshare, media_id, scaleout_env, small_media, start_worker

JOBS = 20
BROKEN = 2  # queued, then their stored file changes: they must fail with the reason
NODES = ("node-a", "node-b", "node-c")
KILLS = 4


@pytest.fixture
def qdrant(tmp_path: Path) -> Iterator[QdrantDouble]:
    double = QdrantDouble(tmp_path / "qdrant").start()
    yield double
    double.stop()


def _queue(container: Container, files: list[Path]) -> dict[str, str]:
    """Store each file under the shared media dir and queue it; media id → job id."""
    media_dir = container.settings.media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    jobs = {}
    for path in files:
        mid = media_id(path)
        stored = media_dir / f"{mid}.wav"
        shutil.copyfile(path, stored)
        job = container.lifecycle.queue(
            mid, title=path.stem, path=stored, sha256=mid * 4, recorded_at=None,
            kind="audio", duration_s=None,
        )  # fmt: skip
        jobs[mid] = job.job_id
    return jobs


def _runs_it(store: MediaStore, item: Leased) -> bool:
    """The lease holder is the worker that claimed the job (not a recoverer cleaning it)."""
    if item.lease is None or item.job_id is None:
        return False
    job = store.get_job(item.job_id)
    return job is not None and job.owner == f"{item.lease.host}:{item.lease.pid}"


def _reports(logs: list[Path]) -> list[dict]:
    lines = [line for log in logs if log.exists() for line in log.read_text().splitlines()]
    return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.mark.slow
def test_workers_killed_at_random_drain_the_queue_exactly_once(
    tmp_path: Path, pg_url: str, qdrant: QdrantDouble
) -> None:
    home = tmp_path / "shared-home"
    env = scaleout_env(home, pg_url, qdrant.url)
    container = Container(Settings(home=home, database_url=pg_url, qdrant_url=qdrant.url))
    store = container.registry
    files = small_media(tmp_path / "clips", JOBS)
    jobs = _queue(container, files)
    broken = list(jobs)[:BROKEN]
    for mid in broken:  # the stored file no longer is what was uploaded
        (home / "media" / f"{mid}.wav").write_bytes(b"RIFF overwritten")

    machines = can_unshare()
    logs = {name: tmp_path / f"{name}.jsonl" for name in NODES}
    procs = {n: start_worker(env, logs[n], n if machines else None) for n in NODES}
    rng = random.Random(14)
    killed_mid_job: set[str] = set()
    down: str | None = None  # the second node killed stays dead: only expiry frees its job
    kills = 0
    try:
        deadline = time.monotonic() + 900
        while sum(store.job_counts()[s] for s in ("ready", "failed")) < JOBS:
            assert time.monotonic() < deadline, f"queue not drained: {store.job_counts()}"
            time.sleep(rng.uniform(1.0, 3.0))
            if kills >= KILLS:
                continue
            holders = {r.lease.pid: r for r in store.running() if _runs_it(store, r)}
            victims = [n for n, p in procs.items() if p.pid in holders and n != down]
            if not victims:
                continue
            name = rng.choice(victims)
            held = holders[procs[name].pid]
            procs[name].send_signal(signal.SIGKILL)  # kill -9, mid-job
            procs[name].wait()
            # on a loaded machine the job can end between the look and the kill: such a
            # kill did not land mid-job, so it is neither counted nor expected to re-claim
            after = store.get_job(held.job_id) if held.job_id else None
            mid_job = after is not None and after.status == "running"
            if mid_job:
                killed_mid_job.add(held.media_id)
                kills += 1
            if mid_job and kills == 2:
                down = name
            else:
                procs[name] = start_worker(env, logs[name], name if machines else None)
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()

    counts = store.job_counts()
    assert (counts["queued"], counts["running"]) == (0, 0), counts
    assert kills == KILLS, f"only {kills} kill(s) landed mid-job"
    reports = _reports(list(logs.values()))
    ends = Counter((r["job_id"], r["status"]) for r in reports if r["status"] != "lost")
    index = container.index
    total = 0
    for mid, job_id in jobs.items():
        job, record = store.get_job(job_id), store.get_media(mid)
        if mid in broken:
            assert (job.status, record.status) == ("failed", "failed")
            assert record.error == "the stored file no longer matches its id"
            assert index.count(mid) == 0
        else:
            assert (job.status, record.status) == ("ready", "ready"), (record, job)
            assert record.chunks > 0 and index.count(mid) == record.chunks  # no orphan
            total += record.chunks
        assert ends[(job_id, job.status)] == 1, f"{job_id} ended {job.status} not once"
        if mid in killed_mid_job:
            assert job.attempts >= 2  # re-claimed after the kill
    assert index.count() == total  # nothing of a dead attempt or an unknown item left
    container.close()
