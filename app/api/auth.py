"""Bearer-key authentication (on when ``CHRONORAG_API_KEY`` is set).

Routes with data require ``Authorization: Bearer <key>``. Browsers cannot add that
header to ``<video src>`` or ``<audio src>``, so for GET requests only the key is also
accepted from the ``chronorag_key`` cookie, which the web page sets for its own origin
(SameSite=Strict, so other sites cannot ride on it).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.state import State

COOKIE = "chronorag_key"
_bearer = HTTPBearer(auto_error=False, description="The service's CHRONORAG_API_KEY.")


def _digest(key: str) -> bytes:
    # compared as fixed-size digests: the time taken reveals neither the key nor its length
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


async def require_key(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Dependency: 401 unless the request carries the configured key (no-op without one)."""
    expected = state.settings.api_key
    if expected is None or not expected.get_secret_value():
        return
    given = credentials.credentials if credentials else None
    if given is None and request.method in ("GET", "HEAD"):
        given = request.cookies.get(COOKIE)
    wanted = _digest(expected.get_secret_value())
    if given is None or not hmac.compare_digest(_digest(given), wanted):
        raise HTTPException(
            status_code=401,
            detail="missing or invalid API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
