"""``/v1/chat/completions`` with the bodies chat front-ends send (Open WebUI, LibreChat
and the ``openai`` client with ``stream_options``): system prompts, multi-turn history
with content parts, usage chunks, and fields we do not know (ignored, never a 422).
Real agent on the shared live service; asserts the protocol, not prose."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.live_server import API_KEY, LiveServer

pytestmark = pytest.mark.slow
QUESTION = "What did Mr. John Dashwood have leisure to consider?"
FOLLOW_UP = "And what kind of young man was he?"

# what Open WebUI adds around the messages (its own routing, features and knobs)
OPEN_WEBUI_EXTRAS: dict[str, Any] = {
    "params": {},
    "tool_servers": [],
    "features": {"image_generation": False, "code_interpreter": False, "web_search": False},
    "variables": {"{{USER_NAME}}": "admin", "{{CURRENT_DATE}}": "2026-12-01"},
    "model_item": {"id": "chronorag", "object": "model", "owned_by": "openai"},
    "session_id": "yJ3c2dXk", "chat_id": "6a3f-chat", "id": "8b1e-msg",
    "background_tasks": {"title_generation": True, "tags_generation": True},
    "temperature": 0.8, "top_p": 0.9, "max_tokens": 1024, "seed": 42, "stop": ["</s>"],
    "frequency_penalty": 0, "presence_penalty": 0, "logit_bias": {}, "n": 1,
    "user": "admin@example.com", "metadata": {"source": "open-webui"},
    "tools": [{"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}],
    "tool_choice": "auto", "response_format": {"type": "text"}, "reasoning_effort": "low",
}  # fmt: skip


def sse_chunks(response: httpx.Response) -> list[Any]:
    """The ``data:`` payloads of an SSE body, ``[DONE]`` kept as the string."""
    raw = [ln.removeprefix("data:").strip() for ln in response.text.splitlines()
           if ln.startswith("data:")]  # fmt: skip
    return [p if p == "[DONE]" else json.loads(p) for p in raw]


def streamed_text(chunks: list[Any]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if c != "[DONE]" and c["choices"]
    )


def test_open_webui_stream_with_usage_then_a_follow_up_in_content_parts(
    service: LiveServer, indexed_talk: dict[str, Any]
) -> None:
    first = {
        "model": "chronorag",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
            {"role": "user", "content": QUESTION},
        ],
        **OPEN_WEBUI_EXTRAS,
    }
    with service.client() as client:
        response = client.post("/v1/chat/completions", json=first)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = sse_chunks(response)
    assert chunks[-1] == "[DONE]"
    usage, body = chunks[-2], chunks[:-2]
    # the spec's last chunk: no choices, the usage; every earlier one has usage null
    assert usage["choices"] == [] and set(usage["usage"]) == {
        "prompt_tokens", "completion_tokens", "total_tokens"
    }  # fmt: skip
    assert all(c["usage"] is None and len(c["choices"]) == 1 for c in body)
    assert body[0]["choices"][0]["delta"]["role"] == "assistant"
    assert body[-1]["choices"][0]["finish_reason"] == "stop"
    assert len({c["id"] for c in chunks[:-1]}) == 1
    answer = streamed_text(chunks)
    assert answer.strip()

    # turn two the way LibreChat sends it: content parts, message ids and names, a tool
    # turn and a developer prompt in the history; not streamed
    follow_up = {
        "model": "chronorag",
        "messages": [
            {"role": "developer", "content": "Cite the moments."},
            {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
            {"role": "user", "content": [{"type": "text", "text": QUESTION}], "name": "ann"},
            {"role": "assistant", "content": answer, "id": "msg-1", "refusal": None},
            {"role": "tool", "content": "{}", "tool_call_id": "call-0"},
            {"role": "user", "content": [
                {"type": "text", "text": FOLLOW_UP},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ], "timestamp": 1764633600},
        ],
        **OPEN_WEBUI_EXTRAS,
    }  # fmt: skip
    with service.client() as client:
        response = client.post("/v1/chat/completions", json=follow_up)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["object"] == "chat.completion" and out["choices"][0]["message"]["content"].strip()
    # the follow-up continued the first turn's agent thread (the history was recognised)
    threads = service.state.threads
    assert out["thread_id"] == threads.thread_for([("user", QUESTION), ("assistant", answer)])


def test_openai_client_stream_options_include_usage(
    service: LiveServer, indexed_talk: dict[str, Any]
) -> None:
    oai = openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0)
    stream = oai.chat.completions.create(
        model="chronorag",
        messages=[
            {"role": "system", "content": "Reply in one sentence."},
            {"role": "user", "content": QUESTION},
        ],
        stream=True,
        stream_options={"include_usage": True},
        temperature=0.2,
        max_tokens=200,
        extra_body={"unknown_field": {"nested": [1, 2, 3]}},
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]).strip()
