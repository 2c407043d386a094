"""``speakers`` on ``POST /v1/media`` (the API's ``chronorag ingest --speakers N``): a bad
count is a clear 422 before anything is stored; a good one is kept on the job and reaches
diarization. Real two-speaker speech (a LibriVox reader and a CMU speaker calling cards,
Debian pocketsphinx-testdata), real resemblyzer and tiny.en Whisper on the live service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evals.meeting_speech import encode_m4a
from tests.live_server import LiveServer, ffmpeg_copy, wait_for_job
from tests.media import MediaFixture
from tests.speaker_media import reader_and_caller

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(service: LiveServer) -> Iterator[httpx.Client]:
    with service.client() as c:
        yield c


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("upload-speakers")
    reader_and_caller(root / "dialogue.wav")
    return encode_m4a(root / "dialogue.wav", root / "dialogue.m4a")


def _upload(client: httpx.Client, path: Path, speakers: str) -> httpx.Response:
    return client.post(
        "/v1/media",
        files={"file": (path.name, path.read_bytes(), "audio/mp4")},
        data={"title": "Reading and cards", "speakers": speakers},
    )


@pytest.mark.parametrize("bad", ["0", "21", "two", "1.5", "-3", "٣", "9" * 50])
def test_a_bad_speaker_count_is_a_clear_422_and_stores_nothing(
    client: httpx.Client, service: LiveServer, media: MediaFixture, bad: str
) -> None:
    before = sorted(p.name for p in service.settings.media_dir.iterdir())
    listed = len(client.get("/v1/media").json()["media"])
    response = _upload(client, media.audio, bad)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "speakers" in detail and "1 to 20" in detail
    assert sorted(p.name for p in service.settings.media_dir.iterdir()) == before
    assert len(client.get("/v1/media").json()["media"]) == listed


def test_the_count_reaches_diarization(
    client: httpx.Client, service: LiveServer, dialogue: Path, tmp_path: Path
) -> None:
    found = _upload(client, dialogue, " ")  # blank: not given, the diarizer finds the count
    given = _upload(client, ffmpeg_copy(dialogue, tmp_path / "copy.m4a", comment="one"), "1")
    assert found.status_code == given.status_code == 202, (found.text, given.text)
    jobs = service.state.container.registry
    assert jobs.get_job(found.json()["job_id"]).speakers is None
    assert jobs.get_job(given.json()["job_id"]).speakers == 1
    speakers = {}
    for name, accepted in (("found", found.json()), ("given", given.json())):
        assert wait_for_job(client, accepted["job_id"])["status"] == "ready"
        listed = client.get(f"/v1/media/{accepted['media_id']}/speakers").json()["speakers"]
        speakers[name] = [s["speaker"] for s in listed]
    assert speakers == {"found": ["S1", "S2"], "given": ["S1"]}
    # search reads the speaker a query names among the media searched, and says whom
    body = {"query": "what did speaker 2 say", "media_ids": [found.json()["media_id"]],
            "limit": 10}  # fmt: skip
    out = client.post("/v1/search", json=body).json()
    assert (out["speaker"], out["query"]) == ("S2", "what did say")
    assert out["hits"] and {h["speaker"] for h in out["hits"]} == {"S2"}
    everyone = client.post("/v1/search", json={**body, "query": "what was said"}).json()
    assert everyone["speaker"] is None and {h["speaker"] for h in everyone["hits"]} == {"S1", "S2"}
