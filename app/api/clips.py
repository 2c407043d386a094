"""Cuts a span out of a media item with ffmpeg: an MP4 for video, an M4A for audio.

Encodes are CPU-heavy: a few run at once (the rest wait in the event loop, and beyond
``Admission`` capacity the route answers 503), and ffmpeg is killed when the client
disconnects or the encode overruns ``TIMEOUT_S`` — no orphaned encoders.
"""

from __future__ import annotations

import logging
import subprocess
import uuid
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from app.api.errors import invalid
from app.api.limits import ClientGone, unless_disconnected
from app.api.lookup import MediaId, get_record
from app.api.state import State

log = logging.getLogger("chronorag.api")
router = APIRouter(tags=["media"])
MAX_CLIP_S = 600.0
TIMEOUT_S = 600.0


class ClipError(RuntimeError):
    """ffmpeg could not cut the span (its stderr is logged, not sent to the client)."""


def cut_command(source: Path, out: Path, start_s: float, end_s: float, *, video: bool) -> list[str]:
    """The ffmpeg command for an exact, browser-playable cut (re-encoded)."""
    codec = (
        ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "26", "-pix_fmt", "yuv420p"]
        if video
        else ["-map", "0:a:0", "-vn"]
    )  # fmt: skip
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        # the file: protocol, so no stored name is ever read as another protocol or option
        "-ss", f"{start_s:.3f}", "-i", f"file:{source.resolve()}", "-t", f"{end_s - start_s:.3f}",
        *codec, "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", f"file:{out}",
    ]  # fmt: skip


async def cut(
    source: Path,
    out_dir: Path,
    start_s: float,
    end_s: float,
    *,
    video: bool,
    slots: anyio.CapacityLimiter,
) -> Path:
    """Encode the span into a new file under ``out_dir`` (removed again on any failure)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"clip-{uuid.uuid4().hex}{'.mp4' if video else '.m4a'}"
    cmd = cut_command(source, out, start_s, end_s, video=video)
    try:
        async with slots:
            with anyio.fail_after(TIMEOUT_S):
                proc = await anyio.run_process(cmd, stdout=subprocess.DEVNULL, check=False)
    except TimeoutError as exc:
        out.unlink(missing_ok=True)
        raise ClipError(f"the clip took longer than {TIMEOUT_S:g} s to encode") from exc
    except BaseException:  # cancelled (client gone): anyio has killed ffmpeg
        out.unlink(missing_ok=True)
        raise
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        out.unlink(missing_ok=True)
        log.warning("ffmpeg could not cut %s: %s", source, proc.stderr.decode()[-500:])
        raise ClipError("ffmpeg could not cut that span of the media")
    return out


@router.get(
    "/v1/media/{media_id}/clip",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}, "audio/mp4": {}}, "description": "The clip."},
        404: {"description": "Unknown media."},
        422: {"description": "Bad span."},
        503: {"description": "Too many clips being encoded; retry after Retry-After."},
    },
    summary="An MP4 (or M4A) cut of a time span",
)
async def clip(
    media_id: MediaId,
    start_s: Annotated[float, Query(ge=0, le=1e7)],
    end_s: Annotated[float, Query(gt=0, le=1e7)],
    request: Request,
    state: State,
) -> Response:
    record = get_record(state, media_id)
    if end_s <= start_s:
        invalid("query", "end_s", "end_s must be greater than start_s", end_s)
    if end_s - start_s > MAX_CLIP_S:
        invalid("query", "end_s", f"a clip is at most {MAX_CLIP_S:g} s long", end_s)
    if record.duration_s is not None and start_s >= record.duration_s:
        invalid("query", "start_s", f"past the end of the media ({record.duration_s:g} s)", start_s)
    source = Path(record.path)
    if not source.is_file():
        raise HTTPException(404, "the media file is no longer on disk")
    video = record.kind != "audio"
    with state.clip_admission.admit():
        try:
            out = await unless_disconnected(
                request,
                lambda: cut(
                    source, state.clips_dir, start_s, end_s, video=video, slots=state.clip_slots
                ),
            )
        except ClientGone:
            return Response(status_code=499)  # nobody is listening; nginx's "client closed"
        except ClipError as exc:
            invalid("query", "start_s", str(exc), start_s)
    return FileResponse(
        out,
        media_type="video/mp4" if video else "audio/mp4",
        filename=f"{media_id}-{start_s:.0f}-{end_s:.0f}{out.suffix}",
        background=BackgroundTask(out.unlink, missing_ok=True),
    )
