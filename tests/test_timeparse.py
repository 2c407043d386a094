"""Time expressions → windows, anchors and dates: a table in English and Hindi."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graphs.timeparse import parse_time

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday
DURATION = 1800.0  # a 30-minute recording


@pytest.mark.parametrize(
    ("question", "window"),
    [
        ("What happened in the first ten minutes?", (0.0, 600.0)),
        ("What happened in the first 10 minutes?", (0.0, 600.0)),
        ("Summarize the first minute", (0.0, 60.0)),
        ("What was said in the first 30 seconds?", (0.0, 30.0)),
        ("What was in the first half hour?", (0.0, 1800.0)),
        ("Summarize the last 5 minutes", (1500.0, 1800.0)),
        ("What did they conclude in the final two minutes?", (1680.0, 1800.0)),
        ("What was said at 12:30?", (720.0, 780.0)),
        ("What was on screen around 1:02:03?", (3693.0, 3753.0)),
        ("What happened at minute 5?", (270.0, 330.0)),
        ("What did they discuss between 2:00 and 3:30?", (120.0, 210.0)),
        ("What was said from 3:30 to 2:00?", (120.0, 210.0)),
        ("What happened after 10:00?", (600.0, None)),
        ("What happened before 5:00?", (0.0, 300.0)),
        # Hindi
        ("पहले दस मिनट में क्या हुआ?", (0.0, 600.0)),
        ("पहले 10 मिनट में क्या हुआ?", (0.0, 600.0)),
        ("शुरुआती पांच मिनट में क्या कहा गया?", (0.0, 300.0)),
        ("आखिरी 5 मिनट का सार बताइए", (1500.0, 1800.0)),
        ("अंतिम दो मिनट में क्या तय हुआ?", (1680.0, 1800.0)),
        ("12:30 पर क्या कहा गया?", (720.0, 780.0)),
        ("2:00 और 3:30 के बीच क्या चर्चा हुई?", (120.0, 210.0)),
        ("2:00 से 3:30 तक क्या हुआ?", (120.0, 210.0)),
        ("10:00 के बाद क्या हुआ?", (600.0, None)),
    ],
)
def test_windows(question: str, window: tuple[float, float | None]) -> None:
    tq = parse_time(question, now=NOW)
    assert tq.window(DURATION) == window
    assert tq.anchor is None and not tq.follow_up


def test_last_minutes_needs_the_duration() -> None:
    tq = parse_time("What happened in the last 5 minutes?", now=NOW)
    assert tq.from_end_s == 300.0
    assert tq.window(None) is None
    assert tq.window(200.0) == (0.0, 200.0)  # shorter than the span: the whole recording


@pytest.mark.parametrize(
    ("question", "anchor", "relation"),
    [
        ("What did they say after the demo?", "demo", "after"),
        ("What happened after the budget discussion?", "budget discussion", "after"),
        ("What did he say before the break?", "break", "before"),
        ("डेमो के बाद उन्होंने क्या कहा?", "डेमो", "after"),
        ("ब्रेक से पहले क्या कहा गया?", "ब्रेक", "before"),
    ],
)
def test_anchors(question: str, anchor: str, relation: str) -> None:
    tq = parse_time(question, now=NOW)
    assert (tq.anchor, tq.relation) == (anchor, relation)
    assert not tq.has_window


@pytest.mark.parametrize(
    ("question", "relation"),
    [
        ("and what did they say after that?", "after"),
        ("What came before that?", "before"),
        ("उसके बाद क्या कहा?", "after"),
        ("इसके बाद क्या हुआ?", "after"),
    ],
)
def test_follow_ups(question: str, relation: str) -> None:
    tq = parse_time(question, now=NOW)
    assert tq.follow_up and tq.relation == relation and tq.anchor is None


@pytest.mark.parametrize(
    ("question", "day"),
    [
        ("What was decided in last Tuesday's meeting?", "2026-11-24"),
        ("What did we discuss yesterday?", "2026-11-29"),
        ("Summarize today's standup", "2026-11-30"),
        ("What was said 3 days ago?", "2026-11-27"),
        ("What happened on 3 March?", "2026-03-03"),
        ("What happened on March 3rd, 2026?", "2026-03-03"),
        ("What was agreed on 2026-11-20?", "2026-11-20"),
        ("पिछले मंगलवार की मीटिंग में क्या तय हुआ?", "2026-11-24"),
        ("कल की मीटिंग में क्या हुआ?", "2026-11-29"),
        ("आज की बैठक का सार", "2026-11-30"),
        ("दो दिन पहले क्या चर्चा हुई?", "2026-11-28"),
    ],
)
def test_dates_are_calendar_days(question: str, day: str) -> None:
    tq = parse_time(question, now=NOW)
    assert tq.date_from is not None and tq.date_to is not None
    assert tq.date_from.date().isoformat() == day
    assert (tq.date_to - tq.date_from).days == 1


def test_date_and_anchor_together() -> None:
    tq = parse_time("What happened yesterday after the demo?", now=NOW)
    assert tq.anchor == "demo" and tq.relation == "after"
    assert tq.date_from is not None and tq.date_from.day == 29


@pytest.mark.parametrize(
    "question",
    ["What did they say about the budget?", "Who spoke first?", "बजट के बारे में क्या कहा?"],
)
def test_no_time_expression(question: str) -> None:
    tq = parse_time(question, now=NOW)
    assert tq.window(DURATION) is None
    assert tq.anchor is None and tq.date_from is None and not tq.follow_up


def test_remainder_drops_the_time_phrase() -> None:
    q = "What did they say about pricing in the first ten minutes?"
    assert parse_time(q, now=NOW).remainder(q) == "What did they say about pricing in"

