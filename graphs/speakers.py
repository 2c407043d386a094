"""Which speaker a question is about: "what did Chiara say…", "the marketing expert".

Code decides, not the chat model (a 0.5B model invents arguments): the question's words
are matched against the speakers known for the media in scope — each one's current label
(the name the user gave, else its id ``S2``) and its aliases (a name or role proposed
from a self-introduction, "speaker 2"). A label or alias matches as a whole phrase; each
of its words also counts alone ("Rose" for "Rose Lindgren", "the designer" for
"industrial designer"). The speaker whose words cover most of the question wins; a tie
is ambiguous and filters nothing. A lone everyday word ("Rose", "Reader") counts only
when the question capitalises it (first in the sentence, only when less common than
"Rose") or says "the" before it, so "prices rose" names no one.
In a question written in another script (Hindi, Tamil) a Latin word is always meant, so
"Chiara ने कीमत के बारे में क्या कहा?" finds Chiara.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from wordfreq import zipf_frequency

COMMON_ZIPF = 3.5  # an English word this frequent is a name only when written like one
START_ZIPF = 4.5  # … and first in a sentence only below this ("Marco said", not "Will it")
_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_DETERMINERS = {"the", "our", "your", "their", "his", "her", "my"}
# words of a name or role that name no one alone ("Rose of York", "head of design")
_PARTICLES = {"the", "and", "of", "for", "von", "van", "der", "de", "la", "le", "mr", "mrs", "ms"}


@dataclass(frozen=True)
class KnownSpeaker:
    """A speaker of a media item: how the index labels them now, and other names for them."""

    label: str  # the payload's ``speaker``: the user's name for them, else the id ("S2")
    aliases: tuple[str, ...] = ()  # proposed name, proposed role, id, "speaker 2"


class SpeakerDirectory(Protocol):
    """The speakers known for one media item (the stored transcript's, in the app)."""

    def speakers(self, media_id: str) -> Sequence[KnownSpeaker]: ...


@dataclass(frozen=True)
class SpeakerMatch:
    """What a question says about speakers: the one it names (or None), and why."""

    label: str | None  # the speaker to filter by; None: no one, or ambiguous
    mention: str = ""  # the question's words that named them ("the marketing expert")
    candidates: tuple[str, ...] = ()  # every label that matched best (2+: ambiguous)

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


@dataclass(frozen=True)
class _Token:
    text: str  # as written
    norm: str  # folded, possessive 's dropped
    start: int
    end: int


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")


def _tokens(text: str) -> list[_Token]:
    """Words of ``text`` (already :func:`_normal`), with their places in it."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        norm = m.group(0).casefold()
        norm = norm[:-2] if norm.endswith("'s") else norm
        out.append(_Token(m.group(0), norm, m.start(), m.end()))
    return out


def _latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return not letters or sum(c.isascii() for c in letters) / len(letters) > 0.8


def _phrases(speaker: KnownSpeaker) -> list[list[str]]:
    """Each label/alias as folded words, then each of their words alone."""
    whole = [[t.norm for t in _tokens(_normal(name))] for name in (speaker.label, *speaker.aliases)]
    whole = [p for p in whole if p]
    single = [[w] for p in whole if len(p) > 1 for w in p if len(w) > 2 and w not in _PARTICLES]
    return whole + single


def _written_as_name(tokens: list[_Token], i: int, latin: bool) -> bool:
    """A one-word match on an everyday English word must look meant: capitalised, or
    after "the" ("the reader"); any Latin word inside a non-Latin question is meant."""
    token = tokens[i]
    if not latin or not token.norm.isascii() or zipf_frequency(token.norm, "en") < COMMON_ZIPF:
        return True
    if i == 0:  # a sentence's first word is capitalised anyway: only a rarer word counts
        return token.text[:1].isupper() and zipf_frequency(token.norm, "en") < START_ZIPF
    return token.text[:1].isupper() or tokens[i - 1].norm in _DETERMINERS


def _covered(question: list[_Token], speaker: KnownSpeaker, latin: bool) -> set[int]:
    """The positions of the question's words that name ``speaker``."""
    hit: set[int] = set()
    words = [t.norm for t in question]
    for phrase in _phrases(speaker):
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if words[i : i + n] != phrase:
                continue
            if n == 1 and not _written_as_name(question, i, latin):
                continue
            hit.update(range(i, i + n))
    return hit


def match_speaker(question: str, speakers: Iterable[KnownSpeaker]) -> SpeakerMatch:
    """The speaker ``question`` names, if exactly one of ``speakers`` fits best.

    Speakers sharing a label (the same name in two meetings) are one speaker: the label is
    what the search filters by."""
    question = _normal(question)
    tokens = _tokens(question)
    latin = _latin(question)
    by_label: dict[str, set[int]] = {}
    for sp in speakers:
        by_label.setdefault(sp.label, set()).update(_covered(tokens, sp, latin))
    scored = {label: hit for label, hit in by_label.items() if hit}
    if not scored:
        return SpeakerMatch(None)
    top = max(len(hit) for hit in scored.values())
    best = tuple(sorted(label for label, hit in scored.items() if len(hit) == top))
    if len(best) > 1:
        return SpeakerMatch(None, candidates=best)
    hit = scored[best[0]]
    first, last = min(hit), max(hit)
    if first > 0 and tokens[first - 1].norm in _DETERMINERS:
        first -= 1
    mention = question[tokens[first].start : tokens[last].end]
    return SpeakerMatch(best[0], mention=mention, candidates=best)


def without_mention(question: str, match: SpeakerMatch) -> str:
    """The question minus the words that named the speaker (what the search looks for:
    the filter already says who; the name would pull in lines that mention them)."""
    if not match.mention:
        return question
    text = _normal(question).replace(match.mention, " ", 1)
    text = re.sub(r"(?<=\s)'s\b", " ", text)  # "Chiara's view" → "view"
    return " ".join(text.split())


def named_in(text: str, speakers: Iterable[KnownSpeaker]) -> set[str]:
    """Every speaker label ``text`` names (an answer's "Chiara said …", "the designer")."""
    text = _normal(text)
    tokens = _tokens(text)
    latin = _latin(text)
    return {sp.label for sp in speakers if _covered(tokens, sp, latin)}
