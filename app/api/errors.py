"""422s in FastAPI's own shape (``{"detail": [{"loc", "msg", "type"}]}``), so checks made
in code look exactly like schema validation errors to clients and to the OpenAPI schema.

The handler differs from FastAPI's default in one way: an offending input of NaN or
Infinity (``json.loads`` accepts both) is echoed as text, since JSON cannot carry it and
the default handler would fail with a 500 while reporting the client's mistake.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def invalid(where: str, field: str, message: str, value: Any = None) -> NoReturn:
    raise RequestValidationError(
        [{"type": "value_error", "loc": (where, field), "msg": message, "input": value}]
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 response, safe for any input."""
    return JSONResponse(
        status_code=422, content={"detail": _json_safe(jsonable_encoder(exc.errors()))}
    )
