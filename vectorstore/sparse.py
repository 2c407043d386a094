"""The keyword side of hybrid search: text → BM25-style sparse vector.

A small multilingual tokenizer: NFKC + casefold, then runs of letters, combining
marks and digits (so Devanagari/Tamil words stay whole and numbers such as ticket ids
or years survive — Qdrant's bundled multilingual BM25 tokenizer drops digits), with
Han/Kana/Thai text split into single characters since those scripts do not use
spaces. Common English and Hindi function words are dropped. Tokens hash (blake2b,
31 bits) to sparse ids. Documents get BM25 term-frequency weights
``tf·(k+1) / (tf + k·(1-b+b·len/avg_len))``; queries weight each token 1. The
collection's sparse vector uses Qdrant's IDF modifier, so the engine supplies the
inverse document frequency and the dot product is BM25. Both index backends use
this encoder, so the same text always maps to the same ids.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import regex

_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]")
# function words that carry no topic (English, Hindi); IDF alone is weak on small corpora
STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our ours out over own
    same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours
    और का की के को में से है हैं था थी थे तो भी ही यह वह ये वो एक पर ने कि क्या कौन कब कहाँ
    क्यों कैसे हो""".split()  # noqa: SIM905 - a word list reads better as text
)


@dataclass(frozen=True)
class SparseVec:
    """Hashed token ids and their weights (backend-neutral)."""

    indices: list[int]
    values: list[float]


def char_script(ch: str) -> str:
    """The Unicode script of one character, as the first word of its name ("LATIN",
    "DEVANAGARI", "TAMIL"; "DIGIT" for 0–9; ``""`` for an unnamed one)."""
    return unicodedata.name(ch, "").split(" ", 1)[0]


def script(word: str) -> str:
    """The script of a word's first letter; ``""`` for a word without letters (a number)."""
    return next((char_script(ch) for ch in word if ch.isalpha()), "")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens in any script, minus stop words; unspaced scripts → characters."""
    out: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if word in STOPWORDS:
            continue
        if _UNSPACED.search(word):
            out.extend(ch for ch in word if ch.strip())
        else:
            out.append(word)
    return out


def token_id(token: str) -> int:
    """Stable id of a token (same in every process and version of Python)."""
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


class KeywordEncoder:
    """BM25 document/query encoder; ``name`` pins every parameter that changes ids or weights."""

    def __init__(self, *, k: float = 1.2, b: float = 0.75, avg_len: float = 40.0) -> None:
        if k < 0 or not 0 <= b <= 1 or avg_len <= 0:
            raise ValueError(f"bad BM25 parameters k={k} b={b} avg_len={avg_len}")
        self.k, self.b, self.avg_len = k, b, avg_len
        self.name = f"bm25-words-stop1-blake2b31:k={k}:b={b}:avg_len={avg_len}"

    def encode_document(self, text: str) -> SparseVec:
        tokens = tokenize(text)
        if not tokens:
            return SparseVec([], [])
        norm = self.k * (1 - self.b + self.b * len(tokens) / self.avg_len)
        weights: dict[int, float] = {}
        for token, tf in Counter(tokens).items():
            # two tokens hashing alike simply share an id (summed), like any hashed BM25
            tid = token_id(token)
            weights[tid] = weights.get(tid, 0.0) + tf * (self.k + 1) / (tf + norm)
        return SparseVec(list(weights), list(weights.values()))

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVec]:
        return [self.encode_document(t) for t in texts]

    def encode_query(self, text: str) -> SparseVec:
        ids = sorted({token_id(t) for t in tokenize(text)})
        return SparseVec(ids, [1.0] * len(ids))
