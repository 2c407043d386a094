"""OpenAI-compatible chat API exposing the agent as a model (``chronorag``).

Lets the official ``openai`` client, Open WebUI and other OpenAI tools talk to
ChronoRAG. The last user message is the question; the earlier history selects the
agent thread (see ``threads.ThreadMap``), so follow-ups keep their context.
Citations are part of the message text (``[title @ mm:ss–mm:ss]``); when the answer
text lacks one the agent cited, a "Sources" line lists them. ``media_ids`` and
``thread_id`` may be passed as extra body fields. System prompts are ignored: the
agent's grounding rules are not negotiable. What chat front-ends add (sampling knobs,
``tools``, ``metadata``, per-message ``name``/``id``…) is accepted and ignored;
``stream_options.include_usage`` ends a stream with the usage chunk the spec defines.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from app.api.agent_bridge import AgentFailure
from app.api.ask import AGENT_UNAVAILABLE, Runner, event_stream
from app.api.errors import invalid
from app.api.limits import Busy
from app.api.schemas import MAX_QUESTION_CHARS, AskOut
from app.api.state import State

router = APIRouter(tags=["openai"])
MODEL_ID = "chronorag"
# the agent makes several model calls per answer; their tokens are not counted here
NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(default=MODEL_ID, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: StreamOptions | None = None
    media_ids: list[str] | None = Field(default=None, max_length=1000)
    thread_id: str | None = Field(default=None, min_length=1, max_length=200)


def message_text(result: AskOut) -> str:
    """The answer, plus a Sources line for any citation the text does not already show
    (labels written exactly as the answer writes them, ``h:mm:ss`` past an hour)."""
    labels = [c.label for c in result.citations]
    missing = [label for label in labels if label not in result.answer]
    if not missing:
        return result.answer
    return f"{result.answer.rstrip()}\n\nSources: {' '.join(dict.fromkeys(missing))}"


def _split(body: ChatCompletionIn) -> tuple[list[tuple[str, str]], str]:
    """(history before the question, the question) — the question is the last user message."""
    turns = [(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user" or not turns[-1][1].strip():
        invalid("body", "messages", "the last message must be a non-empty user message")
    if len(turns[-1][1]) > MAX_QUESTION_CHARS:
        invalid("body", "messages", f"the question is over {MAX_QUESTION_CHARS} characters")
    return turns[:-1], turns[-1][1]


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


@router.get("/v1/models", summary="OpenAI-compatible model list")
def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "chronorag"}],
    }


@router.post(
    "/v1/chat/completions",
    responses={200: {"content": {"text/event-stream": {}}}, **AGENT_UNAVAILABLE},
    summary="OpenAI-compatible chat completions (streaming and not)",
)
async def chat_completions(body: ChatCompletionIn, runner: Runner, state: State) -> Any:
    history, question = _split(body)
    thread_id = body.thread_id or state.threads.thread_for(history)
    created = int(time.time())
    cid = _completion_id()
    if not body.stream:
        try:
            result = await runner.ask(question, body.media_ids, thread_id, "none")
        except AgentFailure as exc:
            raise HTTPException(503, str(exc)) from exc
        text = message_text(result)
        state.threads.remember([*history, ("user", question), ("assistant", text)], thread_id)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": NO_USAGE,
            "thread_id": thread_id,
        }

    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, str]:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        payload: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "choices": choices,
        }
        if include_usage:  # null on every chunk but the last, which has no choices
            payload["usage"] = None if delta is not None else NO_USAGE
        return {"data": json.dumps(payload, ensure_ascii=False)}

    async def stream() -> AsyncIterator[dict[str, str]]:
        sent = ""
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for event in runner.stream(question, body.media_ids, thread_id, "none"):
                if event.get("type") == "token" and event.get("text"):
                    sent += event["text"]
                    yield chunk({"content": event["text"]})
                elif event.get("type") == "final":
                    result = event["result"]
                    full = message_text(result)
                    # tokens were streamed before citations were checked: send only what
                    # the client lacks (the rest, or the Sources line if the text changed)
                    cut = len(sent) if full.startswith(sent) else len(result.answer)
                    rest = full[cut:]
                    if rest:
                        sent += rest
                        yield chunk({"content": rest})
        except (AgentFailure, Busy) as exc:
            text = f"\n\n[error: {exc}]"
            sent += text
            yield chunk({"content": text})
        state.threads.remember([*history, ("user", question), ("assistant", sent)], thread_id)
        yield chunk({}, "stop")
        if include_usage:
            yield chunk(None)
        yield {"data": "[DONE]"}

    runner.admission.check()  # a 503 now, not an error chunk after a 200
    return event_stream(stream())
