"""Broad questions, focused: search with the words that set the asked-about stretch apart.

A meeting repeats its topic words in every other line. "Summarize the discussion about
the design of the remote control" shares most of its words with the meeting's opening
("we are here to design a new remote control"), so dense and keyword search alike put
the opening first, not the design discussion. A *broad* question — one with a word of
``broad_words`` ("summarize", "discussion", "think") — is therefore searched by its
*focus* as well: its words (stop words gone, :func:`vectorstore.sparse.tokenize`) that
at most ``max_share`` of the media items' chunks use, minus the words that only frame
the question (``frame_words``: "discussion", "group", "meeting"). Here that is "design".

The dense query becomes the mean of the question's and the focus's vectors (the engines
score by cosine, so moments rank by the mean of their two cosines), and the keywords are
the focus's alone. Pointed questions ("How much will it sell for?") are searched as
asked. The shares come from the media items the search is limited to, or else from the
first :data:`CANDIDATE_MEDIA` media items among the dense side's candidates, over all of
each item's chunks (whatever the search's time, speaker or source filter). Each item's
word counts are read from the index once and cached (:data:`CACHE_MEDIA` items); the
index forgets an item's counts when it writes or deletes its chunks, and the chunk count
is part of the key, so another process's re-index is seen too. The share and the word
lists were tuned on the long-meeting dev split (``bench/meeting_speakers.py --focus``).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from vectorstore.sparse import tokenize

MAX_SHARE = 0.04  # dev QMSum in-span best of 0.02/0.04/0.08; pointed seek unchanged
CACHE_MEDIA = 256
CANDIDATE_MEDIA = 5  # a search over the whole library reads at most this many items' words


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
        self._cache: OrderedDict[str, tuple[int, Vocabulary]] = OrderedDict()
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
        chunks now (part of the cache key), ``texts(media_id)`` reads its chunks' texts."""
        total = Vocabulary()
        for media_id in dict.fromkeys(media_ids):
            chunks = count(media_id)
            if not chunks:  # unknown, or not indexed yet: nothing to read or to keep
                continue
            with self._lock:
                cached = self._cache.get(media_id)
                if cached is not None and cached[0] == chunks:
                    self._cache.move_to_end(media_id)
            if cached is None or cached[0] != chunks:
                # read outside the lock: a long media item holds up no one else's search
                cached = (chunks, Vocabulary.of(texts(media_id)))
                with self._lock:
                    self._cache[media_id] = cached
                    self._cache.move_to_end(media_id)
                    while len(self._cache) > self.cache_media:
                        self._cache.popitem(last=False)
            total = total + cached[1]
        return total

    def forget(self, media_ids: Iterable[str]) -> None:
        """Drop these items' word counts (their chunks were just written or deleted)."""
        with self._lock:
            for media_id in media_ids:
                self._cache.pop(media_id, None)
