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

import dataclasses
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from wordfreq import zipf_frequency

from graphs.language import LANGUAGES

COMMON_ZIPF = 3.5  # an English word this frequent is a name only when written like one
START_ZIPF = 4.5  # … and first in a sentence only below this ("Marco said", not "Will it")
# Indic vowel signs and viramas are no \w: a word of those scripts is one token too
_LETTER = r"(?:[^\W_]|[\u0900-\u0963\u0966-\u0dff])"
_TOKEN_RE = re.compile(rf"{_LETTER}+(?:'{_LETTER}+)*")
_DETERMINERS = {"the", "our", "your", "their", "his", "her", "my"}
# a role in any answered language (graphs.language): Latin heads match whole words, other
# scripts' heads match inflected forms too ("டிசைனருக்கு", "to the designer")
ROLE_NOUNS = frozenset(n for lang in LANGUAGES for n in lang.role_nouns if n.isascii())
_ROLE_STEMS = tuple(
    unicodedata.normalize("NFKC", n).rstrip("\u094d\u0bcd")  # a final virama goes
    for lang in LANGUAGES for n in lang.role_nouns if not n.isascii()
)  # fmt: skip
_ROLE_WORDS = frozenset(
    unicodedata.normalize("NFKC", m) for lang in LANGUAGES for m in lang.role_modifiers
)
# a non-Latin role word → the English word it stands for, longest first (prefix matches)
_ROLE_ENGLISH = tuple(sorted(
    ((unicodedata.normalize("NFKC", w).rstrip("\u094d\u0bcd"), en)
     for lang in LANGUAGES for w, en in lang.role_english),
    key=lambda pair: -len(pair[0]),
))  # fmt: skip
_NAME_WORDS = frozenset(
    unicodedata.normalize("NFKC", w) for lang in LANGUAGES for w in lang.name_words
)
_ROLE_MODIFIERS = 3  # "user interface designer": words before the head that belong to it
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
    if not latin:
        tokens = _roles_in_english(question, tokens)
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


def _joined(text: str, tokens: list[_Token], a: int) -> bool:
    """Only spaces between tokens ``a`` and ``a + 1`` of ``text``."""
    return not text[tokens[a].end : tokens[a + 1].start].strip()


def _role_start(text: str, tokens: list[_Token], head: int, stop_words: Collection[str]) -> int:
    """The first token of the role whose head is ``tokens[head]``: up to
    :data:`_ROLE_MODIFIERS` modifiers before it, with nothing but spaces between."""
    first = head
    while (
        first > 0
        and head - first < _ROLE_MODIFIERS
        and _joined(text, tokens, first - 1)
        and _role_modifier(tokens[first - 1], stop_words)
    ):
        first -= 1
    return first


def _roles_in_english(text: str, tokens: list[_Token]) -> list[_Token]:
    """``tokens`` of ``text`` with each role a non-Latin text names in English words
    ("प्रोजेक्ट मैनेजर" → project manager), so it matches the English roles proposed for
    speakers. Only words of a role (a head and the modifiers before it) change: a lone
    "திட்டத்தின்" (the project's) names no project manager."""
    out = list(tokens)
    for i, token in enumerate(tokens):
        if token.norm.isascii() or not _role_head(token):
            continue
        for j in range(_role_start(text, tokens, i, ()), i + 1):
            english = next((en for w, en in _ROLE_ENGLISH if tokens[j].norm.startswith(w)), None)
            if english is not None:
                out[j] = dataclasses.replace(tokens[j], norm=english)
    return out


def _role_head(token: _Token) -> bool:
    if token.norm.isascii():
        return token.norm in ROLE_NOUNS
    return token.norm.startswith(_ROLE_STEMS)


def _role_modifier(token: _Token, stop_words: Collection[str]) -> bool:
    """A word before a role head that belongs to the role: any English content word
    ("user interface"), a listed one in other languages, never another head."""
    if _role_head(token):
        return False
    if token.norm.isascii():
        return token.norm not in stop_words and token.norm not in _DETERMINERS
    return token.norm in _ROLE_WORDS


def _role_spans(
    text: str, stop_words: Collection[str], *, keep_asked_names: bool = False
) -> list[tuple[int, int]]:
    """Where ``text`` (already :func:`_normal`) names people by role, as (start, end)
    offsets (see :func:`without_roles`); ``keep_asked_names``: not a role asked the name
    of ("the designer's name")."""
    tokens = _tokens(text)
    spans: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        if not _role_head(tok):
            continue
        after = [t.norm for t in tokens[i + 1 : i + 3]]
        if keep_asked_names and after[:1] and (
            after[0] in _NAME_WORDS or after[1:] and after[1] in _NAME_WORDS and len(after[0]) <= 2
        ):
            continue  # "the designer's name": their self-introduction is the answer
        first = _role_start(text, tokens, i, stop_words)
        before = first - 1
        if before >= 0 and tokens[before].norm in _DETERMINERS and _joined(text, tokens, before):
            first = before
        elif tok.norm.isascii():
            continue  # "become a pleasant person": an English role is "the …", "our …"
        end = tok.end + 2 if text[tok.end : tok.end + 2] == "'s" else tok.end
        spans.append((tokens[first].start, end))
    return spans


def roles_named(text: str, stop_words: Collection[str]) -> list[str]:
    """The roles ``text`` names people by ("the user interface designer"), as written."""
    text = _normal(text)
    return [text[a:b] for a, b in _role_spans(text, stop_words)]


def without_roles(question: str, stop_words: Collection[str]) -> str:
    """The question minus the people it refers to by role ("Which animal did the industrial
    designer draw?" → "Which animal did draw?"), for the search: the answering line is the
    person speaking, and rarely says their role; the role pulls in self-introductions.

    A role is a head word of a language's ``role_nouns`` (:mod:`graphs.language`) with up
    to three of its modifiers before it (English: words not in ``stop_words``), in one run
    of words with nothing but spaces between them; an English role starts with a definite
    determiner ("the", "our"; "a pleasant person" is no one), and its possessive goes too.
    A role asked the name of ("the designer's name", "डिज़ाइनर का नाम") stays: then the
    self-introduction is the answer. Nothing else is left → unchanged."""
    text = _normal(question)
    cuts = _role_spans(text, stop_words, keep_asked_names=True)
    if not cuts:
        return question
    out, at = [], 0
    for a, b in cuts:
        out.append(text[at:a])
        at = b
    out.append(text[at:])
    stripped = " ".join("".join(out).split())
    stripped = re.sub(r"\s+([?.!,।])", r"\1", stripped)
    left = [t for t in _tokens(stripped) if t.norm not in stop_words]
    return stripped if left else question


def _only_role_modifiers(mention: str, speakers: Sequence[KnownSpeaker]) -> bool:
    """``mention`` is only some of the words of a role ("the project" of "the project
    deadline" for the project manager): the topic, not a person. A mention naming someone
    has a role's head ("the marketing expert"), a whole role ("the user interface",
    proposed as the field alone), a role written like a name ("User Interface's
    opinions", as QMSum writes them) or a word of a name or id. Proposed roles are the
    lower-case aliases."""
    tokens = [t for t in _tokens(_normal(mention)) if t.norm not in _DETERMINERS]
    words = [t.norm for t in tokens]
    if not words or any(_role_head(t) for t in tokens):
        return False
    if all(t.text[:1].isupper() for t in tokens):
        return False
    roles = [alias.split() for sp in speakers for alias in sp.aliases
             if alias == alias.casefold() and not alias.startswith("speaker ")]  # fmt: skip
    if words in roles:
        return False
    return all(any(w in role for role in roles) for w in words)


def named_speaker(query: str, speakers: Iterable[KnownSpeaker]) -> SpeakerMatch:
    """The speaker ``query`` names (:func:`match_speaker`), unless the words that matched
    only qualify a role and name a topic ("the project deadline" is not the project
    manager): what the agent's and the search's speaker filters both go by."""
    speakers = list(speakers)
    said = match_speaker(query, speakers)
    if said.label is not None and _only_role_modifiers(said.mention, speakers):
        return SpeakerMatch(None)
    return said


@dataclass(frozen=True)
class SpeakerQuery:
    """A search query read for the people it names: whose lines to search, and for what."""

    speaker: str | None  # the one known speaker it names (the label to filter by), or None
    mention: str  # the words that named them ("the marketing expert"), or ""
    query: str  # what to search: the query minus its roles, and minus the mention


def speaker_query(
    query: str, speakers: Iterable[KnownSpeaker], stop_words: Collection[str]
) -> SpeakerQuery:
    """``query`` as a search reads it, the way the agent's first search does: a speaker it
    names unambiguously (:func:`named_speaker`) becomes the filter and leaves the words
    (:func:`without_mention`); a role it names leaves the words either way
    (:func:`without_roles`: answers rarely say the speaker's role, introductions do)."""
    searched = without_roles(query, stop_words)
    said = named_speaker(query, speakers)
    if said.label is None:
        return SpeakerQuery(None, "", searched)
    return SpeakerQuery(said.label, said.mention, without_mention(searched, said) or searched)


def named_in(text: str, speakers: Iterable[KnownSpeaker]) -> set[str]:
    """Every speaker label ``text`` names (an answer's "Chiara said …", "the designer")."""
    text = _normal(text)
    tokens = _tokens(text)
    latin = _latin(text)
    if not latin:
        tokens = _roles_in_english(text, tokens)
    return {sp.label for sp in speakers if _covered(tokens, sp, latin)}
