"""Scores for whole-recording outputs: chapter boundary F1 and summary ROUGE-1.

Pure functions over times and strings (no models, no files). Boundaries are chapter
start times; the recording's own start is not a boundary. A predicted boundary
matches at most one reference boundary within ``tolerance_s`` (closest pairs first).
ROUGE-1 is Google's ``rouge-score`` (ROUGE-1.5.5 re-implementation) with the Porter
stemmer, as summarisation papers on QMSum report it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rouge_score import rouge_scorer

BOUNDARY_TOLERANCE_S = 45.0

_SCORER = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)


@dataclass(frozen=True)
class BoundaryScore:
    precision: float
    recall: float
    f1: float
    matched: int
    predicted: int
    reference: int


def match_boundaries(
    predicted: Sequence[float], reference: Sequence[float], tolerance_s: float
) -> list[tuple[float, float]]:
    """One-to-one (predicted, reference) pairs within ``tolerance_s``, closest first."""
    candidates = sorted(
        (abs(p - r), i, j)
        for i, p in enumerate(predicted)
        for j, r in enumerate(reference)
        if abs(p - r) <= tolerance_s
    )
    used_p: set[int] = set()
    used_r: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in used_p and j not in used_r:
            used_p.add(i)
            used_r.add(j)
            pairs.append((predicted[i], reference[j]))
    return sorted(pairs)


def boundary_f1(
    predicted: Iterable[float],
    reference: Iterable[float],
    *,
    tolerance_s: float = BOUNDARY_TOLERANCE_S,
) -> BoundaryScore:
    """Precision, recall and F1 of predicted chapter boundaries against reference ones.

    No boundaries on either side scores 1.0 (a one-topic recording, one chapter).
    """
    if tolerance_s < 0:
        raise ValueError(f"tolerance must be ≥ 0, got {tolerance_s}")
    pred = sorted(set(float(t) for t in predicted))
    ref = sorted(set(float(t) for t in reference))
    if not pred and not ref:
        return BoundaryScore(1.0, 1.0, 1.0, 0, 0, 0)
    matched = len(match_boundaries(pred, ref, tolerance_s))
    precision = matched / len(pred) if pred else 0.0
    recall = matched / len(ref) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return BoundaryScore(precision, recall, f1, matched, len(pred), len(ref))


def chapter_boundaries(starts: Iterable[float], *, recording_start_s: float = 0.0) -> list[float]:
    """Boundaries from chapter (or topic span) start times: every start but the first.

    Starts at or before ``recording_start_s`` are the recording's start, not a boundary.
    """
    ordered = sorted(set(float(s) for s in starts))
    inner = [s for s in ordered if s > recording_start_s]
    if ordered and ordered[0] > recording_start_s:
        inner = inner[1:]  # the earliest topic opens the recording (after any lead-in)
    return inner


def rouge1(candidate: str, reference: str) -> float:
    """ROUGE-1 F-measure of ``candidate`` against ``reference`` (stemmed, 0..1)."""
    if not reference.strip():
        raise ValueError("the reference summary is empty")
    return float(_SCORER.score(reference, candidate)["rouge1"].fmeasure)
