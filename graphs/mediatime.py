"""Media times as people read and write them: the one formatter and parser.

Every face and every citation writes a time with :func:`format_time` (``02:05``; hours
only when needed, ``1:02:05``) and a span with :func:`format_span` (``02:05–02:30``);
every clock string a person or a model wrote (``95``, ``1:35``, ``1:01:35``) is read
with :func:`parse_clock`. :data:`CLOCK` is the pattern for a clock inside text
(citations, time phrases in questions). Modelled on openai/whisper's single
``format_timestamp``: one function, options for the variants.

This module imports nothing from the project, so every package may use it.
"""

from __future__ import annotations

import math

CLOCK = r"\d{1,2}(?::\d{2}){1,2}"  # mm:ss or h:mm:ss inside text (no seconds-only form)
SPAN_DASH = "–"  # en dash, as citations write spans
MAX_TIME_S = 7 * 24 * 3600.0  # a week: longer than any recording, shorter than nonsense


def format_time(seconds: float, *, pad_minutes: bool = True) -> str:
    """125.9 → '02:05'; 3725 → '1:02:05' (hours only when needed; negatives clamp to 0).

    Fractions of a second are dropped (a citation names the second a span starts in).
    ``pad_minutes=False`` writes '2:05', the form a voice reads as a clock time.
    """
    total = max(0, int(seconds)) if math.isfinite(seconds) else 0
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}" if pad_minutes else f"{minutes}:{secs:02d}"


def format_span(start_s: float, end_s: float) -> str:
    """'01:50–02:20', the span part of a citation ``[title @ 01:50–02:20]``."""
    return f"{format_time(start_s)}{SPAN_DASH}{format_time(end_s)}"


def parse_clock(value: str, *, strict: bool = True) -> float:
    """'95', '95.5', '1:35', '01:01:35' → seconds. Raises ValueError naming the bad text.

    ``strict=False`` reads what a model wrote without judging it: a field of 60 or more
    carries over ('00:75' → 75 s) instead of being refused, so a wrong citation can be
    repaired rather than crash the reader.
    """
    text = value.strip()
    parts = text.split(":")
    if not text or len(parts) > 3:
        raise ValueError(f"{value!r} is not a time (use seconds, mm:ss or h:mm:ss)")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{value!r} is not a time (use seconds, mm:ss or h:mm:ss)") from None
    if not all(math.isfinite(n) for n in numbers) or any(n < 0 for n in numbers):
        raise ValueError(f"{value!r} is not a valid time")
    if strict and any(n >= 60 for n in numbers[1:]):
        raise ValueError(f"{value!r} is not a valid time (minutes and seconds go up to 59)")
    seconds = 0.0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds
