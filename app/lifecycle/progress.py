"""The one progress throttle: which stage/progress reports are recorded and shown.

A report passes when it is the first of its stage, completes the stage (1.0), or
advances it by at least ``min_step`` at least ``min_interval_s`` after the last one
that passed; a report that goes backwards never passes. What passes is written to
the store (which renews the lease) and handed to the caller's callback.
"""

from __future__ import annotations

import threading
import time


class Throttle:
    """Thread-safe (speech and picture stages report from different threads)."""

    def __init__(self, min_interval_s: float = 0.5, min_step: float = 0.01) -> None:
        self.min_interval_s = min_interval_s
        self.min_step = min_step
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, float]] = {}  # stage → (fraction, monotonic time)

    def admit(self, stage: str, fraction: float) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(stage)
            if last is not None:
                done, at = last
                if fraction < done or (fraction == done and fraction < 1.0):
                    return False
                if fraction < 1.0 and (
                    fraction - done < self.min_step or now - at < self.min_interval_s
                ):
                    return False
                if done >= 1.0:
                    return False  # reported complete already
            self._last[stage] = (fraction, now)
            return True
