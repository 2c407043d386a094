"""Meeting-minutes items: anchoring each to its transcript line, and merging duplicates.

The model names a line number for every decision and action item of a window. The
item keeps that line when the line shares content words with it, else it moves to
the line of the window that shares the most; an item sharing no word with its
window is dropped as invented. Items repeated across windows (the same decision
restated later) are merged into the earliest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from graphs.citations import Evidence

_WORD = re.compile(r"[^\W_]+")
# fmt: off
STOPWORDS = frozenset((
    "the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "by",
    "from", "is", "are", "was", "were", "be", "been", "will", "would", "shall", "should",
    "can", "could", "may", "might", "must", "do", "does", "did", "have", "has", "had",
    "this", "that", "these", "those", "it", "its", "they", "them", "their", "we", "our",
    "you", "your", "he", "she", "his", "her", "i", "me", "my", "not", "no", "yes", "so",
    "as", "about", "into", "then", "than", "there", "here", "what", "which", "who", "whom",
    "when", "where", "why", "how", "all", "any", "each", "also", "just", "some", "team",
    "meeting", "going", "get", "got", "make", "made", "let", "lets", "okay", "yeah",
))
# fmt: on
DUPLICATE_JACCARD = 0.5


def content_words(text: str) -> set[str]:
    """Lowercased words of ≥ 3 characters that are not stop words."""
    return {w for w in (m.group().lower() for m in _WORD.finditer(text)) if len(w) >= 3} - STOPWORDS


def anchor(text: str, lines: Sequence[Evidence], hint: Any) -> Evidence | None:
    """The line an item comes from: the model's ``hint`` (1-based) if it supports the
    item, else the best-supporting line; ``None`` when no line shares a word with it."""
    words = content_words(text)
    if not lines or not words:
        return None
    shared = [len(words & content_words(line.text)) for line in lines]
    if isinstance(hint, int) and 1 <= hint <= len(lines) and shared[hint - 1] >= 1:
        best = max(shared)
        # keep the model's line unless another line is clearly better supported
        if shared[hint - 1] >= min(2, best):
            return lines[hint - 1]
    best_i = max(range(len(lines)), key=lambda i: (shared[i], -i))
    return lines[best_i] if shared[best_i] >= 1 else None


def is_duplicate(a: str, b: str) -> bool:
    """Same item reworded: content-word Jaccard ≥ 0.5, or one's words inside the other's."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    inter = len(wa & wb)
    return inter / len(wa | wb) >= DUPLICATE_JACCARD or inter == min(len(wa), len(wb))


def merge(items: Sequence[Any], key: Any) -> list[Any]:
    """Items in time order with later duplicates (by ``key(item)`` text) dropped."""
    kept: list[Any] = []
    for item in sorted(items, key=lambda i: i.start_s):
        if not any(is_duplicate(key(item), key(k)) for k in kept):
            kept.append(item)
    return kept
