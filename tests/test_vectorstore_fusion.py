"""Dense-first hybrid fusion: cosine + a keyword-rank bonus (vectorstore.index_base.fuse)."""

from __future__ import annotations

from typing import Any

from vectorstore.index import chunk_payload
from vectorstore.index_base import fuse
from vectorstore.schema import Chunk


def point(start: float, text: str) -> dict[str, Any]:
    return chunk_payload(
        Chunk(media_id="m", source="speech", start_s=start, end_s=start + 5, text=text)
    )


A, B, C = point(0, "alpha"), point(10, "beta"), point(20, "gamma")


def test_without_keyword_matches_the_dense_order_and_cosines_stay() -> None:
    got = fuse([(A, 0.9), (B, 0.8)], [], weight=0.05, limit=5)
    assert [(c.text, s) for c, s in got] == [("alpha", 0.9), ("beta", 0.8)]


def test_keyword_top_hit_breaks_a_near_tie_but_not_a_clear_dense_lead() -> None:
    near = fuse([(A, 0.84), (B, 0.83)], [(B, 7.0)], weight=0.05, limit=5)
    assert [c.text for c, _ in near] == ["beta", "alpha"]
    clear = fuse([(A, 0.95), (B, 0.83)], [(B, 7.0)], weight=0.05, limit=5)
    assert [c.text for c, _ in clear] == ["alpha", "beta"]


def test_keyword_only_candidate_counts_at_the_lowest_dense_score() -> None:
    got = fuse([(A, 0.9), (B, 0.7)], [(C, 3.0)], weight=0.05, limit=5)
    assert [(c.text, s) for c, s in got] == [("alpha", 0.9), ("gamma", 0.75), ("beta", 0.7)]
    assert len(fuse([(A, 0.9), (B, 0.7)], [(C, 3.0)], weight=0.05, limit=2)) == 2
