"""Cuts a span out of a media item with ffmpeg: an MP4 for video, an M4A for audio."""

from __future__ import annotations

import subprocess
import threading
import uuid
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.api.errors import invalid
from app.api.state import State

router = APIRouter(tags=["media"])
MAX_CLIP_S = 600.0
_ENCODERS = threading.BoundedSemaphore(2)  # clip encodes are CPU-heavy: at most two at once


def cut(source: Path, out_dir: Path, start_s: float, end_s: float, *, video: bool) -> Path:
    """Re-encode ``[start_s, end_s]`` of ``source`` (exact cut points, browser-playable)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"clip-{uuid.uuid4().hex}{'.mp4' if video else '.m4a'}"
    codec = (
        ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "26", "-pix_fmt", "yuv420p"]
        if video
        else ["-map", "0:a:0", "-vn"]
    )
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-ss", f"{start_s:.3f}", "-i", str(source), "-t", f"{end_s - start_s:.3f}",
        *codec, "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(out),
    ]
    try:
        with _ENCODERS:
            proc = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    except subprocess.TimeoutExpired as exc:
        out.unlink(missing_ok=True)
        raise RuntimeError("ffmpeg took too long to cut the clip") from exc
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        out.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg could not cut the clip: {proc.stderr.decode()[-300:]}")
    return out


@router.get(
    "/v1/media/{media_id}/clip",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}, "audio/mp4": {}}, "description": "The clip."},
        404: {"description": "Unknown media."},
        422: {"description": "Bad span."},
    },
    summary="An MP4 (or M4A) cut of a time span",
)
async def clip(
    media_id: Annotated[str, PathParam(min_length=1, max_length=64)],
    start_s: Annotated[float, Query(ge=0, le=1e7)],
    end_s: Annotated[float, Query(gt=0, le=1e7)],
    state: State,
) -> FileResponse:
    record = state.container.registry.get_media(media_id)
    if record is None:
        raise HTTPException(404, f"no media with id {media_id!r}")
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
    try:
        out = await anyio.to_thread.run_sync(
            lambda: cut(source, state.settings.data_dir / "clips", start_s, end_s, video=video)
        )
    except RuntimeError as exc:
        invalid("query", "start_s", str(exc), start_s)
    return FileResponse(
        out,
        media_type="video/mp4" if video else "audio/mp4",
        filename=f"{media_id}-{start_s:.0f}-{end_s:.0f}{out.suffix}",
        background=BackgroundTask(out.unlink, missing_ok=True),
    )
