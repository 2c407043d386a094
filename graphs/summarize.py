"""Summaries, chapters and minutes over a whole recording (or a span of it).

The transcript is read in time order and packed into windows that fit the model's
context with room for the answer (:mod:`graphs.windows`).

- ``summary``: a recording that fits ``extract_tokens`` is summarised from all its
  lines in one call. A longer one (``summary_mode="extract"``, the default) is
  summarised in one call from its representative lines (:mod:`graphs.representative`: MMR
  around each topic's centroid, every topic its share of the budget), the key points
  citing those lines. ``summary_mode="map_reduce"``: each window gets a few sentences
  (map, two windows at a time: llama.cpp serves two slots); the part summaries, each
  knowing its window's span, are combined into one (reduce), recursively while they do
  not fit one prompt. On the dev meetings (0.5B) extraction took 0.28× the time and was
  closer to the people-written summaries on average (``bench/summarize_meetings.py --baseline``).
- ``chapters``: topic segmentation of the whole transcript (:mod:`graphs.chapters`,
  embedding similarity between adjacent stretches), then the model titles each chapter
  from a sample of its text. Chapters tile the span; boundaries are line start times.
- ``minutes``: decisions and action items from every window (map), anchored to the
  line they come from and merged across windows (:mod:`graphs.minutes`), each with a
  citation ``[title @ mm:ss–mm:ss]``.

A step that hits the model's length limit is retried on the two halves of its window
(over excerpts: with half the excerpt budget), up to ``retries`` times, then fails with
:class:`~graphs.llm.LengthLimitError`.
Progress goes to an optional callback ``(stage, done, total)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

import numpy as np
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from graphs import summary_prompts as sp
from graphs.chapters import SegmentParams, Unit, hashed_bow, segment
from graphs.citations import Evidence, format_citation
from graphs.llm import LengthLimitError, json_call
from graphs.mediatime import format_span, format_time
from graphs.minutes import anchor, merge
from graphs.representative import representative_lines
from graphs.tools import Tools, approx_tokens, spread
from graphs.windows import Window, content_lines, transcript_lines, windows
from vectorstore.embedders import Embedder

Style = Literal["summary", "chapters", "minutes"]
SummaryMode = Literal["extract", "map_reduce"]
STYLES: tuple[str, ...] = ("summary", "chapters", "minutes")
ProgressFn = Callable[[str, int, int], None]
T = TypeVar("T")

# room for the longest reply each schema allows (its maxLength strings, ~3.5 chars a token)
PART_MAX_TOKENS = 160
SUMMARY_MAX_TOKENS = 360
TITLE_MAX_TOKENS = 30
MINUTES_MAX_TOKENS = 520
MIN_SUMMARY_WORDS = 25  # shorter and no sentence end: a title, not a summary
MAX_JOINED_WORDS = 120


class Point(BaseModel):
    """A statement about a span: a key point, a decision, or a part summary."""

    text: str
    start_s: float
    end_s: float
    citation: str = ""
    speaker: str | None = None  # who said it, once diarization labels lines


class Chapter(BaseModel):
    title: str
    start_s: float
    end_s: float


class ActionItem(BaseModel):
    who: str  # the person the transcript names for the task ("" when not said)
    what: str
    by_when: str
    start_s: float
    end_s: float
    citation: str = ""
    speaker: str | None = None  # who said it, once diarization labels lines


class Summary(BaseModel):
    """``chronorag summarize --json`` output."""

    media_id: str
    title: str
    style: Style
    language: str
    start_s: float
    end_s: float
    summary: str = ""
    points: list[Point] = Field(default_factory=list)
    chapters: list[Chapter] = Field(default_factory=list)
    decisions: list[Point] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    parts: list[Point] = Field(default_factory=list, description="Per-window summaries.")

    def render(self) -> str:
        """Plain text for a terminal."""
        head = f"{self.title} ({format_span(self.start_s, self.end_s)}), {self.style}"
        lines = [head, ""]
        if self.summary:
            lines += [self.summary, ""]
        lines += [f"- [{format_time(p.start_s)}] {p.text}" for p in self.points]
        lines += [f"{format_span(c.start_s, c.end_s)}  {c.title}" for c in self.chapters]
        if self.decisions:
            lines += ["Decisions:"] + [f"- {p.text} {p.citation}" for p in self.decisions]
        if self.action_items:
            lines += ["Action items:"] + [
                f"- {a.who or a.speaker or '?'}: {a.what}"
                + (f" (by {a.by_when})" if a.by_when else "")
                + f" {a.citation}"
                for a in self.action_items
            ]
        return "\n".join(lines).rstrip()


class _Progress:
    """Thread-safe step counter feeding the caller's callback."""

    def __init__(self, callback: ProgressFn | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0

    def add(self, stage: str, steps: int) -> None:
        with self._lock:
            self.total += steps
            self._report(stage)

    def step(self, stage: str) -> None:
        with self._lock:
            self.done += 1
            self._report(stage)

    def _report(self, stage: str) -> None:
        if self._callback is not None:
            self._callback(stage, self.done, self.total)


class Summarizer:
    """Whole-recording summaries, chapters and minutes on a chat model (+ the embedder)."""

    def __init__(
        self,
        tools: Tools,
        model: BaseChatModel,
        *,
        embedder: Embedder | None = None,
        window_tokens: int = 1500,
        summary_words: int = 90,
        workers: int = 2,
        retries: int = 2,
        segment_params: SegmentParams | None = None,
        title_tokens: int = 300,
        frequency_penalty: float = 0.5,
        summary_mode: SummaryMode = "extract",
        extract_tokens: int = 1200,
    ) -> None:
        if window_tokens < 50 or workers < 1 or retries < 0 or extract_tokens < 50:
            raise ValueError(
                "window_tokens ≥ 50, extract_tokens ≥ 50, workers ≥ 1 and retries ≥ 0 are required"
            )
        if summary_mode not in ("extract", "map_reduce"):
            raise ValueError(f"unknown summary mode {summary_mode!r}: extract or map_reduce")
        self.tools = tools
        self.model = model
        # small models loop ("She will draw a turtle. She will draw a turtle…") without it
        self._sampled: Any = model.bind(frequency_penalty=frequency_penalty)
        self.embedder = embedder
        self.window_tokens = window_tokens
        self.summary_words = summary_words
        self.workers = workers
        self.retries = retries
        self.segment_params = segment_params or SegmentParams()
        self.title_tokens = title_tokens
        self.summary_mode = summary_mode
        self.extract_tokens = extract_tokens

    # --- entry point ----------------------------------------------------------------------
    def summarize(
        self,
        media_id: str,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        style: str = "summary",
        on_progress: ProgressFn | None = None,
    ) -> Summary:
        if style not in STYLES:
            raise ValueError(f"unknown summary style {style!r}: use one of {', '.join(STYLES)}")
        if start_s is not None and end_s is not None and end_s <= start_s:
            raise ValueError(f"end ({end_s}) must be after start ({start_s})")
        record = self.tools.media(media_id)
        if record is None or getattr(record, "status", "ready") != "ready":
            raise ValueError(f"media {media_id!r} is not indexed (unknown or not ready)")
        progress = _Progress(on_progress)
        lo = start_s if start_s is not None else 0.0
        known_end = end_s if end_s is not None else record.duration_s
        lines = list(transcript_lines(self.tools, media_id, lo, known_end))
        hi = known_end or (max(line.end_s for line in lines) if lines else lo)
        language = record.language or "en"
        base: dict[str, Any] = {
            "media_id": media_id,
            "title": record.title,
            "style": style,
            "language": language,
            "start_s": lo,
            "end_s": hi,
        }
        if not lines:
            return Summary(**base, summary="Nothing was indexed in this range.")
        if style == "chapters":
            return Summary(**base, chapters=self._chapters(lines, lo, hi, language, progress))
        if style == "minutes":
            return self._minutes(base, lines, language, progress)
        return self._summary(base, lines, language, progress)

    # --- shared machinery -----------------------------------------------------------------
    def _call(
        self, messages: list[tuple[str, str]], schema: dict[str, Any], name: str, max_tokens: int
    ) -> dict[str, Any]:
        return json_call(self._sampled, messages, schema, name=name, max_tokens=max_tokens)

    def _on_window(
        self, window: Window, fn: Callable[[Window], T], depth: int = 0
    ) -> list[tuple[Window, T]]:
        """``fn(window)``; on a length limit, the same step on each half (≤ ``retries``)."""
        try:
            return [(window, fn(window))]
        except LengthLimitError:
            if depth >= self.retries or len(window.lines) < 2:
                raise
            first, second = window.halves()
            return self._on_window(first, fn, depth + 1) + self._on_window(second, fn, depth + 1)

    def _map(
        self, items: Sequence[Window], fn: Callable[[Window], T], stage: str, progress: _Progress
    ) -> list[tuple[Window, T]]:
        """``fn`` over windows, ``workers`` at a time, results in time order."""
        progress.add(stage, len(items))

        def run(window: Window) -> list[tuple[Window, T]]:
            out = self._on_window(window, fn)
            progress.step(stage)
            return out

        if self.workers == 1 or len(items) == 1:
            results = [run(w) for w in items]
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                results = list(pool.map(run, items))
        return [pair for group in results for pair in group]

    def _windows(self, lines: Sequence[Evidence]) -> list[Window]:
        return list(windows(content_lines(lines), self.window_tokens))

    # --- summary --------------------------------------------------------------------------
    def _summary(
        self, base: dict[str, Any], lines: list[Evidence], language: str, progress: _Progress
    ) -> Summary:
        if self.summary_mode == "extract":
            content = content_lines(lines)
            if sum(approx_tokens(ln.text) for ln in content) > self.extract_tokens:
                return self._from_excerpts(base, content, language, progress)
            chunks = list(windows(content, self.extract_tokens))
        else:
            chunks = self._windows(lines)
        if len(chunks) == 1:
            # one window: summary and points straight from its lines (line refs); at the
            # length limit, map-reduce over its two halves instead
            parts = [Point(text=line.text, start_s=line.start_s, end_s=line.end_s)
                     for line in chunks[0].lines]  # fmt: skip
            try:
                data = self._reduce(parts, language, progress, direct=True)
                return self._final(base, data, parts, parts=[])
            except LengthLimitError:
                if self.retries == 0 or len(chunks[0].lines) < 2:
                    raise
                chunks = list(chunks[0].halves())

        def part(window: Window) -> str:
            data = self._call(sp.part_messages([ln.text for ln in window.lines], language),
                              sp.PART_SCHEMA, "summary part", PART_MAX_TOKENS)  # fmt: skip
            return str(data.get("summary", "")).strip()

        parts = [
            Point(text=text, start_s=w.start_s, end_s=w.end_s)
            for w, text in self._map(chunks, part, "reading", progress)
            if text
        ]
        window_parts = list(parts)
        while sum(approx_tokens(p.text) for p in parts) > self.window_tokens and len(parts) > 2:
            parts = self._combine(parts, language, progress)
        data = self._reduce(parts, language, progress, direct=False)
        return self._final(base, data, parts, parts=window_parts)

    def _from_excerpts(
        self, base: dict[str, Any], lines: list[Evidence], language: str, progress: _Progress
    ) -> Summary:
        """One call over the recording's representative lines; a length limit retries
        with half the excerpt budget."""
        texts = [ln.text for ln in lines]
        progress.add("selecting", 1)
        vectors = np.asarray(
            self.embedder.embed_passages(texts) if self.embedder is not None else hashed_bow(texts)
        )
        progress.step("selecting")
        progress.add("writing", 1)
        budget = self.extract_tokens
        for attempt in range(self.retries + 1):
            picked = representative_lines(lines, vectors, budget, params=self.segment_params)
            refs = [Point(text=ln.text, start_s=ln.start_s, end_s=ln.end_s) for ln in picked]
            messages = sp.excerpt_summary_messages(
                [p.text for p in refs], language, words=self.summary_words
            )
            try:
                data = self._call(
                    messages, sp.EXCERPT_SUMMARY_SCHEMA, "summary", SUMMARY_MAX_TOKENS
                )
                break
            except LengthLimitError:
                if attempt == self.retries:
                    raise
                budget = max(50, budget // 2)
        progress.step("writing")
        return self._final(base, data, refs, parts=[])

    def _combine(self, parts: list[Point], language: str, progress: _Progress) -> list[Point]:
        """One level of the recursive reduce: groups of parts that fit a window → one each."""
        groups: list[list[Point]] = [[]]
        for p in parts:
            used = sum(approx_tokens(q.text) for q in groups[-1])
            if groups[-1] and used + approx_tokens(p.text) > self.window_tokens:
                groups.append([])
            groups[-1].append(p)
        if len(groups) == 1:  # nothing to gain: halve instead
            mid = len(parts) // 2
            groups = [parts[:mid], parts[mid:]]
        progress.add("combining", len(groups))
        out = []
        for group in groups:
            data = self._call(
                sp.summary_messages(
                    [p.text for p in group], language, final=False, words=self.summary_words
                ),  # fmt: skip
                sp.PART_SCHEMA,
                "summary combine",
                SUMMARY_MAX_TOKENS,  # fmt: skip
            )
            progress.step("combining")
            out.append(Point(text=str(data.get("summary", "")).strip(),
                             start_s=group[0].start_s, end_s=group[-1].end_s))  # fmt: skip
        return out

    def _reduce(
        self, parts: list[Point], language: str, progress: _Progress, *, direct: bool
    ) -> dict[str, Any]:
        """The final summary + points. Over part summaries, a length limit retries with
        each part clipped to half; over lines (``direct``) the caller halves the window."""
        progress.add("writing", 1)
        texts = [p.text for p in parts]
        try:
            for attempt in range(self.retries + 1):
                messages = (
                    sp.direct_summary_messages(texts, language, words=self.summary_words)
                    if direct
                    else sp.summary_messages(
                        texts, language, final=True, words=self.summary_words
                    )  # fmt: skip
                )
                try:
                    return self._call(messages, sp.SUMMARY_SCHEMA, "summary", SUMMARY_MAX_TOKENS)
                except LengthLimitError:
                    if direct or attempt == self.retries:
                        raise
                    texts = _clip_half(texts)
            raise AssertionError("unreachable")  # the loop returns or raises
        finally:
            progress.step("writing")

    @staticmethod
    def _final(
        base: dict[str, Any], data: dict[str, Any], refs: list[Point], *, parts: list[Point]
    ) -> Summary:
        points = []
        for item in data.get("points", []):
            text = str(item.get("text", "")).strip()
            if text:
                ref = refs[min(max(int(item.get("part", 1)), 1), len(refs)) - 1]
                points.append(Point(
                    text=text, start_s=ref.start_s, end_s=ref.end_s,
                    citation=format_citation(base["title"], ref.start_s, ref.end_s),
                ))  # fmt: skip
        for p in parts:
            p.citation = format_citation(base["title"], p.start_s, p.end_s)
        summary = sp.PART_LABEL.sub("", str(data.get("summary", ""))).strip()
        is_title = len(summary.split()) < MIN_SUMMARY_WORDS and not summary.endswith(
            (".", "!", "?", "।")
        )
        if parts and is_title:
            # over many parts the 0.5B model may answer with a title ("Conceptual design
            # meeting" for a 33-minute meeting): the part summaries say more
            summary = " ".join(" ".join(p.text for p in parts).split()[:MAX_JOINED_WORDS])
        return Summary(**base, summary=summary, points=points, parts=parts)

    # --- chapters -------------------------------------------------------------------------
    def _chapters(
        self, lines: list[Evidence], lo: float, hi: float, language: str, progress: _Progress
    ) -> list[Chapter]:
        units = [Unit(ln.start_s, ln.end_s, ln.text) for ln in lines]
        texts = [u.text for u in units]
        progress.add("segmenting", 1)
        vectors = (
            self.embedder.embed_passages(texts) if self.embedder is not None else hashed_bow(texts)
        )
        params = self.segment_params
        bounds = segment(units, np.asarray(vectors), params.scaled(hi - lo))
        progress.step("segmenting")
        starts = [lo, *bounds]
        ends = [*bounds, hi]
        spans = [(s, e) for s, e in zip(starts, ends, strict=True)]

        def title_of(window: Window) -> str:
            sample = [ln.text for ln in spread(list(window.lines), self.title_tokens)]
            data = self._call(sp.title_messages(sample, language), sp.TITLE_SCHEMA,
                              "chapter title", TITLE_MAX_TOKENS)  # fmt: skip
            return _clean_title(str(data.get("title", "")))

        chapter_windows = []
        for s, e in spans:
            inside = tuple(ln for ln in lines if s <= ln.start_s < e) or tuple(lines[:1])
            chapter_windows.append(Window(inside))
        results = self._map(chapter_windows, lambda w: self._title_with_retry(w, title_of),
                            "titling", progress)  # fmt: skip
        return [
            Chapter(title=title or f"Part {i}", start_s=s, end_s=e)
            for i, ((_, title), (s, e)) in enumerate(zip(results, spans, strict=True), 1)
        ]

    def _title_with_retry(self, window: Window, fn: Callable[[Window], str]) -> str:
        """A title from the first half of the chapter when the whole sample is too long."""
        for _ in range(self.retries + 1):
            try:
                return fn(window)
            except LengthLimitError:
                if len(window.lines) < 2:
                    raise
                window = window.halves()[0]
        return fn(window)

    # --- minutes --------------------------------------------------------------------------
    def _minutes(
        self, base: dict[str, Any], lines: list[Evidence], language: str, progress: _Progress
    ) -> Summary:
        title = base["title"]

        def read(window: Window) -> dict[str, Any]:
            return self._call(sp.minutes_messages([ln.said for ln in window.lines], language),
                              sp.MINUTES_SCHEMA, "minutes", MINUTES_MAX_TOKENS)  # fmt: skip

        found = self._map(self._windows(lines), read, "reading", progress)
        decisions: list[Point] = []
        actions: list[ActionItem] = []
        parts: list[Point] = []
        for window, data in found:
            text = str(data.get("summary", "")).strip()
            if text:
                parts.append(Point(text=text, start_s=window.start_s, end_s=window.end_s,
                                   citation=format_citation(title, window.start_s,
                                                            window.end_s)))  # fmt: skip
            for item in data.get("decisions", []):
                said = str(item.get("text", "")).strip()
                line = anchor(said, window.lines, item.get("line")) if said else None
                if line is not None:
                    decisions.append(Point(text=said, **_cite(title, line)))
            for item in data.get("action_items", []):
                what = str(item.get("what", "")).strip()
                who = str(item.get("who", "")).strip()
                line = anchor(f"{who} {what}", window.lines, item.get("line")) if what else None
                if line is not None:
                    actions.append(ActionItem(who=who, what=what,
                                              by_when=str(item.get("by_when", "")).strip(),
                                              **_cite(title, line)))  # fmt: skip
        summary = " ".join(p.text for p in parts)
        if len(parts) > 1:
            summary = str(self._reduce(parts, language, progress, direct=False)["summary"])
        return Summary(
            **base,
            summary=summary.strip(),
            decisions=merge(decisions, key=lambda p: p.text),
            action_items=merge(actions, key=lambda a: f"{a.who} {a.what}"),
            parts=parts,
        )


def _cite(title: str, line: Evidence) -> dict[str, Any]:
    return {
        "start_s": line.start_s,
        "end_s": line.end_s,
        "citation": format_citation(title, line.start_s, line.end_s),
        "speaker": getattr(line, "speaker", None),
    }


def _clip_half(texts: list[str]) -> list[str]:
    return [" ".join(t.split()[: max(8, len(t.split()) // 2)]) for t in texts]


def _clean_title(text: str) -> str:
    title = " ".join(text.replace("\n", " ").split()).strip(" \"'“”.:-")
    words = title.split()
    return " ".join(words[:8])
