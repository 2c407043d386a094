"""Runs the one answer path (:mod:`app.answering`) for async routes: results and streams.

At most ``max_concurrent`` agent runs at once (a semaphore, held by the thread doing
the work); a few more questions may wait, in threads of their own budget so they never
starve the shared pool; beyond that the route answers 503. Streaming runs the agent's
event iterator in its own thread and hands events to the event loop as they come; it
stops at the next event once the client has gone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

from app.answering import Answer, Speak, answer_events, answer_question
from app.api.limits import Admission
from app.api.schemas import AskOut
from app.api.state import ServiceState

_END = object()
log = logging.getLogger("chronorag.api")


class AgentFailure(RuntimeError):
    """The agent failed for a reason that is not the caller's fault (a speech failure is
    not one: the answer comes with ``speech_error``)."""


def answer_url(state: ServiceState, path: str | Path | None) -> str | None:
    """The URL under ``/v1/answers/`` of a file the speaker wrote (``None`` if outside)."""
    if not path:
        return None
    try:
        rel = Path(path).resolve().relative_to(state.settings.answers_dir.resolve())
    except ValueError:
        return None
    return f"/v1/answers/{rel.as_posix()}"


class AskRunner:
    """Bounded access to the agent for the API's routes."""

    def __init__(self, state: ServiceState, max_concurrent: int, max_waiting: int = 16) -> None:
        self.state = state
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.admission = Admission("questions", max_concurrent + max_waiting)
        self._threads = anyio.CapacityLimiter(self.admission.capacity)

    def out(self, answer: Answer) -> AskOut:
        """The API's view of an answer: file URLs, no server paths."""
        return AskOut.of(answer, lambda path: answer_url(self.state, path))

    def ask_sync(
        self, question: str, media_ids: list[str] | None, thread_id: str | None, mode: Speak
    ) -> AskOut:
        with self._slots:
            try:
                answer = answer_question(
                    self.state.container, question,
                    media_ids=media_ids, thread_id=thread_id, speak=mode,
                )  # fmt: skip
            except Exception as exc:
                log.exception("ask failed")
                raise AgentFailure(f"the agent failed: {exc}") from exc
        return self.out(answer)

    async def ask(
        self, question: str, media_ids: list[str] | None, thread_id: str | None, mode: Speak
    ) -> AskOut:
        with self.admission.admit():
            return await anyio.to_thread.run_sync(
                self.ask_sync, question, media_ids, thread_id, mode, limiter=self._threads
            )

    async def stream(
        self, question: str, media_ids: list[str] | None, thread_id: str | None, mode: Speak
    ) -> AsyncIterator[dict[str, Any]]:
        """Agent events as dicts; the ``final`` event carries the ``AskOut`` (spoken if asked)."""

        def events() -> Iterator[dict[str, Any]]:
            with self._slots:
                for event in answer_events(
                    self.state.container, question,
                    media_ids=media_ids, thread_id=thread_id, speak=mode,
                ):  # fmt: skip
                    if event.get("type") == "final":
                        event = {**event, "result": self.out(event["result"])}
                    yield event

        with self.admission.admit():
            async for event in iterate_in_thread(events):
                yield event


async def iterate_in_thread(make: Callable[[], Iterator[Any]]) -> AsyncIterator[Any]:
    """Consume a blocking iterator in a thread; stops it when the consumer goes away."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()

    def put(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (service shutting down)
            stop.set()

    def produce() -> None:
        try:
            iterator = make()
            for item in iterator:
                put(item)
                if stop.is_set():
                    close = getattr(iterator, "close", None)
                    if close:
                        close()
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            put(AgentFailure(str(exc) or repr(exc)))
        finally:
            put(_END)

    threading.Thread(target=produce, name="chronorag-ask-stream", daemon=True).start()
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, AgentFailure):
                raise item
            yield item
    finally:
        stop.set()
