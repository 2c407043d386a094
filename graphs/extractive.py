"""Extractive answers: quote the best retrieved line when the model cannot answer.

A small local model often refuses, or repeats the question, even when the retrieved
evidence answers it — most of all when the question is in another language than the
media. When the evidence plainly matches the question, the answer quotes that line
with its citation after a short lead-in in the question's language; otherwise the
agent still refuses.

"Plainly matches" is the :class:`RelevanceGate`: content words shared by question and
line (same language, or across languages through the index's keyword bridge,
:mod:`vectorstore.bridge`: "बिल्ली" counts as the line's "cat"), or the
multilingual-e5 cosine between question and line, measured against the question's
cosine to filler lines that answer nothing ("Let me share my screen."). e5 cosines are
compressed and shift with the question's language (Tamil questions score ~0.8 against
any English line, English ones ~0.75), so an absolute threshold cannot separate
answering from unrelated lines; the margin over the filler lines can.

A quote says "this was said", so a line Whisper probably misheard (mean word probability
under :data:`MIN_QUOTE_CONFIDENCE`) is never quoted: the next plainly matching line is, or
the agent refuses. Nor is a line that asks (:func:`asks`): a meeting's own question ("Why
was the plastic eliminated …?") shares the user's words but answers nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphs.citations import Citation, Evidence
from graphs.language import ANSWERED
from graphs.words import content_words
from vectorstore.bridge import KeywordBridge
from vectorstore.embedders import Embedder

# Calibrated for multilingual-e5-small on the dev set (evals/devset.jsonl: 48 questions
# en/hi/ta over English media, plus 19 unanswerable ones): a 0.025 margin passes 17
# questions whose top line is the right one, none whose top line is wrong, and 2 of 19
# unanswerable ones ("who won the cricket match?", whose best line is a card-game score
# slide). Another embedding model needs its own calibration.
MIN_MARGIN = 0.025
FILLER_LINES = (
    "Thanks everyone for joining today.",
    "Let me share my screen.",
    "Can you hear me now?",
    "We will take a short break now.",
    "The next slide shows the agenda.",
    "Please mute your microphone.",
    "Okay, let's get started.",
    "That's all for today, see you next week.",
    "Any questions so far?",
    "Sorry, I was on mute.",
    "Let's move on to the next item.",
    "Good morning and welcome.",
    "Agenda",
    "Introduction",
    "Questions and answers",
    "Thank you",
)
# On the dev meetings (bench/quote_confidence.py) a moment under 0.7 was misheard — under
# 70 % of its words in people's transcript — 18 times as often as one above it; the cut
# catches 63 % of the misheard moments and keeps 96 % of the clearly heard ones quotable.
MIN_QUOTE_CONFIDENCE = 0.7
MIN_SHARED = 2  # shared content words (fewer when the question has fewer)
QUOTABLE = ("speech", "screen", "caption")  # catalog / look notes are not quotes

# lead-ins per language: (what was said, what was on screen), from the language table
LEAD_INS: dict[str, tuple[str, str]] = {lang.code: (lang.said, lang.shown) for lang in ANSWERED}


@dataclass(frozen=True)
class Match:
    """How well one evidence line matches a question."""

    evidence: Evidence
    shared: int  # content words in common
    margin: float | None  # cosine to the question minus the best filler's; None without embedder


_SUFFIXES = ("ingly", "edly", "ness", "ing", "ies", "ed", "es", "ly", "s")


def stem(word: str) -> str:
    """A crude English stem ("showed"/"show", "selfishness"/"selfish"); others as they are."""
    if not word.isascii():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 4:  # "decide"/"decided"
        word = word[:-1]
    return word[:6]


class RelevanceGate:
    """Decides whether retrieved evidence plainly answers a question."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        min_margin: float = MIN_MARGIN,
        min_shared: int = MIN_SHARED,
        cache_size: int = 512,
        bridge: KeywordBridge | None = None,
    ) -> None:
        self.embedder = embedder
        self.bridge = bridge
        self.min_margin = min_margin
        self.min_shared = min_shared
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _vectors(self, kind: str, texts: Sequence[str]) -> list[np.ndarray]:
        assert self.embedder is not None
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self._cache]
        if missing:
            if kind == "query":
                vectors = [self.embedder.embed_query(t) for t in missing]
            else:
                vectors = list(self.embedder.embed_passages(missing))
            for text, vector in zip(missing, vectors, strict=True):
                self._cache[(kind, text)] = np.asarray(vector, dtype=np.float32)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        for text in texts:
            self._cache.move_to_end((kind, text))
        return [self._cache[(kind, t)] for t in texts]

    def score(self, question: str, evidence: Sequence[Evidence]) -> list[Match]:
        """Every quotable evidence line with its match signals, in retrieval order."""
        lines = sorted((ev for ev in evidence if ev.source in QUOTABLE), key=lambda e: e.rank)
        if not lines:
            return []
        asked = content_words(question)
        wanted = {stem(w) for w in asked}
        if self.bridge is not None:  # a Hindi question's words as the lines' English words
            said = self.bridge.translate(" ".join(asked), [ev.text for ev in lines])
            wanted |= {stem(w) for w in said}
        margins: list[float | None] = [None] * len(lines)
        if self.embedder is not None and question.strip():
            (q,) = self._vectors("query", [question])
            floor = max(float(np.dot(q, f)) for f in self._vectors("passage", FILLER_LINES))
            passages = self._vectors("passage", [ev.text for ev in lines])
            margins = [float(np.dot(q, p)) - floor for p in passages]
        return [
            Match(ev, len(wanted & {stem(w) for w in content_words(ev.text)}), margin)
            for ev, margin in zip(lines, margins, strict=True)
        ]

    def passes(self, question: str, match: Match) -> bool:
        wanted = {stem(w) for w in content_words(question)}
        if wanted and match.shared >= min(self.min_shared, len(wanted)):
            return True
        return match.margin is not None and match.margin >= self.min_margin

    def best(self, question: str, evidence: Sequence[Evidence]) -> Evidence | None:
        """The best-ranked line that plainly matches ``question``, or None."""
        for match in self.score(question, evidence):
            if self.passes(question, match):
                return match.evidence
        return None


def asks(text: str) -> bool:
    """The line ends in a question ("…, and what's the time frame?"): it asks, it does not
    answer, however many of the question's words it shares."""
    return text.rstrip().rstrip("\"'”’)").endswith(("?", "？"))


def trusted(evidence: Evidence) -> bool:
    """Heard clearly enough to quote as said (unknown confidence counts as clear)."""
    return evidence.confidence is None or evidence.confidence >= MIN_QUOTE_CONFIDENCE


def extractive_answer(language: str, evidence: Evidence) -> tuple[str, Citation]:
    """``<lead-in> "<the line>" [title @ mm:ss–mm:ss]`` and its citation."""
    said, shown = LEAD_INS.get(language, LEAD_INS["en"])
    lead = shown if evidence.source == "screen" else said
    text = " ".join(evidence.text.split())
    return f'{lead} "{text}" {evidence.label}', evidence.citation()
