"""A media item's stored transcript (JSON, SRT, WebVTT, text) and its speakers.

- ``GET /v1/media/{id}/transcript?format=json|srt|vtt|txt&start_s=&end_s=`` — Whisper's
  words with their real times, in segments with speakers (their current names).
- ``GET /v1/media/{id}/speakers`` — speakers, speaking time and proposed names.
- ``PATCH /v1/media/{id}/speakers`` ``{"names": {"S2": "Chiara"}}`` — name speakers
  (the transcript and the indexed chunks; nothing is transcribed again).
Formats and renaming live in :mod:`app.transcripts` (shared with the CLI).
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

from app import transcripts
from app.api.errors import invalid
from app.api.lookup import MediaId, get_ready_record
from app.api.schemas import SpeakersIn, SpeakersOut, TranscriptOut
from app.api.state import ServiceState, State
from ingestion.transcript_store import MediaTranscript

router = APIRouter(tags=["media"])


def _stored(state: ServiceState, media_id: str) -> tuple[str, MediaTranscript]:
    record = get_ready_record(state, media_id)
    try:
        return record.title, transcripts.load(state.container, media_id)
    except transcripts.TranscriptMissing as exc:
        raise HTTPException(404, str(exc)) from None


@router.get(
    "/v1/media/{media_id}/transcript",
    response_model=TranscriptOut,
    responses={
        200: {"content": {"application/x-subrip": {}, "text/vtt": {}, "text/plain": {}}},
        404: {"description": "Unknown media, or no stored transcript."},
        409: {"description": "Not indexed yet."},
    },
    summary="The transcript (words, times, speakers) as JSON, SRT, WebVTT or text",
)
async def transcript(
    media_id: MediaId,
    state: State,
    format: Annotated[Literal["json", "srt", "vtt", "txt"], Query()] = "json",
    start_s: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    end_s: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
) -> object:
    if start_s is not None and end_s is not None and end_s < start_s:
        invalid("query", "end_s", "end_s must not be before start_s", end_s)
    title, doc = await anyio.to_thread.run_sync(_stored, state, media_id)
    doc = doc.named().between(start_s, end_s)
    if format != "json":
        return PlainTextResponse(
            transcripts.export(doc, format), media_type=transcripts.MEDIA_TYPES[format]
        )
    return TranscriptOut(
        media_id=media_id, title=title, language=doc.language, segments=doc.segments
    )


@router.get(
    "/v1/media/{media_id}/speakers",
    response_model=SpeakersOut,
    responses={404: {"description": "Unknown media."}, 409: {"description": "Not indexed yet."}},
    summary="The speakers of a media item, with proposed names",
)
async def speakers(media_id: MediaId, state: State) -> SpeakersOut:
    _, doc = await anyio.to_thread.run_sync(_stored, state, media_id)
    return SpeakersOut(media_id=media_id, speakers=transcripts.speakers(doc))


@router.patch(
    "/v1/media/{media_id}/speakers",
    response_model=SpeakersOut,
    responses={404: {"description": "Unknown media."}, 409: {"description": "Not indexed yet."}},
    summary="Name speakers (by id or current name); updates the index, never re-transcribes",
)
async def rename_speakers(media_id: MediaId, body: SpeakersIn, state: State) -> SpeakersOut:
    def work() -> MediaTranscript:
        _stored(state, media_id)
        return transcripts.rename(state.container, media_id, body.names)

    try:
        doc = await anyio.to_thread.run_sync(work)
    except transcripts.BadRename as exc:
        invalid("body", "names", str(exc), body.names)
    return SpeakersOut(media_id=media_id, speakers=transcripts.speakers(doc))
