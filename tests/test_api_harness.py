"""The live-service harness itself (``tests/live_server.py``): it starts, answers, and
stops cleanly."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer, service_settings


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
