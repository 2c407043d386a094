"""The one answer path (``app.answering``) and its speech-failure rule, for both faces.

The rule: when speaking fails, the written answer is still returned, without audio,
and ``speech_error`` says why. The failure here is real: the built-in avatar asked to
draw a portrait file that does not exist. The fast tests use real eSpeak NG speech;
the slow ones run the real CLI and the real service (llama.cpp, 0.5B model) on an
empty library, where the agent answers with its refusal and then tries to speak it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.answering import Answer, speak_answer
from app.api.schemas import AskOut
from graphs.citations import Citation
from graphs.language import REFUSALS
from speech.cv_avatar import CvAvatar
from speech.factory import build_tts
from speech.speaker import Speaker
from tests.live_server import LiveServer, service_settings

MISSING_PORTRAIT = Path("/nonexistent/portrait.png")
QUESTION = "What did they decide about the launch?"


def written_answer() -> Answer:
    cite = Citation(media_id="m1", title="Sync", start_s=3725, end_s=3755, quote="We ship.")
    return Answer(
        answer="They ship on Friday [Sync @ 1:02:05–1:02:35].",
        language="en",
        citations=[cite],
        thread_id="t-1",
    )


@pytest.fixture(scope="module")
def speaker() -> Speaker:
    return Speaker(build_tts("espeak"), lambda: CvAvatar(MISSING_PORTRAIT))


def test_spoken_answer_has_its_audio_and_words(speaker: Speaker, tmp_path: Path) -> None:
    spoken = speak_answer(written_answer(), speaker, tmp_path, "audio")
    assert spoken.speech_error is None
    assert spoken.audio_path and Path(spoken.audio_path).read_bytes()[:4] == b"RIFF"
    assert spoken.spoken_text == "They ship on Friday, at one hour two minutes five seconds."
    assert spoken.video_path is None


def test_speech_failure_keeps_the_written_answer(speaker: Speaker, tmp_path: Path) -> None:
    answer = written_answer()
    spoken = speak_answer(answer, speaker, tmp_path, "avatar")
    assert spoken.speech_error and "portrait" in spoken.speech_error
    assert spoken.model_dump(exclude={"speech_error"}) == answer.model_dump(
        exclude={"speech_error"}
    )
    assert spoken.audio_path is None and spoken.video_path is None
    assert list(tmp_path.iterdir()) == []  # no half answer left behind


def test_no_speech_asked_is_no_speech(speaker: Speaker, tmp_path: Path) -> None:
    assert speak_answer(written_answer(), speaker, tmp_path, "none") == written_answer()


def test_api_view_has_urls_and_no_server_paths(tmp_path: Path) -> None:
    answer = written_answer().model_copy(
        update={"audio_path": str(tmp_path / "answer-1.wav"), "spoken_text": "They ship."}
    )
    out = AskOut.of(answer, lambda path: f"/v1/answers/{Path(path).name}" if path else None)
    data = out.model_dump()
    assert "audio_path" not in data and "video_path" not in data
    assert not any(str(tmp_path) in str(value) for value in data.values())
    assert data["audio_url"] == "/v1/answers/answer-1.wav" and data["video_url"] is None
    # the rest is the answer itself, field for field
    assert {k: v for k, v in data.items() if k in Answer.model_fields} == answer.model_dump(
        exclude={"audio_path", "video_path"}
    )


# --- both faces, end to end ------------------------------------------------------------
@pytest.mark.slow
def test_cli_returns_the_answer_when_speech_fails(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CHRONORAG_HOME": str(tmp_path / "home"),
        "CHRONORAG_AVATAR_PORTRAIT": str(MISSING_PORTRAIT),
        "HF_HUB_OFFLINE": "1",
    }
    cli = str(Path(sys.executable).with_name("chronorag"))
    proc = subprocess.run(
        [cli, "ask", QUESTION, "--speak", "avatar", "--json"],
        env=env, text=True, capture_output=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["answer"] == REFUSALS["en"]  # the library is empty
    assert "portrait" in result["speech_error"]
    assert result["audio_path"] is None and result["video_path"] is None

    human = subprocess.run(
        [cli, "ask", QUESTION, "--speak", "avatar"],
        env=env, text=True, capture_output=True, timeout=900,
    )  # fmt: skip
    assert human.returncode == 0, human.stderr
    assert REFUSALS["en"] in human.stdout
    assert "not spoken:" in human.stderr and "portrait" in human.stderr


@pytest.fixture(scope="module")
def broken_avatar_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("no-portrait") / "home"
    server = LiveServer(service_settings(home, avatar_portrait=MISSING_PORTRAIT)).start()
    yield server
    server.stop()


def _sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events, kind = [], "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            events.append((kind, json.loads(line[5:].strip())))
    return events


@pytest.mark.slow
def test_api_returns_the_answer_when_speech_fails(broken_avatar_service: LiveServer) -> None:
    with broken_avatar_service.client() as client:
        response = client.post("/v1/ask", json={"question": QUESTION, "speak": "avatar"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == set(AskOut.model_fields)
        assert body["answer"] == REFUSALS["en"]
        assert "portrait" in body["speech_error"]
        assert body["audio_url"] is None and body["video_url"] is None

        with client.stream(
            "POST", "/v1/ask", json={"question": QUESTION, "speak": "avatar"},
            headers={"Accept": "text/event-stream"},
        ) as streamed:  # fmt: skip
            events = _sse(streamed)
    kinds = [kind for kind, _ in events]
    assert "error" not in kinds and kinds[-1] == "final"
    assert ("progress", {"tool": "speak", "detail": "avatar"}) in events
    final = events[-1][1]
    assert final["answer"] == REFUSALS["en"] and "portrait" in final["speech_error"]
    assert final["audio_url"] is None
