"""The graph's nodes: understand → gather → (plan → act)* → answer.

Code decides whatever code can: the question's language and time expressions, the
first retrieval (a search, or a window read when the question names a span, an
anchor or a follow-up), and whether evidence already suffices. The model is asked
only for the next tool (schema-constrained JSON) when it does not, and for the
answer, whose citations are then validated against the evidence. When the model's
answer is unusable (a refusal, the question echoed, no valid citation) but a line of
evidence plainly matches the question, that line is quoted instead
(:mod:`graphs.extractive`); otherwise the agent refuses. The planner's tools, their
schema and prompt come from the one table :data:`graphs.tools.TOOLS`. When the chat
model hits its length limit, the planner and the answer try once more with half the
evidence before giving up.

A question naming a speaker ("what did Chiara say…", "the marketing expert") is matched
by code against the speakers known for the media in scope (:mod:`graphs.speakers`); the
first search then keeps to that speaker's lines and so do the planner's searches. When
those lines do not match the question, the agent says so in the trace and searches
everyone's. The answer's attributions are checked against the lines' speakers.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langgraph.config import get_stream_writer

from graphs.citations import CITATION_RE, SENTENCE_END, Evidence, validate_answer
from graphs.extractive import QUOTABLE, RelevanceGate, asks, extractive_answer, stem, trusted
from graphs.language import REFUSALS, detect_language
from graphs.llm import LengthLimitError, LLMError, json_call, llm_error
from graphs.prompts import ANSWER_STOP, NOT_FOUND, answer_messages, planner_messages
from graphs.speakers import (
    KnownSpeaker,
    SpeakerDirectory,
    SpeakerMatch,
    named_speaker,
    without_mention,
    without_roles,
)
from graphs.state import AgentState, Turn
from graphs.timeparse import TimeQuery, parse_time
from graphs.tools import (
    ANSWER,
    BY_NAME,
    PLANNER_SCHEMA,
    PLANNER_SYSTEM,
    READ_SPAN_S,
    Step,
    Tools,
    approx_tokens,
)
from graphs.words import STOP_WORDS, WORD_RE, content_words

Writer = Callable[[dict[str, Any]], None]
T = TypeVar("T")


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
        speakers: SpeakerDirectory | None = None,
    ) -> None:
        self.tools = tools
        self.model = model
        self.config = config
        self.now = now
        self.gate = gate or RelevanceGate()
        self.speakers = speakers

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
        # "did the industrial designer draw": the role is who speaks, not what is said
        query = without_roles(query, STOP_WORDS)
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
        step = self._step(state, trace)
        windowed = False
        history = state.get("history") or []
        known = self._known_speakers(scope)
        kept_to: str | None = None  # the speaker whose lines the evidence keeps to
        said = named_speaker(state["question"], known) if known else None
        speaker = said.label if said is not None else None
        tried = False  # the speaker's lines were searched (once per question)
        if said is not None and said.ambiguous:
            step.note("speaker", f"ambiguous: {', '.join(said.candidates)}",
                      f"speaker(ambiguous: {', '.join(said.candidates)})")  # fmt: skip
        elif said is not None and speaker is not None:
            step.note("speaker", f"{said.mention} → {speaker}",
                      f'speaker("{said.mention}") → {speaker}')  # fmt: skip

        if tq.follow_up and history and history[-1]["citations"]:
            last = max(history[-1]["citations"], key=lambda c: c["end_s"])
            if tq.relation == "before":
                span = (max(0.0, last["start_s"] - READ_SPAN_S), max(0.0, last["start_s"] - 0.01))
            else:
                span = (last["end_s"] + 0.01, last["end_s"] + READ_SPAN_S)
            found += step.read(last["media_id"], span)
            windowed = True
        elif tq.anchor and tq.relation:
            step.note("search", f"anchor: {tq.anchor}", f'search("{tq.anchor}")')
            anchors = self.tools.search(tq.anchor, scope, limit=1)
            if anchors:
                hit = anchors[0]
                if tq.relation == "after":
                    # strictly after: the anchor chunk itself touches hit.end_s
                    span = (hit.end_s + 0.01, hit.end_s + READ_SPAN_S)
                else:
                    span = (max(0.0, hit.start_s - READ_SPAN_S), max(0.0, hit.start_s - 0.01))
                found += step.read(hit.media_id, span)
                windowed = True
        elif tq.has_window:
            media = self.tools.ready_media(scope)
            if tq.from_end_s is None and has_content:
                start, end = tq.window() or (0.0, None)
                if said is not None and speaker is not None:
                    found += self._by_speaker(state, trace, said, start_s=start, end_s=end)
                    kept_to, tried = (speaker if found else None), True
                if not found:
                    found += step.search(query, start_s=start, end_s=end)
            else:
                for m in media[:3]:
                    span = tq.window(m.duration_s)
                    if span is not None:
                        found += step.read(m.media_id, span, rank=len(found))
            windowed = bool(found)

        windowed = windowed and bool(found)
        if not found and not tried and said is not None and speaker is not None:
            found = self._by_speaker(state, trace, said)
            kept_to = speaker if found else None
        if not found:
            found = step.search(query)
        evidence, _ = _merge([], found)
        return {
            "evidence": evidence,
            "steps": sum(1 for label in trace if not label.startswith("speaker(")),
            "trace": trace,
            "windowed": windowed,
            # kept to a speaker, the planner and the relevance checks read the question
            # without the name: the filter says who, the lines do not say the name
            "query": _speaker_query(query, said) if kept_to and said else query,
            "speaker": kept_to,
            "speakers": [dataclasses.asdict(sp) for sp in known],
        }

    def _known_speakers(self, scope: list[str] | None) -> list[KnownSpeaker]:
        """The speakers of the ready media in scope (none without a directory)."""
        if self.speakers is None:
            return []
        directory = self.speakers
        return [sp for m in self.tools.ready_media(scope) for sp in directory.speakers(m.media_id)]

    def _by_speaker(
        self, state: AgentState, trace: list[str], said: SpeakerMatch, **window: float | None
    ) -> list[Evidence]:
        """The named speaker's lines for the question, or [] (noted) when none matches it."""
        query = _speaker_query(state["query"], said)
        found = self._step(state, trace, speaker=said.label).search(query, **window)
        wanted = content_words(query)
        if found and (not wanted or self.gate.best(query, found) is not None):
            return found
        label = f"speaker({said.label}): no line matches, searching all speakers"
        _progress("speaker", label)
        trace.append(label)
        return []

    def _step(self, state: AgentState, trace: list[str], **resolved: Any) -> Step:
        """A tool call's context; the call announces itself as progress and in ``trace``."""

        def note(tool: str, detail: str, label: str) -> None:
            _progress(tool, detail)
            trace.append(label)

        return Step(
            self.tools,
            note,
            scope=state.get("scope"),
            question=state["question"],
            window_tokens=self.config.window_tokens,
            **resolved,
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

    def _quotable(self, state: AgentState, *, to_quote: bool = False) -> Evidence | None:
        """The best evidence line that plainly answers the question (extractive gate);
        ``to_quote``: only lines heard clearly enough to quote, and none that asks."""
        evidence = [ev for ev in _evidence(state) if not to_quote or trusted(ev)]
        if state.get("windowed") and not content_words(state["query"]):
            # "what was said in the first minute": the window itself is the answer
            lines = sorted((ev for ev in evidence if ev.source in QUOTABLE), key=lambda e: e.rank)
            return lines[0] if lines else None
        # a line that asks shares the question's words but answers nothing
        return self.gate.best(state["query"], [ev for ev in evidence
                                               if not to_quote or not asks(ev.text)])  # fmt: skip

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
        trace = state.get("trace", [])

        def decide(evidence: list[Evidence]) -> dict[str, Any]:
            # the first lines keep their numbers when halved, so ``ref`` still points right
            return json_call(
                self.model,
                planner_messages(PLANNER_SYSTEM, state["question"], evidence, trace),
                PLANNER_SCHEMA,
                name="plan",
                max_tokens=self.config.planner_max_tokens,
            )

        try:
            decision = self._less_on_length_limit("plan", _evidence(state), decide)
        except LLMError as exc:
            _progress("plan", f"planner failed, answering: {exc}")
            return {"decision": dict(ANSWER)}
        if decision.get("tool") not in BY_NAME:
            decision = dict(ANSWER)
        return {"decision": decision}

    def act(self, state: AgentState) -> dict[str, Any]:
        """Run the tool the planner chose (from the table in :mod:`graphs.tools`)."""
        decision = state.get("decision") or {}
        tool = BY_NAME.get(decision.get("tool", "answer"), BY_NAME["answer"])
        evidence = _evidence(state)
        ref = decision.get("ref") or 0
        target = (
            evidence[ref - 1] if 1 <= ref <= len(evidence) else (evidence[0] if evidence else None)
        )
        trace = list(state.get("trace", []))
        step = self._step(
            state,
            trace,
            query=str(decision.get("query") or "").strip() or state["query"],
            target=target,
            rank=100 * (state.get("steps", 0) + 1),
            speaker=state.get("speaker"),
        )
        found: list[Evidence] = []
        if tool.run is not None and (target is not None or not tool.needs_target):
            found = tool.run(step)
        else:
            trace.append(f"{tool.name}(no target)")
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

        def generate(lines: list[Evidence]) -> tuple[str, bool, list[Evidence]]:
            # best line last, next to the question: the 0.5B model favours what it read last
            messages = answer_messages(
                state["question"], language, lines[::-1], state.get("history") or []
            )
            return (*self._stream_answer(messages, write), lines)

        raw, shown, evidence = self._less_on_length_limit("answer", evidence, generate)
        raw = raw.replace(NOT_FOUND, "").strip()  # it sometimes trails a real answer
        if not raw or _is_refusal(raw):
            return self._fallback(state, refusal, write, shown)
        # a small model sometimes repeats the question, or copies a filler line
        raw = _substantive(_first_sentences(raw, self.config.answer_max_sentences),
                           state["question"])  # fmt: skip
        if not raw:
            return self._fallback(state, refusal, write, shown)
        # words cannot be compared across languages: let the best evidence stand in
        text, citations = validate_answer(
            raw,
            evidence,
            fallback=language != "en",
            question=state["question"],
            speakers=[_known(sp) for sp in state.get("speakers", [])],
            asked_speaker=state.get("speaker"),
        )
        if not citations:
            return self._fallback(state, refusal, write, shown)
        if _restates(text, state["question"]):
            # "The screen showed the year [..]", "The team will stay at the hotel [..]":
            # cited, but it only repeats the question: quote a line that answers, or refuse
            return self._fallback(state, refusal, write, shown)
        return self._finish(state, text, [c.model_dump() for c in citations])

    def _less_on_length_limit(
        self, what: str, evidence: list[Evidence], call: Callable[[list[Evidence]], T]
    ) -> T:
        """``call(evidence)``; if the model hits its length limit, once more with the first
        (best) half of the evidence; a second failure is raised."""
        try:
            return call(evidence)
        except LengthLimitError:
            if len(evidence) < 2:
                raise
        half = evidence[: len(evidence) // 2]
        _progress(what, f"length limit: retrying with {len(half)} of {len(evidence)} lines")
        return call(half)

    def _fallback(
        self, state: AgentState, refusal: str, write: Writer, shown: bool
    ) -> dict[str, Any]:
        """The model gave no usable answer: quote evidence that plainly answers, or refuse.

        Tokens already streamed stay as they were (the final result is authoritative);
        when nothing was shown yet, the replacement text streams instead.
        """
        best = self._quotable(state, to_quote=True)
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
            if not holding:  # the caller has seen part of this answer: no second try
                raise LLMError(f"answer: chat model call failed: {exc}") from exc
            raise llm_error("answer", exc) from exc
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


def _speaker_query(query: str, said: SpeakerMatch) -> str:
    return without_mention(query, said) or query


def _known(fields: dict[str, Any]) -> KnownSpeaker:
    return KnownSpeaker(fields["label"], tuple(fields.get("aliases", ())))


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


_LABEL = re.compile(r"[\w'’.\-]+:")  # "S2:" / "Chiara:" before a quoted line
_HESITATIONS = frozenset(("hmm", "mhm", "umm", "uhm", "uhh", "mmm", "hmmm"))


def _says_nothing(answer: str) -> bool:
    """No number and no word of three letters beyond citations, speaker labels and
    hesitations: the 0.5B model sometimes copies a filler line ('S2: "mm m m" […]')."""
    text = _LABEL.sub(" ", CITATION_RE.sub(" ", answer))
    words = WORD_RE.findall(text)
    return not any(
        w.isdigit() or (len(w) >= 3 and w.lower() not in _HESITATIONS) for w in words
    )


def _substantive(answer: str, question: str) -> str:
    """``answer`` without the sentences that repeat the question or say nothing (a
    citation standing alone after its sentence's full stop stays with it)."""
    kept = [
        sentence
        for sentence in SENTENCE_END.split(answer)
        if not _echoes(sentence, question)
        and not (_says_nothing(sentence) and CITATION_RE.sub("", sentence).strip(" .!?।"))
    ]
    return " ".join(kept).strip()


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
    sentences = SENTENCE_END.split(text)
    return " ".join(sentences[:limit]).strip()
