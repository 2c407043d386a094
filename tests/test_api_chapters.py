"""``GET /v1/media/{id}/chapters`` on the live service: a real two-topic meeting (Piper and
eSpeak NG voices, tiny.en Whisper) chaptered by the summariser on the embedded llama.cpp
server (Qwen2.5 0.5B). The list tiles the recording and splits where the topic changes; it
is stored beside the transcript and served from there, and made again when the stored
file is missing or belongs to an earlier index. Structure and times, not prose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chapter_media import TOPIC_CHANGE
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(service: LiveServer) -> Iterator[httpx.Client]:
    with service.client() as c:
        yield c


def _stored_file(service: LiveServer, media_id: str) -> Path:
    return service.state.container.transcripts.folder(media_id) / "chapters.json"


def _get(client: httpx.Client, media_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/media/{media_id}/chapters")
    assert response.status_code == 200, response.text
    return response.json()


def test_chapters_tile_the_meeting_and_split_where_the_topic_changes(
    client: httpx.Client, service: LiveServer, chaptered_meeting: dict[str, Any]
) -> None:
    media_id = chaptered_meeting["media_id"]
    body = _get(client, media_id)
    assert set(body) == {"media_id", "chapters"} and body["media_id"] == media_id
    chapters = body["chapters"]
    assert all(set(c) == {"title", "start_s", "end_s"} and c["title"].strip() for c in chapters)
    duration = client.get(f"/v1/media/{media_id}").json()["duration_s"]
    assert chapters[0]["start_s"] == 0.0
    assert chapters[-1]["end_s"] == pytest.approx(duration)
    for before, after in zip(chapters, chapters[1:], strict=False):
        assert before["end_s"] == after["start_s"] < after["end_s"]
    # the second topic starts a chapter, at the transcript line where it is first said
    segments = client.get(f"/v1/media/{media_id}/transcript").json()["segments"]
    change = next(s["start_s"] for s in segments if "journey" in s["text"].lower())
    starts = [c["start_s"] for c in chapters[1:]]
    assert starts, chapters
    assert min(abs(s - change) for s in starts) <= 6.0, (starts, change, TOPIC_CHANGE)

    stored = _stored_file(service, media_id)
    assert json.loads(stored.read_text())["chapters"] == chapters
    written = stored.stat().st_mtime_ns
    assert _get(client, media_id) == body  # served from the stored list
    assert stored.stat().st_mtime_ns == written


def test_a_missing_or_outdated_stored_list_is_made_again(
    client: httpx.Client, service: LiveServer, chaptered_meeting: dict[str, Any]
) -> None:
    media_id = chaptered_meeting["media_id"]
    first = _get(client, media_id)["chapters"]
    stored = _stored_file(service, media_id)
    stored.unlink()
    again = _get(client, media_id)["chapters"]
    assert stored.is_file()
    bounds = [(c["start_s"], c["end_s"]) for c in first]
    assert [(c["start_s"], c["end_s"]) for c in again] == bounds  # segmentation is stable

    doc = json.loads(stored.read_text())
    record = service.state.container.registry.get_media(media_id)
    assert datetime.fromisoformat(doc["indexed_at"]) == record.updated_at
    doc["indexed_at"] = datetime(2020, 1, 1, tzinfo=UTC).isoformat()  # an earlier index's
    doc["chapters"] = [{"title": "From the old index", "start_s": 0.0, "end_s": 1.0}]
    stored.write_text(json.dumps(doc))
    remade = _get(client, media_id)["chapters"]
    assert [(c["start_s"], c["end_s"]) for c in remade] == bounds
    assert datetime.fromisoformat(json.loads(stored.read_text())["indexed_at"]) == (
        record.updated_at
    )


def test_unknown_unready_and_unauthorised(
    client: httpx.Client, service: LiveServer, chaptered_meeting: dict[str, Any]
) -> None:
    assert client.get("/v1/media/0123456789abcdef/chapters").status_code == 404
    with service.client(key=None) as anonymous:
        url = f"/v1/media/{chaptered_meeting['media_id']}/chapters"
        assert anonymous.get(url).status_code == 401
    store = service.state.container.registry
    store.upsert_media("f" * 16, title="Broken", path="/nonexistent.mp4", sha256="f" * 64,
                       recorded_at=None, status="failed")  # fmt: skip
    try:
        refused = client.get(f"/v1/media/{'f' * 16}/chapters")
        assert refused.status_code == 409 and "not indexed" in refused.json()["detail"]
    finally:
        assert service.state.container.lifecycle.delete("f" * 16)
