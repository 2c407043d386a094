"""``chronorag ingest --reindex``: a ready item is indexed again through the lifecycle.

The talk (real LibriVox speech, tiny.en Whisper) is ingested; its stored transcript is
then removed, as for an item indexed before transcripts were kept. The transcript
command says how to get one (``--reindex``); a plain ingest still skips the ready item;
``--reindex`` replaces chunks and transcript, keeps the title, and while it runs the item
is out of search at every stage (never half of it searchable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import Settings
from app.container import Container
from tests.cli_runner import cli_env, run
from tests.media import MediaFixture
from vectorstore.schema import SearchRequest

pytestmark = pytest.mark.slow
TITLE = "Standup"
QUERY = "a young man who was not badly disposed"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reindex") / "home"


@pytest.fixture(scope="module")
def ingested(home: Path, media: MediaFixture) -> dict:
    proc = run(cli_env(home), "ingest", str(media.audio), "--title", TITLE, "--json")
    out = json.loads(proc.stdout)
    assert out["status"] == "ready", out
    return out


def _item_folder(home: Path, media_id: str) -> Path:
    return Settings(home=home).keyframes_dir / media_id


def test_reindex_restores_a_missing_transcript(home: Path, media: MediaFixture, ingested) -> None:
    env = cli_env(home)
    media_id = ingested["media_id"]
    stored = _item_folder(home, media_id) / "transcript.json"
    assert stored.is_file()
    stored.unlink()  # as if indexed before transcripts were kept

    missing = run(env, "transcript", media_id, ok=False)
    assert missing.returncode == 1
    assert "no stored transcript" in missing.stderr and "--reindex" in missing.stderr

    again = json.loads(run(env, "ingest", str(media.audio), "--json").stdout)
    assert again["media_id"] == media_id and again["status"] == "ready"
    assert not stored.exists()  # a plain ingest skips a ready item

    redone = json.loads(run(env, "ingest", str(media.audio), "--reindex", "--json").stdout)
    assert redone["media_id"] == media_id and redone["status"] == "ready"
    assert redone["title"] == TITLE  # kept, not replaced by the file name
    assert redone["chunks"] == ingested["chunks"]
    body = json.loads(run(env, "transcript", media_id, "--format", "json").stdout)
    assert body["media_id"] == media_id
    assert "dashwood" in " ".join(s["text"] for s in body["segments"]).lower()
    hits = json.loads(run(env, "search", QUERY, "--media-id", media_id, "--json").stdout)
    assert hits and {h["media_id"] for h in hits} == {media_id}
    listed = json.loads(run(env, "media", "list", "--json").stdout)
    assert [m["media_id"] for m in listed] == [media_id]  # the same item, not a second one


def test_a_reindex_is_never_half_searchable(home: Path, media: MediaFixture, ingested) -> None:
    media_id = ingested["media_id"]
    folder = _item_folder(home, media_id)
    old_file = folder / "chapters.json"
    old_file.write_text("{}")  # made from the old index: must go with it
    container = Container(Settings(home=home, asr_model="tiny.en"))
    seen: list[tuple[str, str, int]] = []

    def during(stage: str, fraction: float) -> None:
        if fraction == 0.0 or fraction == 1.0:
            record = container.registry.get_media(media_id)
            hits = container.search.search(SearchRequest(query=QUERY, media_ids=[media_id]))
            seen.append((stage, record.status, len(hits)))

    try:
        before = container.search.search(SearchRequest(query=QUERY, media_ids=[media_id]))
        assert before
        out = container.ingestor.ingest(media.audio, progress=during, reindex=True)
        after = container.search.search(SearchRequest(query=QUERY, media_ids=[media_id]))
        count = container.index.count(media_id)
    finally:
        container.close()
    assert out.status == "ready" and out.title == TITLE
    assert {stage for stage, _, _ in seen} >= {"speech", "index"}
    assert all(status == "running" and hits == 0 for _, status, hits in seen), seen
    assert after and count == out.chunks == ingested["chunks"]
    assert [h.start_s for h in after] == [h.start_s for h in before]
    assert not old_file.exists()
    assert (folder / "transcript.json").is_file()
