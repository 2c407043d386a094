"""Broad questions, focused: search with the words that set the asked-about stretch apart.

A meeting repeats its topic words in every other line. "Summarize the discussion about
the design of the remote control" shares most of its words with the meeting's opening
("we are here to design a new remote control"), so dense and keyword search alike put
the opening first, not the design discussion. A *broad* question — one with a word of
``broad_words`` ("summarize", "discussion", "think") — is therefore also searched as its
*focus*: its words (stop words gone, :func:`vectorstore.sparse.tokenize`) that at most
``max_share`` of the searched media's moments use, minus the words that only frame the
question (``frame_words``: "discussion", "group", "agree"). Here that is "design".

The dense query becomes the mean of the question's and the focus's vectors, so a
moment's score stays a cosine-like relevance (the mean of the two cosines), and the
keywords are the focus's. Pointed questions ("How much will it sell for?") are searched
as asked. The words' shares come from the media the search is limited to, or else the
media of the dense side's candidates; each media item's word counts are read from the
index once and cached while its number of chunks stays the same (a re-index changes it).
The share and the word lists were tuned on the long-meeting dev split
(``bench/meeting_speakers.py --focus``).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from vectorstore.sparse import tokenize

MAX_SHARE = 0.04  # dev QMSum in-span best of 0.02/0.04/0.08; pointed seek unchanged
CACHE_MEDIA = 256


@dataclass
class Vocabulary:
    """How many of a set of moments use each word (document frequency)."""

    moments: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        vocab = cls()
        for text in texts:
            vocab.moments += 1
            vocab.counts.update(set(tokenize(text)))
        return vocab

    def share(self, word: str) -> float:
        return self.counts[word] / self.moments if self.moments else 0.0

    def __add__(self, other: Vocabulary) -> Vocabulary:
        return Vocabulary(self.moments + other.moments, self.counts + other.counts)


class QueryFocus:
    """Decides whether a question is broad and, if so, which of its words to search."""

    def __init__(
        self,
        broad_words: Collection[str],
        frame_words: Collection[str] = (),
        max_share: float = MAX_SHARE,
        cache_media: int = CACHE_MEDIA,
    ) -> None:
        self.broad_words = frozenset(w.casefold() for w in broad_words)
        self.frame_words = self.broad_words | {w.casefold() for w in frame_words}
        self.max_share = max_share
        self.cache_media = cache_media
        self._cache: OrderedDict[tuple[str, int], Vocabulary] = OrderedDict()
        self._lock = threading.Lock()

    def is_broad(self, query: str) -> bool:
        return not self.broad_words.isdisjoint(tokenize(query))

    def focus(self, query: str, vocabulary: Vocabulary) -> str | None:
        """The focus of a broad ``query`` over ``vocabulary``; ``None`` for a pointed
        question, or when none of its words is rare enough."""
        words = list(dict.fromkeys(tokenize(query)))
        if self.broad_words.isdisjoint(words) or not vocabulary.moments:
            return None
        kept = [
            w for w in words if w not in self.frame_words and vocabulary.share(w) <= self.max_share
        ]
        return " ".join(kept) or None

    def vocabulary(
        self,
        media_ids: Sequence[str],
        count: Callable[[str], int],
        texts: Callable[[str], Iterable[str]],
    ) -> Vocabulary:
        """The media items' combined vocabulary; ``count(media_id)`` is its number of
        chunks now (the cache key), ``texts(media_id)`` reads its chunks' own texts."""
        total = Vocabulary()
        for media_id in dict.fromkeys(media_ids):
            key = (media_id, count(media_id))
            with self._lock:
                vocab = self._cache.get(key)
                if vocab is not None:
                    self._cache.move_to_end(key)
            if vocab is None:  # read outside the lock: a long media item holds up no one
                vocab = Vocabulary.of(texts(media_id))
                with self._lock:
                    self._cache[key] = vocab
                    while len(self._cache) > self.cache_media:
                        self._cache.popitem(last=False)
            total = total + vocab
        return total
