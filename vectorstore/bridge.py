"""Cross-lingual keywords: the words of a question in another script → the indexed words they mean.

Keyword search matches words, so a Hindi or Tamil question about English speech gets no
keyword bonus at all: its words are in no English moment. The multilingual embedder,
though, puts a word and its translation close together ("कीमत" ↔ "price" 0.95, "பூனை" ↔
"cat"), so each question word written in a script the candidate moments do not use is
mapped to the candidates' word it is closest to, when that is close enough. The
candidates are the dense side's own top hits, so the bridge needs no vocabulary store
(the same on the embedded engine and a Qdrant cluster); their words' vectors are cached
per process. The agent's relevance gate (:class:`graphs.extractive.RelevanceGate`) uses
the same mapping to see that a Hindi question and an English line share their words. The
thresholds were tuned on the long-meeting dev split (``bench/meeting_speakers.py``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from vectorstore.embedders import Embedder
from vectorstore.sparse import script, tokenize

MIN_SIMILARITY = 0.85  # dev: hi/ta seek and recall@10 best of 0.85, 0.88, 0.9, 0.92
# e5-small puts a function word ("कहा" said, "गया" went) about as close to many English
# words as to its translation: the best match must stand out from the query word's ten
# nearest (best − their mean), as a content word's translation does ("व्हाइटबोर्ड" →
# whiteboard 0.064, "जानवर" → animal 0.041, "कहा" → say 0.016). Dev seek was the same for
# margins 0–0.03 (bench/meeting_speakers.py --bridge-margin) and lost a Hindi question at
# 0.04: 0.03 is the strictest that kept it, since the relevance gate wants few false words
MIN_MARGIN = 0.03
TOP_K = 10
MIN_WORD_CHARS = 3  # "s", "k", "ha": too short to be anyone's translation
CACHE_WORDS = 50_000  # 384-d float32 vectors: about 77 MB at most


class KeywordBridge:
    """Maps a query's foreign-script words to the nearest words of the candidate texts."""

    def __init__(
        self,
        embedder: Embedder,
        min_similarity: float = MIN_SIMILARITY,
        cache_words: int = CACHE_WORDS,
        min_margin: float = MIN_MARGIN,
    ) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.min_margin = min_margin
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_words = cache_words
        self._lock = threading.Lock()  # the API searches from several threads

    def _embed(self, words: Sequence[str]) -> np.ndarray:
        with self._lock:
            known = {w: self._vectors[w] for w in words if w in self._vectors}
        missing = [w for w in dict.fromkeys(words) if w not in known]
        if missing:  # embedded outside the lock: a search whose words are cached never waits
            # as queries: word ↔ word is a symmetric match (passage vectors had smaller
            # margins: "कीमत" → price 0.91 / cost 0.88 against 0.95 / 0.92)
            vectors = self.embedder.embed_queries(missing)
            for word, vector in zip(missing, vectors, strict=True):
                known[word] = np.asarray(vector, dtype=np.float32)
        with self._lock:  # another search may have evicted some meanwhile: re-insert them all
            for word in words:
                self._vectors[word] = known[word]
                self._vectors.move_to_end(word)
            while len(self._vectors) > self._cache_words:
                self._vectors.popitem(last=False)
        return np.stack([known[w] for w in words])

    def translate(self, query: str, candidate_texts: Sequence[str]) -> list[str]:
        """The candidates' words nearest to each query word in a script they do not use: one
        per query word, at ``min_similarity`` or more and ``min_margin`` above the mean of
        its ``TOP_K`` nearest (the best included, so a vocabulary of a few words rarely
        passes), in query order. Symmetric: an English question over Hindi speech is
        bridged to Hindi words. Single characters (Chinese, Japanese, Thai tokens) are not
        bridged."""
        words = {w for text in candidate_texts for w in tokenize(text) if script(w)}
        scripts = {script(w) for w in words}
        vocabulary = sorted(w for w in words if len(w) >= MIN_WORD_CHARS)
        foreign = [
            w for w in dict.fromkeys(tokenize(query))
            if len(w) > 1 and script(w) not in scripts | {""}
        ]  # fmt: skip
        if not foreign or not vocabulary:
            return []
        vocab = self._embed(vocabulary)
        asked = self.embedder.embed_queries(foreign)
        out: list[str] = []
        for sims in asked @ vocab.T:
            order = np.argsort(-sims)
            best = int(order[0])
            margin = sims[best] - float(sims[order[:TOP_K]].mean())
            if sims[best] < self.min_similarity or margin < self.min_margin:
                continue
            if vocabulary[best] not in out:
                out.append(vocabulary[best])
        return out
