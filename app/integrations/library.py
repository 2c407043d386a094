"""The library as outside tools see it: one filtered search and one JSON shape per hit.

The MCP server and the LlamaIndex / LangChain retrievers all search through
``search_hits`` (``container.search`` with the CLI's checks) and describe a hit with
``hit_record``, so a hit reads the same in every integration: ``media_id``, ``title``,
``source``, times (seconds and ``mm:ss``), ``speaker``, ``text``, a playable URL and,
for a companion document's piece, its ``document`` name and ``page``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.container import Container
from graphs.mediatime import MAX_TIME_S, format_span
from vectorstore.schema import Hit, SearchRequest

MAX_LIMIT = 100


class BadArgument(ValueError):
    """A search argument a caller can fix; ``str()`` names the argument and why."""


def _time(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value < 0 or value > MAX_TIME_S:
        raise BadArgument(f"{name} must be a time in seconds between 0 and {MAX_TIME_S:.0f}")
    return float(value)


def search_request(
    query: str,
    *,
    media_ids: Sequence[str] | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    source: str | None = None,
    speaker: str | None = None,
    limit: int = 5,
) -> SearchRequest:
    """A checked ``SearchRequest``; ``BadArgument`` names what is wrong."""
    if not isinstance(query, str) or not query.strip():
        raise BadArgument("query must not be blank")
    t0, t1 = _time(start_s, "start_s"), _time(end_s, "end_s")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise BadArgument("end_s must be after start_s")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadArgument(f"limit must be between 1 and {MAX_LIMIT}")
    try:
        return SearchRequest(
            query=query,
            media_ids=list(media_ids) if media_ids else None,
            start_s=t0,
            end_s=t1,
            source=source,  # type: ignore[arg-type]  # validated by the model
            speaker=speaker.strip() if speaker and speaker.strip() else None,
            limit=limit,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise BadArgument(f"{field}: {first['msg']}") from None


def check_media(container: Container, media_ids: Sequence[str] | None) -> None:
    """``BadArgument`` when an id names nothing in the library."""
    for media_id in media_ids or ():
        if container.registry.get_media(media_id) is None:
            raise BadArgument(f"no media with id {media_id!r}")


@dataclass(frozen=True)
class SearchFilters:
    """What a search keeps: media, a time window, a source, a speaker, how many."""

    media_ids: Sequence[str] | None = None
    start_s: float | None = None
    end_s: float | None = None
    source: str | None = None
    speaker: str | None = None
    limit: int = 5


def search_hits(container: Container, query: str, filters: SearchFilters) -> list[Hit]:
    """Hybrid, time-filtered search over ready media; ``speaker`` keeps that speaker's
    lines only (the label search shows: ``S2``, or the name given to it), and without it
    a query naming a speaker of the one recording searched keeps to theirs
    (:mod:`app.speaker_search`)."""
    f = filters
    req = search_request(
        query, media_ids=f.media_ids, start_s=f.start_s, end_s=f.end_s, source=f.source,
        speaker=f.speaker, limit=f.limit,
    )  # fmt: skip
    check_media(container, f.media_ids)
    return container.speaker_search.find(req).hits


def hit_speaker(hit: Hit) -> str | None:
    """The hit's speaker label (None before diarisation or for slides and documents)."""
    return hit.speaker or None


def playable_url(public_url: str, media_id: str, start_s: float, end_s: float) -> str:
    """The original file at that span (a W3C media fragment: players seek to ``#t=``)."""
    base = public_url.rstrip("/")
    return f"{base}/v1/media/{media_id}/file#t={start_s:.2f},{end_s:.2f}"


def hit_record(hit: Hit, public_url: str) -> dict[str, Any]:
    """One hit as plain JSON: what the MCP tools return and the retrievers' metadata."""
    return {
        "media_id": hit.media_id,
        "title": hit.title,
        "source": hit.source,
        "start_s": round(hit.start_s, 2),
        "end_s": round(hit.end_s, 2),
        "time": format_span(hit.start_s, hit.end_s),
        "speaker": hit_speaker(hit),
        "text": hit.text,
        "score": round(hit.score, 4),
        # a companion document's piece (source "document") has no media time to play:
        # its name and page say where it is
        "url": None
        if hit.source == "document"
        else playable_url(public_url, hit.media_id, hit.start_s, hit.end_s),
        "document": hit.document,
        "page": hit.page,
    }
