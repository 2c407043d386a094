"""schemathesis against the live service's own OpenAPI schema: no server errors, status
codes, content types and bodies as documented, invalid input rejected.

Excluded, and why: ``POST /v1/ask`` and ``POST /v1/chat/completions`` (each example is a
real LLM call — tens of seconds on 2 cores; they are covered by test_api_ask.py), and the
``positive_data_acceptance`` check (the schema cannot say "a decodable video", so a
schema-valid but non-media upload is rightly refused with 415). Path ids are bound to a
real, indexed media item so transcript, clip, file and delete reach their real code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import API_KEY, LiveServer, ffmpeg_copy, wait_for_job
from tests.media import MediaFixture

pytestmark = pytest.mark.slow


def test_schemathesis_finds_no_failures(
    service: LiveServer,
    media: MediaFixture,
    tmp_path: Path,
) -> None:
    short = ffmpeg_copy(media.audio, tmp_path / "short.m4a", start=20, length=6)
    with service.client() as client:
        accepted: dict[str, Any] = client.post(
            "/v1/media", files={"file": ("short.m4a", short.read_bytes())}
        ).json()
        assert wait_for_job(client, accepted["job_id"])["status"] == "ready"
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.media_id" = "{accepted["media_id"]}"\n'
        f'"path.job_id" = "{accepted["job_id"]}"\n'
    )
    cli = Path(sys.executable).parent / "schemathesis"
    run = subprocess.run(
        [
            str(cli), "--config-file", str(config), "run", f"{service.url}/openapi.json",
            "-H", f"Authorization: Bearer {API_KEY}",
            "--exclude-path", "/v1/ask", "--exclude-path", "/v1/chat/completions",
            "--exclude-checks", "positive_data_acceptance",
            "--max-examples", "15", "--seed", "1", "--workers", "1",
            "--generation-database", "none", "--request-timeout", "120",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )  # fmt: skip
    report = run.stdout[-8000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "Tested: 18" in run.stdout, report  # + documents, GET/PATCH speakers, chapters
    assert httpx.get(f"{service.url}/healthz").status_code == 200
