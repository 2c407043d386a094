"""What the broad questions' focus costs a search: latency with and without it, one process.

Over a ChronoRAG home with ingested recordings (the eval's, say), each ready media item is
searched with broad questions ("Summarize the discussion about …") through the real index
and embedder, first with the focus off (the baseline), then on. The first focused search
of an item reads its chunks' words from the index (cold); later ones use the cache (warm).

    CHRONORAG_HOME=/work/evalhome .venv/bin/python bench/query_focus.py

The last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import Settings  # noqa: E402
from app.container import Container  # noqa: E402
from vectorstore.schema import SearchRequest  # noqa: E402

QUESTIONS = (
    "Summarize the discussion about the design of the remote control.",
    "What did the group think about the price?",
    "Summarize the discussion about the buttons and the battery.",
    "What did they discuss about the case material?",
)


def timed(search: Callable[[SearchRequest], object], req: SearchRequest) -> float:
    started = time.perf_counter()
    search(req)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="warm searches per question and item")
    args = ap.parse_args(argv)
    container = Container(Settings())
    try:
        media = container.registry.list_media("ready")
        if not media:
            ap.error(f"nothing ingested in {container.settings.home}")
        index = container.index
        focus = index.focus
        if focus is None:
            ap.error("CHRONORAG_QUERY_FOCUS is 0: nothing to measure")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
              f"{len(media)} media items", flush=True)  # fmt: skip
        reqs = [
            SearchRequest(query=q, media_ids=[m.media_id], limit=10)
            for m in media
            for q in QUESTIONS
        ]
        index.search(reqs[0])  # load the embedder before anything is timed
        index.focus = None
        off = [timed(index.search, r) for r in reqs for _ in range(args.rounds)]
        index.focus = focus
        cold = [timed(index.search, r) for r in reqs[:: len(QUESTIONS)]]  # each item once
        warm = [timed(index.search, r) for r in reqs for _ in range(args.rounds)]
    finally:
        container.close()
    p50 = {k: float(np.median(v)) * 1000 for k, v in (("off", off), ("warm", warm))}
    figures = {
        "media": len(media),
        "off_p50_ms": round(p50["off"], 1),
        "warm_p50_ms": round(p50["warm"], 1),
        "cold_max_ms": round(max(cold) * 1000, 1),
        "cold_p50_ms": round(float(np.median(cold)) * 1000, 1),
        "warm_vs_off": round(p50["warm"] / p50["off"], 2),
    }
    print(f"focus off p50 {p50['off']:.1f} ms · focused, warm p50 {p50['warm']:.1f} ms "
          f"({figures['warm_vs_off']}×) · first focused search of an item p50 "
          f"{figures['cold_p50_ms']} ms, max {figures['cold_max_ms']} ms")  # fmt: skip
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
