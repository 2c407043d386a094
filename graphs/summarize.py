"""Content generation: summary, chapters with timestamps, meeting minutes.

The model sees numbered transcript lines of the window (thinned evenly to a token
budget) and answers JSON constrained by a schema, referring to lines by number;
code turns those refs into timestamps (the model never writes times).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from graphs.citations import Evidence, mmss
from graphs.llm import json_call
from graphs.prompts import clip_words, summary_messages
from graphs.tools import Tools

Style = Literal["summary", "chapters", "minutes"]
STYLES: tuple[str, ...] = ("summary", "chapters", "minutes")

_REF = {"type": "integer", "minimum": 1}
_POINTS = {
    "type": "array",
    "maxItems": 6,
    "items": {
        "type": "object",
        "properties": {"text": {"type": "string"}, "ref": _REF},
        "required": ["text", "ref"],
        "additionalProperties": False,
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "summary": {
        "type": "object",
        "properties": {"summary": {"type": "string"}, "points": _POINTS},
        "required": ["summary", "points"],
        "additionalProperties": False,
    },
    "chapters": {
        "type": "object",
        "properties": {
            "chapters": {
                "type": "array",
                "minItems": 1,
                "maxItems": 6,
                "items": {
                    "type": "object",
                    "properties": {"title": {"type": "string"}, "ref": _REF},
                    "required": ["title", "ref"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["chapters"],
        "additionalProperties": False,
    },
    "minutes": {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "decisions": _POINTS,
            "action_items": {
                "type": "array",
                "maxItems": 6,
                "items": {
                    "type": "object",
                    "properties": {
                        "who": {"type": "string"},
                        "what": {"type": "string"},
                        "by_when": {"type": "string"},
                        "ref": _REF,
                    },
                    "required": ["who", "what", "by_when", "ref"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["summary", "decisions", "action_items"],
        "additionalProperties": False,
    },
}


class Point(BaseModel):
    text: str
    start_s: float
    end_s: float


class Chapter(BaseModel):
    title: str
    start_s: float
    end_s: float


class ActionItem(BaseModel):
    who: str
    what: str
    by_when: str
    start_s: float
    end_s: float


class Summary(BaseModel):
    """``chronorag summarize --json`` output."""

    media_id: str
    title: str
    style: Style
    language: str
    start_s: float
    end_s: float
    summary: str = ""
    points: list[Point] = Field(default_factory=list)
    chapters: list[Chapter] = Field(default_factory=list)
    decisions: list[Point] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)

    def render(self) -> str:
        """Plain text for a terminal."""
        head = f"{self.title} ({mmss(self.start_s)}–{mmss(self.end_s)}), {self.style}"
        lines = [head, ""]
        if self.summary:
            lines += [self.summary, ""]
        lines += [f"- [{mmss(p.start_s)}] {p.text}" for p in self.points]
        lines += [f"{mmss(c.start_s)}–{mmss(c.end_s)}  {c.title}" for c in self.chapters]
        if self.decisions:
            lines += ["Decisions:"] + [f"- [{mmss(p.start_s)}] {p.text}" for p in self.decisions]
        if self.action_items:
            lines += ["Action items:"] + [
                f"- [{mmss(a.start_s)}] {a.who or '?'}: {a.what}"
                + (f" (by {a.by_when})" if a.by_when else "")
                for a in self.action_items
            ]
        return "\n".join(lines).rstrip()


class Summarizer:
    def __init__(self, tools: Tools, model: BaseChatModel, *, budget_tokens: int = 700) -> None:
        self.tools = tools
        self.model = model
        self.budget_tokens = budget_tokens

    def summarize(
        self,
        media_id: str,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        style: str = "summary",
    ) -> Summary:
        if style not in STYLES:
            raise ValueError(f"unknown summary style {style!r}: use one of {', '.join(STYLES)}")
        if start_s is not None and end_s is not None and end_s <= start_s:
            raise ValueError(f"end ({end_s}) must be after start ({start_s})")
        record = self.tools.media(media_id)
        if record is None or record.status != "ready":
            raise ValueError(f"media {media_id!r} is not indexed (unknown or not ready)")
        lines = self.tools.read_window(media_id, start_s, end_s, budget_tokens=self.budget_tokens)
        lo = start_s if start_s is not None else 0.0
        hi = (
            end_s
            if end_s is not None
            else (record.duration_s or (lines[-1].end_s if lines else lo))
        )
        base = {
            "media_id": media_id,
            "title": record.title,
            "style": style,
            "language": record.language or "en",
            "start_s": lo,
            "end_s": hi,
        }
        if not lines:
            return Summary(**base, summary="Nothing was indexed in this range.")
        messages = summary_messages(
            style,
            record.language or "en",
            [f"[{mmss(ev.start_s)}] {clip_words(ev.text, 40)}" for ev in lines],
        )
        data = json_call(self.model, messages, SCHEMAS[style], name=style, max_tokens=400)
        return _to_summary(base, style, data, lines, hi)


def _line(lines: list[Evidence], ref: Any) -> Evidence:
    index = ref if isinstance(ref, int) else 1
    return lines[min(max(index, 1), len(lines)) - 1]


def _to_summary(
    base: dict[str, Any], style: str, data: dict[str, Any], lines: list[Evidence], end: float
) -> Summary:
    def points(items: list[dict[str, Any]]) -> list[Point]:
        out = []
        for item in items:
            if str(item.get("text", "")).strip():
                ev = _line(lines, item.get("ref"))
                out.append(Point(text=item["text"].strip(), start_s=ev.start_s, end_s=ev.end_s))
        return out

    if style == "summary":
        return Summary(
            **base, summary=data.get("summary", "").strip(), points=points(data.get("points", []))
        )
    if style == "minutes":
        actions = []
        for item in data.get("action_items", []):
            if str(item.get("what", "")).strip():
                ev = _line(lines, item.get("ref"))
                actions.append(
                    ActionItem(
                        who=item.get("who", "").strip(),
                        what=item["what"].strip(),
                        by_when=item.get("by_when", "").strip(),
                        start_s=ev.start_s,
                        end_s=ev.end_s,
                    )
                )
        return Summary(
            **base,
            summary=data.get("summary", "").strip(),
            decisions=points(data.get("decisions", [])),
            action_items=actions,
        )
    starts: dict[float, str] = {}
    for item in data.get("chapters", []):
        title = str(item.get("title", "")).strip()
        if title:
            starts.setdefault(_line(lines, item.get("ref")).start_s, title)
    ordered = sorted(starts.items())
    if ordered:
        # the first chapter starts where the window starts
        ordered[0] = (base["start_s"], ordered[0][1])
    chapters = [
        Chapter(title=title, start_s=s, end_s=ordered[i + 1][0] if i + 1 < len(ordered) else end)
        for i, (s, title) in enumerate(ordered)
    ]
    return Summary(**base, chapters=chapters)
