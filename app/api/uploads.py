"""Streams a ``multipart/form-data`` upload straight to disk, enforcing the size limit.

FastAPI's ``UploadFile`` spools the whole body before the handler runs; here the body
is parsed as it arrives (python-multipart's streaming parser), hashed on the way, and
abandoned the moment it exceeds the limit, stalls, or is malformed — the partial file
is removed in every such case. The client's filename is display text only.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

FILE_FIELD = "file"


def upload_openapi(
    responses: dict[str, str], fields: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The OpenAPI ``openapi_extra`` of a route that takes one streamed file (the body is
    parsed here, not by FastAPI, so the route declares it itself)."""
    properties = {FILE_FIELD: {"type": "string", "format": "binary"}, **(fields or {})}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [FILE_FIELD],
                        "properties": properties,
                    }
                }
            },
        },
        "responses": {code: {"description": text} for code, text in responses.items()},
    }

_MAX_FIELD_BYTES = 4096
_MAX_FIELDS = 20
_MAX_HEADER_BYTES = 8192
_MAX_OVERHEAD_BYTES = 2**20  # everything but the file: boundaries, headers, fields


class UploadError(Exception):
    """The upload cannot be accepted; ``status_code`` is the HTTP status to answer with."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass
class ReceivedUpload:
    """A complete upload on disk under a server-chosen temporary name."""

    path: Path
    size: int
    sha256: str
    filename: str
    fields: dict[str, str] = field(default_factory=dict)


def display_name(raw: str | None) -> str:
    """A safe display title from a client filename: last path part, no control characters."""
    name = (raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200] or "upload"


class _Sink:
    """Parser callbacks: one file part to disk, small text fields to memory."""

    def __init__(self, dest_dir: Path, max_bytes: int) -> None:
        self.dest_dir, self.max_bytes = dest_dir, max_bytes
        self.tmp_path: Path | None = None
        self.file: BinaryIO | None = None
        self.hash = hashlib.sha256()
        self.size = 0
        self.filename = ""
        self.fields: dict[str, str] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._part: str | None = None  # "file", a field name, or "" (ignored)
        self._buffer = bytearray()

    # header callbacks -----------------------------------------------------------------
    def on_part_begin(self) -> None:
        self._headers, self._part, self._buffer = {}, None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]
        self._check_header()

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._check_header()

    def _check_header(self) -> None:
        if len(self._header_name) + len(self._header_value) > _MAX_HEADER_BYTES:
            raise UploadError(400, "a multipart header is too long")

    def on_header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_name, self._header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition"))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD:
            if self.file is not None or self.tmp_path is not None:
                raise UploadError(400, "only one 'file' part is allowed")
            self.filename = display_name(params.get(b"filename", b"").decode("utf-8", "replace"))
            self.dest_dir.mkdir(parents=True, exist_ok=True)
            self.tmp_path = self.dest_dir / f".upload-{uuid.uuid4().hex}.part"
            self.file = self.tmp_path.open("wb")
            self._part = FILE_FIELD
        elif len(self.fields) >= _MAX_FIELDS:
            raise UploadError(400, f"too many form fields (at most {_MAX_FIELDS})")
        else:
            self._part = name

    # data callbacks -------------------------------------------------------------------
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part == FILE_FIELD:
            assert self.file is not None
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise UploadError(
                    413, f"the file exceeds the upload limit of {self.max_bytes // 2**20} MB"
                )
            self.file.write(chunk)
            self.hash.update(chunk)
        elif self._part:
            self._buffer += chunk
            if len(self._buffer) > _MAX_FIELD_BYTES:
                raise UploadError(400, f"form field '{self._part}' is too long")

    def on_part_end(self) -> None:
        if self._part == FILE_FIELD:
            assert self.file is not None
            self.file.close()
        elif self._part:
            self.fields[self._part] = self._buffer.decode("utf-8", "replace")
        self._part = None

    def callbacks(self) -> dict[str, object]:
        names = (
            "on_part_begin", "on_part_data", "on_part_end", "on_header_field",
            "on_header_value", "on_header_end", "on_headers_finished",
        )
        return {n: getattr(self, n) for n in names}

    def discard(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()
        if self.tmp_path is not None:
            self.tmp_path.unlink(missing_ok=True)


async def _chunks(stream: AsyncIterator[bytes], idle_timeout_s: float) -> AsyncIterator[bytes]:
    """The body, failing with 408 when the client sends nothing for ``idle_timeout_s``."""
    iterator = stream.__aiter__()
    while True:
        try:
            with anyio.fail_after(idle_timeout_s):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise UploadError(408, f"the upload stalled for {idle_timeout_s:g} s") from exc
        yield chunk


async def receive_upload(
    content_type: str | None,
    content_length: str | None,
    stream: AsyncIterator[bytes],
    *,
    dest_dir: Path,
    max_bytes: int,
    idle_timeout_s: float = 30.0,
) -> ReceivedUpload:
    """Parse the multipart body from ``stream`` into a temporary file in ``dest_dir``."""
    ctype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError(415, "send the media as multipart/form-data with a 'file' field")
    if content_length and content_length.isdigit() and int(content_length) > max_bytes + 2**16:
        raise UploadError(
            413, f"the upload exceeds the limit of {max_bytes // 2**20} MB (Content-Length)"
        )
    sink = _Sink(dest_dir, max_bytes)
    try:
        parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
        received = 0
        async for chunk in _chunks(stream, idle_timeout_s):
            received += len(chunk)
            if received > max_bytes + _MAX_OVERHEAD_BYTES:  # junk around a small file
                raise UploadError(413, f"the upload exceeds the limit of {max_bytes // 2**20} MB")
            parser.write(chunk)
        parser.finalize()
        if sink.tmp_path is None:
            raise UploadError(422, "the multipart field 'file' is missing")
        if sink.file is not None and not sink.file.closed:
            raise UploadError(400, "the upload ended before the file part was complete")
        return ReceivedUpload(
            path=sink.tmp_path,
            size=sink.size,
            sha256=sink.hash.hexdigest(),
            filename=sink.filename,
            fields=sink.fields,
        )
    except UploadError:
        sink.discard()
        raise
    except (FormParserError, ValueError) as exc:
        sink.discard()
        raise UploadError(400, f"malformed multipart body: {exc}") from exc
    except BaseException:
        sink.discard()
        raise
