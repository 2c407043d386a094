"""Hostile uploads against the live service: each ends in a clear 4xx (or a failed job),
never a 5xx, leaves no partial file behind, and the service stays healthy."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import API_KEY, UPLOAD_LIMIT_MB, LiveServer
from tests.media import MediaFixture

pytestmark = pytest.mark.slow
BOUNDARY = "chronoragtestboundary"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def multipart(filename: bytes, content: bytes, fields: dict[str, str] | None = None) -> bytes:
    """A multipart body built by hand, so filenames can hold anything (NUL, slashes)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in (fields or {}).items()
    ]
    parts.append(
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: video/mp4\r\n\r\n'
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def file_part_head(filename: str) -> bytes:
    """The opening of a multipart body up to the first byte of the file."""
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
        f'filename="{filename}"\r\n\r\n'
    ).encode()


def start_upload(sock: socket.socket, filename: str, declared_bytes: int, first: bytes) -> None:
    """Send the headers (declaring ``declared_bytes`` of file) and only ``first`` of it."""
    head = file_part_head(filename)
    sock.sendall(
        (
            "POST /v1/media HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {API_KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(head) + declared_bytes}\r\n\r\n"
        ).encode()
        + head
        + first
    )


def post_raw(server: LiveServer, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/media",
        content=body,
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers},
        timeout=60,
    )


def leftovers(server: LiveServer) -> list[Path]:
    return sorted(server.settings.media_dir.glob(".upload-*"))


def assert_healthy(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    with server.client() as client:
        assert client.get("/v1/media").status_code == 200


def test_oversize_upload_is_refused_while_streaming(service: LiveServer) -> None:
    total = 64 * 2**20
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        head = file_part_head("big.mp4")
        sent += len(head)
        yield head
        block = bytes(2**16)
        while sent < total:
            sent += len(block)
            yield block
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    # no Content-Length (chunked): the limit can only be enforced while reading
    response = httpx.post(
        f"{service.url}/v1/media",
        content=body(),
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=60,
    )
    assert response.status_code == 413
    assert f"{UPLOAD_LIMIT_MB} MB" in response.json()["detail"]
    assert sent < total / 2, f"the server read {sent} of {total} bytes before refusing"
    assert leftovers(service) == []
    assert_healthy(service)


def test_declared_oversize_is_refused_before_reading(service: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        start_upload(sock, "huge.mp4", 10 * 2**30, b"")
        reply = sock.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413"), reply
    assert_healthy(service)


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("random.mp4", None, 415, "not a usable audio or video file"),
        ("empty.mp4", b"", 422, "empty"),
        ("notes.mp4", b"Minutes of the meeting.\nAction items.\n" * 200, 415, "not a usable"),
    ],
)
def test_non_media_is_refused_by_content(
    service: LiveServer,
    bad_media: dict[str, Path],
    name: str,
    content: bytes | None,
    status: int,
    message: str,
) -> None:
    data = bad_media["random"].read_bytes() if content is None else content
    before = set(service.settings.media_dir.iterdir())
    response = post_raw(service, multipart(name.encode(), data))
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert set(service.settings.media_dir.iterdir()) == before  # nothing stored
    assert_healthy(service)


@pytest.mark.parametrize(
    "filename",
    [b"../../x.m4a", b"/etc/passwd", b"..\\..\\win.m4a", b"a\x00b/../../c.m4a", b""],
)
def test_traversal_filenames_are_stored_under_a_server_chosen_name(
    service: LiveServer,
    media: MediaFixture,
    filename: bytes,
    tmp_path: Path,
) -> None:
    response = post_raw(service, multipart(filename, media.audio.read_bytes()))
    assert response.status_code == 202, response.text
    media_id = response.json()["media_id"]
    with service.client() as client:
        record = client.get(f"/v1/media/{media_id}").json()
    stored = [p for p in service.settings.media_dir.iterdir() if not p.name.startswith(".")]
    assert {p.name for p in stored if p.stem == media_id} == {f"{media_id}.m4a"}
    assert "/" not in record["title"] and "\x00" not in record["title"]
    data_root = service.settings.data_dir
    assert not (data_root.parent / "x.m4a").exists()
    assert not (data_root / "x.m4a").exists()
    assert leftovers(service) == []


def test_wrong_content_types_and_fields(service: LiveServer) -> None:
    with service.client() as client:
        as_json = client.post("/v1/media", json={"file": "x"})
        assert as_json.status_code == 415
        no_file = client.post("/v1/media", data={"title": "nothing"}, files={"other": b"x"})
        assert no_file.status_code == 422
        assert "'file'" in no_file.json()["detail"]
    garbage = httpx.post(
        f"{service.url}/v1/media",
        content=b"--wrong\r\nnot a part\r\n",
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert 400 <= garbage.status_code < 500
    bad_date = post_raw(service, multipart(b"a.m4a", b"x" * 10, {"recorded_at": "yesterday-ish"}))
    assert bad_date.status_code in (415, 422)
    assert leftovers(service) == []
    assert_healthy(service)


def test_bad_recorded_at_is_a_clear_422(
    service: LiveServer,
    media: MediaFixture,
) -> None:
    body = multipart(b"a.m4a", media.audio.read_bytes(), {"recorded_at": "the day before"})
    response = post_raw(service, body)
    assert response.status_code == 422
    assert "recorded_at" in response.json()["detail"]


def test_slow_client_is_cut_off_and_does_not_block_others(service: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        start_upload(sock, "slow.mp4", 100_000, b"\x00" * 1000)
        # while this upload stalls, the service keeps answering others
        started = time.monotonic()
        assert_healthy(service)
        assert len(leftovers(service)) == 1  # the stalled upload's partial file, for now
        reply = b""
        while time.monotonic() - started < 30:  # the server answers, then closes
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert b"stalled" in reply
    assert leftovers(service) == []
    assert_healthy(service)


def test_client_that_disconnects_mid_upload_leaves_nothing(service: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        start_upload(sock, "gone.mp4", 500_000, b"\x01" * 100_000)
        deadline = time.monotonic() + 10
        while not leftovers(service) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(leftovers(service)) == 1  # receiving
    deadline = time.monotonic() + 10  # the socket is closed: the partial file must go
    while leftovers(service) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(service) == []
    assert_healthy(service)


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic dXNlcjpwYXNz", "Bearer"])
def test_missing_or_invalid_key_is_401(service: LiveServer, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path in [
        ("GET", "/v1/media"),
        ("POST", "/v1/media"),
        ("POST", "/v1/search"),
        ("POST", "/v1/ask"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/jobs/x"),
        ("GET", "/metrics"),
    ]:
        response = httpx.request(method, f"{service.url}{path}", headers=headers, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"] == "Bearer"
    assert leftovers(service) == []
    assert httpx.get(f"{service.url}/healthz").status_code == 200
    assert httpx.get(f"{service.url}/readyz").status_code in (200, 503)


def test_key_in_cookie_only_works_for_reads(service: LiveServer) -> None:
    cookies = {"chronorag_key": API_KEY}
    assert httpx.get(f"{service.url}/v1/media", cookies=cookies).status_code == 200
    posted = httpx.post(f"{service.url}/v1/search", json={"query": "x"}, cookies=cookies)
    assert posted.status_code == 401
