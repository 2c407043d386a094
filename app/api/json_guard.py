"""Checks JSON request bodies before FastAPI parses them: valid UTF-8, real Unicode text
(no lone UTF-16 surrogates such as ``"\\ud800"``, which ``json.loads`` accepts but no
encoder, tokenizer or database can handle) and a bounded nesting depth.

A body that fails is answered 422 in FastAPI's own shape, naming where the bad text is;
anything else (including malformed JSON, which FastAPI reports itself) passes through
unchanged. The body is already size-bounded by ``BodyLimitMiddleware`` (outside this one).
"""

from __future__ import annotations

import json
from email.message import Message as MimeMessage
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.http_guards import UPLOAD_PATH, BodyTooLarge

MAX_DEPTH = 32
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class BadJson(ValueError):
    """The body is JSON no route can use; ``error`` is one FastAPI-style error entry."""

    def __init__(self, kind: str, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.error = {"type": kind, "loc": ["body", *loc], "msg": msg}


def is_json(content_type: bytes | None) -> bool:
    """True when FastAPI would parse a body of this type as JSON (no type counts)."""
    if not content_type:
        return True
    mime = MimeMessage()
    mime["content-type"] = content_type.decode("latin-1")
    subtype = mime.get_content_subtype()
    return mime.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_value(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`BadJson` for a lone surrogate anywhere, or nesting past ``max_depth``."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, loc = stack.pop()
        if len(loc) > max_depth:
            raise BadJson("json_invalid", [], f"JSON nested deeper than {max_depth}")
        if isinstance(item, str):
            if _has_surrogate(item):
                raise BadJson(
                    "string_unicode", loc,
                    "text is not valid Unicode: it contains a lone UTF-16 surrogate "
                    "(a \\ud800–\\udfff escape that is not half of a pair)",
                )  # fmt: skip
        elif isinstance(item, dict):
            for key, child in item.items():
                if _has_surrogate(key):
                    raise BadJson("string_unicode", loc, "a key is not valid Unicode text")
                stack.append((child, [*loc, key]))
        elif isinstance(item, list):
            stack.extend((child, [*loc, i]) for i, child in enumerate(item))


def check_body(body: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`BadJson` when ``body`` is JSON no route can use; malformed JSON passes
    (FastAPI reports it with the position)."""
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return
    except UnicodeDecodeError as exc:
        raise BadJson("json_invalid", [], f"the body is not UTF-8 text: {exc.reason}") from exc
    except RecursionError as exc:
        raise BadJson("json_invalid", [], f"JSON nested deeper than {max_depth}") from exc
    check_value(value, max_depth)


class JsonGuardMiddleware:
    """Reads a JSON request body, checks it with :func:`check_body`, then replays it."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_DEPTH) -> None:
        self.app, self.max_depth = app, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or scope["path"] == UPLOAD_PATH
            or not is_json(dict(scope["headers"]).get(b"content-type"))
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away before sending the body
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except BodyTooLarge as exc:
            await JSONResponse(
                {"detail": exc.detail}, status_code=413, headers={"Connection": "close"}
            )(scope, receive, send)
            return
        body = b"".join(chunks)
        try:
            if body:
                check_body(body, self.max_depth)
        except BadJson as exc:
            await JSONResponse({"detail": [exc.error]}, status_code=422)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
