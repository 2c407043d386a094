"""The OpenAPI schema (``/openapi.json``) and its interactive docs (``/docs``), behind the
API key like the data routes. A browser that has entered the key on the web page sends it
as the same-site cookie, so ``/docs`` opens there without further setup.

Swagger UI's script and stylesheet come from the ``fastapi-offline`` package and are
served by the service itself (FastAPI's default loads them from a CDN, which fails
offline).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from app.api.auth import require_key

ASSETS_URL = "/docs/assets"
_ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
# served name → media type; nothing else under the package folder is reachable
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


def docs_router(app: FastAPI) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_key)])

    @router.get("/openapi.json")
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # no calls to swagger.io
        )

    @router.get(ASSETS_URL + "/{name}")
    def asset(name: Annotated[str, PathParam(max_length=64)]) -> FileResponse:
        if name not in _ASSETS:
            raise HTTPException(404, "no such docs asset")
        return FileResponse(_ASSETS_DIR / name, media_type=_ASSETS[name])

    return router
