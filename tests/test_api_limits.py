"""Request limits without a server: admission counting, a real ffmpeg killed when its
client disconnects, the clip command, the upload text sniff and multipart bounds, upload
pacing, the JSON body guard, the safe 422 echo and the backend-failure statuses."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from starlette.requests import Request
from starlette.types import Message

from app.api.clips import ClipError, cut, cut_command
from app.api.errors import json_safe
from app.api.failures import describe
from app.api.http_guards import BodyTooLarge
from app.api.json_guard import BadJson, check_body
from app.api.limits import Admission, Busy, ClientGone, unless_disconnected
from app.api.media import _looks_like_text
from app.api.upload_guard import TransferPace, UploadLimits, UploadTooSlow
from app.api.uploads import UploadError, receive_upload
from app.cli_serve import _is_loopback
from tests.media import MediaFixture


def test_admission_refuses_beyond_capacity_and_frees_on_exit() -> None:
    gate = Admission("questions", 2)
    with gate.admit(), gate.admit():
        assert gate.in_flight == 2
        with pytest.raises(Busy, match="too many questions"), gate.admit():
            pass
        assert gate.in_flight == 2
    assert gate.in_flight == 0
    with pytest.raises(ValueError):
        Admission("x", 0)


def _client(gone: anyio.Event) -> Request:
    """A GET request whose client disconnects once ``gone`` is set."""
    sent_body = False

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    return Request({"type": "http", "method": "GET", "path": "/", "headers": []}, receive)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_a_disconnect_kills_the_running_ffmpeg() -> None:
    pids: list[int] = []

    async def encode() -> int:
        # a real ffmpeg that runs for a minute (-re: read the input at its own pace)
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
               "-i", "sine=duration=60", "-f", "null", "-"]  # fmt: skip
        async with await anyio.open_process(cmd) as proc:
            pids.append(proc.pid)
            return await proc.wait()

    async def main() -> None:
        gone = anyio.Event()
        async with anyio.create_task_group() as group:
            async def disconnect_when_started() -> None:
                while not pids:
                    await anyio.sleep(0.05)
                gone.set()

            group.start_soon(disconnect_when_started)
            with pytest.raises(ClientGone):
                await unless_disconnected(_client(gone), encode)

    anyio.run(main)
    assert len(pids) == 1 and not _alive(pids[0])


def test_work_that_finishes_returns_and_errors_propagate_as_themselves() -> None:
    async def main() -> None:
        never = anyio.Event()

        async def answer() -> int:
            return 42

        async def fail() -> int:
            raise ClipError("bad span")

        assert await unless_disconnected(_client(never), answer) == 42
        with pytest.raises(ClipError, match="bad span"):
            await unless_disconnected(_client(never), fail)

        async def oversize_body() -> Message:
            raise BodyTooLarge(10)

        async def forever() -> int:
            await anyio.sleep_forever()
            return 0

        scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
        with pytest.raises(BodyTooLarge):  # itself, for its 413 handler: not a group
            await unless_disconnected(Request(scope, oversize_body), forever)

    anyio.run(main)


def test_clip_command_reads_and_writes_files_only(tmp_path: Path) -> None:
    cmd = cut_command(Path("-i x"), tmp_path / "out.mp4", 1.5, 4.25, video=True)
    source = cmd[cmd.index("-i") + 1]
    assert source == f"file:{Path('-i x').resolve()}"
    assert cmd[cmd.index("-ss") + 1] == "1.500" and cmd[cmd.index("-t") + 1] == "2.750"
    assert cmd[-1] == f"file:{tmp_path / 'out.mp4'}"


@pytest.mark.slow
def test_cut_of_real_media_and_of_a_broken_file(media: MediaFixture, tmp_path: Path) -> None:
    async def main() -> None:
        slots = anyio.CapacityLimiter(1)
        out = await cut(media.audio, tmp_path / "clips", 2.0, 5.0, video=False, slots=slots)
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
             str(out)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert abs(float(probe.stdout) - 3.0) < 0.2
        broken = tmp_path / "broken.m4a"
        broken.write_bytes(os.urandom(5000))
        with pytest.raises(ClipError, match="could not cut"):
            await cut(broken, tmp_path / "clips", 0.0, 1.0, video=False, slots=slots)
        assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == [out.name]

    anyio.run(main)


def test_text_uploads_are_recognised_before_ffmpeg_sees_them(
    media: MediaFixture, tmp_path: Path
) -> None:
    playlist = tmp_path / "a.mp4"
    playlist.write_text("#EXTM3U\n#EXTINF:3.0,\n/etc/secret.ts\n#EXT-X-ENDLIST\n")
    hindi = tmp_path / "b.mp4"
    hindi.write_bytes(("बैठक के नोट्स\n" * 400).encode()[:4097])  # cut mid-character
    assert _looks_like_text(playlist) and _looks_like_text(hindi)
    assert not _looks_like_text(media.audio) and not _looks_like_text(media.video)


def _upload(parts: list[bytes], dest: Path, max_bytes: int = 1000) -> int:
    """Feed a multipart body to ``receive_upload``; the status it refused it with."""

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def main() -> int:
        try:
            await receive_upload(
                "multipart/form-data; boundary=B", None, body(), dest_dir=dest, max_bytes=max_bytes
            )
        except UploadError as exc:
            return exc.status_code
        return 0

    return anyio.run(main)


def test_upload_headers_and_bytes_around_the_file_are_bounded(tmp_path: Path) -> None:
    head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="'
    long_header = head + b"a" * 20_000 + b'"\r\n\r\nxx\r\n--B--\r\n'
    assert _upload([long_header], tmp_path) == 400
    small_file_then_junk = [head + b'a.m4a"\r\n\r\nxx\r\n--B--\r\n'] + [b"e" * 2**16] * 20
    assert _upload(small_file_then_junk, tmp_path) == 413
    assert list(tmp_path.iterdir()) == []  # the partial file went with the refusal


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("192.168.1.5", False), ("example.org", False)],
)  # fmt: skip
def test_serve_warns_unless_it_listens_on_loopback(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


def test_transfer_pace_enforces_the_deadline_and_a_rate_per_window() -> None:
    limits = UploadLimits(deadline_s=100.0, min_bytes_per_s=1000.0, window_s=10.0)
    pace = TransferPace(limits, start=0.0)
    pace.add(5_000)
    pace.check(5.0)  # a window still open is not judged
    assert pace.wait_budget(5.0) == 5.0
    pace.add(5_000)
    pace.check(10.0)  # 10 000 bytes in 10 s: exactly fast enough; a new window starts
    pace.add(9_999)
    with pytest.raises(UploadTooSlow, match="too slow") as slow:
        pace.check(20.0)
    assert slow.value.status_code == 408 and slow.value.headers == {"Connection": "close"}
    brisk = TransferPace(limits, start=0.0)
    for second in range(10, 100, 10):
        brisk.add(20_000)
        brisk.check(float(second))
    assert brisk.wait_budget(95.0) == 5.0  # the deadline comes before the window's end
    with pytest.raises(UploadTooSlow, match="longer than 100 s"):
        brisk.check(100.0)


@pytest.mark.parametrize(
    ("body", "kind", "loc"),
    [
        (rb'{"query": "\ud800"}', "string_unicode", ["body", "query"]),
        (rb'{"a": [{"b": "x\udfffy"}]}', "string_unicode", ["body", "a", 0, "b"]),
        (rb'{"\udc00": 1}', "string_unicode", ["body"]),
        (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "json_invalid", ["body"]),
        (b"[" * 100_000 + b"]" * 100_000, "json_invalid", ["body"]),
        ('{"q": "café"}'.encode("latin-1"), "json_invalid", ["body"]),
    ],
)
def test_json_bodies_no_route_can_use_are_named(body: bytes, kind: str, loc: list) -> None:
    with pytest.raises(BadJson) as bad:
        check_body(body)
    assert bad.value.error["type"] == kind and bad.value.error["loc"] == loc


def test_json_that_is_fine_or_malformed_passes_the_guard() -> None:
    for body in (rb'{"query": "\ud83d\ude00 ok"}', b'{"q": "\xe0\xa4\xac\xe0\xa4\x9c"}',
                 b'{"broken": ', b"[]", b'"text"'):  # fmt: skip
        check_body(body)  # malformed JSON is FastAPI's to report, with its position


def test_the_422_echo_is_safe_for_any_input() -> None:
    echoed = json_safe({"input": ["\ud800", b"\xff\xfe", float("nan"), "x" * 10_000,
                                  [[[[[[[["deep"]]]]]]]]]})  # fmt: skip
    text = json.dumps(echoed, ensure_ascii=False).encode("utf-8")  # would raise otherwise
    assert b"\\\\ud800" in text and b"\\\\xff" in text and b'"nan"' in text
    assert len(echoed["input"][3]) <= 501 and echoed["input"][4] == [[[["…"]]]]


def test_backend_failures_map_to_a_status_and_a_reason() -> None:
    from graphs.llm import LengthLimitError, LLMError
    from vectorstore.embedders import EmbedderError
    from vectorstore.index import IndexInUseError

    assert describe(OSError(errno.ENOSPC, "No space left on device")) == (
        507, "the server's disk is full"
    )
    status, message = describe(LengthLimitError("minutes: the reply reached the length limit"))
    assert status == 503 and message.startswith("the request is too long for the chat model")
    assert describe(LLMError("plan: chat model call failed: refused"))[0] == 503
    assert "embedding model failed" in describe(EmbedderError("down"))[1]
    assert describe(IndexInUseError("index x is open"))[0] == 503
    assert describe(OSError(errno.EACCES, "denied")) is None  # a real 500
