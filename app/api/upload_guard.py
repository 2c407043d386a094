"""Upload slots a slow or greedy client cannot keep (``POST /v1/media``).

An ASGI middleware in front of the upload route:

* **admission**: at most ``max_concurrent`` uploads in all and ``max_per_client`` from one
  client address; the rest get 503 with ``Retry-After``;
* **pace**: an admitted upload must finish within ``deadline_s`` and deliver at least
  ``min_bytes_per_s`` over every ``window_s`` (one byte every few seconds resets an idle
  timeout, but not this); otherwise the body read fails with 408 and the slot is freed;
* **size and disk**: an upload declaring more than ``max_upload_bytes`` is refused with
  413, one whose declared size would bring the data disk under ``min_free_bytes`` with 507;
* **refusals are readable**: before a 503, 413 or 507 the body is read and discarded up to
  ``drain_bytes`` (and ``drain_s``), because a server that answers and closes while the
  client is still sending makes the client's TCP stack reset the connection, and the
  client sees a ``ReadError`` instead of the 503.

The client address is the TCP peer (``X-Forwarded-For`` is not trusted: behind a reverse
proxy, limit per client there).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.http_guards import is_upload
from app.api.limits import RETRY_AFTER_S
from vectorstore.diskspace import free_bytes

MAX_DRAINING = 64  # refused uploads being read at once; beyond, answer without reading


class UploadTooSlow(HTTPException):
    """408; an HTTPException so the route's body parsing passes it through unchanged."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail, headers={"Connection": "close"})


@dataclass(frozen=True)
class UploadLimits:
    max_concurrent: int = 8
    max_per_client: int = 3
    deadline_s: float = 3600.0
    min_bytes_per_s: float = 16 * 1024
    window_s: float = 20.0
    drain_bytes: int = 16 * 2**20
    drain_s: float = 10.0
    disk: Path | None = None  # where uploads are written
    min_free_bytes: int = 0
    max_upload_bytes: int | None = None  # of the file; the multipart framing may add 64 KiB


class TransferPace:
    """Bytes against time for one upload. ``check(now)`` raises :class:`UploadTooSlow`
    once the deadline has passed or a finished window delivered too little."""

    def __init__(self, limits: UploadLimits, start: float) -> None:
        self.limits = limits
        self.deadline = start + limits.deadline_s
        self.window_start, self.window_bytes = start, 0

    def add(self, nbytes: int) -> None:
        self.window_bytes += nbytes

    def check(self, now: float) -> None:
        limits = self.limits
        if now >= self.deadline:
            raise UploadTooSlow(f"the upload took longer than {limits.deadline_s:g} s")
        elapsed = now - self.window_start
        if elapsed >= limits.window_s:
            if self.window_bytes < limits.min_bytes_per_s * elapsed:
                raise UploadTooSlow(
                    f"the upload is too slow: under {limits.min_bytes_per_s / 1024:g} KiB/s "
                    f"for {elapsed:.0f} s"
                )
            self.window_start, self.window_bytes = now, 0

    def wait_budget(self, now: float) -> float:
        """How long the next read may wait before the pace must be checked again."""
        return max(0.0, min(self.deadline, self.window_start + self.limits.window_s) - now)


def paced(receive: Receive, pace: TransferPace, clock: Callable[[], float]) -> Receive:
    """``receive`` that enforces ``pace`` even while the client sends nothing, until the
    body is complete (later reads only watch for a disconnect)."""
    complete = False

    async def receive_paced() -> Message:
        nonlocal complete
        while not complete:
            with anyio.move_on_after(pace.wait_budget(clock())):
                message = await receive()  # uvicorn's receive is safe to cancel
                if message["type"] == "http.request":
                    pace.add(len(message.get("body", b"")))
                    complete = not message.get("more_body", False)
                    if not complete:
                        pace.check(clock())
                return message
            pace.check(clock())
        return await receive()

    return receive_paced


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class UploadGuardMiddleware:
    """Admission and pacing for ``POST /v1/media`` (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, limits: UploadLimits, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app, self.limits, self.clock = app, limits, clock
        self.in_flight = 0
        self.per_client: Counter[str] = Counter()
        self.draining = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_upload(scope):
            await self.app(scope, receive, send)
            return
        client = _client(scope)
        refusal = self._refusal(client)
        if refusal:
            await self._refuse(503, refusal, scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        need = int(declared) if declared.isdigit() else 0
        limit = self.limits.max_upload_bytes
        if limit is not None and need > limit + 2**16:
            detail = f"the upload exceeds the limit of {limit // 2**20} MB (Content-Length)"
            await self._refuse(413, detail, scope, receive, send)
            return
        if self._disk_full(need):
            await self._refuse(507, "the server's disk is nearly full", scope, receive, send)
            return
        # the event loop is single-threaded: counting needs no lock
        self.in_flight += 1
        self.per_client[client] += 1
        try:
            pace = TransferPace(self.limits, self.clock())
            await self.app(scope, paced(receive, pace, self.clock), send)
        finally:
            self.in_flight -= 1
            self.per_client[client] -= 1
            if self.per_client[client] <= 0:
                del self.per_client[client]

    def _refusal(self, client: str) -> str | None:
        if self.per_client[client] >= self.limits.max_per_client:
            return (
                f"too many uploads from this client in progress ({self.per_client[client]}); "
                f"retry in {RETRY_AFTER_S} s"
            )
        if self.in_flight >= self.limits.max_concurrent:
            return f"too many uploads in progress ({self.in_flight}); retry in {RETRY_AFTER_S} s"
        return None

    def _disk_full(self, need: int) -> bool:
        if self.limits.disk is None:
            return False
        return free_bytes(self.limits.disk) - need < self.limits.min_free_bytes

    async def _refuse(
        self, status: int, detail: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        complete = False
        declared = dict(scope["headers"]).get(b"content-length", b"")
        hopeless = declared.isdigit() and int(declared) > self.limits.drain_bytes
        if self.draining < MAX_DRAINING and not hopeless:
            self.draining += 1
            try:
                complete = await self._drain(receive)
            finally:
                self.draining -= 1
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if not complete:
            headers["Connection"] = "close"
        await JSONResponse({"detail": detail}, status_code=status, headers=headers)(
            scope, receive, send
        )

    async def _drain(self, receive: Receive) -> bool:
        """Read and discard the body up to the drain bounds; True if it was read whole."""
        read = 0
        with anyio.move_on_after(self.limits.drain_s):
            while read <= self.limits.drain_bytes:
                message = await receive()
                if message["type"] != "http.request":
                    return False
                read += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return True
        return False
