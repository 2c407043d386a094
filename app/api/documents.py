"""``POST /v1/media/{id}/documents``: attach a companion document (PDF, DOCX, Markdown,
text) to an indexed media item. The upload streams to disk under its own limit
(``CHRONORAG_MAX_DOCUMENT_MB``) with a server-chosen name, is checked by content and
read by ``app.documents.attach``; a refused document leaves nothing behind."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from app.api.errors import invalid
from app.api.lookup import MediaId, get_record
from app.api.state import State
from app.api.uploads import FILE_FIELD, UploadError, receive_upload, upload_openapi
from app.documents import NotAttachable, attach
from ingestion.documents import DocumentError

router = APIRouter(tags=["media"])


class DocumentOut(BaseModel):
    media_id: str
    name: str
    pages: int | None
    chunks: int


_SCHEMA = upload_openapi({
    "404": "Unknown media.",
    "409": "The media is not indexed yet.",
    "413": "Larger than CHRONORAG_MAX_DOCUMENT_MB.",
    "415": "Not multipart.",
    "422": "Not a readable PDF/DOCX/Markdown/text file, encrypted, too many pages or no text.",
})


@router.post(
    "/v1/media/{media_id}/documents",
    status_code=201,
    response_model=DocumentOut,
    openapi_extra=_SCHEMA,
    summary="Attach a companion document (slides, agenda, notes) to a media item",
)
async def attach_document(media_id: MediaId, request: Request, state: State) -> Any:
    settings = state.settings
    record = get_record(state, media_id)
    if record.status != "ready":
        raise HTTPException(409, f"the media is not indexed yet (status: {record.status})")
    try:
        upload = await receive_upload(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            dest_dir=settings.data_dir / "incoming-documents",
            max_bytes=settings.max_document_mb * 2**20,
            idle_timeout_s=state.upload_idle_timeout_s,
        )
    except UploadError as exc:
        if exc.status_code == 422:  # a validation error like FastAPI's own (the schema's)
            invalid("body", FILE_FIELD, exc.detail)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers={"Connection": "close"}
        )
    except ClientDisconnect:
        return JSONResponse({"detail": "the client went away"}, status_code=400)
    try:
        files = [(upload.path, upload.filename)]
        (done,) = await anyio.to_thread.run_sync(attach, state.container, media_id, files)
    except DocumentError as exc:
        invalid("body", FILE_FIELD, str(exc), upload.filename)
    except NotAttachable as exc:
        raise HTTPException(409, str(exc)) from None
    finally:
        upload.path.unlink(missing_ok=True)
    return DocumentOut(media_id=media_id, name=done.name, pages=done.pages, chunks=done.chunks)
