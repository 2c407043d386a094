"""Request limits without a server: admission counting, a real ffmpeg killed when its
client disconnects, the clip command, the upload text sniff and multipart bounds."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from starlette.requests import Request
from starlette.types import Message

from app.api.clips import ClipError, cut, cut_command
from app.api.http_guards import BodyTooLarge
from app.api.limits import Admission, Busy, ClientGone, unless_disconnected
from app.api.media import _looks_like_text
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
