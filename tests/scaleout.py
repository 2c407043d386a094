"""Plumbing for the scale-out tests: small distinct media, and ``chronorag`` worker and
service processes sharing one PostgreSQL database and one index (the Qdrant test
double, ``tests/qdrant_double.py``).

Each worker can run as its own "machine": with ``unshare --uts`` (root) it gets its own
host name, so leases of the others are judged only by heartbeat age, as across real
machines; without it they share the host and the pid rule applies too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ingestion.pipeline import file_sha256, media_id_of
from tests.media import LIBRIVOX, RATE, read_wav, write_wav

CLI = str(Path(sys.executable).with_name("chronorag"))
CLIPS = sorted(LIBRIVOX.glob("*.wav"))


def can_unshare() -> bool:
    """True when this process may give a child its own host name (a UTS namespace)."""
    try:
        done = subprocess.run(["unshare", "--uts", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def small_media(folder: Path, n: int) -> list[Path]:
    """``n`` distinct short WAV files of read English speech (one LibriVox clip each,
    after a lead-in of silence that differs per file, so every file has its own id)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        speech = read_wav(CLIPS[i % len(CLIPS)])
        lead_in = np.zeros(int(RATE * (0.2 + 0.05 * i)), np.float32)
        path = folder / f"clip-{i:02d}.wav"
        write_wav(path, np.concatenate([lead_in, speech]))
        out.append(path)
    return out


def media_id(path: Path) -> str:
    return media_id_of(file_sha256(path))


def scaleout_env(home: Path, database_url: str, qdrant_url: str, **extra: str) -> dict[str, str]:
    """A worker's or replica's environment: shared home (uploads, keyframes), database
    and index; tiny.en Whisper; short leases so a dead worker's job moves on quickly."""
    root = str(Path(__file__).resolve().parents[1])
    return {
        **os.environ,
        "PYTHONPATH": root,  # this tree's code, whatever is installed
        "CHRONORAG_HOME": str(home),
        "CHRONORAG_DATABASE_URL": database_url,
        "CHRONORAG_QDRANT_URL": qdrant_url,
        "CHRONORAG_ASR_MODEL": "tiny.en",
        "CHRONORAG_THREADS": "1",
        "CHRONORAG_LEASE_STALE_S": "8",
        "CHRONORAG_LEASE_RENEW_S": "1",
        "CHRONORAG_RECOVER_EVERY_S": "1",
        "HF_HUB_OFFLINE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        **extra,
    }


def start_worker(
    env: dict[str, str], log: Path, host: str | None = None
) -> subprocess.Popen[bytes]:
    """``chronorag worker --json`` as machine ``host`` if given; its reports are appended
    to ``log``, its stderr beside it (``.log``)."""
    cmd = [CLI, "worker", "--json"]
    if host is not None:  # sh and the worker exec in place: the pid is the worker's
        cmd = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "sh", *cmd]
    with open(log, "ab") as out, open(log.with_suffix(".log"), "ab") as err:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=err)


class Replica:
    """``chronorag serve`` as its own process on a free port (one app replica)."""

    def __init__(self, env: dict[str, str], log: Path, *, worker: bool = True) -> None:
        from tests.live_server import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [CLI, "serve", "--port", str(self.port), "--lazy",
               "--worker" if worker else "--no-worker"]  # fmt: skip
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 300.0) -> Replica:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"replica on {self.port} exited"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"replica on {self.port} did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
