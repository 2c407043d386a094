"""Serves the single-page web UI (``app/web``): ``/`` is the page, ``/static/`` its files.

No build step: plain HTML, JS and CSS. The page itself holds no data, so it is public;
everything it shows comes from the (key-protected) API. Its Content-Security-Policy
allows only the service's own scripts, styles and media — no inline script — so text
from recordings could not run even if a bug ever put it into the page as markup.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def mount_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(
            WEB_DIR / "index.html",
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": PAGE_CSP},
        )
