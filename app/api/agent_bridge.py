"""Runs the (synchronous) agent and speaker for async routes: results, streams, speech.

At most ``max_concurrent`` agent runs at once (a semaphore, held by the thread doing
the work); a few more questions may wait, in threads of their own budget so they never
starve the shared pool; beyond that the route answers 503. Streaming runs the agent's
event iterator in its own thread and hands events to the event loop as they come; it
stops at the next event once the client has gone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

from app.api.limits import Admission
from app.api.schemas import AskOut, Speak
from app.api.state import ServiceState

_END = object()
log = logging.getLogger("chronorag.api")


class AgentFailure(RuntimeError):
    """The agent or speaker failed for a reason that is not the caller's fault."""


def as_dict(obj: Any) -> dict[str, Any]:
    """An AskResult/Citation (pydantic model, dataclass or dict) as a plain dict."""
    if isinstance(obj, dict):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return dict(vars(obj))


def answer_url(state: ServiceState, path: str | Path | None) -> str | None:
    """The URL under ``/v1/answers/`` of a file the speaker wrote (``None`` if outside)."""
    if not path:
        return None
    try:
        rel = Path(path).resolve().relative_to(state.settings.answers_dir.resolve())
    except ValueError:
        return None
    return f"/v1/answers/{rel.as_posix()}"


def speak(state: ServiceState, result: dict[str, Any], mode: Speak) -> dict[str, Any]:
    """Add audio (and avatar video) to an answer dict, in place (blocking).

    The written answer stands on its own: if speech fails (e.g. no voice for the
    language), the answer is returned without audio and ``speech_error`` says why."""
    if mode == "none" or not result.get("answer"):
        return result
    try:
        spoken = state.container.speaker.speak(
            result["answer"],
            result.get("language") or "en",
            state.settings.answers_dir,
            avatar=mode == "avatar",
        )
    except Exception as exc:
        log.exception("could not speak the answer")
        result["speech_error"] = str(exc) or type(exc).__name__
        return result
    result["audio_path"] = str(spoken.audio_path) if spoken.audio_path else None
    result["video_path"] = str(spoken.video_path) if spoken.video_path else None
    result["spoken_text"] = spoken.spoken_text
    return result


def to_ask_out(state: ServiceState, result: dict[str, Any]) -> AskOut:
    data = dict(result)
    data["citations"] = [as_dict(c) for c in data.get("citations") or []]
    data["audio_url"] = answer_url(state, data.get("audio_path"))
    data["video_url"] = answer_url(state, data.get("video_path"))
    for key in ("audio_path", "video_path"):
        if data.get(key) is not None:
            data[key] = str(data[key])
    return AskOut(**{k: v for k, v in data.items() if k in AskOut.model_fields})


class AskRunner:
    """Bounded access to the agent for the API's routes."""

    def __init__(self, state: ServiceState, max_concurrent: int, max_waiting: int = 16) -> None:
        self.state = state
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.admission = Admission("questions", max_concurrent + max_waiting)
        self._threads = anyio.CapacityLimiter(self.admission.capacity)

    def ask_sync(
        self, question: str, media_ids: list[str] | None, thread_id: str | None, mode: Speak
    ) -> AskOut:
        with self._slots:
            try:
                result = self.state.container.agent.ask(
                    question, media_ids=media_ids, thread_id=thread_id
                )
                data = speak(self.state, as_dict(result), mode)
            except Exception as exc:
                log.exception("ask failed")
                raise AgentFailure(f"the agent failed: {exc}") from exc
        return to_ask_out(self.state, data)

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
                for event in self.state.container.agent.stream(
                    question, media_ids=media_ids, thread_id=thread_id
                ):
                    event = dict(event)
                    if event.get("type") == "final":
                        data = as_dict(event["result"])
                        if mode != "none":
                            yield {"type": "progress", "tool": "speak", "detail": mode}
                            data = speak(self.state, data, mode)
                        event["result"] = to_ask_out(self.state, data)
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
