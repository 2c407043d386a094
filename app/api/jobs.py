"""Job status route: where an upload is in the ingestion pipeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam

from app.api.schemas import JobOut
from app.api.state import State

router = APIRouter(tags=["jobs"])


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    responses={404: {"description": "Unknown job."}},
    summary="Status, stage and progress of an ingestion job",
)
def get_job(
    job_id: Annotated[str, PathParam(min_length=1, max_length=64)],
    state: State,
) -> JobOut:
    job = state.container.registry.get_job(job_id)
    if job is None:
        raise HTTPException(404, f"no job with id {job_id!r}")
    return JobOut(**job.model_dump(include=set(JobOut.model_fields)))
