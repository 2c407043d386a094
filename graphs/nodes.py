"""The graph's nodes: understand → gather → (plan → act)* → answer.

Code decides whatever code can: the question's language and time expressions, the
first retrieval (a search, or a window read when the question names a span, an
anchor or a follow-up), and whether evidence already suffices. The model is asked
only for the next tool (schema-constrained JSON) when it does not, and for the
answer, whose citations are then validated against the evidence. When the model's
answer is unusable (a refusal, the question echoed, no valid citation) but a line of
evidence plainly matches the question, that line is quoted instead
(:mod:`graphs.extractive`); otherwise the agent refuses.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.config import get_stream_writer

from graphs.citations import CITATION_RE, Evidence, validate_answer
from graphs.extractive import QUOTABLE, RelevanceGate, extractive_answer, stem
from graphs.language import detect_language
from graphs.llm import LLMError, json_call
from graphs.prompts import (
    ANSWER_STOP,
    NOT_FOUND,
    REFUSALS,
    answer_messages,
    clip_words,
    planner_messages,
)
from graphs.state import AgentState, Turn
from graphs.timeparse import TimeQuery, parse_time
from graphs.tools import Tools, approx_tokens
from graphs.words import content_words

TOOL_NAMES = ("search", "read_window", "look", "list_media", "summarize", "answer")

PLANNER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tool": {"type": "string", "enum": list(TOOL_NAMES)},
        "query": {"type": "string"},
        "ref": {"type": "integer", "minimum": 0},
    },
    "required": ["tool", "query", "ref"],
    "additionalProperties": False,
}

FOLLOW_SPAN_S = 90.0  # "after that" / "after the demo": how far to read on

Writer = Callable[[dict[str, Any]], None]


def _writer() -> Writer:
    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit use)
        return lambda event: None


def _progress(tool: str, detail: str) -> None:
    _writer()({"type": "progress", "tool": tool, "detail": detail})


def _evidence(state: AgentState) -> list[Evidence]:
    return [Evidence(**e) for e in state.get("evidence", [])]


def _merge(old: list[Evidence], new: list[Evidence]) -> tuple[list[dict[str, Any]], int]:
    """Evidence dumps with ``new`` added (deduplicated); how many were new."""
    seen = {ev.key for ev in old}
    added: list[Evidence] = []
    for ev in new:
        if ev.key not in seen:
            seen.add(ev.key)
            added.append(ev)
    return [ev.model_dump() for ev in old + added], len(added)


@dataclass
class AgentConfig:
    max_steps: int = 4
    max_evidence_tokens: int = 1500
    prompt_evidence_tokens: int = 280  # what the answer prompt may carry (~4 s of prefill)
    window_tokens: int = 220  # one read_window / summarize call
    answer_max_tokens: int = 72
    answer_max_sentences: int = 3
    planner_max_tokens: int = 96  # Devanagari/Tamil queries take many tokens


class AgentNodes:
    """Node functions bound to their tools, chat model and limits."""

    def __init__(
        self,
        tools: Tools,
        model: BaseChatModel,
        config: AgentConfig,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        gate: RelevanceGate | None = None,
    ) -> None:
        self.tools = tools
        self.model = model
        self.config = config
        self.now = now
        self.gate = gate or RelevanceGate()

    # --- understand -------------------------------------------------------------------
    def understand(self, state: AgentState) -> dict[str, Any]:
        question = state["question"]
        language = detect_language(question)
        tq = parse_time(question, now=self.now())
        scope = state.get("media_ids")
        if tq.date_from is not None and tq.date_to is not None:
            dated = [
                m.media_id
                for m in self.tools.ready_media(scope)
                if m.recorded_at is not None
                and tq.date_from <= _aware(m.recorded_at, tq.date_from) < tq.date_to
            ]
            scope = dated
        query = tq.remainder(question) or question
        history = state.get("history") or []
        if history and len(content_words(query)) < 3 and not tq.follow_up:
            # a short follow-up ("and the budget?") searches with the previous question
            query = f"{history[-1]['question']} {query}"
        _progress("understand", f"language={language}")
        return {
            "language": language,
            "time": dataclasses.asdict(tq),
            "scope": scope,
            "query": query,
        }

    # --- gather: the first retrieval, decided by code ----------------------------------
    def gather(self, state: AgentState) -> dict[str, Any]:
        tq = TimeQuery(**{**state["time"], "matched": tuple(state["time"].get("matched", ()))})
        scope = state.get("scope")
        query = state["query"]
        has_content = bool(content_words(query))
        found: list[Evidence] = []
        trace: list[str] = []
        windowed = False
        history = state.get("history") or []

        if tq.follow_up and history and history[-1]["citations"]:
            last = max(history[-1]["citations"], key=lambda c: c["end_s"])
            if tq.relation == "before":
                span = (max(0.0, last["start_s"] - FOLLOW_SPAN_S), max(0.0, last["start_s"] - 0.01))
            else:
                span = (last["end_s"] + 0.01, last["end_s"] + FOLLOW_SPAN_S)
            found += self._read(last["media_id"], span, trace)
            windowed = True
        elif tq.anchor and tq.relation:
            _progress("search", f"anchor: {tq.anchor}")
            trace.append(f'search("{tq.anchor}")')
            anchors = self.tools.search(tq.anchor, scope, limit=1)
            if anchors:
                hit = anchors[0]
                if tq.relation == "after":
                    # strictly after: the anchor chunk itself touches hit.end_s
                    span = (hit.end_s + 0.01, hit.end_s + FOLLOW_SPAN_S)
                else:
                    span = (max(0.0, hit.start_s - FOLLOW_SPAN_S), max(0.0, hit.start_s - 0.01))
                found += self._read(hit.media_id, span, trace)
                windowed = True
        elif tq.has_window:
            media = self.tools.ready_media(scope)
            if tq.from_end_s is None and has_content:
                start, end = tq.window() or (0.0, None)
                found += self._search(query, scope, trace, start, end)
            else:
                for m in media[:3]:
                    span = tq.window(m.duration_s)
                    if span is not None:
                        found += self._read(m.media_id, span, trace, rank=len(found))
            windowed = bool(found)

        windowed = windowed and bool(found)
        if not found:
            found = self._search(query, scope, trace)
        evidence, _ = _merge([], found)
        return {"evidence": evidence, "steps": len(trace), "trace": trace, "windowed": windowed}

    def _search(
        self,
        query: str,
        scope: list[str] | None,
        trace: list[str],
        start: float | None = None,
        end: float | None = None,
        rank: int = 0,
    ) -> list[Evidence]:
        _progress("search", query)
        trace.append(f'search("{clip_words(query, 8)}")')
        return self.tools.search(query, scope, start_s=start, end_s=end, rank=rank)

    def _read(
        self, media_id: str, span: tuple[float, float | None], trace: list[str], rank: int = 0
    ) -> list[Evidence]:
        _progress("read_window", f"{media_id} {span[0]:.0f}–{span[1] or 0:.0f}s")
        trace.append(f"read_window({media_id}, {span[0]:.0f}, {span[1] or 0:.0f})")
        return self.tools.read_window(
            media_id, span[0], span[1], budget_tokens=self.config.window_tokens, rank=rank
        )

    # --- routing ----------------------------------------------------------------------
    def evidence_tokens(self, state: AgentState) -> int:
        return sum(approx_tokens(e["text"]) for e in state.get("evidence", []))

    def suffices(self, state: AgentState) -> bool:
        """Code's early stop: the evidence plainly covers the question."""
        evidence = state.get("evidence", [])
        if not evidence:
            return False
        if state.get("windowed"):
            return True
        wanted = set(content_words(state["query"]))
        if not wanted:
            return True
        need = min(2, len(wanted))
        if any(len(wanted & set(content_words(e["text"]))) >= need for e in evidence):
            return True
        # across languages words cannot match: the embedding gate judges (no planner trip)
        return self.gate.embedder is not None and self._quotable(state) is not None

    def _quotable(self, state: AgentState) -> Evidence | None:
        """The best evidence line that plainly answers the question (extractive gate)."""
        evidence = _evidence(state)
        if state.get("windowed") and not content_words(state["query"]):
            # "what was said in the first minute": the window itself is the answer
            lines = sorted((ev for ev in evidence if ev.source in QUOTABLE), key=lambda e: e.rank)
            return lines[0] if lines else None
        return self.gate.best(state["query"], evidence)

    def route(self, state: AgentState) -> str:
        if state.get("steps", 0) >= self.config.max_steps:
            return "answer"
        if self.evidence_tokens(state) >= self.config.max_evidence_tokens:
            return "answer"
        if state.get("stale", 0) >= 2:
            return "answer"
        decision = state.get("decision")
        if decision is not None and decision.get("tool") == "answer":
            return "answer"
        if decision is None and self.suffices(state):
            return "answer"
        return "plan"

    def after_plan(self, state: AgentState) -> str:
        decision = state.get("decision") or {}
        return "answer" if decision.get("tool", "answer") == "answer" else "act"

    # --- plan / act -------------------------------------------------------------------
    def plan(self, state: AgentState) -> dict[str, Any]:
        _progress("plan", f"step {state.get('steps', 0) + 1}")
        messages = planner_messages(state["question"], _evidence(state), state.get("trace", []))
        try:
            decision = json_call(
                self.model,
                messages,
                PLANNER_SCHEMA,
                name="plan",
                max_tokens=self.config.planner_max_tokens,
            )
        except LLMError as exc:
            _progress("plan", f"planner failed, answering: {exc}")
            return {"decision": {"tool": "answer", "query": "", "ref": 0}}
        if decision.get("tool") not in TOOL_NAMES:
            decision = {"tool": "answer", "query": "", "ref": 0}
        return {"decision": decision}

    def act(self, state: AgentState) -> dict[str, Any]:
        decision = state.get("decision") or {}
        tool = decision.get("tool", "answer")
        evidence = _evidence(state)
        ref = decision.get("ref") or 0
        target = (
            evidence[ref - 1] if 1 <= ref <= len(evidence) else (evidence[0] if evidence else None)
        )
        scope = state.get("scope")
        rank = 100 * (state.get("steps", 0) + 1)
        trace = list(state.get("trace", []))
        found: list[Evidence] = []
        if tool == "search":
            query = decision.get("query", "").strip() or state["query"]
            found = self._search(query, scope, trace, rank=rank)
        elif tool == "list_media":
            _progress("list_media", "")
            trace.append("list_media()")
            found = self.tools.list_media(scope, rank=rank)
        elif target is not None and tool == "read_window":
            mid = (target.start_s + target.end_s) / 2
            span = (max(0.0, mid - FOLLOW_SPAN_S / 2), mid + FOLLOW_SPAN_S / 2)
            found = self._read(target.media_id, span, trace, rank=rank)
        elif target is not None and tool == "look":
            _progress("look", f"{target.media_id} @ {target.start_s:.0f}s")
            trace.append(f"look({target.media_id}, {target.start_s:.0f})")
            found = self.tools.look(
                target.media_id,
                max(0.0, target.start_s - 15),
                target.end_s + 15,
                state["question"],
                rank=rank,
            )
        elif target is not None and tool == "summarize":
            _progress("summarize", target.media_id)
            trace.append(f"summarize({target.media_id})")
            found = self.tools.summarize(
                target.media_id, budget_tokens=self.config.window_tokens, rank=rank
            )
        else:
            trace.append(f"{tool}(no target)")
        merged, added = _merge(evidence, found)
        return {
            "evidence": merged,
            "steps": state.get("steps", 0) + 1,
            "trace": trace,
            "stale": 0 if added else state.get("stale", 0) + 1,
            "decision": None,
        }

    # --- answer -----------------------------------------------------------------------
    def _prompt_evidence(self, evidence: list[Evidence]) -> list[Evidence]:
        """Best-ranked evidence within the prompt budget, best first."""
        chosen, used = [], 0
        for ev in sorted(evidence, key=lambda e: e.rank):
            cost = approx_tokens(ev.text)
            if chosen and used + cost > self.config.prompt_evidence_tokens:
                continue
            chosen.append(ev)
            used += cost
        return chosen

    def answer(self, state: AgentState) -> dict[str, Any]:
        language = state.get("language", "en")
        refusal = REFUSALS.get(language, REFUSALS["en"])
        evidence = self._prompt_evidence(_evidence(state))
        write = _writer()
        if not evidence:
            write({"type": "token", "text": refusal})
            return self._finish(state, refusal, [])
        _progress("answer", f"{len(evidence)} evidence lines")
        # best line last, next to the question: the 0.5B model favours what it read last
        messages = answer_messages(
            state["question"], language, evidence[::-1], state.get("history") or []
        )
        raw, shown = self._stream_answer(messages, write)
        raw = raw.replace(NOT_FOUND, "").strip()  # it sometimes trails a real answer
        if not raw or _is_refusal(raw):
            return self._fallback(state, refusal, write, shown)
        raw = _first_sentences(raw, self.config.answer_max_sentences)
        if _echoes(raw, state["question"]):  # a small model sometimes repeats the question
            return self._fallback(state, refusal, write, shown)
        # words cannot be compared across languages: let the best evidence stand in
        text, citations = validate_answer(raw, evidence, fallback=language != "en")
        if not citations:
            return self._fallback(state, refusal, write, shown)
        if _restates(text, state["question"]) and (best := self._quotable(state)) is not None:
            # "The screen showed the year [..]": cited, but it only repeats the question
            return self._quote(state, best, write, shown)
        return self._finish(state, text, [c.model_dump() for c in citations])

    def _fallback(
        self, state: AgentState, refusal: str, write: Writer, shown: bool
    ) -> dict[str, Any]:
        """The model gave no usable answer: quote evidence that plainly answers, or refuse.

        Tokens already streamed stay as they were (the final result is authoritative);
        when nothing was shown yet, the replacement text streams instead.
        """
        best = self._quotable(state)
        if best is None:
            if not shown:
                write({"type": "token", "text": refusal})
            return self._finish(state, refusal, [])
        return self._quote(state, best, write, shown)

    def _quote(
        self, state: AgentState, best: Evidence, write: Writer, shown: bool
    ) -> dict[str, Any]:
        _progress("answer", f"extractive: quoting {best.label}")
        text, citation = extractive_answer(state.get("language", "en"), best)
        if not shown:
            write({"type": "token", "text": text})
        return self._finish(state, text, [citation.model_dump()])

    def _stream_answer(self, messages: list[tuple[str, str]], write: Writer) -> tuple[str, bool]:
        """Stream the model's tokens to the caller; the text and whether any was shown.

        A reply that is (or starts as) NOT_FOUND is held back: the caller decides what
        replaces it.
        """
        parts: list[str] = []
        held, holding = "", True  # the start may still turn out to be NOT_FOUND
        try:
            # the model tends to continue with its own "Question: …" turns
            bound = self.model.bind(max_tokens=self.config.answer_max_tokens, stop=ANSWER_STOP)
            for chunk in bound.stream(messages):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if not text:
                    continue
                parts.append(text)
                if not holding:
                    write({"type": "token", "text": text})
                    continue
                held += text
                if NOT_FOUND in held or NOT_FOUND.startswith(held.strip()):
                    continue
                write({"type": "token", "text": held})
                holding = False
        except Exception as exc:  # network, timeout, server error: one clear error type
            raise LLMError(f"answer: chat model call failed: {exc}") from exc
        if holding and held.strip() and NOT_FOUND not in held:
            write({"type": "token", "text": held})
            holding = False
        return "".join(parts).strip(), not holding

    def _finish(
        self, state: AgentState, answer: str, citations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        turn: Turn = {
            "question": state["question"],
            "answer": answer,
            "language": state.get("language", "en"),
            "citations": citations,
        }
        return {"answer": answer, "citations": citations, "history": [turn]}


def _aware(value: datetime, like: datetime) -> datetime:
    """Compare naive and aware datetimes: a naive one is taken in ``like``'s zone."""
    if (value.tzinfo is None) == (like.tzinfo is None):
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=like.tzinfo)
    return value.astimezone(like.tzinfo).replace(tzinfo=None)


def _is_refusal(answer: str) -> bool:
    """The model wrote a refusal sentence itself (in any supported language)."""
    norm = re.sub(r"\W+", " ", answer).strip().lower()
    return bool(norm) and any(
        norm == re.sub(r"\W+", " ", r).strip().lower() for r in REFUSALS.values()
    )


def _echoes(answer: str, question: str) -> bool:
    """The answer (citations aside) is just the question again."""

    def norm(text: str) -> str:
        return re.sub(r"\W+", " ", re.sub(r"\[[^\]]*\]", " ", text)).strip().lower()

    return bool(norm(question)) and norm(answer) == norm(question)


def _restates(answer: str, question: str) -> bool:
    """The answer (citations aside) says nothing the question did not already say."""
    said = {stem(w) for w in content_words(CITATION_RE.sub(" ", answer))}
    return bool(said) and said <= {stem(w) for w in content_words(question)}


def _first_sentences(text: str, limit: int) -> str:
    """At most ``limit`` sentences, without a citation cut off by the token limit."""
    text = re.sub(r"\[[^\]]*$", "", text).strip()
    sentences = re.split(r"(?<=[.!?।])\s+", text)
    return " ".join(sentences[:limit]).strip()
