"""ChronoRAG as an MCP server (the official ``mcp`` SDK's ``MCPServer``).

Tools: ``search`` (media, time, source and speaker filters), ``ask`` (answer +
citations), ``transcript`` (a media item or a span), ``list_media``, ``summarize``.
Every result is JSON text carrying ``media_id``, times (seconds and ``mm:ss``) and a
playable URL (``CHRONORAG_PUBLIC_URL``). A bad argument is a tool error naming it
(``is_error``), and the server keeps serving. ``chronorag mcp`` serves it over stdio
(``app/cli_mcp.py``); the service mounts it at ``/mcp`` (``app/api/mcp_mount.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from app.container import Container
from app.integrations.library import (
    BadArgument,
    SearchFilters,
    check_media,
    hit_record,
    playable_url,
    search_hits,
)
from graphs.mediatime import MAX_TIME_S, format_span, parse_clock

Time = Annotated[
    float | str | None,
    Field(description="Media time: seconds (95.5) or a clock ('1:35', '1:01:35')."),
]
MediaIds = Annotated[list[str] | None, Field(description="Only these media (ids from list_media).")]
INSTRUCTIONS = (
    "ChronoRAG indexes recorded meetings and videos against time. Use search to find the "
    "moments where something was said or shown, ask for an answer with citations, "
    "transcript to read a span, list_media for what is indexed and summarize for a summary, "
    "chapters or minutes. Cite moments as [title @ mm:ss–mm:ss] and give the url."
)


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _seconds(value: float | str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = parse_clock(value) if isinstance(value, str) else float(value)
    except ValueError as exc:
        raise BadArgument(f"{name}: {exc}") from None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_TIME_S:
        raise BadArgument(f"{name} must be a time between 0 and {MAX_TIME_S:.0f} s")
    return seconds


def _window(start: float | str | None, end: float | str | None) -> tuple[float | None, ...]:
    t0, t1 = _seconds(start, "start"), _seconds(end, "end")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise BadArgument("end must be after start")
    return t0, t1


def _service_errors() -> tuple[type[BaseException], ...]:
    """Failures a caller should see in words (the CLI's exit-1 set, plus bad media)."""
    from app.assets import AssetError
    from graphs.llm import LLMError
    from graphs.llm_server import LlamaServerError
    from ingestion.errors import MediaError
    from vectorstore.embedders import EmbedderError

    return (LLMError, LlamaServerError, EmbedderError, AssetError, MediaError)


@contextmanager
def _tool_errors() -> Iterator[None]:
    """A caller's mistake or a model failure becomes a ``ToolError`` with its reason."""
    try:
        yield
    except BadArgument as exc:
        raise ToolError(str(exc)) from None
    except _service_errors() as exc:
        raise ToolError(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from None


def _ready(container: Container, media_id: str) -> Any:
    record = container.registry.get_media(media_id)
    if record is None:
        raise BadArgument(f"no media with id {media_id!r} (see list_media)")
    if record.status != "ready":
        raise BadArgument(f"{media_id!r} is not indexed (status {record.status})")
    return record


def build_server(container: Container) -> MCPServer:
    """The MCP server over one container (the caller owns and closes it)."""
    # the SDK configures the root logger at this level: INFO would flood the service's log
    mcp = MCPServer(
        name="chronorag", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING"
    )
    url = container.settings.public_url

    @mcp.tool(structured_output=False)
    def search(
        query: Annotated[str, Field(description="What to look for, in any language.")],
        media_ids: MediaIds = None,
        start: Time = None,
        end: Time = None,
        source: Annotated[
            Literal["speech", "screen", "caption", "document"] | None,
            Field(
                description="speech (what was said), screen (on-screen text) or "
                "document (attached slides, agenda, notes)."
            ),
        ] = None,
        speaker: Annotated[
            str | None,
            Field(description="Only this speaker. Without it, a query naming a speaker of the "
                  "one recording in media_ids (\"what did the marketing expert say\") keeps "
                  "to theirs."),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 5,
    ) -> str:
        """Find the moments where something was said or shown (hybrid, time-filtered)."""
        with _tool_errors():
            t0, t1 = _window(start, end)
            filters = SearchFilters(
                media_ids=media_ids, start_s=t0, end_s=t1, source=source, speaker=speaker,
                limit=limit,
            )  # fmt: skip
            hits = search_hits(container, query, filters)
        return _json({"hits": [hit_record(h, url) for h in hits]})

    @mcp.tool(structured_output=False)
    def ask(
        question: Annotated[str, Field(description="The question, in your language.")],
        media_ids: MediaIds = None,
        thread_id: Annotated[str | None, Field(description="Continue a conversation.")] = None,
    ) -> str:
        """Answer a question about the indexed media, citing the exact moments."""
        from app.answering import answer_question

        with _tool_errors():
            if not question.strip():
                raise BadArgument("question must not be blank")
            check_media(container, media_ids)
            result = answer_question(
                container, question, media_ids=media_ids or None, thread_id=thread_id
            )
        citations = [
            {
                "media_id": c.media_id,
                "title": c.title,
                "start_s": c.start_s,
                "end_s": c.end_s,
                "time": format_span(c.start_s, c.end_s),
                "citation": c.label,
                "page": c.page,
                "document": c.document,
                "quote": c.quote,
                "url": playable_url(url, c.media_id, c.start_s, c.end_s),
            }
            for c in result.citations
        ]
        return _json({
            "answer": result.answer, "language": result.language,
            "citations": citations, "thread_id": result.thread_id,
        })  # fmt: skip

    @mcp.tool(structured_output=False)
    def transcript(media_id: str, start: Time = None, end: Time = None) -> str:
        """What was said in a media item, or in a span of it: timed segments with speakers."""
        from app import transcripts  # the stored transcript, as the API route serves it

        with _tool_errors():
            t0, t1 = _window(start, end)
            record = _ready(container, media_id)
            try:
                doc = transcripts.load(container, media_id).named().between(t0, t1)
            except transcripts.TranscriptMissing as exc:
                raise BadArgument(str(exc)) from None
        segments = []
        for seg in doc.segments:
            row = seg.model_dump(mode="json", exclude={"words"})
            row["time"] = format_span(seg.start_s, seg.end_s)
            row["url"] = playable_url(url, media_id, seg.start_s, seg.end_s)
            segments.append(row)
        return _json({
            "media_id": media_id, "title": record.title, "language": record.language,
            "segments": segments,
        })  # fmt: skip

    @mcp.tool(structured_output=False)
    def list_media(
        status: Literal["queued", "running", "ready", "failed"] | None = None,
    ) -> str:
        """The library: every media item with its status, duration and a playable URL."""
        records = container.lifecycle.list_media(status)
        media = []
        for rec in records:
            row = rec.model_dump(mode="json", exclude={"path", "sha256"})
            row["url"] = playable_url(url, rec.media_id, 0.0, rec.duration_s or 0.0)
            media.append(row)
        return _json({"media": media})

    @mcp.tool(structured_output=False)
    def summarize(
        media_id: str,
        start: Time = None,
        end: Time = None,
        style: Literal["summary", "chapters", "minutes"] = "summary",
    ) -> str:
        """A summary, chapter list or meeting minutes of a media item or a span of it."""
        with _tool_errors():
            t0, t1 = _window(start, end)
            record = _ready(container, media_id)
            if record.duration_s and t0 is not None and t0 >= record.duration_s:
                raise BadArgument(f"the media is only {record.duration_s:.0f} s long")
            result = container.agent.summarize(media_id, start_s=t0, end_s=t1, style=style)
        out = result.model_dump(mode="json")
        out["text"] = result.render()
        out["url"] = playable_url(url, media_id, result.start_s, result.end_s)
        return _json(out)

    return mcp
