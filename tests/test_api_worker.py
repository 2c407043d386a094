"""The ingestion worker's persistent queue: a restart finishes interrupted and queued
jobs, cleans half-indexed points, and a bad file fails its job (not the worker)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from app.cli_serve import register
from app.config import Settings
from app.container import Container
from app.lifecycle.records import Lease
from app.lifecycle.registry import Registry
from app.worker import IngestWorker
from tests.live_server import LiveServer, ffmpeg_copy, free_port, wait_for_job
from tests.media import MediaFixture, random_bytes
from vectorstore.schema import Chunk, SearchRequest

STALE = "zanzibar marmalade xylophone"


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    c = Container(Settings(home=tmp_path / "home", asr_model="tiny.en", worker_concurrency=1))
    try:
        yield c
    finally:
        c.close()


def _queue(container: Container, src: Path, title: str) -> tuple[str, str]:
    """Put a file in the queue the way the API does (stored under its id)."""
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    media_id = sha[:16]
    container.settings.media_dir.mkdir(parents=True, exist_ok=True)
    dest = container.settings.media_dir / f"{media_id}{src.suffix}"
    shutil.copyfile(src, dest)
    container.registry.upsert_media(
        media_id, title=title, path=str(dest), sha256=sha, recorded_at=None
    )
    return media_id, container.registry.create_job(media_id).job_id


def _wait(container: Container, job_ids: list[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [container.registry.get_job(j) for j in job_ids]
        if all(j is not None and j.status in ("ready", "failed") for j in jobs):
            return
        time.sleep(0.3)
    raise TimeoutError(f"jobs {job_ids} did not finish")


@pytest.mark.slow
def test_restart_recovers_interrupted_and_queued_jobs(
    container: Container, media: MediaFixture, tmp_path: Path
) -> None:
    first = ffmpeg_copy(media.audio, tmp_path / "first.m4a", length=9)
    second = ffmpeg_copy(media.audio, tmp_path / "second.m4a", start=20, length=9)
    crashed_id, crashed_job = _queue(container, first, "crashed")
    waiting_id, waiting_job = _queue(container, second, "waiting")
    # simulate a process killed mid-ingestion: job claimed, media running, points half-written
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a worker process of this host that is gone
    lease = Lease(socket.gethostname(), dead.pid, "dead-worker")
    assert container.registry.claim_job(lease).job_id == crashed_job
    container.registry.heartbeat(crashed_id, lease.token, crashed_job, "index", 0.5)
    container.index.upsert(
        [Chunk(media_id=crashed_id, source="speech", start_s=0.0, end_s=2.0, text=STALE)]
    )
    assert any(STALE in c.text for c in container.index.window(crashed_id))
    assert container.search.search(SearchRequest(query=STALE)) == []  # running: not searchable

    worker = IngestWorker(container)
    worker.start()
    try:
        assert worker.stats()["threads"] == 1
        _wait(container, [crashed_job, waiting_job])
    finally:
        worker.stop()
    for media_id, job_id in [(crashed_id, crashed_job), (waiting_id, waiting_job)]:
        job = container.registry.get_job(job_id)
        assert job is not None and job.status == "ready", job
        assert container.registry.get_media(media_id).status == "ready"
    assert all(STALE not in c.text for c in container.index.window(crashed_id))
    hits = container.search.search(SearchRequest(query=STALE, limit=20))
    assert all(STALE not in h.text for h in hits)
    spoken = container.search.search(SearchRequest(query="Dashwood", media_ids=[crashed_id]))
    assert spoken and spoken[0].media_id == crashed_id
    assert container.registry.job_counts() == {"queued": 0, "running": 0, "ready": 2, "failed": 0}
    assert container.registry.latest_job_id(crashed_id) == crashed_job


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "graceful"])
def test_service_stopped_mid_job_resumes_it_after_restart(
    media: MediaFixture, tmp_path: Path, stop: signal.Signals
) -> None:
    """The real service process (uvicorn) is killed, or stopped, while indexing; a new one
    finishes the interrupted job and the one still queued."""
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = dict(os.environ, CHRONORAG_HOME=str(home), CHRONORAG_ASR_MODEL="tiny.en")
    env.pop("CHRONORAG_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "app.api:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "service did not start"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        second = ffmpeg_copy(media.audio, tmp_path / "second.m4a", start=20, length=9)
        jobs = []
        for path in (media.video, second):
            with path.open("rb") as fh:
                response = httpx.post(f"{url}/v1/media", files={"file": (path.name, fh)})
            assert response.status_code == 202, response.text
            jobs.append(response.json())
        deadline = time.monotonic() + 120
        while httpx.get(f"{url}/v1/jobs/{jobs[0]['job_id']}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(stop)
        # after a graceful shutdown uvicorn re-raises the signal (exit status -15)
        assert proc.wait(60) in (0, -stop)
    finally:
        if proc.poll() is None:
            proc.kill()
    with closing(Registry(home / "chronorag.sqlite3")) as registry:
        statuses = [registry.get_job(j["job_id"]).status for j in jobs]
    # a crash leaves the job ``running``; the graceful stop waits a few seconds for it, so
    # it either finished or is left ``running`` — never failed, never lost
    expected = ("running",) if stop == signal.SIGKILL else ("running", "ready")
    assert statuses[0] in expected and statuses[1] == "queued", statuses

    restarted = LiveServer(Settings(home=home, asr_model="tiny.en")).start()
    try:
        with restarted.client(key=None) as client:
            for accepted in jobs:
                assert wait_for_job(client, accepted["job_id"])["status"] == "ready"
            hits = client.post(
                "/v1/search",
                json={"query": "volcano safety", "media_ids": [jobs[0]["media_id"]]},
            ).json()["hits"]
            assert hits and hits[0]["media_id"] == jobs[0]["media_id"]
    finally:
        restarted.stop()


@pytest.mark.slow
def test_bad_file_fails_its_job_not_the_worker(container: Container, tmp_path: Path) -> None:
    bad_id, bad_job = _queue(container, random_bytes(tmp_path / "noise.mp4"), "noise")
    results = []
    worker = IngestWorker(container, on_finished=results.append)
    worker.start()
    try:
        _wait(container, [bad_job])
        assert worker.stats()["threads"] == 1  # still alive for the next job
    finally:
        worker.stop()
    job = container.registry.get_job(bad_job)
    assert job.status == "failed"
    assert "audio/video" in job.error
    assert container.registry.get_media(bad_id).status == "failed"
    assert container.index.count(bad_id) == 0
    assert [r.status for r in results] == ["failed"]


def test_standalone_worker_refuses_the_embedded_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONORAG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHRONORAG_QDRANT_URL", raising=False)
    cli = typer.Typer()
    register(cli)
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 2
    assert "CHRONORAG_QDRANT_URL" in result.output
    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "--host" in help_text and "--port" in help_text


@pytest.mark.slow
def test_recovery_leaves_live_workers_jobs_alone(container: Container, tmp_path: Path) -> None:
    from app.lifecycle import lease as leases

    jobs = {}
    with leases.held() as mine:  # a run in this very process that is still going
        for name, lease in {
            "live here": Lease(socket.gethostname(), os.getppid(), "parent"),  # a running pid
            "this process": mine,
            "elsewhere": Lease("other-host", 42, "remote"),  # another host, progress just now
        }.items():
            noise = random_bytes(tmp_path / f"{name}.bin", seed=len(name))
            _, job_id = _queue(container, noise, name)
            assert container.registry.claim_job(lease).job_id == job_id
            jobs[name] = job_id
        assert IngestWorker(container).recover() == []
        assert {container.registry.get_job(j).status for j in jobs.values()} == {"running"}
        # another host's job with no progress for longer than stale_s is taken back
        container.lifecycle.stale_s = 0.0
        requeued = IngestWorker(container).recover()
        assert [r.job_id for r in requeued] == [jobs["elsewhere"]]
        assert container.registry.get_job(jobs["elsewhere"]).status == "queued"
        assert container.registry.get_job(jobs["live here"]).status == "running"
        assert container.registry.get_job(jobs["this process"]).status == "running"
    # the run in this process ended without finishing (a worker stopped mid-job)
    (requeued,) = IngestWorker(container).recover()
    assert requeued.job_id == jobs["this process"]
