"""HTTP-level guards: a size limit on request bodies, and security headers on responses.

FastAPI reads a JSON body whole before validating it, so without a limit one request
could fill the memory. Uploads (``POST /v1/media`` and a media item's companion
documents, ``POST /v1/media/{id}/documents``) are exempt: they stream to disk under
their own limit (``app.api.uploads``).
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_PATH = "/v1/media"
DOCUMENTS_PATH = re.compile(r"/v1/media/[^/]+/documents")


def is_upload(scope: Scope) -> bool:
    """A streamed multipart upload: media, or a media item's companion documents."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    return scope["path"] == UPLOAD_PATH or DOCUMENTS_PATH.fullmatch(scope["path"]) is not None
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",  # a served file is never sniffed into HTML
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class BodyTooLarge(HTTPException):
    """413; an HTTPException so FastAPI passes it through its body parsing unchanged."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body exceeds {max_bytes} bytes")


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` (declared or streamed), uploads excepted."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_upload(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse(
                {"detail": BodyTooLarge(self.max_bytes).detail},
                status_code=413,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
