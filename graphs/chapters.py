"""Topic segmentation of a whole transcript, TextTiling-style over embeddings.

Units are transcript lines (speech chunks) in time order, each with a vector. At
every line start (a candidate boundary) the text of the ``block_s`` seconds before
is compared with the ``block_s`` seconds after: the cosine of the word-weighted mean
vectors. The similarity curve is smoothed over ``smooth_s`` seconds (so it does not
depend on how finely the lines are cut), each gap gets Hearst's depth score (how far
the curve dips below the nearest peaks on both sides), and the deepest gaps whose depth
exceeds both ``mean - cutoff·std`` of the depths and the absolute ``floor`` become
boundaries, never closer than ``min_chapter_s`` to each other or to the ends.
Boundaries are real line start times.

Without an embedder the vectors are hashed bags of words (lexical TextTiling).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SegmentParams:
    # tuned on the dev meetings only (ES2008a, IS1001a, TS3003a, ES2013a), on Whisper's
    # transcripts chunked into moments as ingestion indexes them, with QMSum's clean text
    # and the spoken turns as checks (bench/summarize_meetings.py --styles boundaries).
    # Moments (4–12 s) put a gap every ~5 s, and the curve's small wiggles stop the depth
    # climb: unsmoothed, dev Whisper F1 was 0.125 (0.617 on 20 s windows); averaging over
    # ±8 s (about one window) gives 0.617 on moments. cutoff -0.5 split repeated one-topic
    # text (tests/test_summarize.py); cutoff -1/min 150 s found 0–1 boundaries on Whisper
    # text where people marked 2–3
    block_s: float = 150.0  # text compared on each side of a gap
    smooth_s: float = 8.0  # moving-average half-width of the curve, in seconds
    cutoff: float = -0.75  # boundary if depth > mean - cutoff * std of depths ...
    # ... and depth > floor, on the cosine scale of multilingual e5 (the product's
    # embedder), where the dev boundaries people marked have depths 0.006–0.09: the
    # relative cutoff alone passes the deepest gaps of any curve, even a flat one
    floor: float = 0.01
    min_chapter_s: float = 120.0
    max_chapters: int = 12

    def scaled(self, duration_s: float) -> SegmentParams:
        """Shorter blocks and chapters for recordings too short for the meeting scale.

        A block is as long as the shortest chapter (at the meeting scale 150 s vs. 120 s):
        with an eighth of the recording, 30–60 s of talk on each side, 15 of 19 real
        one-topic stretches of the dev meetings (4–15 min) were split, with a quarter 6."""
        if duration_s >= 4 * self.min_chapter_s:
            return self
        shortest = min(self.min_chapter_s, max(30.0, duration_s / 4))
        return replace(self, block_s=min(self.block_s, max(15.0, duration_s / 4)),
                       min_chapter_s=shortest)  # fmt: skip


@dataclass(frozen=True)
class Unit:
    start_s: float
    end_s: float
    text: str


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def hashed_bow(texts: Sequence[str], dim: int = 2048) -> np.ndarray:
    """L2-normalised hashed bag-of-words vectors (lowercased words of ≥ 3 letters)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in _WORD.findall(text.lower()):
            if len(word) >= 3:
                out[i, zlib.crc32(word.encode()) % dim] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def gap_similarities(units: Sequence[Unit], vectors: np.ndarray, block_s: float) -> np.ndarray:
    """Cosine of the text before vs. after each line start ``units[1:]``."""
    starts = np.array([u.start_s for u in units])
    weights = np.array([max(1, word_count(u.text)) for u in units], dtype=np.float32)
    weighted = vectors * weights[:, None]
    cum = np.vstack([np.zeros((1, vectors.shape[1]), np.float32), np.cumsum(weighted, axis=0)])
    sims = np.zeros(max(0, len(units) - 1), dtype=np.float32)
    for g, i in enumerate(range(1, len(units))):
        lo = int(np.searchsorted(starts, starts[i] - block_s, side="left"))
        hi = int(np.searchsorted(starts, starts[i] + block_s, side="left"))
        left, right = cum[i] - cum[min(lo, i - 1)], cum[max(hi, i + 1)] - cum[i]
        denom = float(np.linalg.norm(left) * np.linalg.norm(right))
        sims[g] = float(left @ right) / denom if denom > 0 else 0.0
    return sims


def smoothed(values: np.ndarray, times: np.ndarray, half_width_s: float) -> np.ndarray:
    """Each value averaged with those whose time is within ``half_width_s`` of its own."""
    if half_width_s <= 0 or len(values) == 0:
        return values
    cum = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    lo = np.searchsorted(times, times - half_width_s, side="left")
    hi = np.searchsorted(times, times + half_width_s, side="right")
    return ((cum[hi] - cum[lo]) / (hi - lo)).astype(np.float32)


def depth_scores(sims: np.ndarray) -> np.ndarray:
    """Hearst's depth: (left peak − s) + (right peak − s), climbing while the curve rises."""
    depths = np.zeros_like(sims)
    for i, s in enumerate(sims):
        left = i
        while left > 0 and sims[left - 1] >= sims[left]:
            left -= 1
        right = i
        while right < len(sims) - 1 and sims[right + 1] >= sims[right]:
            right += 1
        depths[i] = (sims[left] - s) + (sims[right] - s)
    return depths


def segment(
    units: Sequence[Unit], vectors: np.ndarray, params: SegmentParams | None = None
) -> list[float]:
    """Chapter boundary times (line starts), sorted; [] when nothing splits."""
    p = params or SegmentParams()
    if len(units) != len(vectors):
        raise ValueError(f"{len(units)} units but {len(vectors)} vectors")
    if len(units) < 3:
        return []
    begin, finish = units[0].start_s, units[-1].end_s
    gap_times = np.array([u.start_s for u in units[1:]])
    sims = smoothed(gap_similarities(units, vectors, p.block_s), gap_times, p.smooth_s)
    depths = depth_scores(sims)
    threshold = max(float(depths.mean() - p.cutoff * depths.std()), p.floor, 1e-6)
    chosen: list[float] = []
    for g in np.argsort(-depths, kind="stable"):
        t = float(gap_times[g])
        if depths[g] <= threshold or len(chosen) >= p.max_chapters - 1:
            break
        if t - begin < p.min_chapter_s or finish - t < p.min_chapter_s:
            continue
        if all(abs(t - c) >= p.min_chapter_s for c in chosen):
            chosen.append(t)
    return sorted(chosen)
