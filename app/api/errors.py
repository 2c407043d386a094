"""422s in FastAPI's own shape (``{"detail": [{"loc", "msg", "type"}]}``), so checks made
in code look exactly like schema validation errors to clients and to the OpenAPI schema."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi.exceptions import RequestValidationError


def invalid(where: str, field: str, message: str, value: Any = None) -> NoReturn:
    raise RequestValidationError(
        [{"type": "value_error", "loc": (where, field), "msg": message, "input": value}]
    )
