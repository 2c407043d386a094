"""The keyword side of hybrid search: text → BM25-style sparse vector.

Uses Qdrant's own BM25 embedder (shipped in ``qdrant-edge-py``, no server or model):
a multilingual tokenizer (Latin, Devanagari, CJK, … via charabia), lowercasing,
English stop words and stemming, then murmur3-hashed token ids. Documents get
saturated term-frequency weights (k, b, average length); queries weight each token 1.
The collection's sparse vector uses Qdrant's IDF modifier, so the engine supplies
the inverse document frequency and the score is BM25. Both index backends use this
encoder, so the same text always maps to the same ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import qdrant_edge as qe


@dataclass(frozen=True)
class SparseVec:
    """Hashed token ids and their weights (backend-neutral)."""

    indices: list[int]
    values: list[float]


class KeywordEncoder:
    """BM25 document/query encoder; ``name`` pins every parameter that changes ids or weights."""

    def __init__(self, *, k: float = 1.2, b: float = 0.75, avg_len: float = 40.0) -> None:
        config = qe.Bm25Config(
            k=k, b=b, avg_len=avg_len, tokenizer=qe.TokenizerType.Multilingual, language="english"
        )
        self._bm25 = qe.Bm25(config)
        self.name = f"qdrant-bm25:multilingual:english:k={k}:b={b}:avg_len={avg_len}"

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVec]:
        out = []
        for text in texts:
            vec = self._bm25.embed_document(text)
            out.append(SparseVec(list(vec.indices), list(vec.values)))
        return out

    def encode_query(self, text: str) -> SparseVec:
        vec = self._bm25.embed_query(text)
        return SparseVec(list(vec.indices), list(vec.values))
