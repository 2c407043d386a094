"""Speakers end to end, as a user runs them: ``chronorag ingest`` with the default
diarizer, ``transcript`` in every format, ``media speakers --rename`` and
``search --speaker`` — real tiny.en Whisper, resemblyzer and the embedded index, on a
LibriVox reader taking turns with a CMU speaker calling playing cards."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.speakers import SpeakerTurn, score
from tests.cli_runner import cli_env, run
from tests.speaker_media import reader_and_caller

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("speakers-home"))


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SpeakerTurn]]:
    wav = tmp_path_factory.mktemp("speakers-media") / "reading.wav"
    return wav, reader_and_caller(wav)


@pytest.fixture(scope="module")
def ingested(env: dict[str, str], dialogue) -> dict:
    proc = run(env, "ingest", str(dialogue[0]), "--title", "Reading", "--json")
    return json.loads(proc.stdout)


def _transcript(env: dict[str, str], media_id: str, *args: str) -> str:
    return run(env, "transcript", media_id, *args).stdout


def test_transcript_words_carry_real_times_and_speakers(env, ingested, dialogue) -> None:
    assert ingested["status"] == "ready"
    body = json.loads(_transcript(env, ingested["media_id"], "--format", "json"))
    assert body["media_id"] == ingested["media_id"]
    segments = body["segments"]
    turns = [SpeakerTurn(s["start_s"], s["end_s"], s["speaker"]) for s in segments]
    got = score(dialogue[1], turns)
    assert got.found_speakers == 2 and got.accuracy >= 0.9, got
    for seg in segments:
        assert seg["words"] and seg["text"].startswith(seg["words"][0]["w"])
        assert seg["start_s"] == seg["words"][0]["start_s"]
        assert all(w["start_s"] <= w["end_s"] for w in seg["words"])
    # "dashwood" is said in the first reader clip, at its true time
    first = dialogue[1][0]
    word = next(w for s in segments for w in s["words"] if "dashwood" in w["w"].lower())
    assert first.start_s <= word["start_s"] <= first.end_s
    window = json.loads(_transcript(env, ingested["media_id"], "--json", "--start", "10",
                                    "--end", "20"))["segments"]  # fmt: skip
    assert window and all(s["start_s"] <= 20 and s["end_s"] >= 10 for s in window)


def test_srt_vtt_and_text_name_the_speakers(env, ingested) -> None:
    media_id = ingested["media_id"]
    srt = _transcript(env, media_id, "--format", "srt")
    assert re.search(r"^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\nS1: ", srt, re.M)
    vtt = _transcript(env, media_id, "--format", "vtt")
    assert vtt.startswith("WEBVTT") and "<v S1>" in vtt and "<v S2>" in vtt
    txt = _transcript(env, media_id)
    assert re.match(r"\[00:0\d\] S1: ", txt)


def test_rename_then_search_by_speaker(env, ingested, dialogue) -> None:
    media_id = ingested["media_id"]
    listed = json.loads(run(env, "media", "speakers", media_id, "--json").stdout)
    assert [s["speaker"] for s in listed["speakers"]] == ["S1", "S2"]
    # the table shows what the agent matches a question against: proposed names and roles
    table = run(env, "media", "speakers", media_id).stdout
    assert all(col in table for col in ("speaker", "proposed", "role", "speech"))
    assert all(s["speaker"] in table for s in listed["speakers"])
    # who reads the novel? S1 opens the file (the reader goes first)
    renamed = json.loads(
        run(env, "media", "speakers", media_id, "--rename", "S2=Caller", "--rename",
            "S1=Reader", "--json").stdout  # fmt: skip
    )
    assert {s["speaker"]: s["name"] for s in renamed["speakers"]} == {
        "S1": "Reader", "S2": "Caller"
    }  # fmt: skip
    hits = json.loads(
        run(env, "search", "playing cards", "--speaker", "Caller", "--json").stdout
    )
    assert hits and all(h["speaker"] == "Caller" for h in hits)
    caller = [t for t in dialogue[1] if t.speaker == "caller"]
    for h in hits:  # every hit is inside one of the caller's true turns
        assert any(t.start_s - 0.5 <= h["start_s"] <= h["end_s"] <= t.end_s + 0.5 for t in caller)
    hits = json.loads(run(env, "search", "ill disposed young man", "--json").stdout)
    assert hits[0]["speaker"] == "Reader"
    # a query naming a speaker of the media searched keeps to their lines, and says so
    named = run(env, "search", "what did the caller say", "--media-id", media_id, "--limit", "10")
    assert "the caller → Caller" in named.stderr
    hits = json.loads(run(env, "search", "what did the caller say", "--media-id", media_id,
                          "--limit", "10", "--json").stdout)  # fmt: skip
    assert hits and {h["speaker"] for h in hits} == {"Caller"}
    assert "<v Reader>" in _transcript(env, media_id, "--format", "vtt")
    bad = run(env, "media", "speakers", media_id, "--rename", "S7=X", ok=False)
    assert bad.returncode == 2 and "no speaker" in bad.stderr
