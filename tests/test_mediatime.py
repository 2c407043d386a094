"""Media times: the one formatter and parser, and every face that writes a time past an hour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.api.openai_compat import message_text
from app.api.schemas import AskOut
from graphs.citations import Evidence, format_citation, parse_citations, validate_answer
from graphs.mediatime import format_span, format_time, parse_clock
from graphs.timeparse import parse_time
from speech.spoken import say_time, to_spoken

HOUR_PLUS = 3725.0  # 1:02:05


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("95", 95.0),
        ("95.5", 95.5),
        ("1:35", 95.0),
        ("01:01:35", 3695.0),
        (" 0:07 ", 7.0),
        ("1:02:05", HOUR_PLUS),
    ],
)
def test_parse_clock(text: str, seconds: float) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "abc", "1:75", "-3", "1:2:3:4", "1::2", "nan", "inf", "1:nan"]
)
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_clock(text)


def test_lenient_parse_reads_what_a_model_wrote() -> None:
    assert parse_clock("00:75", strict=False) == 75.0
    with pytest.raises(ValueError):
        parse_clock("-1:00", strict=False)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00"), (12.9, "00:12"), (125.9, "02:05"), (3599.99, "59:59"), (3600, "1:00:00"),
     (HOUR_PLUS, "1:02:05"), (-4, "00:00"), (float("nan"), "00:00")],
)  # fmt: skip
def test_format_time(seconds: float, text: str) -> None:
    assert format_time(seconds) == text


def test_format_time_round_trips_through_parse() -> None:
    for seconds in (0, 59, 61, 3599, 3600, HOUR_PLUS, 36000 + 61):
        assert parse_clock(format_time(seconds)) == seconds


def test_unpadded_form_and_spans() -> None:
    assert format_time(125, pad_minutes=False) == "2:05"
    assert format_time(HOUR_PLUS, pad_minutes=False) == "1:02:05"
    assert format_span(110, 140) == "01:50–02:20"
    assert format_span(HOUR_PLUS, HOUR_PLUS + 30) == "1:02:05–1:02:35"


# --- every writer and reader agrees past one hour ------------------------------------------
def test_citation_label_and_parser_past_one_hour() -> None:
    label = format_citation("Long meeting", HOUR_PLUS, HOUR_PLUS + 30)
    assert label == "[Long meeting @ 1:02:05–1:02:35]"
    (raw,) = parse_citations(f"They agreed {label}.")
    assert (raw.start_s, raw.end_s) == (HOUR_PLUS, HOUR_PLUS + 30)


def test_openai_sources_line_is_not_duplicated_past_one_hour() -> None:
    evidence = [
        Evidence(
            media_id="m1", title="Long meeting", source="speech", start_s=HOUR_PLUS,
            end_s=HOUR_PLUS + 30, text="We agreed to move the launch to March.",
        )
    ]  # fmt: skip
    answer, citations = validate_answer(
        "They agreed to move the launch to March [Long meeting @ 1:02:05–1:02:35].", evidence
    )
    assert "[Long meeting @ 1:02:05–1:02:35]" in answer
    result = AskOut(answer=answer, language="en", citations=citations, thread_id="t")
    # the label in the answer is the one the endpoint would add: no "Sources" line
    assert message_text(result) == answer
    bare = result.model_copy(update={"answer": "They agreed to move the launch."})
    assert message_text(bare).endswith("Sources: [Long meeting @ 1:02:05–1:02:35]")


def test_question_times_past_one_hour() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    tq = parse_time("What was said between 1:02:05 and 1:10:00?", now=now)
    assert (tq.start_s, tq.end_s) == (HOUR_PLUS, 4200.0)


def test_spoken_times_past_one_hour() -> None:
    assert say_time(int(HOUR_PLUS), "en") == "one hour two minutes five seconds"
    assert say_time(int(HOUR_PLUS), "xx") == "1:02:05"  # no words: a clock the voice reads
    spoken = to_spoken("They agreed [Long meeting @ 1:02:05–1:02:35].", "en")
    assert spoken == "They agreed, at one hour two minutes five seconds."
