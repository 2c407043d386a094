"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.auth import require_key
from app.api.schemas import Health, Readiness
from app.api.state import State

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Still loading, or a load failed."}},
    summary="Models and index are loaded",
)
async def readyz(state: State) -> JSONResponse:
    with state.warm_lock:
        components = dict(state.warm_status)
    worker = state.worker.stats() if state.worker else {}
    ready = bool(components) and all(v == "ready" for v in components.values())
    if state.worker is not None and worker.get("threads", 0) == 0:
        ready = False
    body = Readiness(ready=ready, components=components, worker=worker)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    dependencies=[Depends(require_key)],
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}},
        401: {"description": "Missing or invalid API key."},
    },
    summary="Prometheus metrics",
)
def metrics(state: State) -> Response:
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
