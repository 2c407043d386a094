"""The one answer path of every face: the agent's answer, then (if asked) its speech.

``chronorag ask`` calls :func:`answer_question`; the service's ``POST /v1/ask`` and
``/v1/chat/completions`` run :func:`answer_events` through ``app.api.agent_bridge``.
Both get an :class:`Answer`: the agent's :class:`~graphs.agent.AskResult` plus what
speaking it gave. The written answer stands on its own: when speech fails (no voice
for the language, a broken avatar), the answer is still returned, without audio, and
``speech_error`` says why. The API shows the answer files as URLs, never as paths
(``app.api.schemas.AskOut``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from app.container import Container
from graphs.agent import AgentEvent, AskResult
from speech.speaker import Speaker

Speak = Literal["none", "audio", "avatar"]
log = logging.getLogger("chronorag.answering")


class Speech(BaseModel):
    """What speaking an answer gave: the words said, or why nothing was said."""

    spoken_text: str | None = None
    speech_error: str | None = None


class Answer(AskResult, Speech):
    """An answer as the faces get it; ``chronorag ask --json`` prints it. The paths are
    files on the machine that answered (the API turns them into URLs)."""

    audio_path: str | None = None
    video_path: str | None = None


def speak_answer(answer: Answer, speaker: Speaker, out_dir: Path, mode: Speak) -> Answer:
    """``answer`` with its speech (``mode`` audio or avatar), or with ``speech_error``."""
    if mode == "none" or not answer.answer:
        return answer
    try:
        spoken = speaker.speak(answer.answer, answer.language, out_dir, avatar=mode == "avatar")
    except Exception as exc:  # any speech failure: the written answer still stands
        log.exception("could not speak the answer")
        return answer.model_copy(update={"speech_error": str(exc) or type(exc).__name__})
    return answer.model_copy(
        update={
            "spoken_text": spoken.spoken_text,
            "audio_path": str(spoken.audio_path),
            "video_path": str(spoken.video_path) if spoken.video_path else None,
        }
    )


def answer_events(
    container: Container,
    question: str,
    *,
    media_ids: list[str] | None = None,
    thread_id: str | None = None,
    speak: Speak = "none",
) -> Iterator[AgentEvent]:
    """The agent's progress and token events, a ``speak`` progress event when asked, then
    ``{"type": "final", "result": Answer}``."""
    result: AskResult | None = None
    for event in container.agent.stream(question, media_ids=media_ids, thread_id=thread_id):
        if event.get("type") == "final":
            result = event["result"]
        else:
            yield event
    if result is None:
        raise RuntimeError("the agent finished without a result")
    answer = Answer(**result.model_dump())
    if speak != "none" and answer.answer:
        yield {"type": "progress", "tool": "speak", "detail": speak}
        answer = speak_answer(answer, container.speaker, container.settings.answers_dir, speak)
    yield {"type": "final", "result": answer}


def answer_question(
    container: Container,
    question: str,
    *,
    media_ids: list[str] | None = None,
    thread_id: str | None = None,
    speak: Speak = "none",
    on_token: Callable[[str], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> Answer:
    """:func:`answer_events` to the end, tokens and progress lines to the callbacks."""
    answer: Answer | None = None
    events = answer_events(
        container, question, media_ids=media_ids, thread_id=thread_id, speak=speak
    )
    for event in events:
        kind = event.get("type")
        if kind == "token" and on_token:
            on_token(event["text"])
        elif kind == "progress" and on_progress:
            on_progress(_progress_line(event))
        elif kind == "final":
            answer = event["result"]
    assert answer is not None  # answer_events always ends with the final event
    return answer


def _progress_line(event: dict[str, Any]) -> str:
    detail = event.get("detail")
    return f"{event.get('tool')}" + (f": {detail}" if detail else "")
