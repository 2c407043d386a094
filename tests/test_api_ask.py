"""Asking through the live service: JSON, SSE (progress, tokens, final, spoken answer and
avatar), and the OpenAI-compatible API through the official ``openai`` client (streaming,
not streaming, multi-turn). Real embedded llama.cpp, real speech; assert structure and
grounding, not prose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from app.api.schemas import AskOut
from ingestion.probe import probe
from tests.live_server import API_KEY, LiveServer

pytestmark = pytest.mark.slow
QUESTION = "What did Mr. John Dashwood have leisure to consider?"


@pytest.fixture(scope="module")
def client(service: LiveServer) -> Iterator[httpx.Client]:
    with service.client() as c:
        yield c


def assert_grounded(client: httpx.Client, citations: list[dict[str, Any]]) -> None:
    """Every citation names a ready media item by its title and lies inside it."""
    media = {m["media_id"]: m for m in client.get("/v1/media").json()["media"]}
    for c in citations:
        record = media[c["media_id"]]
        assert record["status"] == "ready"
        assert c["title"] == record["title"]
        assert 0 <= c["start_s"] <= c["end_s"] <= record["duration_s"] + 1.0


def test_ask_json(client: httpx.Client, indexed_talk: dict[str, Any]) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == set(AskOut.model_fields)
    assert body["answer"].strip()
    assert body["language"] == "en"
    assert body["thread_id"]
    assert body["audio_url"] is None and body["video_url"] is None
    assert_grounded(client, body["citations"])


def _events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events, kind, data = [], "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            events.append((kind, json.loads("\n".join(data))))
            kind, data = "message", []
    return events


def test_ask_streams_progress_tokens_and_a_spoken_avatar_answer(
    client: httpx.Client,
    service: LiveServer,
    indexed_talk: dict[str, Any],
    tmp_path: Path,
) -> None:
    with client.stream(
        "POST",
        "/v1/ask",
        json={"question": QUESTION, "speak": "avatar"},
        headers={"Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
    kinds = [k for k, _ in events]
    assert "error" not in kinds, events
    assert kinds[-1] == "final" and kinds.count("final") == 1
    assert "progress" in kinds and "token" in kinds
    assert kinds.index("progress") < kinds.index("token")
    assert {"tool": "speak", "detail": "avatar"} in [e for k, e in events if k == "progress"]
    final = AskOut(**events[-1][1])
    assert "".join(e["text"] for k, e in events if k == "token").strip()
    assert final.answer.strip() and final.spoken_text
    assert_grounded(client, [c.model_dump() for c in final.citations])

    assert final.audio_url and final.audio_url.startswith("/v1/answers/")
    audio = client.get(final.audio_url)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert final.video_url and final.video_url.endswith(".mp4")
    video = client.get(final.video_url)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    clip = tmp_path / "avatar.mp4"
    clip.write_bytes(video.content)
    info = probe(clip)
    assert info.has_video and info.has_audio
    # the answer files are only reachable with the key
    assert httpx.get(f"{service.url}{final.audio_url}").status_code == 401


def test_ask_rejects_bad_requests_without_calling_the_model(client: httpx.Client) -> None:
    for body in (
        {"question": "   "},
        {"question": ""},
        {"question": "x", "speak": "loudly"},
        {"question": "x", "extra": 1},
        {"question": "x" * 5000},
        {},
    ):
        assert client.post("/v1/ask", json=body).status_code == 422, body
    for messages in (
        [{"role": "user", "content": "x" * 5000}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        [{"role": "system", "content": "be brief"}],
    ):
        response = client.post("/v1/chat/completions", json={"messages": messages})
        assert response.status_code == 422, messages
    for path in ("/v1/answers/%2e%2e/chronorag.sqlite3", "/v1/answers/nope.wav"):
        assert client.get(path).status_code == 404


def test_openai_client_chat_streaming_and_multi_turn(
    service: LiveServer,
    indexed_talk: dict[str, Any],
) -> None:
    oai = openai.OpenAI(base_url=f"{service.url}/v1", api_key=API_KEY, max_retries=0)
    assert "chronorag" in [m.id for m in oai.models.list()]

    first = oai.chat.completions.create(
        model="chronorag", messages=[{"role": "user", "content": QUESTION}]
    )
    text = first.choices[0].message.content
    assert text and text.strip()
    assert first.choices[0].finish_reason == "stop"
    thread = first.model_extra["thread_id"]

    follow_up = "And what did they say after that?"
    history = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": text},
        {"role": "user", "content": follow_up},
    ]
    chunks = list(oai.chat.completions.create(model="chronorag", messages=history, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed.strip()
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1
    # the follow-up ran in the first turn's agent thread, and the next turn will too
    threads = service.state.threads
    assert threads.thread_for([("user", QUESTION), ("assistant", text)]) == thread
    after = [("user", QUESTION), ("assistant", text), ("user", follow_up), ("assistant", streamed)]
    assert threads.thread_for(after) == thread

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{service.url}/v1", api_key="wrong", max_retries=0).models.list()
    with pytest.raises(openai.UnprocessableEntityError):
        oai.chat.completions.create(
            model="chronorag", messages=[{"role": "assistant", "content": "hi"}]
        )
