"""Media-time formatting and parsing for the faces: ``mm:ss`` / ``h:mm:ss`` <-> seconds."""

from __future__ import annotations


def mmss(seconds: float) -> str:
    """125.4 -> '02:05'; 3725 -> '1:02:05' (hours only when needed)."""
    total = max(0, int(seconds))
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def parse_clock(value: str) -> float:
    """'95', '95.5', '1:35', '01:01:35' -> seconds. Raises ValueError with the bad text."""
    text = value.strip()
    parts = text.split(":")
    if not text or len(parts) > 3:
        raise ValueError(f"{value!r} is not a time (use seconds, mm:ss or h:mm:ss)")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{value!r} is not a time (use seconds, mm:ss or h:mm:ss)") from None
    if any(n < 0 for n in numbers) or any(n >= 60 for n in numbers[1:]):
        raise ValueError(f"{value!r} is not a valid time")
    seconds = 0.0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds
