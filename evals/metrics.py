"""Pure metric code: temporal IoU, ranks, citation checks and per-group aggregation.

Nothing here touches models or files: the runner turns search hits and agent answers
into the small records below and these functions score them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Window = tuple[float, float]

IOU_THRESHOLD = 0.5
# Seek accuracy: the player lands at the hit's start; it may be this early and still count.
SEEK_LEAD_S = 10.0
# Media timestamps are written and read back with limited precision (mm:ss in
# citations): a citation may end this far past the media's end and still be valid.
DURATION_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class Span:
    """A time span on one media item (a search hit or a citation)."""

    media_id: str
    start_s: float
    end_s: float


def iou(a: Window, b: Window) -> float:
    """Temporal intersection over union of two closed intervals (0.0 when disjoint)."""
    (a0, a1), (b0, b1) = _ordered(a), _ordered(b)
    inter = min(a1, b1) - max(a0, b0)
    if inter < 0:
        return 0.0
    union = max(a1, b1) - min(a0, b0)
    if union <= 0:  # two identical instants
        return 1.0
    return inter / union


def overlaps(a: Window, b: Window) -> bool:
    """True when the closed intervals share at least one instant."""
    (a0, a1), (b0, b1) = _ordered(a), _ordered(b)
    return a0 <= b1 and b0 <= a1


def best_iou(span: Span, media_id: str, windows: Sequence[Window]) -> float:
    """Best IoU of ``span`` against the true windows; 0.0 when it is on another media."""
    if span.media_id != media_id or not windows:
        return 0.0
    return max(iou((span.start_s, span.end_s), w) for w in windows)


def hits_window(span: Span, media_id: str, windows: Sequence[Window]) -> bool:
    """Lenient hit: the span is on the right media and overlaps any true window."""
    return span.media_id == media_id and any(
        overlaps((span.start_s, span.end_s), w) for w in windows
    )


def seek_hit(
    span: Span, media_id: str, windows: Sequence[Window], lead_s: float = SEEK_LEAD_S
) -> bool:
    """Seek-accurate: on the right media, overlapping a true window, and starting at most
    ``lead_s`` before it (where the player lands is at or just before the answer)."""
    return span.media_id == media_id and any(
        overlaps((span.start_s, span.end_s), w) and span.start_s >= w[0] - lead_s
        for w in windows
    )


def in_span(span: Span, media_id: str, windows: Sequence[Window]) -> bool:
    """The hit lies inside a (broad) true span: its midpoint falls within one."""
    mid = (span.start_s + span.end_s) / 2
    return span.media_id == media_id and any(w[0] <= mid <= w[1] for w in windows)


def first_correct_rank(
    hits: Sequence[Span],
    media_id: str,
    windows: Sequence[Window],
    threshold: float = IOU_THRESHOLD,
) -> int | None:
    """1-based rank of the first hit with IoU >= threshold on the right media, else None."""
    for rank, hit in enumerate(hits, start=1):
        if best_iou(hit, media_id, windows) >= threshold:
            return rank
    return None


@dataclass(frozen=True)
class SearchScore:
    """Search metrics for one question."""

    r1: float
    r5: float
    top_iou: float
    rr: float
    lenient: float
    rank: int | None
    seek: float = 0.0
    in_span: float = 0.0


def score_search(
    hits: Sequence[Span], media_id: str, windows: Sequence[Window]
) -> SearchScore:
    """R1/R5 at IoU 0.5, IoU of the top hit, reciprocal rank, and the lenient hit: the
    top hit overlaps a true window at all (right place, however loose the span)."""
    rank = first_correct_rank(hits, media_id, windows)
    top = best_iou(hits[0], media_id, windows) if hits else 0.0
    return SearchScore(
        r1=float(rank == 1),
        r5=float(rank is not None and rank <= 5),
        top_iou=top,
        rr=1.0 / rank if rank else 0.0,
        lenient=float(bool(hits) and hits_window(hits[0], media_id, windows)),
        rank=rank,
        seek=float(bool(hits) and seek_hit(hits[0], media_id, windows)),
        in_span=float(bool(hits) and in_span(hits[0], media_id, windows)),
    )


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def keyword_fraction(answer: str, keywords: Sequence[str]) -> float | None:
    """Share of keywords found in the answer (None when there are none).

    Each keyword may list alternatives separated by ``|`` (e.g. ``"ten|10|दस"``):
    answers come in the question's language, so a fact may be written several ways.
    Latin alternatives must match whole words; others match as substrings.
    """
    if not keywords:
        return None
    text = _norm(answer)
    found = 0
    for keyword in keywords:
        alternatives = [_norm(k.strip()) for k in keyword.split("|") if k.strip()]
        if any(_contains(text, alt) for alt in alternatives):
            found += 1
    return found / len(keywords)


def _contains(text: str, needle: str) -> bool:
    if needle.isascii():
        return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text) is not None
    return needle in text


def invalid_citations(
    citations: Sequence[Span],
    *,
    durations: dict[str, float | None],
    evidence: Sequence[Span] | None = None,
) -> list[tuple[Span, str]]:
    """Citations that point outside the media or outside the retrieved evidence.

    ``durations`` maps every known media id to its duration (None when unknown);
    ``evidence`` is what the answer was allowed to cite (None skips that check).
    Returns (citation, reason) pairs.
    """
    bad: list[tuple[Span, str]] = []
    for cite in citations:
        if cite.media_id not in durations:
            bad.append((cite, "unknown media"))
            continue
        duration = durations[cite.media_id]
        if not _well_formed(cite):
            bad.append((cite, "malformed span"))
        elif duration is not None and cite.start_s > duration + DURATION_TOLERANCE_S:
            bad.append((cite, "starts after the media ends"))
        elif duration is not None and cite.end_s > duration + DURATION_TOLERANCE_S:
            bad.append((cite, "ends after the media ends"))
        elif evidence is not None and not any(
            e.media_id == cite.media_id
            and overlaps((cite.start_s, cite.end_s), (e.start_s, e.end_s))
            for e in evidence
        ):
            bad.append((cite, "outside the evidence"))
    return bad


@dataclass(frozen=True)
class AskScore:
    """Answer metrics for one question."""

    grounded: float  # some citation overlaps a true window on the right media
    keywords: float | None
    citations: int
    invalid: int
    refused: float
    latency_s: float
    error: bool = False
    raw_citations: int = 0  # in the model's own text, before the agent repairs them
    raw_invalid: int = 0
    claims: int | None = None  # answer sentences stating numbers/names/quotes (meetings)
    unsupported: int | None = None  # of those, not found in the cited reference turns

    @property
    def key_fact(self) -> float | None:
        """1.0 when every key fact (keyword) is in the answer."""
        return None if self.keywords is None else float(self.keywords >= 1.0)


def score_answer(
    *,
    answer: str,
    citations: Sequence[Span],
    media_id: str,
    windows: Sequence[Window],
    keywords: Sequence[str],
    latency_s: float,
    durations: dict[str, float | None],
    evidence: Sequence[Span] | None = None,
    raw_citations: Sequence[Span] = (),
    refusal_phrases: Sequence[str] = (),
) -> AskScore:
    """Score one agent answer.

    A refusal is an answer that cites nothing or says one of ``refusal_phrases`` (a
    "not found" sentence with a citation stuck to it is still a refusal, and is never
    counted as grounded). ``raw_citations`` are the ones the model wrote before the
    agent validated them; they are checked the same way (how often the model itself
    cites wrongly).
    """
    bad = invalid_citations(citations, durations=durations, evidence=evidence)
    raw_bad = invalid_citations(raw_citations, durations=durations, evidence=evidence)
    usable = [c for c in citations if _well_formed(c)]
    text = _norm(answer)
    refused = not citations or any(p.strip() and _norm(p.strip()) in text for p in refusal_phrases)
    return AskScore(
        grounded=float(not refused and any(hits_window(c, media_id, windows) for c in usable)),
        keywords=keyword_fraction(answer, keywords),
        citations=len(citations),
        invalid=len(bad),
        refused=float(refused),
        latency_s=latency_s,
        raw_citations=len(raw_citations),
        raw_invalid=len(raw_bad),
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


@dataclass
class ItemResult:
    """Everything scored for one dataset line (search and/or ask part may be absent)."""

    index: int
    question: str
    media: str
    lang: str
    source: str
    search: SearchScore | None = None
    ask: AskScore | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    group: str = ""  # e.g. pointed / qmsum / fillets-nl (long-meeting set)
    split: str = ""  # dev / test
    length: str = ""  # media length bucket, e.g. "10–20 min"
    naive: SearchScore | None = None  # the naive baseline's search on the same question
    scoring: str = "seek"  # "span": broad spans, scored by in_span; "refuse": unanswerable


def _mean(values: Iterable[float]) -> float:
    vals = list(values)
    return sum(vals) / len(vals) if vals else math.nan


def summarize(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Flat metric dict for a group of items (search and ask keys only when present)."""
    out: dict[str, Any] = {"n": len(items)}
    searched = [i.search for i in items if i.search is not None]
    if searched:
        out.update(
            r1_iou50=_mean(s.r1 for s in searched),
            r5_iou50=_mean(s.r5 for s in searched),
            mean_iou=_mean(s.top_iou for s in searched),
            mrr=_mean(s.rr for s in searched),
            lenient_hit=_mean(s.lenient for s in searched),
            # seek accuracy on exact-moment questions, in-span on broad-span ones
            seek_acc=_mean(i.search.seek for i in items if i.search and i.scoring == "seek"),
            in_span=_mean(i.search.in_span for i in items if i.search and i.scoring == "span"),
        )
    if any(i.naive is not None for i in items):
        out.update(
            naive_seek_acc=_mean(i.naive.seek for i in items if i.naive and i.scoring == "seek"),
            naive_in_span=_mean(
                i.naive.in_span for i in items if i.naive and i.scoring == "span"
            ),
            naive_r1_iou50=_mean(i.naive.r1 for i in items if i.naive),
        )
    # a question the media does not answer is scored by its refusal alone
    unanswerable = [i.ask for i in items if i.ask is not None and i.scoring == "refuse"]
    if unanswerable:
        out["unanswerable"] = len(unanswerable)
        out["false_answers"] = int(sum(1 - a.refused for a in unanswerable))
    asked = [i.ask for i in items if i.ask is not None and i.scoring != "refuse"]
    if asked:
        kw = [a.keywords for a in asked if a.keywords is not None]
        total_citations = sum(a.citations for a in asked)
        latencies = [a.latency_s for a in asked]
        out.update(
            cited_hit=_mean(a.grounded for a in asked),
            keyword_acc=_mean(kw) if kw else math.nan,
            citations=total_citations,
            invalid_citations=sum(a.invalid for a in asked),
            invalid_citation_rate=(
                sum(a.invalid for a in asked) / total_citations if total_citations else 0.0
            ),
            refusals=int(sum(a.refused for a in asked)),
            refusal_rate=_mean(a.refused for a in asked),
            latency_p50_s=percentile(latencies, 50),
            latency_p95_s=percentile(latencies, 95),
            ask_errors=sum(a.error for a in asked),
            raw_citations=sum(a.raw_citations for a in asked),
            raw_invalid_citations=sum(a.raw_invalid for a in asked),
        )
        facts = [a.key_fact for a in asked if a.key_fact is not None]
        checked = [a for a in asked if a.unsupported is not None]
        out["key_fact"] = _mean(facts) if facts else math.nan
        if checked:
            out["claims"] = sum(a.claims or 0 for a in checked)
            out["unsupported_claims"] = sum(a.unsupported or 0 for a in checked)
    return out


def breakdown(
    items: Sequence[ItemResult], key: Callable[[ItemResult], str]
) -> dict[str, dict[str, Any]]:
    """``summarize`` per group, groups in sorted order."""
    groups: dict[str, list[ItemResult]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return {name: summarize(groups[name]) for name in sorted(groups)}


def aggregate(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Overall metrics plus ``by_lang`` and ``by_source`` breakdowns, and, when items carry
    them (long-meeting set), ``by_split``, ``by_group``, ``by_length`` and ``by_group_lang``."""
    out = summarize(items)
    out["by_lang"] = breakdown(items, lambda i: i.lang)
    out["by_source"] = breakdown(items, lambda i: i.source)
    if any(i.group for i in items):
        out["by_split"] = breakdown(items, lambda i: i.split or "–")
        out["by_group"] = breakdown(items, lambda i: i.group or "–")
        out["by_length"] = breakdown(items, lambda i: i.length or "–")
        out["by_group_lang"] = breakdown(
            items, lambda i: f"{i.split or '–'} · {i.group or '–'} · {i.lang}"
        )
    return out


LENGTH_BUCKETS = ((60.0, "< 1 min"), (600.0, "1–10 min"), (1200.0, "10–20 min"),
                  (1800.0, "20–30 min"))


def length_bucket(duration_s: float | None) -> str:
    """A media length bucket for the report ("10–20 min"); "unknown" without a duration."""
    if duration_s is None:
        return "unknown"
    for limit, name in LENGTH_BUCKETS:
        if duration_s < limit:
            return name
    return "≥ 30 min"


def _ordered(w: Window) -> Window:
    a, b = float(w[0]), float(w[1])
    if math.isnan(a) or math.isnan(b) or b < a:
        raise ValueError(f"not a time window (start <= end): {w}")
    return a, b


def _well_formed(span: Span) -> bool:
    return 0 <= span.start_s <= span.end_s
