"""Clock parsing and formatting used by the CLI and the service."""

from __future__ import annotations

import pytest

from app.timefmt import mmss, parse_clock


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("95", 95.0), ("95.5", 95.5), ("1:35", 95.0), ("01:01:35", 3695.0), (" 0:07 ", 7.0)],
)
def test_parse_clock(text: str, seconds: float) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1:75", "-3", "1:2:3:4", "1::2"])
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "00:00"), (125.9, "02:05"), (3725, "1:02:05"), (-4, "00:00")]
)
def test_mmss(seconds: float, text: str) -> None:
    assert mmss(seconds) == text
