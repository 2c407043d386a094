"""A real ChronoRAG service on 127.0.0.1 for the API and web tests (uvicorn in a thread).

``LiveServer`` runs ``create_app`` under uvicorn on a free port with its own data dir;
``service`` is the session's shared instance (API key on, small upload limit, tiny.en
Whisper), so the models load once for all API and browser tests. The test below checks
the harness itself: it starts, answers, and stops cleanly.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.api import create_app
from app.config import Settings
from tests.media import MediaFixture

API_KEY = "test-key-5f0c2a"
UPLOAD_LIMIT_MB = 2
TALK_TITLE = "Board talk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving ``create_app(settings, **kwargs)`` until ``stop()``."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self.settings = settings
        self.app = create_app(settings, **kwargs)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self, timeout: float = 120.0) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    @property
    def state(self) -> Any:
        return self.app.state.chronorag

    def client(self, key: str | None = API_KEY, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=300, **kwargs)


def service_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "asr_model": "tiny.en",
        "api_key": API_KEY,
        "max_upload_mb": UPLOAD_LIMIT_MB,
        "threads": 2,
    }
    values.update(overrides)
    return Settings(**values)


_shared: dict[str, LiveServer] = {}


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared live service (API key on, 2 MB upload limit).

    Test modules import this fixture, which gives each its own fixture definition; the
    module-level cache keeps it one server (one set of loaded models) per session."""
    if "service" not in _shared:
        _shared["service"] = LiveServer(
            service_settings(tmp_path_factory.mktemp("service") / "home"),
            upload_idle_timeout_s=5.0,
        ).start()
    yield _shared["service"]
    server = _shared.pop("service", None)
    if server is not None:
        server.stop()


def ffmpeg_copy(
    src: Path, dest: Path, *, start: float = 0.0, length: float | None = None,
    comment: str | None = None,
) -> Path:
    """A stream copy of (a span of) ``src``: other bytes, so a new media id."""
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error"]
    cmd += ["-ss", str(start)] if start else []
    cmd += ["-i", str(src)]
    cmd += ["-t", str(length)] if length is not None else []
    cmd += ["-metadata", f"comment={comment}"] if comment else []
    subprocess.run([*cmd, "-c", "copy", str(dest)], check=True)
    return dest


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
    """Poll a job until it is ready or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("ready", "failed"):
            return job
        time.sleep(0.5)
    raise TimeoutError(f"job {job_id} did not finish in {timeout} s")


@pytest.fixture(scope="session")
def indexed_talk(service: LiveServer, media: MediaFixture) -> dict[str, Any]:
    """The talk video uploaded to the shared service and indexed (once per session)."""
    with service.client() as client:
        response = client.post(
            "/v1/media",
            files={"file": ("talk.mp4", media.video.read_bytes(), "video/mp4")},
            data={"title": TALK_TITLE, "recorded_at": "2026-11-02T09:30:00+00:00"},
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        job = wait_for_job(client, accepted["job_id"])
    assert job["status"] == "ready", job
    return accepted


@pytest.mark.slow
def test_harness_serves_and_stops(tmp_path: Path) -> None:
    server = LiveServer(service_settings(tmp_path / "home"), run_worker=False, warm=()).start()
    try:
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    finally:
        server.stop()
    assert not server.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=2)
