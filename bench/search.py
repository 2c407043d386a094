"""Benchmark the embedded vector engine: upserts/s and filtered hybrid query latency.

N synthetic chunks with realistic payloads (several media, times, sources, sentences
drawn Zipf-like from a word list) go into the chosen embedded engine (qdrant-edge-py);
the same run loads min(N, 20000) into qdrant-client local mode as the baseline. Dense
vectors are random-but-fixed unit vectors of the embedder's size (384, e5-small) —
embedding 100k texts would measure the embedder, not the index; sparse vectors are
the real BM25 encoding of the texts. Each query is a hybrid (dense + BM25, RRF) query
filtered by one media item and a 10-minute overlap window (unfiltered p95 is printed
too). The edge shard is not optimised (no HNSW build): filtered queries use the
payload indexes, and that is how the app runs it.

    .venv/bin/python bench/search.py --points 100000

The last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vectorstore.edge_index import EdgeChunkIndex  # noqa: E402
from vectorstore.index import ChunkFilter  # noqa: E402
from vectorstore.qdrant_index import QdrantChunkIndex  # noqa: E402
from vectorstore.schema import Chunk  # noqa: E402
from vectorstore.sparse import STOPWORDS, KeywordEncoder, SparseVec  # noqa: E402

DIM = 384
WORDS = (  # noqa: SIM905 - a word list reads better as text
    "the of and to in is that it was for on are as with his they at be this have from or "
    "one had by word but not what all were we when your can said there use an each which "
    "she do how their if will up other about out many then them these so some her would "
    "make like him into time has look two more write go see number no way could people my "
    "than first water been call who oil its now find long down day did get come made may "
    "part budget revenue quarter hiring roadmap launch customer churn pricing latency "
    "kubernetes database migration outage incident postmortem deadline sprint backlog "
    "design review demo feedback security compliance audit invoice contract vendor cloud "
    "cluster gpu training model dataset evaluation accuracy recall benchmark release "
    "monsoon cricket election budget railway metro festival diwali mumbai delhi bengaluru "
    "chennai kolkata hyderabad pune startup funding investor market inflation rupee export"
).split()


@dataclass
class Corpus:
    chunks: list[Chunk]
    dense: np.ndarray
    media: list[str]
    durations: dict[str, float]


def make_corpus(n: int, seed: int) -> Corpus:
    rng = np.random.default_rng(seed)
    n_media = max(8, n // 2500)
    media = [f"{i:016x}" for i in range(n_media)]
    ranks = np.arange(1, len(WORDS) + 1)
    probs = (1 / ranks) / (1 / ranks).sum()
    sources = ["speech", "screen", "caption"]
    chunks: list[Chunk] = []
    clock = {m: 0.0 for m in media}
    base = datetime(2026, 1, 1, 9, tzinfo=UTC)
    for i in range(n):
        m = media[i % n_media]
        source = sources[rng.choice(3, p=[0.7, 0.2, 0.1])]
        start = clock[m]
        length = float(rng.uniform(4, 30))
        clock[m] = start + float(rng.uniform(3, length))
        words = rng.choice(WORDS, size=int(rng.integers(8, 60)), p=probs)
        chunks.append(
            Chunk(
                media_id=m,
                source=source,
                start_s=round(start, 3),
                end_s=round(start + length, 3),
                text=" ".join(words),
                language="en",
                recorded_at=base + timedelta(days=media.index(m)),
            )
        )
    dense = rng.standard_normal((n, DIM)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    return Corpus(chunks, dense, media, clock)


class _VectorsOnly:
    """Identity for the index (name + dim); the bench supplies vectors itself."""

    name = "bench:random-unit-vectors"
    dim = DIM

    def embed_passages(self, texts: object) -> np.ndarray:
        raise RuntimeError("the benchmark passes precomputed vectors")

    def embed_query(self, text: str) -> np.ndarray:
        raise RuntimeError("the benchmark passes precomputed vectors")

    def embed_queries(self, texts: object) -> np.ndarray:
        raise RuntimeError("the benchmark passes precomputed vectors")


def make_queries(
    corpus: Corpus, n_points: int, count: int, seed: int, keywords: KeywordEncoder
) -> list[tuple[list[float], SparseVec, ChunkFilter]]:
    rng = np.random.default_rng(seed + 1)
    out = []
    for _ in range(count):
        target = int(rng.integers(0, n_points))
        chunk = corpus.chunks[target]
        noisy = corpus.dense[target] + rng.standard_normal(DIM).astype(np.float32) * 0.05
        noisy /= np.linalg.norm(noisy)
        words = [w for w in dict.fromkeys(chunk.text.split()) if w not in STOPWORDS]
        text = " ".join(rng.choice(words, size=min(3, len(words)), replace=False))
        t0 = max(0.0, chunk.start_s - 300)
        flt = ChunkFilter(media_ids=(chunk.media_id,), start_s=t0, end_s=t0 + 600)
        out.append((noisy.tolist(), keywords.encode_query(text), flt))
    return out


def run(index: object, corpus: Corpus, n: int, queries: list, keywords: KeywordEncoder) -> dict:
    batch = 1000
    cpu = time.process_time()
    t = time.perf_counter()
    for i in range(0, n, batch):
        part = corpus.chunks[i : i + batch]
        sparse = keywords.encode_documents([c.text for c in part])
        index.upsert_vectors(part, corpus.dense[i : i + batch], sparse)  # type: ignore[attr-defined]
    upsert_s = time.perf_counter() - t
    upsert_cpu_s = time.process_time() - cpu  # all threads; robust to a busy machine
    assert index.count() == n, f"expected {n} points, found {index.count()}"  # type: ignore[attr-defined]
    for dense, sparse, flt in queries[:3]:  # warm-up
        index.search_vectors(dense, sparse, flt, 10)  # type: ignore[attr-defined]
    lat, empty = _latencies(index, queries)
    unfiltered, _ = _latencies(index, [(d, sp, ChunkFilter()) for d, sp, _ in queries[:50]])
    return {
        "points": n,
        "upsert_s": round(upsert_s, 2),
        "upsert_per_s": round(n / upsert_s, 1),
        "upsert_per_cpu_s": round(n / upsert_cpu_s, 1),
        "queries": len(lat),
        "empty_results": empty,
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p95_ms": round(float(np.percentile(lat, 95)), 3),
        "unfiltered_p95_ms": round(float(np.percentile(unfiltered, 95)), 3),
    }


def _latencies(index: object, queries: list) -> tuple[list[float], int]:
    lat, empty = [], 0
    for dense, sparse, flt in queries:
        t = time.perf_counter()
        hits = index.search_vectors(dense, sparse, flt, 10)  # type: ignore[attr-defined]
        lat.append((time.perf_counter() - t) * 1000)
        empty += not hits
    return lat, empty


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--baseline-points", type=int, default=20_000)
    ap.add_argument("--baseline-queries", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.points < 1:
        ap.error("--points must be positive")
    n_base = min(args.points, args.baseline_points)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(
        f"corpus: {args.points} synthetic chunks; dense = random fixed unit vectors (dim {DIM}), "
        "not embedded texts; sparse = real BM25 of the texts",
        flush=True,
    )
    corpus = make_corpus(args.points, args.seed)
    keywords = KeywordEncoder()
    queries = make_queries(corpus, args.points, args.queries, args.seed, keywords)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        edge = EdgeChunkIndex(Path(tmp) / "edge", _VectorsOnly(), keywords=keywords)
        main_res = run(edge, corpus, args.points, queries, keywords)
        edge.close()
        print(f"qdrant-edge-py: {main_res}", flush=True)
        base_queries = make_queries(corpus, n_base, args.baseline_queries, args.seed, keywords)
        local = QdrantChunkIndex.local(Path(tmp) / "local", _VectorsOnly())
        base = run(local, corpus, n_base, base_queries, keywords)
        local.close()
        print(f"qdrant-client local: {base}", flush=True)
    print(
        f"ratio (baseline p95 / edge p95, at {n_base} vs {args.points} points): "
        f"{base['p95_ms'] / main_res['p95_ms']:.1f}x; upserts/s edge/baseline: "
        f"{main_res['upsert_per_s'] / base['upsert_per_s']:.1f}x"
    )
    print(
        json.dumps(
            {
                "points": args.points,
                "engine": "qdrant-edge-py",
                "upsert_per_s": main_res["upsert_per_s"],
                "upsert_per_cpu_s": main_res["upsert_per_cpu_s"],
                "p50_ms": main_res["p50_ms"],
                "p95_ms": main_res["p95_ms"],
                "baseline": {
                    "name": "qdrant-client local",
                    "points": n_base,
                    "upsert_per_s": base["upsert_per_s"],
                    "p95_ms": base["p95_ms"],
                },
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
