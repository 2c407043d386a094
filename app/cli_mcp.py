"""``chronorag mcp``: the MCP server (``app/mcp_server.py``) over stdio, for assistants
and IDEs that launch their tools as subprocesses (Claude Desktop, VS Code, Cursor…)."""

from __future__ import annotations

import typer

from app.config import Settings
from app.container import Container


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp() -> None:
        """Serve the MCP tools (search, ask, transcript, list_media, summarize) on stdio."""
        from app.mcp_server import build_server

        container = Container(Settings())
        try:
            build_server(container).run("stdio")
        finally:
            container.close()
