"""A real ChronoRAG service on 127.0.0.1 for the API and web tests (uvicorn in a thread).

``LiveServer`` runs ``create_app`` under uvicorn on a free port with its own data dir;
``service_settings`` gives the settings the shared ``service`` fixture (in ``conftest.py``)
uses: API key on, small upload limit, tiny.en Whisper. ``ffmpeg_copy`` and ``wait_for_job``
are small helpers the API tests share.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from app.api import create_app
from app.config import Settings

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
