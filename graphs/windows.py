"""A recording's transcript in time order, and token-bounded windows over it.

Lines are read from the index in time slices (``slice_s`` at a time), so a long
recording never needs one huge read; windows are consecutive lines whose text fits a
token budget, each knowing its own time span.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from graphs.citations import Evidence
from graphs.tools import Tools, approx_tokens

UNLIMITED = 10**9  # read_window's thinning budget: keep every line


@dataclass(frozen=True)
class Window:
    """Consecutive transcript lines; the unit a map step reads."""

    lines: tuple[Evidence, ...]

    @property
    def start_s(self) -> float:
        return self.lines[0].start_s

    @property
    def end_s(self) -> float:
        return max(line.end_s for line in self.lines)

    @property
    def tokens(self) -> int:
        return sum(approx_tokens(line.text) for line in self.lines)

    def halves(self) -> tuple[Window, Window]:
        """The first and second half (by lines); needs at least two lines."""
        if len(self.lines) < 2:
            raise ValueError("a one-line window cannot be split")
        mid = len(self.lines) // 2
        return Window(self.lines[:mid]), Window(self.lines[mid:])


def _slices(
    start_s: float, end_s: float | None, slice_s: float
) -> Iterator[tuple[float, float | None, bool]]:
    """``(from, to, last)`` read spans covering ``[start_s, end_s]``; one when no end."""
    if end_s is None:
        yield start_s, None, True
        return
    t = start_s
    while True:
        upper = min(end_s, t + slice_s)
        yield t, upper, upper >= end_s
        if upper >= end_s:
            return
        t = upper


def transcript_lines(
    tools: Tools, media_id: str, start_s: float, end_s: float | None, *, slice_s: float = 600.0
) -> Iterator[Evidence]:
    """Speech lines of ``[start_s, end_s]`` in time order, read ``slice_s`` at a time
    (in one read when the end is unknown).

    A line overlapping two slices is yielded once (by its start). Recordings with no
    speech fall back to their on-screen text.
    """
    any_speech = False
    screen: list[Evidence] = []
    for t, upper, last in _slices(start_s, end_s, slice_s):
        for line in tools.read_window(media_id, t, upper, budget_tokens=UNLIMITED):
            starts_here = line.start_s >= t or t == start_s  # else the last slice had it
            belongs_later = upper is not None and not last and line.start_s >= upper
            if not starts_here or belongs_later:
                continue
            if line.source == "speech":
                any_speech = True
                yield line
            elif not any_speech:
                screen.append(line)
    if not any_speech:
        yield from screen


def windows(lines: Iterable[Evidence], budget_tokens: int) -> Iterator[Window]:
    """Consecutive lines packed into windows of at most ``budget_tokens`` (≥ 1 line each)."""
    if budget_tokens < 1:
        raise ValueError(f"window budget must be ≥ 1 token, got {budget_tokens}")
    current: list[Evidence] = []
    used = 0
    for line in lines:
        cost = approx_tokens(line.text)
        if current and used + cost > budget_tokens:
            yield Window(tuple(current))
            current, used = [], 0
        current.append(line)
        used += cost
    if current:
        yield Window(tuple(current))


def content_lines(lines: Sequence[Evidence], min_words: int = 3) -> list[Evidence]:
    """Lines with at least ``min_words`` words ("Okay.", "Yeah." carry no content)."""
    kept = [line for line in lines if len(line.text.split()) >= min_words]
    return kept or list(lines)
