"""Runner parts of the long-meeting set: Whisper segments in media time, the naive
sliding-window chunks, reference text behind a citation, and (slow) a real run — spoken
turns, a cached tiny.en transcript reused by ingestion, search with the naive baseline."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from evals.meeting_eval import MeetingLibrary
from evals.meeting_transcripts import segments_from
from evals.naive import WINDOW, window_chunks
from ingestion.transcribe import Word


def _seg(text, words):
    return SimpleNamespace(text=text, words=[SimpleNamespace(word=w) for w in words])


def test_segments_take_their_words_in_media_time():
    words = [Word(10.0, 10.4, "Good"), Word(10.5, 11.0, "morning."),
             Word(30.0, 30.5, "Hello.")]
    recorded = [_seg(" Good morning.", [" Good", " morning."]), _seg(" ", []),
                _seg(" Hello.", [" Hello.", " "])]
    segments = segments_from(recorded, words)
    assert [(s["start"], s["end"], s["text"]) for s in segments] == [
        (10.0, 11.0, "Good morning."), (30.0, 30.5, "Hello.")]
    with pytest.raises(RuntimeError, match="do not match"):
        segments_from(recorded[:1], words)


def test_naive_windows_slide_over_three_segments():
    segments = [{"start": float(i), "end": i + 0.5, "text": f"s{i}"} for i in range(5)]
    chunks = window_chunks("m", segments)
    assert WINDOW == 3
    assert [(c.start_s, c.end_s, c.text) for c in chunks] == [
        (0.0, 2.5, "s0 s1 s2"), (1.0, 3.5, "s1 s2 s3"), (2.0, 4.5, "s2 s3 s4")]
    assert [c.text for c in window_chunks("m", segments[:2])] == ["s0 s1"]


def test_library_reference_is_the_turns_under_the_span(tmp_path):
    from evals.runner import media_id_for

    folder = tmp_path / "m1"
    folder.mkdir()
    (folder / "m1.m4a").write_bytes(b"audio bytes")
    turns = [{"index": 0, "speaker": "Marketing", "text": "It costs twenty five Euro.",
              "start_s": 0.5, "end_s": 4.0},
             {"index": 2, "speaker": "Project Manager", "text": "The cat is Caramel.",
              "start_s": 4.5, "end_s": 8.0}]
    (folder / "manifest.json").write_text(json.dumps(
        {"meeting": "m1", "split": "dev", "audio": "m1.m4a", "turns": turns}))
    lib = MeetingLibrary.load(tmp_path)
    media_id = media_id_for(folder / "m1.m4a")
    assert lib.reference(media_id, 5.0, 6.0) == "m1 Project Manager The cat is Caramel."
    assert "twenty five" in lib.reference(media_id, 3.0, 5.0)
    assert lib.reference("unknown", 0.0, 9.0) == ""
    assert lib.transcripts == []


class _MustNotRun:
    """Stands in for Whisper where the cached transcript must be used instead."""

    name, model = "faster-whisper", "tiny.en"

    def transcribe(self, *args, **kwargs):
        raise AssertionError("Whisper ran although a cached transcript matched")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is needed")
def test_cached_transcript_feeds_ingestion_and_the_naive_baseline(tmp_path):
    from app.config import Settings
    from app.container import Container
    from evals.meeting_eval import speech_pipeline
    from evals.meeting_transcripts import CachedTranscriber, load_transcript, transcribe_cached
    from evals.meetings import SOURCE_DIR, build_meeting
    from evals.runner import run_eval

    if not SOURCE_DIR.is_dir():
        pytest.skip("QMSum AMI files not here")
    meetings = tmp_path / "meetings"
    manifest_path = build_meeting("IS1004a", meetings, workers=2, turn_limit=6)
    manifest = json.loads(manifest_path.read_text())
    audio = manifest_path.parent / manifest["audio"]
    container = Container(Settings(home=tmp_path / "home", asr_model="tiny.en"))
    try:
        out = transcribe_cached(container, audio, manifest_path.parent / "transcript.json")
        data = json.loads(out.read_text())
        assert data["model"] == "tiny.en" and data["segments"]
        said = " ".join(s["text"] for s in data["segments"]).lower()
        assert "good morning" in said
        assert transcribe_cached(container, audio, out) == out  # cached
        cached = CachedTranscriber(_MustNotRun(), [out])
        assert cached.transcribe(audio).words == load_transcript(out).words

        dataset = meetings / "dataset-test.jsonl"
        line = {"media": "IS1004a/IS1004a.m4a", "question": "Is everybody ready?",
                "windows": [[manifest["turns"][2]["start_s"], manifest["turns"][5]["end_s"]]],
                "group": "pointed", "split": "test", "manifest": "IS1004a/manifest.json"}
        dataset.write_text(json.dumps(line) + "\n")
        speech_pipeline(container).transcriber = CachedTranscriber(_MustNotRun(), [out])
        result = run_eval(container, dataset, mode="search", meetings_dir=meetings)
    finally:
        container.close()
    item = result.items[0]
    assert item.naive is not None and item.search is not None
    assert item.length == "< 1 min" and item.group == "pointed"
    assert set(result.metrics["by_group"]) == {"pointed"}
    assert 0.0 <= result.metrics["seek_acc"] <= 1.0
    assert "naive_seek_acc" in result.metrics


def test_naive_index_ranks_by_meaning_and_filters_by_media(tmp_path, settings):
    from app.container import Container
    from evals.naive import NaiveIndex

    lines = {
        "a" * 64: ["Good morning everyone.", "Let us start the meeting.",
                   "The remote will sell for twenty five euros.", "My favourite animal is a cat.",
                   "Thanks, see you next week."],
        "b" * 64: ["The price of the remote is twenty five euros.", "We like dolphins.",
                   "That is all for today."],
    }
    paths = []
    for sha, texts in lines.items():
        segments = [{"start": 5.0 * i, "end": 5.0 * i + 4, "text": t, "words": []}
                    for i, t in enumerate(texts)]
        path = tmp_path / f"{sha[0]}.json"
        path.write_text(json.dumps({"audio_sha256": sha, "segments": segments}))
        paths.append(path)
    container = Container(settings)
    try:
        index = NaiveIndex(container.embedder, paths, tmp_path / "cache")
        assert len(index.chunks) == 3 + 1  # 5 segments -> 3 windows, 3 segments -> 1
        only_a = index.search("Which animal does the speaker like?", media_id="a" * 16)
        assert {s.media_id for s in only_a} == {"a" * 16}
        assert only_a[0].start_s <= 15.0 <= only_a[0].end_s  # a window holding the cat line
        again = NaiveIndex(container.embedder, paths, tmp_path / "cache")  # cached vectors
        assert (again.vectors == index.vectors).all()
    finally:
        container.close()
