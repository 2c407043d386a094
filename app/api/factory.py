"""Builds the FastAPI service: routes, auth, CORS, metrics, the ingestion worker, the page."""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.routing import compile_path

from app.api import ask, clips, failures, health, jobs, media, openai_compat, search, transcripts
from app.api import chapters as media_chapters
from app.api import documents as media_documents
from app.api.agent_bridge import AskRunner
from app.api.auth import require_key
from app.api.docs import docs_router
from app.api.errors import validation_error
from app.api.http_guards import BodyLimitMiddleware, SecurityHeadersMiddleware
from app.api.json_guard import JsonGuardMiddleware
from app.api.limits import RETRY_AFTER_S, Admission, Busy
from app.api.mcp_mount import McpMount
from app.api.metrics import Metrics, MetricsMiddleware
from app.api.state import ServiceState
from app.api.threads import ThreadMap
from app.api.upload_guard import UploadGuardMiddleware, UploadLimits
from app.api.web import mount_web
from app.config import Settings
from app.container import Container
from app.worker import IngestWorker

log = logging.getLogger("chronorag.api")

# what can be loaded ahead of the first request, and how (each name becomes a readyz entry)
_WARMERS = {
    "index": lambda c: c.search,
    "ingestor": lambda c: c.ingestor,
    "agent": lambda c: c.agent,
    "speaker": lambda c: c.speaker,
}


_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request body."},
    401: {"description": "Missing or invalid API key (when CHRONORAG_API_KEY is set)."},
}


def _methods_by_path(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """(path regex, methods) of every documented operation, built once."""
    cached = getattr(app.state, "methods_by_path", None)
    if cached is None:
        cached = [
            (compile_path(template)[0], {m.upper() for m in operations})
            for template, operations in app.openapi()["paths"].items()
        ]
        app.state.methods_by_path = cached
    return cached


def _warm(state: ServiceState, names: Sequence[str]) -> None:
    for name in names:
        try:
            _WARMERS[name](state.container)
            status = "ready"
        except Exception as exc:  # reported by /readyz; the service itself keeps running
            log.exception("could not load %s", name)
            status = f"failed: {exc}"
        with state.warm_lock:
            state.warm_status[name] = status


def upload_limits(settings: Settings) -> UploadLimits:
    return UploadLimits(
        max_concurrent=settings.upload_max_concurrent,
        max_per_client=settings.upload_max_per_client,
        deadline_s=settings.upload_deadline_s,
        min_bytes_per_s=settings.upload_min_kib_per_s * 1024,
        window_s=settings.upload_rate_window_s,
        drain_bytes=settings.upload_refusal_drain_mb * 2**20,
        disk=settings.media_dir,
        min_free_bytes=settings.min_free_disk_mb * 2**20,
        max_upload_bytes=settings.max_upload_mb * 2**20,
    )


def create_app(
    settings: Settings | None = None,
    *,
    container: Container | None = None,
    run_worker: bool = True,
    warm: Sequence[str] = ("index",),
    upload_idle_timeout_s: float | None = None,
    max_concurrent_asks: int = 4,
    max_body_bytes: int = 4 * 2**20,
) -> FastAPI:
    """The ChronoRAG service. ``warm`` names what to load at start (index, ingestor,
    agent, speaker); everything else loads on first use. ``run_worker=False`` leaves
    ingestion to a separate ``chronorag worker`` (Qdrant server deployments).
    ``max_body_bytes`` bounds JSON request bodies (uploads have CHRONORAG_MAX_UPLOAD_MB);
    upload slots and pace come from the ``upload_*`` settings."""
    unknown = set(warm) - set(_WARMERS)
    if unknown:
        raise ValueError(f"unknown warm-up targets: {sorted(unknown)}")
    owns_container = container is None
    container = container or Container(settings or Settings())
    settings = container.settings
    metrics = Metrics(lambda: container.registry)
    state = ServiceState(
        container=container,
        metrics=metrics,
        threads=ThreadMap(settings.data_dir / "openai_threads.sqlite3"),
        upload_idle_timeout_s=upload_idle_timeout_s or settings.upload_idle_timeout_s,
        # the guard middleware admits first; this bound only has to agree with it
        upload_admission=Admission("uploads", settings.upload_max_concurrent),
    )
    state.warm_status = {name: "loading" for name in warm}
    if run_worker:
        state.worker = IngestWorker(container, on_finished=metrics.job_finished)
    mcp_http = McpMount(state)  # MCP over streamable HTTP at /mcp, behind the key

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for folder in (settings.media_dir, settings.answers_dir):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(state.clips_dir, ignore_errors=True)  # clips a crash left behind
        if state.worker is not None:
            await anyio.to_thread.run_sync(state.worker.start)
        threading.Thread(
            target=_warm, args=(state, list(warm)), name="chronorag-warm", daemon=True
        ).start()
        try:
            async with mcp_http.running():
                yield
        finally:
            if state.worker is not None:
                await anyio.to_thread.run_sync(state.worker.stop)
            state.threads.close()
            if owns_container:
                await anyio.to_thread.run_sync(container.close)

    app = FastAPI(
        title="ChronoRAG",
        version="0.1.0",
        summary="Ask questions about recorded video and meetings; answers cite the moments.",
        lifespan=lifespan,
        openapi_url=None,  # served by app.api.docs, behind the key
        docs_url=None,
        redoc_url=None,
    )
    app.state.chronorag = state
    app.state.ask_runner = AskRunner(state, max_concurrent_asks)

    app.include_router(health.router)
    app.include_router(docs_router(app))
    protected = [Depends(require_key)]
    for module in (media, transcripts, clips, jobs, search, ask, openai_compat, media_documents):
        app.include_router(module.router, dependencies=protected, responses=_COMMON_ERRORS)
    app.include_router(media_chapters.router, dependencies=protected, responses=_COMMON_ERRORS)
    app.router.routes.append(mcp_http.route)

    from ingestion.errors import MediaError

    @app.exception_handler(405)
    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        # Starlette names only the first route whose path matched; list every method
        # the path supports (e.g. GET and POST /v1/media are two routes)
        path = request.url.path
        allowed = sorted(
            {m for regex, methods in _methods_by_path(app) if regex.match(path) for m in methods}
        )
        return JSONResponse(
            {"detail": "Method Not Allowed"},
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )

    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    failures.install(app)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
        )

    @app.exception_handler(MediaError)
    async def media_error(request: Request, exc: MediaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept", "Range"],
            expose_headers=["Content-Range", "Accept-Ranges", "Content-Length"],
        )
    app.add_middleware(JsonGuardMiddleware)  # inside the body limit: reads a bounded body
    app.add_middleware(UploadGuardMiddleware, limits=upload_limits(settings))
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    mount_web(app)
    return app
