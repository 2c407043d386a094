"""Integration: "what did <name> say about X?" on a real two-speaker recording.

A LibriVox reader of *Sense and Sensibility* takes turns with a CMU speaker calling
playing cards (Debian ``pocketsphinx-testdata``, tests/speaker_media.py), ingested by the
container as a user would: tiny.en Whisper, the resemblyzer diarizer, the embedded index
and stored transcript; the two speakers are then renamed. The agent runs on the real
embedded llama.cpp server (Qwen2.5 0.5B GGUF). Each cited moment must lie inside one of
the named speaker's true turns.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import transcripts
from app.config import Settings
from app.container import Container
from graphs.agent import Agent, AskResult
from ingestion.diarize import SpeakerTurn
from tests.speaker_media import reader_and_caller

pytestmark = pytest.mark.slow

NAMES = {"reader": "Elinor", "caller": "Marco"}


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, list]]:
    home = tmp_path_factory.mktemp("agent-speakers")
    wav = home / "reading.wav"
    truth = reader_and_caller(wav)
    container = Container(Settings(home=home / "home", asr_model="tiny.en"))
    try:
        out = container.ingestor.ingest(wav, title="Reading", speakers=2)
        assert out.status == "ready", out.error
        doc = transcripts.load(container, out.media_id)
        # name each diarized speaker after the true speaker of most of its speech
        renames = {sp: NAMES[_true_speaker(doc, sp, truth)] for sp in doc.speakers()}
        assert sorted(renames.values()) == ["Elinor", "Marco"], renames
        transcripts.rename(container, out.media_id, renames)
        yield container, truth
    finally:
        container.close()


def _true_speaker(doc, speaker: str, truth: list[SpeakerTurn]) -> str:
    overlap: dict[str, float] = {}
    for seg in doc.segments:
        if seg.speaker != speaker:
            continue
        for t in truth:
            shared = min(seg.end_s, t.end_s) - max(seg.start_s, t.start_s)
            if shared > 0:
                overlap[t.speaker] = overlap.get(t.speaker, 0.0) + shared
    return max(overlap, key=overlap.__getitem__)


@pytest.fixture(scope="module")
def agent(meeting) -> Agent:
    return meeting[0].agent


def _trace(agent: Agent, result: AskResult) -> list[str]:
    state = agent.graph.get_state({"configurable": {"thread_id": result.thread_id}}).values
    return state["trace"]


def _inside(truth: list[SpeakerTurn], who: str, start_s: float, end_s: float) -> bool:
    return any(
        t.speaker == who and t.start_s - 0.5 <= start_s and end_s <= t.end_s + 0.5 for t in truth
    )


def test_what_the_caller_said_cites_the_callers_moment(agent: Agent, meeting) -> None:
    truth = meeting[1]
    # (tiny.en hears "clubs" as "Clovs": the spades and hearts are heard right)
    events = list(agent.stream("What did Marco say about spades and hearts?"))
    result = events[-1]["result"]
    trace = _trace(agent, result)
    assert trace[0] == 'speaker("Marco") → Marco', trace
    assert trace[1].startswith("search(") and 'speaker="Marco"' in trace[1], trace
    # the plan step is a progress event like every tool call
    assert {"type": "progress", "tool": "speaker", "detail": "Marco → Marco"} in events
    assert result.citations, result.answer
    for c in result.citations:
        assert c.speaker == "Marco", result
        assert _inside(truth, "caller", c.start_s, c.end_s), (c, truth)


def test_what_the_reader_said_cites_the_readers_moment(agent: Agent, meeting) -> None:
    truth = meeting[1]
    result = agent.ask("What did Elinor say about the young man?")
    assert 'speaker="Elinor"' in _trace(agent, result)[1]
    assert result.citations, result.answer
    for c in result.citations:
        assert c.speaker == "Elinor", result
        assert _inside(truth, "reader", c.start_s, c.end_s), (c, truth)
    # "he was not an ill disposed young man", "unless to be rather cold hearted …"
    about_him = [t for t in truth if t.speaker == "reader"][1:3]
    assert any(
        c.start_s <= t.end_s and c.end_s >= t.start_s for c in result.citations for t in about_him
    ), (result, about_him)


def test_nothing_relevant_by_that_speaker_falls_back_to_everyone(agent: Agent, meeting) -> None:
    truth = meeting[1]
    result = agent.ask("What did Marco say about John Dashwood?")
    trace = _trace(agent, result)
    assert "speaker(Marco): no line matches, searching all speakers" in trace, trace
    fallback = trace[trace.index("speaker(Marco): no line matches, searching all speakers") + 1]
    assert fallback.startswith("search(") and "speaker=" not in fallback, trace
    # whatever the answer cites now is what was said, by whoever said it
    for c in result.citations:
        who = "reader" if c.speaker == "Elinor" else "caller"
        assert _inside(truth, who, c.start_s, c.end_s), (c, truth)
    assert "Marco" not in result.answer or not result.citations, result.answer


def test_a_hindi_question_with_the_english_name(agent: Agent, meeting) -> None:
    truth = meeting[1]
    result = agent.ask("Elinor ने युवक के बारे में क्या कहा?")
    trace = _trace(agent, result)
    assert result.language == "hi"
    assert trace[0] == 'speaker("Elinor") → Elinor', trace
    assert any('speaker="Elinor"' in step for step in trace), trace
    for c in result.citations:  # the 0.5B model may refuse in Hindi; a citation is hers
        assert c.speaker == "Elinor" and _inside(truth, "reader", c.start_s, c.end_s), c


def test_an_unnamed_question_is_not_filtered(agent: Agent) -> None:
    result = agent.ask("How many hearts were called?")
    trace = _trace(agent, result)
    assert not any(step.startswith("speaker(") or "speaker=" in step for step in trace), trace
