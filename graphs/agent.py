"""The agent facade: ``ask``, ``stream`` and ``summarize`` (see docs/contracts.md).

Everything is injected by the composition root: the media search and registry,
the chat model (llama.cpp's server or vLLM, both through ``ChatOpenAI``), an
optional VLM client, a LangGraph checkpointer for per-thread memory and optionally
the query embedder (for the extractive fallback's cross-language relevance gate) and
a speaker directory (who speaks in each item, for questions naming a speaker).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, Field

from graphs.citations import Citation
from graphs.extractive import RelevanceGate
from graphs.graph import build_graph
from graphs.nodes import AgentConfig, AgentNodes
from graphs.speakers import SpeakerDirectory
from graphs.state import turn_input
from graphs.summarize import ProgressFn, Summarizer, Summary
from graphs.tools import MediaCatalog, MediaSearchPort, Tools
from graphs.vlm import VLMClient
from vectorstore.bridge import KeywordBridge
from vectorstore.embedders import Embedder

__all__ = ["Agent", "AgentEvent", "AskResult", "Citation", "Summary"]

AgentEvent = dict[str, Any]


class AskResult(BaseModel):
    """The agent's answer: text, language, validated citations, thread. The faces add
    its speech (``app.answering.Answer``); this is the one schema both build on."""

    answer: str
    language: str
    citations: list[Citation] = Field(default_factory=list)
    thread_id: str


class Agent:
    """Answers questions about indexed media with validated timestamp citations."""

    def __init__(
        self,
        search: MediaSearchPort,
        registry: MediaCatalog,
        chat_model: BaseChatModel,
        *,
        vlm: VLMClient | None = None,
        checkpointer: BaseCheckpointSaver | None = None,
        max_steps: int = 4,
        max_evidence_tokens: int = 1500,
        prompt_evidence_tokens: int = 280,
        now: Callable[[], datetime] | None = None,
        embedder: Embedder | None = None,
        speakers: SpeakerDirectory | None = None,
        bridge: KeywordBridge | None = None,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.tools = Tools(search, registry, vlm)
        self.config = AgentConfig(
            max_steps=max_steps,
            max_evidence_tokens=max_evidence_tokens,
            prompt_evidence_tokens=prompt_evidence_tokens,
        )
        # the embedder (the index's own, multilingual) lets the extractive fallback and the
        # early stop judge evidence for questions in another language than the media; the
        # bridge (the index's) lets a Hindi question's words count as the line's English ones
        gate = RelevanceGate(embedder, bridge=bridge)
        nodes = AgentNodes(self.tools, chat_model, self.config, gate=gate, speakers=speakers)
        if now is not None:
            nodes.now = now
        self.nodes = nodes
        self.graph = build_graph(nodes, checkpointer or InMemorySaver())
        self.summarizer = Summarizer(self.tools, chat_model, embedder=embedder)

    def _start(
        self, question: str, media_ids: list[str] | None, thread_id: str | None
    ) -> tuple[dict[str, Any], dict[str, Any], str]:
        if not question or not question.strip():
            raise ValueError("the question is empty")
        thread = thread_id or uuid.uuid4().hex
        config = {"configurable": {"thread_id": thread}}
        return turn_input(question.strip(), list(media_ids) if media_ids else None), config, thread

    @staticmethod
    def _result(values: dict[str, Any], thread: str) -> AskResult:
        return AskResult(
            answer=values.get("answer", ""),
            language=values.get("language", "en"),
            citations=[Citation(**c) for c in values.get("citations", [])],
            thread_id=thread,
        )

    def ask(
        self, question: str, *, media_ids: list[str] | None = None, thread_id: str | None = None
    ) -> AskResult:
        """Answer ``question``; the same ``thread_id`` continues a conversation."""
        state, config, thread = self._start(question, media_ids, thread_id)
        values = self.graph.invoke(state, config)
        return self._result(values, thread)

    def stream(
        self, question: str, *, media_ids: list[str] | None = None, thread_id: str | None = None
    ) -> Iterator[AgentEvent]:
        """Progress and answer-token events, then ``{"type": "final", "result": AskResult}``.

        Tokens are the model's raw output; the final result carries the answer after
        citation validation (invalid citations repaired or dropped).
        """
        state, config, thread = self._start(question, media_ids, thread_id)
        values: dict[str, Any] = {}
        for mode, data in self.graph.stream(state, config, stream_mode=["custom", "values"]):
            if mode == "custom":
                yield data
            else:
                values = data
        yield {"type": "final", "result": self._result(values, thread)}

    def summarize(
        self,
        media_id: str,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        style: str = "summary",
        on_progress: ProgressFn | None = None,
    ) -> Summary:
        """A summary, chapter list or meeting minutes of a recording or a span of it."""
        return self.summarizer.summarize(
            media_id, start_s=start_s, end_s=end_s, style=style, on_progress=on_progress
        )
