"""The MCP server (``app/mcp_server.py``) over streamable HTTP at ``/mcp``, behind the key.

The SDK's session manager runs inside the service's lifespan (``running``); the route
checks the API key with the same dependency every other route uses before the SDK
sees the request. Stateless: any replica can answer any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.auth import require_key
from app.api.state import ServiceState
from app.mcp_server import build_server

PATH = "/mcp"
_bearer = HTTPBearer(auto_error=False)


class _KeyGuard:
    """401 (as every other protected route answers) unless the request has the key."""

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            await require_key(request, self.state, await _bearer(request))
        except HTTPException as exc:
            response = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _security(state: ServiceState) -> TransportSecuritySettings:
    """With an API key the key is the protection; without one, only local (and the
    public URL's) Host/Origin headers are accepted: a web page cannot rebind to it."""
    if state.settings.api_key is not None and state.settings.api_key.get_secret_value():
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    public = urlsplit(state.settings.public_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if public.netloc:
        hosts.append(public.netloc)
        origins.append(f"{public.scheme}://{public.netloc}")
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


class McpMount:
    """The ``/mcp`` route and the session manager's lifetime for one service."""

    def __init__(self, state: ServiceState) -> None:
        server = build_server(state.container)
        server.streamable_http_app(
            streamable_http_path=PATH, stateless_http=True, transport_security=_security(state)
        )  # builds the session manager; its own Starlette app is not used
        self._manager = server.session_manager
        self.route = Route(PATH, endpoint=_KeyGuard(StreamableHTTPASGIApp(self._manager), state))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self._manager.run():
            yield
