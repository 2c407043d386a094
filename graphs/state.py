"""The agent graph's state: one question's working memory plus the thread's history.

Per-turn fields are overwritten by each new question's input; ``history`` is
appended to (a reducer) and persists per ``thread_id`` through the checkpointer.
Values are plain JSON-like data so any LangGraph checkpointer can store them.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class Turn(TypedDict):
    question: str
    answer: str
    language: str
    citations: list[dict[str, Any]]


class AgentState(TypedDict, total=False):
    # input
    question: str
    media_ids: list[str] | None
    # understood
    language: str
    query: str  # the question without its time phrases
    scope: list[str] | None  # media to consider (None: all ready media)
    time: dict[str, Any]  # graphs.timeparse.TimeQuery fields
    windowed: bool  # evidence was read from a window the question named
    speaker: str | None  # the speaker the question names, while searches keep to them
    speakers: list[dict[str, Any]]  # graphs.speakers.KnownSpeaker fields, media in scope
    # plan / act loop
    evidence: list[dict[str, Any]]  # graphs.citations.Evidence dumps
    steps: int
    trace: list[str]  # tool calls made, e.g. 'search("budget")'
    decision: dict[str, Any] | None
    stale: int  # consecutive tool calls that found nothing new
    # output
    answer: str
    citations: list[dict[str, Any]]
    history: Annotated[list[Turn], operator.add]


def turn_input(question: str, media_ids: list[str] | None) -> dict[str, Any]:
    """The input that starts a turn and resets every per-turn field."""
    return {
        "question": question,
        "media_ids": media_ids,
        "language": "en",
        "query": question,
        "scope": None,
        "time": {},
        "windowed": False,
        "speaker": None,
        "speakers": [],
        "evidence": [],
        "steps": 0,
        "trace": [],
        "decision": None,
        "stale": 0,
        "answer": "",
        "citations": [],
    }
