"""``GET /v1/media/{id}/chapters``: the item's chapters with their times.

Made once by the summariser (an LLM pass) and stored beside the transcript
(:mod:`app.chapters`); later requests read the stored list. A model failure is a 503
with its reason (:mod:`app.api.failures`); too many lists being made at once, 503 +
``Retry-After``.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from app import chapters as item_chapters
from app.api.lookup import MediaId, get_ready_record
from app.api.state import State
from graphs.summarize import Chapter

router = APIRouter(tags=["media"])


class ChaptersOut(BaseModel):
    media_id: str
    chapters: list[Chapter]


@router.get(
    "/v1/media/{media_id}/chapters",
    response_model=ChaptersOut,
    responses={
        404: {"description": "Unknown media."},
        409: {"description": "Not indexed yet."},
        503: {"description": "The chat model failed, or too many chapter lists are being made."},
    },
    summary="Chapters (title, start and end) of a media item; made once, then stored",
)
async def chapters(media_id: MediaId, state: State) -> ChaptersOut:
    get_ready_record(state, media_id)
    with state.chapter_admission.admit():
        try:
            found = await anyio.to_thread.run_sync(
                item_chapters.chapters, state.container, media_id
            )
        except item_chapters.NotReady:  # deleted or re-indexing since the check above
            raise HTTPException(409, "the media is not indexed (any more)") from None
    return ChaptersOut(media_id=media_id, chapters=found)
