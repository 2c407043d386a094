"""Time options of the CLI (``--start 1:02:05``): read with the one clock parser, refused
with a usage error (exit 2) naming the option."""

from __future__ import annotations

import math

import typer

from graphs.mediatime import MAX_TIME_S, parse_clock


def time_option(value: str | None, name: str) -> float | None:
    """Seconds from ``value`` (``75``, ``1:15``, ``1:02:05``), None when not given."""
    if value is None:
        return None
    try:
        seconds = parse_clock(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from exc
    if not math.isfinite(seconds) or seconds > MAX_TIME_S:
        raise typer.BadParameter(f"{value!r} is not a usable time", param_hint=name)
    return seconds
