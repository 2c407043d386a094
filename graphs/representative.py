"""Extractive pre-selection: the transcript lines that best represent a whole recording.

A long recording does not fit a small model's prompt, and summarising it window by
window costs one model call per window plus the combining. Instead the lines are
embedded, cut into topics (:func:`graphs.chapters.segment`), and each topic gets a
share of the token budget in proportion to its length; inside a topic, lines are
picked by maximal marginal relevance (MMR): close to the topic's centroid (what it is
mostly about) and far from the lines already picked (no five restatements of one
point). The picked lines come back in time order, so one model call can write the
summary of the whole recording from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphs.chapters import SegmentParams, Unit, segment
from graphs.citations import Evidence
from graphs.tools import approx_tokens


def topic_spans(
    lines: Sequence[Evidence], vectors: np.ndarray, params: SegmentParams | None = None
) -> list[range]:
    """Index ranges of consecutive lines, one per topic, covering every line."""
    units = [Unit(ln.start_s, ln.end_s, ln.text) for ln in lines]
    if not units:
        return []
    p = params or SegmentParams()
    bounds = segment(units, vectors, p.scaled(units[-1].end_s - units[0].start_s))
    cuts = [0, *(next(i for i, u in enumerate(units) if u.start_s >= b) for b in bounds)]
    cuts.append(len(units))
    return [range(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def mmr(vectors: np.ndarray, costs: Sequence[int], budget: int, diversity: float) -> list[int]:
    """Rows picked greedily by MMR around the weighted centroid until ``budget`` is spent
    (at least one row). ``vectors`` are L2-normalised; ``costs`` are token counts."""
    weights = np.asarray([max(1, c) for c in costs], dtype=np.float32)
    centroid = (vectors * weights[:, None]).sum(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    relevance = vectors @ centroid
    redundancy = np.full(len(vectors), -1.0, dtype=np.float32)
    picked: list[int] = []
    used = 0
    free = np.ones(len(vectors), dtype=bool)
    while free.any():
        score = (1 - diversity) * relevance - diversity * np.maximum(redundancy, 0.0)
        score = np.where(free, score, -np.inf)
        best = int(np.argmax(score))
        free[best] = False
        if picked and used + costs[best] > budget:
            continue  # too long for what is left: a shorter line may still fit
        picked.append(best)
        used += costs[best]
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
        if used >= budget:
            break
    return picked


def representative_lines(
    lines: Sequence[Evidence],
    vectors: np.ndarray,
    budget_tokens: int,
    *,
    diversity: float = 0.5,
    params: SegmentParams | None = None,
) -> list[Evidence]:
    """Lines that fit ``budget_tokens`` and cover every topic, in time order."""
    if len(lines) != len(vectors):
        raise ValueError(f"{len(lines)} lines but {len(vectors)} vectors")
    if budget_tokens < 1:
        raise ValueError(f"budget must be ≥ 1 token, got {budget_tokens}")
    costs = [approx_tokens(ln.text) for ln in lines]
    if sum(costs) <= budget_tokens:
        return list(lines)
    spans = topic_spans(lines, vectors, params)
    total = sum(costs)
    chosen: list[int] = []
    for span in spans:
        share = max(1, round(budget_tokens * sum(costs[i] for i in span) / total))
        rows = list(span)
        picked = mmr(vectors[rows], [costs[i] for i in rows], share, diversity)
        chosen += [rows[j] for j in picked]
    return [lines[i] for i in sorted(chosen)]
