"""Start the same call in several threads at the same moment (replicas or workers
starting together) and collect what each returned or raised."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(
    call: Callable[[], T], n: int, *, timeout: float = 120.0
) -> tuple[list[T], list[BaseException]]:
    """Run ``call`` in ``n`` threads released by one barrier; (results, errors)."""
    start = threading.Barrier(n)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(call())
        except BaseException as exc:  # collected: the caller asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results, errors
