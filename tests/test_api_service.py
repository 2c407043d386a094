"""Service plumbing on a live server: what is public, docs and schema behind the key,
CORS, readiness, the web page's files, and the Allow header of 405s."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import API_KEY, LiveServer, service_settings

pytestmark = pytest.mark.slow
ORIGIN = "http://meetings.example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A light server (no worker) with CORS for one origin."""
    home = tmp_path_factory.mktemp("plumbing") / "home"
    live = LiveServer(
        service_settings(home, cors_origins=[ORIGIN]), run_worker=False, warm=("index",)
    ).start()
    try:
        yield live
    finally:
        live.stop()


def test_only_health_and_the_page_shell_are_public(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").status_code in (200, 503)
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta charset="utf-8">' in page.text and 'aria-live="polite"' in page.text
    for asset, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        response = httpx.get(f"{server.url}/static/{asset}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    for path in ("/docs", "/openapi.json", "/metrics", "/v1/media", "/v1/models"):
        assert httpx.get(f"{server.url}{path}").status_code == 401, path


def test_docs_and_schema_with_the_key(server: LiveServer) -> None:
    with server.client() as client:
        schema = client.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        upload = schema["paths"]["/v1/media"]["post"]["requestBody"]["content"]
        assert upload["multipart/form-data"]["schema"]["required"] == ["file"]
        assert "swagger-ui" in client.get("/docs").text
    # the web page's cookie opens the docs in a browser
    docs = httpx.get(f"{server.url}/docs", cookies={"chronorag_key": API_KEY})
    assert docs.status_code == 200


def test_cors_allows_the_configured_origin_only(server: LiveServer) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = httpx.options(f"{server.url}/v1/search", headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.options(
        f"{server.url}/v1/search", headers={"Origin": "http://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers


def test_readyz_turns_ready_once_the_index_is_loaded(server: LiveServer) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.url}/readyz")
        if response.status_code == 200:
            break
        assert response.json()["components"]["index"] in ("loading", "ready")
        time.sleep(0.2)
    assert response.json() == {"ready": True, "components": {"index": "ready"}, "worker": {}}


def test_405_lists_every_method_of_the_path(server: LiveServer) -> None:
    with server.client() as client:
        response = client.put("/v1/media")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"
        response = client.patch("/v1/media/abc")
        assert response.headers["allow"] == "DELETE, GET"


def test_unknown_paths_are_404_not_the_page(server: LiveServer, tmp_path: Path) -> None:
    with server.client() as client:
        assert client.get("/v1/nothing").status_code == 404
        assert client.get("/static/../app/config.py").status_code == 404


def test_docs_load_swagger_ui_from_the_service_not_a_cdn(server: LiveServer) -> None:
    with server.client() as client:
        html = client.get("/docs").text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and all(url.startswith("/docs/assets/") for url in assets), assets
        assert "http" not in "".join(assets)
        for url in assets:
            response = client.get(url)
            assert response.status_code == 200 and len(response.content) > 1000, url
        assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
        assert client.get("/docs/assets/redoc.standalone.js").status_code == 404
        assert client.get("/docs/assets/..%2Fcore.py").status_code == 404
    assert httpx.get(f"{server.url}/docs/assets/swagger-ui.css").status_code == 401


def test_security_headers_and_the_page_policy(server: LiveServer) -> None:
    page = httpx.get(f"{server.url}/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    for response in (page, httpx.get(f"{server.url}/healthz"), httpx.get(f"{server.url}/v1/media")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_json_bodies_are_size_limited(server: LiveServer) -> None:
    huge = {"query": "x" * (5 * 2**20)}
    with server.client() as client:
        declared = client.post("/v1/search", json=huge)
        assert declared.status_code == 413, declared.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
            yield b'{"query": "'
            for _ in range(80):
                yield b"x" * 2**16
            yield b'"}'

        streamed = client.post(
            "/v1/search", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413, streamed.text
        assert client.get("/v1/media").status_code == 200


def test_busy_asks_and_uploads_get_503_with_retry_after(server: LiveServer) -> None:
    gates = (server.app.state.ask_runner.admission, server.state.upload_admission)
    for gate in gates:
        gate.in_flight += gate.capacity  # as if that many were in progress
    hi = [{"role": "user", "content": "hi"}]
    try:
        with server.client() as client:
            sse = {"Accept": "text/event-stream"}
            for response in (
                client.post("/v1/ask", json={"question": "anything?"}),
                client.post("/v1/ask", json={"question": "anything?"}, headers=sse),
                client.post("/v1/chat/completions", json={"messages": hi, "stream": True}),
                client.post("/v1/chat/completions", json={"messages": hi}),
            ):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert "too many questions" in response.json()["detail"]
            upload = client.post("/v1/media", files={"file": ("a.m4a", b"x" * 1000)})
            assert upload.status_code == 503 and "too many uploads" in upload.json()["detail"]
        assert list(server.settings.media_dir.glob(".upload-*")) == []
    finally:
        for gate in gates:
            gate.in_flight -= gate.capacity


def test_non_finite_times_are_rejected(server: LiveServer) -> None:
    json_headers = {"Content-Type": "application/json"}
    with server.client() as client:
        for body in (b'{"query": "x", "start_s": Infinity}', b'{"query": "x", "end_s": NaN}'):
            response = client.post("/v1/search", content=body, headers=json_headers)
            assert response.status_code == 422, (body, response.text)
