"""Hybrid, time-filtered search over the indexed media (same hits as the CLI)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from app.api.errors import invalid
from app.api.schemas import SearchIn, SearchOut
from app.api.state import State
from vectorstore.schema import SearchRequest

router = APIRouter(tags=["search"])


@router.post("/v1/search", response_model=SearchOut, summary="Search what was said and shown")
async def search(body: SearchIn, state: State) -> SearchOut:
    if body.start_s is not None and body.end_s is not None and body.end_s < body.start_s:
        invalid("body", "end_s", "end_s must not be before start_s", body.end_s)
    if not body.query.strip():
        invalid("body", "query", "query must not be blank", body.query)
    if body.speaker is not None and not body.speaker.strip():
        invalid("body", "speaker", "speaker must not be blank", body.speaker)
    req = SearchRequest(**body.model_dump())
    found = await anyio.to_thread.run_sync(state.container.speaker_search.find, req)
    return SearchOut(hits=found.hits, query=found.query, speaker=found.speaker)
