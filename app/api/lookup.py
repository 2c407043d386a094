"""Looking up a media item named in a URL path (shared by the media, transcript and clip routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException
from fastapi import Path as PathParam

from app.api.state import ServiceState
from app.lifecycle.records import MediaRecord

MediaId = Annotated[
    str, PathParam(min_length=1, max_length=64, description="The media id (16 hex).")
]


def get_record(state: ServiceState, media_id: str) -> MediaRecord:
    """The registry record of ``media_id``, or a 404."""
    record = state.container.registry.get_media(media_id)
    if record is None:
        raise HTTPException(404, f"no media with id {media_id!r}")
    return record


def get_ready_record(state: ServiceState, media_id: str) -> MediaRecord:
    """The record of an indexed (``ready``) item: a 404 when unknown, a 409 until ready."""
    record = get_record(state, media_id)
    if record.status != "ready":
        raise HTTPException(409, f"the media is not indexed yet (status: {record.status})")
    return record
