"""The VLM client against a local OpenAI-compatible test double (no VLM runs here).

``FakeVisionServer`` is a test double standing in for a vLLM Qwen2.5-VL server: a
real HTTP server on 127.0.0.1 that records each request and answers, fails or
stalls on demand. The keyframes are real JPEGs rendered with OpenCV.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np
import pytest

from app.lifecycle.registry import Registry
from graphs.prompts import NO_VLM_NOTE
from graphs.tools import Tools
from graphs.vlm import Frame, VLMClient, VLMError
from vectorstore.edge_index import EdgeChunkIndex
from vectorstore.embedders import E5Embedder
from vectorstore.schema import Chunk
from vectorstore.search import MediaSearch


class FakeVisionServer:
    """Test double of an OpenAI-compatible vision chat server."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"  # ok | error | slow | empty
        self.reply = "The slide shows a latency chart at 1.2 s."
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                double.requests.append({"path": self.path, "body": body})
                if double.mode == "slow":
                    time.sleep(2.0)
                if double.mode == "error":
                    self._send(500, {"error": {"message": "model crashed", "type": "server"}})
                    return
                content = "" if double.mode == "empty" else double.reply
                self._send(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeVisionServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeVisionServer]:
    with FakeVisionServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[Frame]:
    root = tmp_path_factory.mktemp("frames")
    out = []
    for t, label in [(75.0, "Latency 1.2 s"), (12.0, "Agenda")]:
        img = np.full((180, 320, 3), 255, np.uint8)
        cv2.putText(img, label, (10, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
        path = root / f"frame-{int(t):04d}.jpg"
        assert cv2.imwrite(str(path), img)
        out.append(Frame(path, t))
    return out


def test_request_carries_images_and_their_timestamps(server, frames) -> None:
    client = VLMClient(server.url, "Qwen/Qwen2.5-VL-7B-Instruct", timeout_s=5)
    answer = client.describe("What is on the slide?", frames)
    assert answer == server.reply
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions"
    body = req["body"]
    assert body["model"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    parts = body["messages"][-1]["content"]
    texts = [p["text"] for p in parts if p["type"] == "text"]
    images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert texts == ["Question: What is on the slide?", "Frame at 00:12:", "Frame at 01:15:"]
    assert len(images) == 2
    # frames are sent in time order, each image right after its timestamp
    assert [p["type"] for p in parts[1:]] == ["text", "image_url", "text", "image_url"]
    first = images[0]
    assert first.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(first.split(",", 1)[1]) == frames[1].path.read_bytes()


def test_many_frames_are_thinned_evenly(server, frames) -> None:
    many = [Frame(frames[0].path, float(t)) for t in range(10)]
    VLMClient(server.url, "vlm", max_frames=3, timeout_s=5).describe("q", many)
    texts = [p["text"] for p in server.requests[0]["body"]["messages"][-1]["content"][1::2]]
    assert len(texts) == 3


def test_server_error_is_a_vlm_error(server, frames) -> None:
    server.mode = "error"
    with pytest.raises(VLMError, match="500"):
        VLMClient(server.url, "vlm", timeout_s=5).describe("q", frames)


def test_timeout_is_a_vlm_error(server, frames) -> None:
    server.mode = "slow"
    started = time.monotonic()
    with pytest.raises(VLMError, match="timed out"):
        VLMClient(server.url, "vlm", timeout_s=0.5).describe("q", frames)
    assert time.monotonic() - started < 1.9  # gave up before the server answered


def test_empty_answer_is_a_vlm_error(server, frames) -> None:
    server.mode = "empty"
    with pytest.raises(VLMError, match="empty"):
        VLMClient(server.url, "vlm", timeout_s=5).describe("q", frames)


def test_unreachable_server_is_a_vlm_error(frames) -> None:
    with pytest.raises(VLMError, match="failed"):
        VLMClient("http://127.0.0.1:9/v1", "vlm", timeout_s=2).describe("q", frames)


def test_bad_input_is_rejected(server, tmp_path) -> None:
    with pytest.raises(ValueError, match="http"):
        VLMClient("localhost:8000", "vlm")
    client = VLMClient(server.url, "vlm")
    with pytest.raises(VLMError, match="no keyframes"):
        client.describe("q", [])
    with pytest.raises(VLMError, match="cannot read"):
        client.describe("q", [Frame(tmp_path / "missing.jpg", 1.0)])
    assert server.requests == []


@pytest.fixture(scope="module")
def look_tools(tmp_path_factory, frames) -> Iterator[tuple[MediaSearch, Registry]]:
    root = tmp_path_factory.mktemp("look-index")
    registry = Registry(root / "registry.sqlite3")
    index = EdgeChunkIndex(root / "index", E5Embedder(threads=2))
    registry.upsert_media(
        "m1",
        title="Team sync",
        path="/m.mp4",
        sha256="m1",
        recorded_at=datetime(2026, 11, 24, tzinfo=UTC),
    )
    registry.update_media("m1", status="ready", duration_s=120.0)
    index.upsert(
        [
            Chunk(
                media_id="m1",
                source="screen",
                start_s=f.time_s,
                end_s=f.time_s + 20,
                text=text,
                keyframe=str(f.path),
            )
            for f, text in zip(frames, ["Latency 1.2 s", "Agenda"], strict=True)
        ]
    )
    yield MediaSearch(index, registry), registry
    index.close()
    registry.close()


def test_look_tool_uses_the_vlm_on_keyframes_in_the_span(server, look_tools) -> None:
    search, registry = look_tools
    tools = Tools(search, registry, VLMClient(server.url, "vlm", timeout_s=5))
    (ev,) = tools.look("m1", 60, 100, "What does the chart show?")
    assert ev.text == server.reply
    assert (ev.start_s, ev.end_s) == (75.0, 95.0)
    parts = server.requests[0]["body"]["messages"][-1]["content"]
    assert [p["text"] for p in parts if p["type"] == "text"][1:] == ["Frame at 01:15:"]


def test_look_tool_falls_back_to_screen_text_when_the_vlm_fails(server, look_tools) -> None:
    server.mode = "error"
    search, registry = look_tools
    tools = Tools(search, registry, VLMClient(server.url, "vlm", timeout_s=5))
    (ev,) = tools.look("m1", 60, 100, "What does the chart show?")
    assert "vision model failed" in ev.text and "01:15: Latency 1.2 s" in ev.text


def test_look_tool_without_vlm_says_it_read_screen_text(look_tools) -> None:
    search, registry = look_tools
    (ev,) = Tools(search, registry, None).look("m1", 0, 120, "What was shown?")
    assert ev.text.startswith(NO_VLM_NOTE)
    assert "scene changes at 00:12, 01:15" in ev.text
    assert "00:12: Agenda" in ev.text and "01:15: Latency 1.2 s" in ev.text
