"""Ask the agent: a JSON answer, or progress events and answer tokens over SSE.

Spoken answers (``speak``: audio or avatar) are files under the answers dir, served
by ``GET /v1/answers/...`` and linked from the answer as ``audio_url``/``video_url``; when
speech fails the answer still comes, with ``speech_error``. Both forms run the one answer
path (:mod:`app.answering`) through :class:`app.api.agent_bridge.AskRunner`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse

from app.api.agent_bridge import AgentFailure, AskRunner
from app.api.errors import invalid
from app.api.limits import Busy
from app.api.media_files import inside, media_type_for
from app.api.schemas import AskIn, AskOut
from app.api.state import State

log = logging.getLogger("chronorag.api")
router = APIRouter(tags=["ask"])


async def runner(request: Request) -> AskRunner:
    return request.app.state.ask_runner


Runner = Annotated[AskRunner, Depends(runner)]
SEND_TIMEOUT_S = 30.0


def event_stream(events: AsyncIterator[dict[str, str]]) -> EventSourceResponse:
    """SSE with keep-alive pings; a client that stops reading for ``SEND_TIMEOUT_S`` is
    dropped, which ends the agent run and frees its place (a stalled reader would
    otherwise hold it for ever)."""
    return EventSourceResponse(events, ping=15, send_timeout=SEND_TIMEOUT_S, sep="\n")


AGENT_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The agent failed, or too many questions are in progress."}
}


async def _sse(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, str]]:
    try:
        async for event in events:
            kind = event.get("type", "progress")
            if kind == "final":
                result: AskOut = event["result"]
                yield {"event": "final", "data": result.model_dump_json()}
            else:
                payload = {k: v for k, v in event.items() if k != "type"}
                yield {"event": kind, "data": json.dumps(payload, ensure_ascii=False, default=str)}
    except AgentFailure as exc:
        log.error("ask stream failed: %s", exc)
        yield {"event": "error", "data": json.dumps({"detail": f"the agent failed: {exc}"})}
    except Busy as exc:  # admitted by the route, then overtaken by others: rare
        yield {"event": "error", "data": json.dumps({"detail": str(exc)})}


@router.post(
    "/v1/ask",
    response_model=AskOut,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "JSON, or with `Accept: text/event-stream` SSE events "
            "`progress`, `token`, `final` (the same JSON) and `error`.",
        },
        **AGENT_UNAVAILABLE,
    },
    summary="Ask a question; the answer cites [title @ mm:ss–mm:ss]",
)
async def ask(body: AskIn, request: Request, runner: Runner) -> Any:
    if not body.question.strip():
        invalid("body", "question", "question must not be blank", body.question)
    if "text/event-stream" in request.headers.get("accept", ""):
        runner.admission.check()  # a 503 now, not an error event after a 200
        events = runner.stream(body.question, body.media_ids, body.thread_id, body.speak)
        return event_stream(_sse(events))
    try:
        return await runner.ask(body.question, body.media_ids, body.thread_id, body.speak)
    except AgentFailure as exc:
        raise HTTPException(503, str(exc)) from exc


@router.get(
    "/v1/answers/{path:path}",
    response_class=FileResponse,
    responses={404: {"description": "No such answer file."}},
    summary="A spoken answer (WAV/Opus) or avatar video (MP4)",
)
def answer_file(path: Annotated[str, PathParam(max_length=300)], state: State) -> FileResponse:
    root = state.settings.answers_dir
    target = root / path
    try:
        found = "\x00" not in path and inside(target, root) and target.is_file()
    except OSError:  # e.g. a name too long for the filesystem
        found = False
    if not found:
        raise HTTPException(404, "no such answer file")
    return FileResponse(target, media_type=media_type_for(Path(path)))
