"""Answer a question end to end for the faces: agent answer, then (optionally) speech.

Shared by the CLI and the service so both return the same JSON shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.container import Container


def answer_question(
    container: Container,
    question: str,
    *,
    media_ids: list[str] | None = None,
    thread_id: str | None = None,
    speak: str = "none",
    on_token: Callable[[str], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> Any:
    """Run the agent (streaming tokens/progress to callbacks) and speak the result if asked."""
    result = None
    for event in container.agent.stream(question, media_ids=media_ids, thread_id=thread_id):
        kind = event.get("type")
        if kind == "token" and on_token:
            on_token(event["text"])
        elif kind == "progress" and on_progress:
            detail = event.get("detail")
            on_progress(f"{event.get('tool')}" + (f": {detail}" if detail else ""))
        elif kind == "final":
            result = event["result"]
    if result is None:
        raise RuntimeError("the agent finished without a result")
    if speak != "none" and result.answer:
        spoken = container.speaker.speak(
            result.answer,
            result.language,
            container.settings.answers_dir,
            avatar=speak == "avatar",
        )
        result.audio_path = str(spoken.audio_path)
        result.spoken_text = spoken.spoken_text
        result.video_path = str(spoken.video_path) if spoken.video_path else None
    return result
