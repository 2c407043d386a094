"""Bounded admission for expensive requests (asks, clip encodes) and client-disconnect handling.

Work that waits for a slot must wait *here*, in the event loop: a request blocked inside
a worker thread would hold one of the thread pool's tokens, and enough of them stall
every synchronous route, ``/healthz`` included. Beyond the bound, requests get a 503
with ``Retry-After`` instead of piling up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
from starlette.requests import Request

T = TypeVar("T")
RETRY_AFTER_S = 5


class Busy(Exception):
    """Too many requests of one kind in flight; the client should retry later."""


class ClientGone(Exception):
    """The client disconnected before the work finished (the work was cancelled)."""


class Admission:
    """Counts requests of one kind in flight (running or waiting); at most ``capacity``.

    Used from the event loop only, so a plain counter needs no lock."""

    def __init__(self, what: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.what, self.capacity = what, capacity
        self.in_flight = 0

    def check(self) -> None:
        """Raise :class:`Busy` when no more requests may be admitted now."""
        if self.in_flight >= self.capacity:
            raise Busy(
                f"too many {self.what} in progress ({self.in_flight}); "
                f"retry in {RETRY_AFTER_S} s"
            )

    @contextmanager
    def admit(self) -> Iterator[None]:
        self.check()
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


_GONE = object()


async def _disconnected(request: Request) -> object:
    """Return once the client has gone (the request body, if any, is discarded)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    return _GONE


async def unless_disconnected(request: Request, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``, cancelling it when the client disconnects first (anyio then kills
    any subprocess it awaits); raises :class:`ClientGone` in that case. Whichever of the
    work and the watch on the client ends first cancels the other; an error of either
    is raised as itself (not as an exception group)."""
    done: list[T] = []
    failed: list[Exception] = []

    async def first_to_end(run: Callable[[], Awaitable[Any]], scope: anyio.CancelScope) -> None:
        try:
            result = await run()
            if result is not _GONE:
                done.append(result)
        except Exception as exc:
            failed.append(exc)
        finally:
            scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(first_to_end, work, group.cancel_scope)
        group.start_soon(first_to_end, lambda: _disconnected(request), group.cancel_scope)
    if failed:
        raise failed[0]
    if not done:
        raise ClientGone
    return done[0]
