"""A bounded load run against the REST service on loopback: concurrent searches and asks.

Starts ``chronorag``'s service (uvicorn, its own process, a temporary data dir, tiny.en
Whisper) unless ``--url`` points at a running one, indexes the test talk (built from
LibriVox speech by ``tests/media.py``) or ``--media FILE``, then:

1. baseline — the same requests one at a time, unloaded (``--baseline-searches`` searches,
   ``--baseline-asks`` asks);
   (after one untimed warm-up of each, which loads the models);
2. load — ``--searches`` concurrent search clients and ``--asks`` concurrent ask clients,
   each looping for ``--duration`` seconds (requests still in flight at the end are
   awaited, then the run stops by itself).

Prints latency percentiles, throughput and error counts per kind, and the loaded/unloaded
p50 ratio. The last stdout line is one JSON object with the figures.

    .venv/bin/python bench/load.py                      # 50 searches + 5 asks, 60 s
    .venv/bin/python bench/load.py --searches 10 --asks 1 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = (
    "volcano safety", "blue whales", "budget plan", "piano lessons", "John Dashwood",
    "amiable woman", "ill-disposed young man", "cold hearted and selfish", "respectable",
    "what was in his power to do for them",
)  # fmt: skip
QUESTIONS = (
    "What did Mr. John Dashwood have leisure to consider?",
    "Which slide is about volcanoes?",
    "What is said about his wife?",
)


@dataclass
class Tally:
    """Latencies (s) of successful requests and error descriptions, per request kind."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def add_error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def summary(self, wall_s: float) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] * 1000, 1)

        return {
            "ok": len(lat),
            "errors": sum(self.errors.values()),
            "error_kinds": self.errors,
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
            "per_s": round(len(lat) / wall_s, 2) if wall_s > 0 else None,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(home: Path, key: str) -> tuple[subprocess.Popen[bytes], str]:
    """The service in its own process (so the load generator does not share its GIL)."""
    port = free_port()
    env = dict(
        os.environ,
        CHRONORAG_HOME=str(home),
        CHRONORAG_ASR_MODEL="tiny.en",
        CHRONORAG_API_KEY=key,
        HF_HUB_OFFLINE="1",
        OMP_WAIT_POLICY="PASSIVE",
    )
    log = (home / "service.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "app.api:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited; see {home / 'service.log'}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("the service did not start in 180 s")


def index_media(client: httpx.Client, media: Path) -> str:
    with media.open("rb") as fh:
        response = client.post("/v1/media", files={"file": (media.name, fh)})
    response.raise_for_status()
    accepted = response.json()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{accepted['job_id']}").json()
        if job["status"] == "ready":
            return accepted["media_id"]
        if job["status"] == "failed":
            raise RuntimeError(f"indexing failed: {job['error']}")
        time.sleep(0.5)
    raise TimeoutError("indexing did not finish in 900 s")


async def one(client: httpx.AsyncClient, kind: str, i: int, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        if kind == "search":
            body = {"query": QUERIES[i % len(QUERIES)], "limit": 5}
            response = await client.post("/v1/search", json=body)
        else:
            response = await client.post("/v1/ask", json={"question": QUESTIONS[i % 3]})
    except httpx.HTTPError as exc:
        tally.add_error(type(exc).__name__)
        return
    if response.status_code != 200:
        tally.add_error(f"HTTP {response.status_code}")
        return
    tally.latencies.append(time.perf_counter() - started)


async def baseline(
    url: str, headers: dict[str, str], searches: int, asks: int
) -> dict[str, Tally]:
    tallies = {"search": Tally(), "ask": Tally()}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
        # untimed warm-up: the first ask starts the model server
        await one(client, "search", 0, Tally())
        if asks:
            await one(client, "ask", 0, Tally())
        for i in range(searches):
            await one(client, "search", i, tallies["search"])
        for i in range(asks):
            await one(client, "ask", i, tallies["ask"])
    return tallies


async def load(
    url: str, headers: dict[str, str], searches: int, asks: int, duration_s: float
) -> tuple[dict[str, Tally], float]:
    tallies = {"search": Tally(), "ask": Tally()}
    limits = httpx.Limits(max_connections=searches + asks + 4)
    deadline = time.monotonic() + duration_s

    async def worker(client: httpx.AsyncClient, kind: str, offset: int) -> None:
        i = offset
        while time.monotonic() < deadline:
            await one(client, kind, i, tallies[kind])
            i += 1

    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=600, limits=limits
    ) as client:
        await asyncio.gather(
            *(worker(client, "search", n) for n in range(searches)),
            *(worker(client, "ask", n) for n in range(asks)),
        )
    return tallies, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="A running service (else one is started).")
    parser.add_argument("--key", default=None, help="API key of --url (if it has one).")
    parser.add_argument("--media", type=Path, help="File to index (default: the test talk).")
    parser.add_argument("--searches", type=int, default=50, help="Concurrent search clients.")
    parser.add_argument("--asks", type=int, default=5, help="Concurrent ask clients.")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load.")
    parser.add_argument("--baseline-searches", type=int, default=20)
    parser.add_argument("--baseline-asks", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="chronorag-load-") as tmp:
        tmp_path = Path(tmp)
        proc = None
        key = args.key
        if args.url:
            url = args.url.rstrip("/")
        else:
            key = key or "load-test-key"
            (tmp_path / "home").mkdir()
            proc, url = start_service(tmp_path / "home", key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
                media = args.media
                if media is None:
                    from tests.media import build_media

                    media = build_media(tmp_path / "media").video
                t0 = time.perf_counter()
                media_id = index_media(client, media)
                print(f"indexed {media.name} as {media_id} in {time.perf_counter() - t0:.1f} s")
            base = asyncio.run(baseline(url, headers, args.baseline_searches, args.baseline_asks))
            print(f"load: {args.searches} searches + {args.asks} asks for {args.duration:g} s …")
            tallies, wall = asyncio.run(
                load(url, headers, args.searches, args.asks, args.duration)
            )
        finally:
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    result: dict[str, Any] = {
        "config": {
            "searches": args.searches,
            "asks": args.asks,
            "duration_s": args.duration,
            "cpus": os.cpu_count(),
        },
        "wall_s": round(wall, 1),
    }
    for kind in ("search", "ask"):
        unloaded = base[kind].summary(1.0)
        loaded = tallies[kind].summary(wall)
        ratio = (
            round(loaded["p50_ms"] / unloaded["p50_ms"], 2)
            if loaded["p50_ms"] and unloaded["p50_ms"]
            else None
        )
        result[kind] = {"loaded": loaded, "unloaded": unloaded, "p50_ratio": ratio}
        print(
            f"{kind:6s} loaded: {loaded['ok']} ok, {loaded['errors']} errors "
            f"{loaded['error_kinds'] or ''}, {loaded['per_s']}/s, p50 {loaded['p50_ms']} ms, "
            f"p95 {loaded['p95_ms']} ms, p99 {loaded['p99_ms']} ms, max {loaded['max_ms']} ms"
        )
        print(
            f"{kind:6s} unloaded baseline: p50 {unloaded['p50_ms']} ms "
            f"(n={unloaded['ok']}); loaded/unloaded p50 = {ratio}"
        )
    errors = result["search"]["loaded"]["errors"] + result["ask"]["loaded"]["errors"]
    result["errors"] = errors
    print(json.dumps(result))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
