"""A media item's transcript as JSON, SRT or WebVTT, built from its indexed speech chunks.

Chunks overlap by a few words (so a sentence cut at a chunk border stays findable);
the overlap is removed here so subtitles do not repeat words, and long chunks are
split into short cues with times interpolated by word position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

from app.api.lookup import MediaId, get_record
from app.api.schemas import TranscriptOut, TranscriptSegment
from app.api.state import State
from vectorstore.schema import Chunk

router = APIRouter(tags=["media"])
MAX_CUE_WORDS = 12


def _overlap(prev: list[str], words: list[str], max_k: int = 12) -> int:
    """How many leading ``words`` repeat the end of ``prev``."""
    for k in range(min(max_k, len(prev), len(words)), 0, -1):
        if [w.lower() for w in prev[-k:]] == [w.lower() for w in words[:k]]:
            return k
    return 0


def segments_from_chunks(chunks: Sequence[Chunk]) -> list[TranscriptSegment]:
    """Non-overlapping, short, time-ordered cues from speech chunks."""
    out: list[TranscriptSegment] = []
    prev_words: list[str] = []
    prev_end = 0.0
    for chunk in sorted(chunks, key=lambda c: (c.start_s, c.end_s)):
        words = chunk.text.split()
        if not words:
            continue
        skip = _overlap(prev_words, words)
        span = max(chunk.end_s - chunk.start_s, 0.0)
        per_word = span / len(words)
        kept = words[skip:]
        start_of_kept = chunk.start_s + skip * per_word
        for i in range(0, len(kept), MAX_CUE_WORDS):
            piece = kept[i : i + MAX_CUE_WORDS]
            start = max(start_of_kept + i * per_word, prev_end)
            end = max(start_of_kept + (i + len(piece)) * per_word, start)
            out.append(
                TranscriptSegment(
                    start_s=round(start, 3),
                    end_s=round(end, 3),
                    text=" ".join(piece),
                    language=chunk.language,
                )
            )
            prev_end = end
        prev_words = words
    return out


def _clock(seconds: float, sep: str) -> str:
    ms = round(max(seconds, 0.0) * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(segments: Sequence[TranscriptSegment]) -> str:
    blocks = [
        f"{i}\n{_clock(seg.start_s, ',')} --> {_clock(seg.end_s, ',')}\n{seg.text}\n"
        for i, seg in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: Sequence[TranscriptSegment]) -> str:
    blocks = [
        f"{_clock(seg.start_s, '.')} --> {_clock(seg.end_s, '.')}\n{_vtt_text(seg.text)}\n"
        for seg in segments
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


@router.get(
    "/v1/media/{media_id}/transcript",
    response_model=TranscriptOut,
    responses={
        200: {"content": {"application/x-subrip": {}, "text/vtt": {}}},
        404: {"description": "Unknown media."},
        409: {"description": "Not indexed yet."},
    },
    summary="The transcript as JSON, SRT or WebVTT",
)
async def transcript(
    media_id: MediaId,
    state: State,
    format: Annotated[Literal["json", "srt", "vtt"], Query()] = "json",
) -> object:
    record = get_record(state, media_id)
    if record.status != "ready":
        raise HTTPException(409, f"the media is not indexed yet (status: {record.status})")
    chunks = await anyio.to_thread.run_sync(
        lambda: state.container.search.window(media_id, None, None, sources=["speech"])
    )
    segments = segments_from_chunks(chunks)
    if format == "srt":
        return PlainTextResponse(to_srt(segments), media_type="application/x-subrip")
    if format == "vtt":
        return PlainTextResponse(to_vtt(segments), media_type="text/vtt")
    return TranscriptOut(
        media_id=media_id, title=record.title, language=record.language, segments=segments
    )
