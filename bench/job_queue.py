"""Benchmark the job queue: SQLite against PostgreSQL, in the same run, on this machine.

Two figures per backend:

* **claim latency** — ``claim_job`` timed call by call on a queue of ``--claims`` jobs,
  by 1 and by 2 claimers at once (threads, each with its own store: its own connection),
  p50/p95 in milliseconds;
* **jobs per minute** — real ``chronorag worker`` processes (1, then 2) draining
  ``--jobs`` small queued files (LibriVox speech, a few seconds each, tiny.en Whisper)
  through the whole pipeline into one shared index. Workers are warmed on one job each
  first, so model loading is not counted; the clock runs from queueing the batch to
  the last job ending.

PostgreSQL is a real server (Debian's binaries, started in a temporary directory, as in
the tests); the shared index is the Qdrant test double (``tests/qdrant_double.py``: no
Qdrant server runs here), the same for both backends. Prints a table and the
PostgreSQL/SQLite ratios; the last stdout line is one JSON object with every figure.

    .venv/bin/python bench/job_queue.py [--jobs 8] [--claims 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from app.config import Settings  # noqa: E402
from app.container import Container  # noqa: E402
from app.lifecycle.postgres_store import PostgresStore  # noqa: E402
from app.lifecycle.records import Lease  # noqa: E402
from app.lifecycle.registry import Registry  # noqa: E402
from app.lifecycle.store import MediaStore  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402
from tests.qdrant_double import QdrantDouble  # noqa: E402
from tests.scaleout import media_id, scaleout_env, small_media, start_worker  # noqa: E402


def _percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def claim_latency(open_store: Callable[[], MediaStore], claims: int, claimers: int) -> dict:
    """p50/p95 (ms) of ``claim_job`` with ``claimers`` concurrent claimers."""
    setup = open_store()
    setup.upsert_media("b" * 16, title="bench", path="/bench", sha256="b" * 64, recorded_at=None)
    for _ in range(claims):
        setup.create_job("b" * 16)
    stores = [open_store() for _ in range(claimers)]
    times: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(claimers)

    def claimer(i: int, store: MediaStore) -> None:
        start.wait()
        n = 0
        while True:
            t0 = time.perf_counter()
            job = store.claim_job(Lease("bench", os.getpid(), f"c{i}-{n}"))
            spent = time.perf_counter() - t0
            if job is None:
                return
            n += 1
            with lock:
                times.append(spent * 1000)

    threads = [threading.Thread(target=claimer, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in [setup, *stores]:
        store.close()
    assert len(times) == claims, f"{len(times)} claims for {claims} jobs"
    return {"p50_ms": _percentile(times, 50), "p95_ms": _percentile(times, 95)}


def _queue(container: Container, files: list[Path]) -> None:
    media_dir = container.settings.media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    for path in files:
        mid = media_id(path)
        stored = media_dir / f"{mid}.wav"
        shutil.copyfile(path, stored)
        container.lifecycle.queue(
            mid, title=path.stem, path=stored, sha256=mid * 4, recorded_at=None,
            kind="audio", duration_s=None,
        )  # fmt: skip


def _drain(store: MediaStore, total: int, timeout: float = 1800.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        counts = store.job_counts()
        if counts["ready"] + counts["failed"] >= total:
            if counts["failed"]:
                raise RuntimeError(f"{counts['failed']} job(s) failed")
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"queue not drained: {counts}")
        time.sleep(0.2)


def throughput(root: Path, database_url: str, qdrant: str, workers: int, files: list[Path],
               warm: list[Path]) -> float:  # fmt: skip
    """Jobs per minute of ``workers`` worker processes on ``files`` (after a warm-up)."""
    root.mkdir(parents=True, exist_ok=True)
    home, collection = root / "home", f"bench_{root.name.replace('-', '_')}"
    settings = Settings(home=home, database_url=database_url or None, qdrant_url=qdrant,
                        collection=collection)  # fmt: skip
    container = Container(settings)
    env = scaleout_env(home, database_url, qdrant, CHRONORAG_COLLECTION=collection)
    procs = [start_worker(env, root / f"worker-{i}.jsonl") for i in range(workers)]
    try:
        _queue(container, warm[:workers])
        _drain(container.registry, workers)
        t0 = time.monotonic()
        _queue(container, files)
        _drain(container.registry, workers + len(files))
        return len(files) / ((time.monotonic() - t0) / 60)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        container.close()


def _opener(kind: Callable[[Any], MediaStore], where: Any) -> Callable[[], MediaStore]:
    return lambda: kind(where)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="small files per throughput run")
    parser.add_argument("--claims", type=int, default=200, help="jobs per claim-latency run")
    args = parser.parse_args()

    results: dict[str, Any] = {}
    server = PostgresServer().start()
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        root = Path(tmp)
        double = QdrantDouble(root / "qdrant").start()
        try:
            clips = small_media(root / "clips", 4 * args.jobs + 8)
            for backend in ("sqlite", "postgres"):
                for claimers in (1, 2):
                    if backend == "postgres":
                        url = server.create_database()
                        opener = _opener(PostgresStore, url)
                    else:
                        opener = _opener(Registry, root / f"claims-{claimers}.sqlite3")
                    results[f"{backend}.claim.{claimers}"] = claim_latency(
                        opener, args.claims, claimers
                    )
            warm = clips[4 * args.jobs :]
            runs = [(w, b) for w in (1, 2) for b in ("sqlite", "postgres")]
            for i, (workers, backend) in enumerate(runs):
                files = clips[i * args.jobs : (i + 1) * args.jobs]  # new files every run
                url = server.create_database() if backend == "postgres" else ""
                results[f"{backend}.jobs_per_min.{workers}"] = throughput(
                    root / f"run-{i}", url, double.url, workers, files, warm
                )
        finally:
            double.stop()
            server.stop()

    print(f"{'':24}{'SQLite':>10}{'PostgreSQL':>12}{'ratio':>8}")
    rows = []
    for claimers in (1, 2):
        for q in ("p50_ms", "p95_ms"):
            rows.append((f"claim {q} ({claimers} claimer)",
                         results[f"sqlite.claim.{claimers}"][q],
                         results[f"postgres.claim.{claimers}"][q]))  # fmt: skip
    for workers in (1, 2):
        rows.append((f"jobs/min ({workers} worker)", results[f"sqlite.jobs_per_min.{workers}"],
                     results[f"postgres.jobs_per_min.{workers}"]))  # fmt: skip
    for name, lite, pg in rows:
        print(f"{name:24}{lite:10.2f}{pg:12.2f}{pg / lite:8.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
