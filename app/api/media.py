"""Media routes: upload (streamed), list, get, delete, and the original file (Range-capable)."""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.requests import ClientDisconnect

from app.api.limits import RETRY_AFTER_S, Busy
from app.api.lookup import MediaId, get_record
from app.api.media_files import extension_for, media_type_for
from app.api.schemas import Deleted, MediaList, MediaOut, UploadAccepted
from app.api.state import ServiceState, State
from app.api.uploads import ReceivedUpload, UploadError, receive_upload, upload_openapi
from app.lifecycle import Busy as Indexing
from app.lifecycle.records import MediaState
from ingestion.diarize import MAX_SPEAKERS, MIN_SPEAKERS

log = logging.getLogger("chronorag.api")
router = APIRouter(tags=["media"])
_admit_lock = threading.Lock()

_UPLOAD_SCHEMA = upload_openapi(
    {
        "400": "Malformed multipart body.",
        "408": "The upload stalled.",
        "413": "Larger than CHRONORAG_MAX_UPLOAD_MB.",
        "415": "Not multipart, or not an audio/video file.",
        "422": "Empty file, missing 'file' field, bad recorded_at or speakers.",
        "503": "Too many uploads in progress; retry after Retry-After.",
    },
    {
        "title": {"type": "string", "maxLength": 200},
        "recorded_at": {
            "type": "string",
            "format": "date-time",
            "description": "Wall-clock start of the recording (ISO 8601).",
        },
        "speakers": {
            "type": "integer",
            "minimum": MIN_SPEAKERS,
            "maximum": MAX_SPEAKERS,
            "description": "How many people speak, when known (as `chronorag ingest "
            "--speakers N`); otherwise diarization finds the count.",
        },
    },
)


def to_out(record: Any, job_id: str | None) -> MediaOut:
    data = record.model_dump(include=set(MediaState.model_fields))  # never path or sha256
    data["file_url"] = f"/v1/media/{record.media_id}/file"
    data["job_id"] = job_id
    return MediaOut(**data)


def _clean_title(raw: str) -> str:
    text = "".join(c for c in raw if unicodedata.category(c)[0] != "C" or c == " ").strip()
    return text[:200]


def _parse_recorded_at(raw: str | None) -> datetime | None:
    if not raw or not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UploadError(422, f"recorded_at is not an ISO 8601 date-time: {raw!r}") from exc


def _parse_speakers(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not MIN_SPEAKERS <= int(text) <= MAX_SPEAKERS:
        raise UploadError(
            422,
            f"speakers must be a whole number from {MIN_SPEAKERS} to {MAX_SPEAKERS}: {raw[:40]!r}",
        )
    return int(text)


def _looks_like_text(path: Path, size: int = 4096) -> bool:
    """True when the file starts like text. No audio/video container does, but playlists
    do (HLS, ffconcat), and some ffmpeg builds detect those in a file of any name and
    then read the local files they list: such uploads never reach ffmpeg at all."""
    with path.open("rb") as f:
        head = f.read(size)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end
            return False
    return all(b >= 0x20 or b in b"\t\n\r\f" for b in head)


def _admit(state: ServiceState, upload: ReceivedUpload) -> UploadAccepted:
    """Check the upload by content, store it under its id and queue a job (blocking)."""
    from ingestion.errors import MediaError
    from ingestion.probe import probe

    if upload.size == 0:
        raise UploadError(422, "the uploaded file is empty")
    recorded_at = _parse_recorded_at(upload.fields.get("recorded_at"))
    speakers = _parse_speakers(upload.fields.get("speakers"))
    title = _clean_title(upload.fields.get("title", "")) or Path(upload.filename).stem or "upload"
    if _looks_like_text(upload.path):
        raise UploadError(415, "not a usable audio or video file: it is text")
    try:
        info = probe(upload.path)
    except MediaError as exc:
        raise UploadError(415, f"not a usable audio or video file: {exc.reason}") from exc
    except Exception as exc:  # a probe crash on hostile bytes is still the client's bad file
        log.warning("probe failed on an upload: %r", exc)
        raise UploadError(415, f"not a usable audio or video file: {exc}") from exc

    lifecycle = state.container.lifecycle
    media_id = upload.sha256[:16]
    with _admit_lock:
        existing = lifecycle.store.get_media(media_id)
        job_id = lifecycle.current_job(existing) if existing is not None else None
        if job_id is not None:  # known, and queued, running or ready
            return UploadAccepted(media_id=media_id, job_id=job_id)
        name = f"{media_id}{extension_for(info.format_name, info.has_video)}"
        final = state.settings.media_dir / name
        os.replace(upload.path, final)
        try:
            job = lifecycle.queue(
                media_id,
                title=title,
                path=final,
                sha256=upload.sha256,
                recorded_at=recorded_at,
                kind=info.kind,
                duration_s=info.duration_s,
                speakers=speakers,
            )
        except Indexing as exc:  # the CLI is indexing the same file right now
            final.unlink(missing_ok=True)
            raise UploadError(409, str(exc)) from exc
    if state.worker is not None:
        state.worker.wake()
    return UploadAccepted(media_id=media_id, job_id=job.job_id)


@router.post(
    "/v1/media",
    status_code=202,
    response_model=UploadAccepted,
    openapi_extra=_UPLOAD_SCHEMA,
    summary="Upload a video or audio file and queue it for indexing",
)
async def upload_media(request: Request, state: State) -> Any:
    try:
        with state.upload_admission.admit():  # each upload may fill disk up to the limit
            return await _receive_and_admit(request, state)
    except Busy as exc:
        return JSONResponse(
            {"detail": str(exc)},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S), "Connection": "close"},
        )


async def _receive_and_admit(request: Request, state: ServiceState) -> JSONResponse:
    settings = state.settings
    try:
        upload = await receive_upload(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            dest_dir=settings.media_dir,
            max_bytes=settings.max_upload_mb * 2**20,
            idle_timeout_s=state.upload_idle_timeout_s,
        )
    except UploadError as exc:
        # the rest of the body is not read: close the connection rather than drain it
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers={"Connection": "close"}
        )
    except ClientDisconnect:
        return JSONResponse({"detail": "the client went away"}, status_code=400)
    try:
        accepted = await anyio.to_thread.run_sync(_admit, state, upload)
    except UploadError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    finally:
        upload.path.unlink(missing_ok=True)  # gone already when it was stored
    return JSONResponse(accepted.model_dump(), status_code=202)


@router.get("/v1/media", response_model=MediaList, summary="List media and their status")
def list_media(state: State) -> MediaList:
    lifecycle = state.container.lifecycle
    records = lifecycle.list_media()  # recovers interrupted ingestions first
    jobs = lifecycle.store.latest_job_ids()
    return MediaList(media=[to_out(r, jobs.get(r.media_id)) for r in records])


@router.get(
    "/v1/media/{media_id}",
    response_model=MediaOut,
    responses={404: {"description": "Unknown media."}},
    summary="One media item",
)
def get_media(media_id: MediaId, state: State) -> MediaOut:
    return to_out(get_record(state, media_id), state.container.registry.latest_job_id(media_id))


@router.delete(
    "/v1/media/{media_id}",
    response_model=Deleted,
    responses={404: {"description": "Unknown media."}, 409: {"description": "Indexing."}},
    summary="Delete a media item, its index points and its files",
)
def delete_media(media_id: MediaId, state: State) -> Deleted:
    get_record(state, media_id)  # 404 when unknown
    try:
        deleted = state.container.lifecycle.delete(media_id)
    except Indexing as exc:
        raise HTTPException(409, str(exc)) from exc
    if not deleted:  # deleted meanwhile
        raise HTTPException(404, f"no media with id {media_id!r}")
    return Deleted(media_id=media_id)


@router.get(
    "/v1/media/{media_id}/file",
    response_class=FileResponse,
    responses={
        200: {"description": "The original media (HTTP Range supported)."},
        206: {"description": "A byte range of the original media."},
        404: {"description": "Unknown media."},
    },
    summary="The original media, streamable with Range requests",
)
def media_file(media_id: MediaId, state: State) -> FileResponse:
    record = get_record(state, media_id)
    path = Path(record.path)
    if not path.is_file():
        raise HTTPException(404, "the media file is no longer on disk")
    return FileResponse(path, media_type=media_type_for(path), content_disposition_type="inline")
