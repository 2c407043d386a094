"""The service under hostile JSON and hostile upload pacing (real uvicorn on loopback).

* Invalid Unicode (lone UTF-16 surrogates), bytes that are not UTF-8, deep nesting, huge
  bodies and wrong types on every JSON route are a clear 4xx, never a 5xx — also under
  hypothesis-generated bodies.
* A client that trickles its upload loses its slot (408); a client cannot take more than
  its share of upload slots; a refused upload's client reads its 503 (no reset connection).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.upload_guard import UploadGuardMiddleware
from tests.live_server import API_KEY, LiveServer, service_settings
from tests.media import MediaFixture

pytestmark = pytest.mark.slow
JSON = {"Content-Type": "application/json"}
JSON_ROUTES = ("/v1/search", "/v1/ask", "/v1/chat/completions")
BOUNDARY = "hardeningboundary"


def post(server: LiveServer, path: str, body: bytes, **headers: str) -> httpx.Response:
    with server.client() as client:
        return client.post(path, content=body, headers={**JSON, **headers})


def assert_clear_4xx(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    return response.json()


# --- invalid Unicode, nesting, size, types ------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/search", rb'{"query": "\ud800"}', ["body", "query"]),
        ("/v1/search", rb'{"query": "ok", "media_ids": ["a", "\udfff"]}', ["body", "media_ids", 1]),
        ("/v1/ask", rb'{"question": "when \ud83d?"}', ["body", "question"]),
        ("/v1/ask", rb'{"question": "x", "thread_id": "\udc00"}', ["body", "thread_id"]),
        (
            "/v1/chat/completions",
            rb'{"model": "chronorag", "messages": [{"role": "user", "content": "\ud800hi"}]}',
            ["body", "messages", 0, "content"],
        ),
        ("/v1/search", rb'{"\ud800": "key"}', ["body"]),
    ],
)  # fmt: skip
def test_lone_surrogates_are_a_422_naming_the_field(
    service: LiveServer, path: str, body: bytes, loc: list[Any]
) -> None:
    detail = assert_clear_4xx(post(service, path, body), 422)["detail"]
    assert detail[0]["type"] == "string_unicode" and detail[0]["loc"] == loc
    assert "surrogate" in detail[0]["msg"] or "Unicode" in detail[0]["msg"]


def test_a_surrogate_pair_is_real_text_and_searches(service: LiveServer) -> None:
    response = post(service, "/v1/search", rb'{"query": "budget \ud83d\ude00"}')
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_nesting_encoding_and_types(service: LiveServer, path: str) -> None:
    deep = b'{"query": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    shallow_but_deep = b'{"x": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}"
    for body in (deep, shallow_but_deep):
        detail = assert_clear_4xx(post(service, path, body), 422)["detail"]
        assert "nested deeper" in detail[0]["msg"]
    latin1 = '{"query": "café"}'.encode("latin-1")
    assert "not UTF-8" in assert_clear_4xx(post(service, path, latin1), 422)["detail"][0]["msg"]
    for body in (b"[]", b'"text"', b"null", b"5", b'{"query": 5, "question": []}', b"{", b""):
        assert_clear_4xx(post(service, path, body), 422)
    # a wrong type whose input cannot be echoed as it is (a surrogate inside it)
    wrong = post(service, path, rb'{"query": ["\ud800"], "question": {"\ud800": 1}}')
    assert_clear_4xx(wrong, 422)
    not_json = post(service, path, b"\xff\xfe\x00", **{"Content-Type": "text/plain"})
    assert "\\xff" in json.dumps(assert_clear_4xx(not_json, 422))


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_huge_bodies_are_413_with_and_without_content_length(
    service: LiveServer, path: str
) -> None:
    huge = b'{"query": "' + b"x" * (5 * 2**20) + b'"}'
    assert_clear_4xx(post(service, path, huge), 413)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(huge), 2**16):
            yield huge[start : start + 2**16]

    with service.client() as client:
        streamed = client.post(path, content=chunks(), headers=JSON)
    assert_clear_4xx(streamed, 413)


# hypothesis: any JSON value, text drawn from all of Unicode *including* lone surrogates
_text = st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr), max_size=30)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)
_field_names = st.sampled_from(
    ["query", "question", "messages", "media_ids", "start_s", "end_s", "limit", "source",
     "thread_id", "speak", "model"]
)  # fmt: skip
_objects = st.dictionaries(_field_names | _text, _values, max_size=6)


def _unanswerable(value: Any) -> bool:
    """True when the body cannot reach the agent: not an object with a clean question."""
    if not isinstance(value, dict):
        return True
    text = json.dumps(value)
    return "\\ud" in text or not isinstance(value.get("question", value.get("messages")), str)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(path=st.sampled_from(JSON_ROUTES), value=_objects | _values)
def test_fuzzed_json_bodies_never_fail_the_server(
    service: LiveServer, path: str, value: Any
) -> None:
    if path != "/v1/search" and not _unanswerable(value):
        return  # a well-formed question is a real LLM call: covered by test_api_ask.py
    body = json.dumps(value).encode()  # ensure_ascii: surrogates as \udXXX escapes
    response = post(service, path, body)
    assert response.status_code < 500, (body[:300], response.status_code, response.text)
    assert response.json()  # every answer is JSON, 422s included


# --- upload pacing and admission ----------------------------------------------------------
@pytest.fixture(scope="module")
def paced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with tight upload limits: 3 slots, 2 per client, at least 64 KiB/s per 2 s."""
    home = tmp_path_factory.mktemp("paced") / "home"
    settings_ = service_settings(
        home, upload_max_concurrent=3, upload_max_per_client=2, upload_min_kib_per_s=64,
        upload_rate_window_s=2, upload_refusal_drain_mb=16, max_upload_mb=200,
    )  # fmt: skip
    server = LiveServer(settings_, run_worker=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with 3 upload slots, 2 per client, and the default pace."""
    home = tmp_path_factory.mktemp("crowded") / "home"
    settings_ = service_settings(
        home, upload_max_concurrent=3, upload_max_per_client=2, max_upload_mb=200
    )
    server = LiveServer(settings_, run_worker=False).start()
    yield server
    server.stop()


def wait_until(done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``done`` (a server-side state change that follows a response)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the server did not settle"
        time.sleep(0.05)


def guard(server: LiveServer) -> UploadGuardMiddleware:
    """The running service's upload guard (to wait for its slots, never to change them)."""
    layer: Any = server.app.middleware_stack
    while not isinstance(layer, UploadGuardMiddleware):
        layer = layer.app
    return layer


def head(declared: int) -> bytes:
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.m4a"\r\n\r\n'
    ).encode()
    return (
        "POST /v1/media HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {API_KEY}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(part) + declared}\r\n\r\n"
    ).encode() + part


def trickle(server: LiveServer, source: str, replies: list[bytes]) -> None:
    """Send an upload one byte every 0.1 s until the server answers; keep its reply."""
    with socket.create_connection(("127.0.0.1", server.port), source_address=(source, 0)) as s:
        s.sendall(head(2**20))
        s.settimeout(0.1)
        reply = b""
        while not reply:
            try:
                reply = s.recv(4096)  # the answer, if it has come
            except TimeoutError:
                with contextlib.suppress(OSError):  # the server may have answered and closed
                    s.sendall(b"x")
        s.settimeout(10)
        with contextlib.suppress(OSError):
            while chunk := s.recv(4096):  # the rest, up to the server's close
                reply += chunk
        replies.append(reply)


def upload(server: LiveServer, content: bytes, source: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with server.client(transport=transport) as client:
        return client.post("/v1/media", files={"file": ("talk.m4a", content, "audio/mp4")})


def test_trickling_uploads_lose_their_slots_and_real_uploads_get_in(
    paced: LiveServer, media: MediaFixture
) -> None:
    replies: list[bytes] = []
    sources = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]  # as many as there are slots
    threads = [threading.Thread(target=trickle, args=(paced, s, replies)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(replies) == 3
    for reply in replies:
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert b"too slow" in reply
    gate = guard(paced)
    wait_until(lambda: gate.in_flight == 0)
    assert not list(paced.settings.media_dir.glob(".upload-*"))
    accepted = upload(paced, media.audio.read_bytes(), "127.0.0.5")
    assert accepted.status_code == 202, accepted.text


def half_sent(server: LiveServer, source: str, declared: int) -> socket.socket:
    """An upload that sent its headers and the first 64 KiB, then waits (holds a slot)."""
    sock = socket.create_connection(("127.0.0.1", server.port), source_address=(source, 0))
    sock.sendall(head(declared) + b"\0" * 2**16)
    return sock


def test_one_client_cannot_take_every_slot(crowded: LiveServer, media: MediaFixture) -> None:
    gate = guard(crowded)
    holders = [half_sent(crowded, "127.0.3.1", 2**20) for _ in range(2)]
    try:
        wait_until(lambda: gate.per_client["127.0.3.1"] == 2)
        third = upload(crowded, media.audio.read_bytes(), "127.0.3.1")
        assert third.status_code == 503 and "from this client" in third.json()["detail"]
        other = upload(crowded, media.audio.read_bytes(), "127.0.3.2")
        assert other.status_code == 202, other.text
    finally:
        for holder in holders:
            holder.close()
    wait_until(lambda: gate.in_flight == 0)


def test_refused_uploads_are_read_before_their_503(crowded: LiveServer) -> None:
    """With every slot taken, clients that send a whole 8 MB body in one go (as curl does)
    finish sending and read their 503. Answering and closing while the body still comes
    would reset their connection: the send fails and the 503 is never seen."""
    declared = 8 * 2**20
    request = head(declared) + b"\0" * declared
    holders = [half_sent(crowded, f"127.0.1.{i}", declared) for i in (1, 2, 3)]
    gate = guard(crowded)
    try:
        wait_until(lambda: gate.in_flight == 3)
        for i in range(10):
            with socket.create_connection(
                ("127.0.0.1", crowded.port), source_address=(f"127.0.2.{i + 1}", 0), timeout=60
            ) as client:
                client.sendall(request)  # raises ConnectionResetError if not drained
                reply = b""
                while b"\r\n\r\n" not in reply or not reply.endswith(b"}"):
                    chunk = client.recv(4096)
                    assert chunk, reply
                    reply += chunk
            assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
            assert b"retry-after: 5" in reply.lower() and b"too many uploads" in reply
    finally:
        for holder in holders:
            holder.close()
    wait_until(lambda: gate.in_flight == 0)


def test_a_dead_embedding_server_is_a_503_with_the_reason(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.live_server import free_port

    home = tmp_path_factory.mktemp("dead-embedder") / "home"
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    settings_ = service_settings(home, embedder_backend="openai", embedder_url=dead)
    server = LiveServer(settings_, run_worker=False, warm=()).start()
    try:
        with server.client() as client:
            response = client.post("/v1/search", json={"query": "budget"})
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json()["detail"].startswith("the embedding model failed:")
            assert client.get("/healthz").status_code == 200
    finally:
        server.stop()
