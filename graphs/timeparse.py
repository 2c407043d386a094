"""Time expressions in a question, parsed by code (small models get numbers wrong).

Recognised, in English and Hindi:

- spans of media time: "first ten minutes" / "पहले दस मिनट", "last 5 minutes" /
  "आखिरी 5 मिनट" (needs the media duration), "at 12:30" / "12:30 पर",
  "between 2:00 and 3:30" / "2:00 और 3:30 के बीच", "from 2:00 to 3:30" / "2:00 से 3:30 तक",
  "after 10:00" / "10:00 के बाद", "before 5:00" / "5:00 से पहले";
- anchors: "after the demo" / "डेमो के बाद" (the moment is found by search, then the
  agent looks after it), and follow-ups "after that" / "उसके बाद" (after the previous
  answer's moment);
- calendar dates matched against ``recorded_at``: "last Tuesday's meeting",
  "yesterday", "3 days ago", "on 3 March", "पिछले मंगलवार की मीटिंग", "कल" (dateparser).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import dateparser

from graphs.mediatime import CLOCK, parse_clock

AT_RADIUS_S = 30.0  # "at 12:30" means the minute around that moment

_NUMBERS = {
    # English
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "fifty": 50,
    "sixty": 60,
    "couple": 2,
    "few": 3,
    # Hindi
    "एक": 1,
    "दो": 2,
    "तीन": 3,
    "चार": 4,
    "पांच": 5,
    "पाँच": 5,
    "छह": 6,
    "छः": 6,
    "सात": 7,
    "आठ": 8,
    "नौ": 9,
    "दस": 10,
    "ग्यारह": 11,
    "बारह": 12,
    "पंद्रह": 15,
    "पन्द्रह": 15,
    "बीस": 20,
    "तीस": 30,
    "चालीस": 40,
    "पचास": 50,
    "साठ": 60,
}
_UNITS = {
    "second": 1,
    "seconds": 1,
    "sec": 1,
    "secs": 1,
    "सेकंड": 1,
    "सेकेंड": 1,
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "mins": 60,
    "मिनट": 60,
    "मिनटों": 60,
    "hour": 3600,
    "hours": 3600,
    "घंटा": 3600,
    "घंटे": 3600,
    "घंटों": 3600,
}
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted(map(re.escape, _NUMBERS), key=len, reverse=True)) + ")"
_UNIT = r"(" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + ")"
_CLOCK = rf"({CLOCK})"
# \b does not work after Devanagari combining marks; use explicit "not a letter" bounds.
_B = r"(?<![\w\u0900-\u097f])"
_E = r"(?![\w\u0900-\u097f])"

_FIRST = re.compile(
    _B
    + r"(?:(?:the\s+)?(?:first|opening|initial)|पहले|शुरुआती|शुरू\s+के)\s+"
    + r"(?:"
    + _NUM
    + r"\s+)?"
    + _UNIT
    + _E,
    re.I,
)
_LAST = re.compile(
    _B
    + r"(?:(?:the\s+)?(?:last|final|closing)|आखिरी|आख़िरी|अंतिम|अखिरी)\s+"
    + r"(?:"
    + _NUM
    + r"\s+)?"
    + _UNIT
    + _E,
    re.I,
)
_HALF_HOUR = re.compile(_B + r"(first|last)\s+half\s+(?:an\s+)?hour" + _E, re.I)
_BETWEEN = re.compile(
    _B
    + r"(?:between|from)\s+"
    + _CLOCK
    + r"\s*(?:and|to|-|–)\s*"
    + _CLOCK
    + r"|"
    + _CLOCK
    + r"\s*(?:और|से)\s*"
    + _CLOCK
    + r"\s*(?:के\s+बीच|तक)",
    re.I,
)
_AFTER_CLOCK = re.compile(_B + r"(?:after|since)\s+" + _CLOCK + r"|" + _CLOCK + r"\s+के\s+बाद", re.I)
_BEFORE_CLOCK = re.compile(
    _B + r"(?:before|until)\s+" + _CLOCK + r"|" + _CLOCK + r"\s+(?:से\s+पहले|तक)", re.I
)
_AT_CLOCK = re.compile(
    _B
    + r"(?:at|around|near)\s+(?:minute\s+)?"
    + _CLOCK
    + r"|"
    + _CLOCK
    + r"\s+(?:पर|बजे)"
    + r"|"
    + _B
    + r"(?:at|around)\s+minute\s+(\d+)"
    + _E,
    re.I,
)
_FOLLOW_UP = re.compile(
    _B + r"(?:after\s+(?:that|this|it)|(?:उसके|इसके|उस\s+के|इस\s+के)\s+बाद)" + _E, re.I
)
_BEFORE_FOLLOW_UP = re.compile(_B + r"(?:before\s+(?:that|this|it)|(?:उससे|इससे)\s+पहले)" + _E, re.I)
_ANCHOR_EN = re.compile(
    _B + r"(after|before)\s+((?:the|their|his|her|our|a)\s+)?([^?.!,;:]{2,60}?)\s*(?=[?.!,;:]|$)",
    re.I,
)
_ANCHOR_HI = re.compile(r"([^\s?।!,]+(?:\s+[^\s?।!,]+){0,2})\s+(के\s+बाद|से\s+पहले)" + _E)
_ANCHOR_STOP = re.compile(
    r"\s+(?:did|do|does|was|were|is|are|what|who|when|how|they|he|she|we)\b.*$", re.I
)

_WEEKDAYS_HI = {
    "सोमवार": "monday",
    "मंगलवार": "tuesday",
    "बुधवार": "wednesday",
    "गुरुवार": "thursday",
    "बृहस्पतिवार": "thursday",
    "शुक्रवार": "friday",
    "शनिवार": "saturday",
    "रविवार": "sunday",
}
_DATE_EN = re.compile(
    _B + r"(yesterday|today|"
    r"(?:last|this|past|previous)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(?:on\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|\d+\s+days?\s+ago|\d{4}-\d{2}-\d{2}"
    r"|(?:on\s+)?\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"(?:\s+\d{4})?"
    r"|(?:on\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+\d{4})?)(?:'s)?" + _E,
    re.I,
)
_DATE_HI = re.compile(
    r"((?:पिछले|पिछला|पिछली|इस|गत)\s+)?(" + "|".join(_WEEKDAYS_HI) + r")"
    r"|"
    + _B
    + r"(कल|आज|परसों)"
    + _E
    + r"|"
    + _B
    + r"(\d+|"
    + "|".join(k for k in _NUMBERS if not k.isascii())
    + r")\s+दिन\s+पहले"
)

Relation = Literal["after", "before"]


@dataclass(frozen=True)
class TimeQuery:
    """What a question says about time. Every field is optional."""

    start_s: float | None = None
    end_s: float | None = None
    from_end_s: float | None = None  # "last N minutes": resolved against the media duration
    anchor: str | None = None  # "after the demo" → "the demo" (found by search)
    relation: Relation | None = None  # with ``anchor`` or ``follow_up``
    follow_up: bool = False  # "after that": relative to the previous answer's moment
    date_from: datetime | None = None
    date_to: datetime | None = None
    matched: tuple[str, ...] = field(default_factory=tuple)  # recognised phrases

    @property
    def has_window(self) -> bool:
        return self.start_s is not None or self.end_s is not None or self.from_end_s is not None

    def window(self, duration_s: float | None = None) -> tuple[float, float | None] | None:
        """The media-time window ``(start, end)`` (``end`` None = to the end), if any.

        "last N minutes" needs ``duration_s``; without it the window is unknown (None).
        """
        if self.from_end_s is not None:
            if duration_s is None:
                return None
            return max(0.0, duration_s - self.from_end_s), duration_s
        if self.start_s is None and self.end_s is None:
            return None
        return (self.start_s or 0.0), self.end_s

    def remainder(self, question: str) -> str:
        """``question`` without the recognised time phrases (for the search query)."""
        out = question
        for phrase in self.matched:
            out = out.replace(phrase, " ")
        return re.sub(r"\s+", " ", out).strip(" ?.!,।")


def _amount(num: str | None) -> float:
    if num is None:
        return 1.0
    key = num.lower()
    return float(_NUMBERS[key]) if key in _NUMBERS else float(num)


def _span(match: re.Match[str]) -> float:
    num, unit = match.group(1), match.group(2)
    return _amount(num) * _UNITS[unit.lower()]


def _dates(question: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    """A calendar-day range from a date phrase, relative to ``now``."""
    settings = {"PREFER_DATES_FROM": "past", "RELATIVE_BASE": now.replace(tzinfo=None)}
    phrase: str | None = None
    parsed: datetime | None = None
    if m := _DATE_EN.search(question):
        phrase = m.group(0)
        text = re.sub(r"'s$|^on\s+", "", phrase, flags=re.I)
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    elif m := _DATE_HI.search(question):
        phrase = m.group(0)
        if m.group(2):  # (last) weekday: dateparser knows the weekday, not "पिछले"
            parsed = dateparser.parse(_WEEKDAYS_HI[m.group(2)], languages=["en"], settings=settings)
        elif m.group(3):
            # "कल" is both yesterday and tomorrow; recordings are in the past.
            days = {"आज": 0, "कल": 1, "परसों": 2}[m.group(3)]
            parsed = now.replace(tzinfo=None) - timedelta(days=days)
        elif m.group(4):
            parsed = now.replace(tzinfo=None) - timedelta(days=_amount(m.group(4)))
    if phrase is None or parsed is None:
        return None
    day = parsed.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=now.tzinfo)
    return day, day + timedelta(days=1), phrase


def _anchor(question: str) -> tuple[str, Relation, str] | None:
    if m := _ANCHOR_EN.search(question):
        target = _ANCHOR_STOP.sub("", m.group(3)).strip()
        if target and not re.fullmatch(CLOCK, target):
            relation: Relation = "after" if m.group(1).lower() == "after" else "before"
            return target, relation, m.group(0).strip()
    if m := _ANCHOR_HI.search(question):
        target = m.group(1).strip()
        if not re.fullmatch(r"[\d:]+", target):
            relation = "after" if "बाद" in m.group(2) else "before"
            return target, relation, m.group(0).strip()
    return None


def parse_time(question: str, *, now: datetime | None = None) -> TimeQuery:
    """Everything ``question`` says about media time and recording dates."""
    now = now or datetime.now().astimezone()
    found: dict[str, object] = {}
    matched: list[str] = []

    def take(m: re.Match[str]) -> None:
        matched.append(m.group(0))

    if m := _HALF_HOUR.search(question):
        take(m)
        key = "start_end" if m.group(1).lower() == "first" else "from_end"
        found[key] = 1800.0
    elif m := _FIRST.search(question):
        take(m)
        found["start_end"] = _span(m)
    elif m := _LAST.search(question):
        take(m)
        found["from_end"] = _span(m)
    if "start_end" in found:
        found.update(start_s=0.0, end_s=found.pop("start_end"))
    if "from_end" in found:
        found["from_end_s"] = found.pop("from_end")

    if not matched and (m := _BETWEEN.search(question)):
        take(m)
        a, b = (g for g in m.groups() if g)
        lo, hi = sorted((parse_clock(a), parse_clock(b)))
        found.update(start_s=lo, end_s=hi)
    if not matched and (m := _AFTER_CLOCK.search(question)):
        take(m)
        found.update(start_s=parse_clock(m.group(1) or m.group(2)))
    if not matched and (m := _BEFORE_CLOCK.search(question)):
        take(m)
        found.update(start_s=0.0, end_s=parse_clock(m.group(1) or m.group(2)))
    if not matched and (m := _AT_CLOCK.search(question)):
        take(m)
        t = float(m.group(3)) * 60 if m.group(3) else parse_clock(m.group(1) or m.group(2))
        found.update(start_s=max(0.0, t - AT_RADIUS_S), end_s=t + AT_RADIUS_S)

    if m := _FOLLOW_UP.search(question):
        take(m)
        found.update(follow_up=True, relation="after")
    elif m := _BEFORE_FOLLOW_UP.search(question):
        take(m)
        found.update(follow_up=True, relation="before")
    elif not matched and (anchor := _anchor(question)):
        target, relation, phrase = anchor
        matched.append(phrase)
        found.update(anchor=target, relation=relation)

    if dates := _dates(question, now):
        date_from, date_to, phrase = dates
        matched.append(phrase)
        found.update(date_from=date_from, date_to=date_to)
        if found.get("anchor") and phrase in str(found["anchor"]):
            # "after last Tuesday" is a date, not a moment inside a recording
            found.pop("anchor")
            found.pop("relation", None)

    return TimeQuery(matched=tuple(matched), **found)  # type: ignore[arg-type]
