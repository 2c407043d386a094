"""The agent's tools, declared once in :data:`TOOLS`.

Each row names a tool, the JSON schema of the arguments the planner fills, the line
the planner prompt says about it, and the function that runs it. The planner's JSON
schema (:func:`planner_schema`), its prompt text (:data:`PLANNER_SYSTEM`) and the
dispatch in :meth:`graphs.nodes.AgentNodes.act` are all derived from that table: a new
tool is a new row (and its function).

Every tool turns index/registry data into :class:`~graphs.citations.Evidence` the
answer may cite, through :class:`Tools` over the injected search and registry
(``MediaSearch`` and ``Registry`` from ``vectorstore/``, or anything with the same
methods).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from graphs.citations import Evidence
from graphs.mediatime import format_time
from graphs.prompts import NO_VLM_NOTE, clip_words, planner_system
from graphs.vlm import Frame, VLMClient, VLMError
from vectorstore.schema import Chunk, Hit, SearchRequest

READ_SPAN_S = 90.0  # how far a window read reaches ("after that", read_window around a line)


class MediaSearchPort(Protocol):
    def search(self, req: SearchRequest) -> list[Hit]: ...

    def window(
        self,
        media_id: str,
        start_s: float | None,
        end_s: float | None,
        sources: Sequence[str] | None = None,
    ) -> list[Chunk]: ...


class MediaRecord(Protocol):
    """What the agent reads of a registry row (the registry's own record type fits)."""

    @property
    def media_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def duration_s(self) -> float | None: ...

    @property
    def recorded_at(self) -> datetime | None: ...

    @property
    def language(self) -> str | None: ...


class MediaCatalog(Protocol):
    def list_media(self, status: str | None = None) -> Sequence[MediaRecord]: ...

    def get_media(self, media_id: str) -> MediaRecord | None: ...


def approx_tokens(text: str) -> int:
    """Rough token count: ~4 Latin characters per token, ~1.5 for other scripts."""
    ascii_chars = sum(1 for ch in text if ch.isascii())
    return max(1, round(ascii_chars / 4 + (len(text) - ascii_chars) / 1.5))


def spread(items: Sequence[Evidence], budget_tokens: int) -> list[Evidence]:
    """Evenly spaced items (kept in order) whose texts fit ``budget_tokens``."""
    items = list(items)
    total = sum(approx_tokens(ev.text) for ev in items)
    if total <= budget_tokens or not items:
        return items
    keep = max(1, int(len(items) * budget_tokens / total))
    step = len(items) / keep
    return [items[int(i * step)] for i in range(keep)]


class Tools:
    """Tool implementations over an injected search and media catalog."""

    def __init__(
        self,
        search: MediaSearchPort,
        catalog: MediaCatalog,
        vlm: VLMClient | None = None,
        *,
        search_limit: int = 4,
    ) -> None:
        self._search = search
        self._catalog = catalog
        self._vlm = vlm
        self.search_limit = search_limit

    # --- media ------------------------------------------------------------------------
    def ready_media(self, media_ids: Sequence[str] | None = None) -> list[MediaRecord]:
        ready = list(self._catalog.list_media(status="ready"))
        if media_ids is None:
            return ready
        wanted = set(media_ids)
        return [m for m in ready if m.media_id in wanted]

    def media(self, media_id: str) -> MediaRecord | None:
        return self._catalog.get_media(media_id)

    def _title(self, media_id: str) -> str:
        record = self._catalog.get_media(media_id)
        return record.title if record else media_id

    # --- tools ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        media_ids: Sequence[str] | None = None,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        rank: int = 0,
        limit: int | None = None,
        speaker: str | None = None,
    ) -> list[Evidence]:
        """Hybrid search, optionally limited to media, a time window (overlap) and one
        speaker (the label the index carries)."""
        if not query.strip():
            return []
        if media_ids is not None and not media_ids:
            return []
        req = SearchRequest(
            query=query,
            media_ids=list(media_ids) if media_ids is not None else None,
            start_s=start_s,
            end_s=end_s,
            speaker=speaker,
            limit=limit or self.search_limit,
        )
        return [
            Evidence(
                media_id=h.media_id,
                # a companion document is cited by its own name and page
                title=h.document or h.title or self._title(h.media_id),
                source=h.source,
                start_s=round(h.start_s, 3),
                end_s=round(h.end_s, 3),
                text=h.text,
                rank=rank + i,
                page=h.page,
                speaker=h.speaker,
                confidence=h.confidence,
            )
            for i, h in enumerate(self._search.search(req))
        ]

    def read_window(
        self,
        media_id: str,
        start_s: float | None,
        end_s: float | None,
        *,
        budget_tokens: int = 400,
        rank: int = 0,
    ) -> list[Evidence]:
        """Transcript and screen text of a span, evenly thinned to ``budget_tokens``."""
        title = self._title(media_id)
        chunks = self._search.window(media_id, start_s, end_s, sources=["speech", "screen"])
        items = [
            Evidence(
                media_id=c.media_id,
                title=title,
                source=c.source,
                start_s=round(c.start_s, 3),
                end_s=round(c.end_s, 3),
                text=c.text,
                rank=rank + i,
                speaker=c.speaker,
                confidence=c.confidence,
            )
            for i, c in enumerate(chunks)
        ]
        return spread(items, budget_tokens)

    def look(
        self, media_id: str, start_s: float, end_s: float, question: str, *, rank: int = 0
    ) -> list[Evidence]:
        """What was on screen in a span: the VLM on keyframes, else OCR text + scene cuts."""
        title = self._title(media_id)
        frames_chunks = self._search.window(media_id, start_s, end_s, sources=["screen"])
        if not frames_chunks:
            return []
        frames = [
            Frame(Path(c.keyframe), c.start_s)
            for c in frames_chunks
            if c.keyframe and Path(c.keyframe).is_file()
        ]
        span = (frames_chunks[0].start_s, frames_chunks[-1].end_s)
        if self._vlm is not None and frames:
            try:
                text = self._vlm.describe(question, frames)
            except VLMError as exc:
                text = f"(vision model failed: {exc}) " + self._ocr_text(frames_chunks)
            return [
                Evidence(
                    media_id=media_id,
                    title=title,
                    source="look",
                    start_s=span[0],
                    end_s=span[1],
                    text=text,
                    rank=rank,
                )
            ]
        return [
            Evidence(
                media_id=media_id,
                title=title,
                source="look",
                start_s=span[0],
                end_s=span[1],
                text=self._ocr_text(frames_chunks),
                rank=rank,
            )
        ]

    @staticmethod
    def _ocr_text(chunks: Sequence[Chunk]) -> str:
        cuts = ", ".join(format_time(c.start_s) for c in chunks)
        shown = " | ".join(f"{format_time(c.start_s)}: {c.text}" for c in chunks if c.text.strip())
        return f"{NO_VLM_NOTE} (scene changes at {cuts}). {shown or '(no text on screen)'}"

    def list_media(
        self, media_ids: Sequence[str] | None = None, *, rank: int = 0
    ) -> list[Evidence]:
        """One evidence line per ready recording: title, date, duration, language."""
        out = []
        for i, m in enumerate(self.ready_media(media_ids)):
            duration = m.duration_s or 0.0
            when = m.recorded_at.date().isoformat() if m.recorded_at else "date unknown"
            out.append(
                Evidence(
                    media_id=m.media_id,
                    title=m.title,
                    source="catalog",
                    start_s=0.0,
                    end_s=duration,
                    text=f"Recording '{m.title}', recorded {when}, {format_time(duration)} long, "
                    f"language {m.language or 'unknown'}.",
                    rank=rank + i,
                )
            )
        return out


# --- the planner's tools ----------------------------------------------------------------
Note = Callable[[str, str, str], None]
"""Announces a tool call before it runs: (tool name, progress detail, trace label)."""


@dataclass(frozen=True)
class Step:
    """One tool call, resolved against the run so far: all a tool function needs."""

    tools: Tools
    note: Note
    query: str = ""  # the planner's query (the question's search query when it gave none)
    target: Evidence | None = None  # the evidence line the planner's ``ref`` names
    scope: Sequence[str] | None = None  # media to consider (None: all ready media)
    question: str = ""
    rank: int = 0  # the rank of the first evidence this step adds
    window_tokens: int = 220  # what one window read may carry
    speaker: str | None = None  # the speaker the question names (resolved by code)

    def search(
        self,
        query: str,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        rank: int | None = None,
    ) -> list[Evidence]:
        """Search in scope; only the question's speaker's lines when it names one."""
        who = f', speaker="{self.speaker}"' if self.speaker else ""
        self.note("search", query + who, f'search("{clip_words(query, 8)}"{who})')
        return self.tools.search(
            query, self.scope, start_s=start_s, end_s=end_s,
            rank=self.rank if rank is None else rank, speaker=self.speaker,
        )  # fmt: skip

    def read(
        self, media_id: str, span: tuple[float, float | None], *, rank: int | None = None
    ) -> list[Evidence]:
        start, end = span
        self.note(
            "read_window",
            f"{media_id} {start:.0f}–{end or 0:.0f}s",
            f"read_window({media_id}, {start:.0f}, {end or 0:.0f})",
        )
        return self.tools.read_window(
            media_id, start, end, budget_tokens=self.window_tokens,
            rank=self.rank if rank is None else rank,
        )  # fmt: skip


def _search(step: Step) -> list[Evidence]:
    return step.search(step.query)


def _read_window(step: Step) -> list[Evidence]:
    assert step.target is not None
    mid = (step.target.start_s + step.target.end_s) / 2
    return step.read(step.target.media_id, (max(0.0, mid - READ_SPAN_S / 2), mid + READ_SPAN_S / 2))


def _look(step: Step) -> list[Evidence]:
    target = step.target
    assert target is not None
    step.note(
        "look", f"{target.media_id} @ {target.start_s:.0f}s",
        f"look({target.media_id}, {target.start_s:.0f})",
    )  # fmt: skip
    return step.tools.look(
        target.media_id, max(0.0, target.start_s - 15), target.end_s + 15, step.question,
        rank=step.rank,
    )  # fmt: skip


def _list_media(step: Step) -> list[Evidence]:
    step.note("list_media", "", "list_media()")
    return step.tools.list_media(step.scope, rank=step.rank)


def _summarize(step: Step) -> list[Evidence]:
    """An even sample across the whole recording, for an overview answer."""
    assert step.target is not None
    media_id = step.target.media_id
    step.note("summarize", media_id, f"summarize({media_id})")
    return step.tools.read_window(
        media_id, None, None, budget_tokens=step.window_tokens, rank=step.rank
    )


@dataclass(frozen=True)
class AgentTool:
    """One planner tool: its name, argument schema, prompt line and function."""

    name: str
    description: str  # what the planner prompt says about it
    args: Mapping[str, Mapping[str, Any]]  # JSON schema of each argument the planner fills
    run: Callable[[Step], list[Evidence]] | None  # None: stop and answer

    @property
    def needs_target(self) -> bool:
        """The tool works on the evidence line ``ref`` names."""
        return "ref" in self.args


QUERY = {"type": "string"}
REF = {"type": "integer", "minimum": 0}

TOOLS: tuple[AgentTool, ...] = (
    AgentTool("search", "query: words to look for", {"query": QUERY}, _search),
    AgentTool("read_window", "ref: read around evidence line ref", {"ref": REF}, _read_window),
    AgentTool("look", "ref: what was on screen at evidence line ref", {"ref": REF}, _look),
    AgentTool("list_media", "recordings, dates, durations", {}, _list_media),
    AgentTool("summarize", "ref: cover that whole recording", {"ref": REF}, _summarize),
    AgentTool("answer", "the evidence already answers the question", {}, None),
)
TOOL_NAMES: tuple[str, ...] = tuple(tool.name for tool in TOOLS)
BY_NAME: dict[str, AgentTool] = {tool.name: tool for tool in TOOLS}
ANSWER: dict[str, Any] = {"tool": "answer", "query": "", "ref": 0}  # the stop decision


def planner_schema(tools: Sequence[AgentTool] = TOOLS) -> dict[str, Any]:
    """One flat object (a tool name plus every argument, all required): the grammar a
    small model fills most reliably; a tool ignores the arguments it does not take."""
    properties: dict[str, Any] = {"tool": {"type": "string", "enum": [t.name for t in tools]}}
    for tool in tools:
        properties.update({name: dict(schema) for name, schema in tool.args.items()})
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


PLANNER_SCHEMA = planner_schema()
PLANNER_SYSTEM = planner_system([(tool.name, tool.description) for tool in TOOLS])
