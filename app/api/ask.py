"""Ask the agent: a JSON answer, or progress events and answer tokens over SSE.

Spoken answers (``speak``: audio or avatar) are files under the answers dir, served
by ``GET /v1/answers/...`` and linked from the answer as ``audio_url``/``video_url``.
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
from app.api.media_files import inside, media_type_for
from app.api.schemas import AskIn, AskOut
from app.api.state import State

log = logging.getLogger("chronorag.api")
router = APIRouter(tags=["ask"])


def runner(request: Request) -> AskRunner:
    return request.app.state.ask_runner


Runner = Annotated[AskRunner, Depends(runner)]


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


@router.post(
    "/v1/ask",
    response_model=AskOut,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "JSON, or with `Accept: text/event-stream` SSE events "
            "`progress`, `token`, `final` (the same JSON) and `error`.",
        },
        503: {"description": "The agent failed."},
    },
    summary="Ask a question; the answer cites [title @ mm:ss–mm:ss]",
)
async def ask(
    body: AskIn,
    request: Request,
    runner: Runner,
) -> Any:
    if not body.question.strip():
        invalid("body", "question", "question must not be blank", body.question)
    if "text/event-stream" in request.headers.get("accept", ""):
        events = runner.stream(body.question, body.media_ids, body.thread_id, body.speak)
        return EventSourceResponse(_sse(events), ping=15)
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
def answer_file(
    path: Annotated[str, PathParam(max_length=300)], state: State
) -> FileResponse:
    root = state.settings.answers_dir
    target = root / path
    try:
        found = "\x00" not in path and inside(target, root) and target.is_file()
    except OSError:  # e.g. a name too long for the filesystem
        found = False
    if not found:
        raise HTTPException(404, "no such answer file")
    return FileResponse(target, media_type=media_type_for(Path(path)))
