"""422s in FastAPI's own shape (``{"detail": [{"loc", "msg", "type"}]}``), so checks made
in code look exactly like schema validation errors to clients and to the OpenAPI schema.

The handler differs from FastAPI's default in that it is safe for any input it echoes
back: NaN and Infinity (``json.loads`` accepts both) become text, text with a lone UTF-16
surrogate or bytes that are not UTF-8 are shown with backslash escapes, and long or deeply
nested inputs are shortened — the default handler fails with a 500 on the first three
while reporting the client's mistake.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

MAX_ECHO_CHARS = 500
MAX_ECHO_DEPTH = 6
MAX_ECHO_ITEMS = 50


def invalid(where: str, field: str, message: str, value: Any = None) -> NoReturn:
    raise RequestValidationError(
        [{"type": "value_error", "loc": (where, field), "msg": message, "input": value}]
    )


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value if len(value) <= MAX_ECHO_CHARS else value[:MAX_ECHO_CHARS] + "…"


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` with everything JSON (as UTF-8) cannot carry made printable, and shortened."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes | bytearray):
        return _text(bytes(value[: MAX_ECHO_CHARS * 4]).decode("utf-8", "backslashreplace"))
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ECHO_ITEMS]
        return {json_safe(k, depth + 1): json_safe(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in list(value)[:MAX_ECHO_ITEMS]]
    return value


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 response, safe for any input."""
    # made safe before encoding too: jsonable_encoder fails on bytes that are not UTF-8
    detail = json_safe(jsonable_encoder(json_safe(list(exc.errors()))))
    return JSONResponse(status_code=422, content={"detail": detail})
