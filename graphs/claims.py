"""Is a sentence supported by the evidence it cites? The facts that must match.

A cited sentence makes checkable claims: its **numbers** (digits, number words —
English via ``text2num``, the Indian languages via the digit table and the number
words of ``indic-num2words`` — amounts, percentages), its **names** (capitalised
Latin-script words that the question did not already say) and its **quoted words**.
For an answer in the media's own language it also makes a **content claim**: at
least half of the words it adds beyond the question must be in the evidence ("the
designer chose a cat" is not supported by "a dolphin would be nice"; one shared
word is not enough for a sentence that brings five). A sentence that adds no word of
its own but a name or a number is the question with its blank filled in ("Mr. John
Dashwood won the football match", asked who won it): the evidence must then be *about*
the question too — hold one of the question's words the sentence repeats — or the name
was merely lifted from a line about something else.

Every fact is looked up in the cited evidence text, normalised the same way (number
words → digits, case, Unicode). A fact the question already contains is the user's
own framing, never a claim. Across languages (a Hindi answer about English speech)
only numbers and Latin-script names can be compared; the rest is not checkable
and is not counted against the sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache

from num_to_words import num_to_word
from text_to_num import alpha2digit
from wordfreq import zipf_frequency

from graphs.words import WORD_RE

# the languages whose number words are read back (the spoken answers use the same)
INDIC_NUMBER_LANGS = ("hi", "ta", "te", "bn", "mr", "gu", "kn", "ml", "pa")

# Digits of the scripts ChronoRAG answers in, mapped to ASCII.
_INDIC_DIGITS = {
    base + i: str(i)
    for base in (0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66)
    for i in range(10)
}
RARE_ZIPF = 3.8  # below this English word frequency a sentence-initial capital is a name
_NUMBER_RE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")
_CLOCK_RE = re.compile(r"\b\d{1,2}(?::\d{2}){1,2}\b")
_QUOTED_RE = re.compile(r"[\"“”«»„]([^\"“”«»„]{2,80})[\"“”«»„]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_FILLER = frozenset((
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "by",
    "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this",
    "that", "these", "those", "they", "them", "their", "he", "she", "his", "her", "we", "our",
    "you", "your", "i", "me", "my", "do", "did", "does", "done", "doing", "have", "has", "had",
    "having", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "not",
    "no", "yes", "so", "than", "then", "there", "here", "what", "which", "who", "whom", "whose",
    "when", "where", "why", "how", "about", "into", "over", "under", "also", "just", "very",
    "more", "most", "some", "any", "all", "each", "both", "few", "other", "such", "only", "own",
    "same", "too", "said", "says", "say", "told", "tell", "talked", "talk", "discussed",
    "discuss", "mentioned", "mention", "meeting", "speaker", "someone", "somebody", "people",
    "person", "one", "ones", "thing", "things", "way", "lot", "well", "really", "think",
    "thought", "like", "said", "going", "get", "got", "make", "made", "use", "used",
    "himself", "herself", "itself", "themselves", "myself", "yourself", "ourselves",
))  # fmt: skip


@dataclass(frozen=True)
class Facts:
    """What a sentence claims that can be checked against text."""

    numbers: frozenset[str]
    names: frozenset[str]
    quotes: tuple[str, ...]
    content: frozenset[str]  # words beyond the question's, for same-language answers
    framing: frozenset[str] = frozenset()  # the question's words the sentence repeats

    @property
    def empty(self) -> bool:
        return not (self.numbers or self.names or self.quotes or self.content)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INDIC_DIGITS)
    return text.replace("’", "'").replace("‘", "'")


@cache
def _indic_number_words() -> tuple[re.Pattern[str], dict[str, str]]:
    """Number words 0–100, 1000 and 100000 of the Indian languages (``indic-num2words``,
    the same table the spoken answers use), as one longest-first pattern and a map."""
    table: dict[str, str] = {}
    for lang in INDIC_NUMBER_LANGS:
        for n in (*range(0, 101), 1000, 100000):
            try:
                phrase = " ".join(str(num_to_word(n, lang=lang)).split())
            except (KeyError, ValueError, NotImplementedError, TypeError):
                continue
            if phrase:
                table.setdefault(unicodedata.normalize("NFKC", phrase), str(n))
    alternatives = sorted(table, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w\u0900-\u0dff])(?:" + "|".join(map(re.escape, alternatives)) + r")"
        r"(?![\w\u0900-\u0dff])"
    )
    return pattern, table


def _digitise(text: str) -> str:
    """Number words → digits (English via text2num; Indian languages word by word)."""
    text = _fold(text)
    with suppress(ValueError, IndexError):  # text2num rejects odd inputs, never mind
        text = alpha2digit(text, "en")
    pattern, table = _indic_number_words()
    return pattern.sub(lambda m: table[m.group(0)], text)


def numbers_in(text: str) -> frozenset[str]:
    """Numeric values in ``text`` as canonical strings ('1,000' → '1000', '25.0' → '25')."""
    text = _CLOCK_RE.sub(" ", _digitise(text))
    found = set()
    for whole, frac in _NUMBER_RE.findall(text):
        value = whole.replace(",", "")
        frac = (frac or "").rstrip("0")
        found.add(f"{int(value)}.{frac}" if frac else str(int(value)))
    return frozenset(found)


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD_RE.findall(_fold(text))}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isascii() for c in letters) / len(letters) if letters else 1.0


def extract(sentence: str, question: str = "") -> Facts:
    """The checkable facts of ``sentence`` (citations already removed), minus what
    ``question`` itself says."""
    asked_words = {_stem(w) for w in _words(question)}
    numbers = numbers_in(sentence) - numbers_in(question)
    same_script = _latin_share(sentence) > 0.8
    names: set[str] = set()
    tokens = _LATIN_WORD_RE.findall(_fold(sentence))
    for i, token in enumerate(tokens):
        lower = token.lower()
        # in a Latin-script sentence a capital marks a name; at the sentence start only
        # when the word is rare in English ("Rahul", not "Marketing"); in another script
        # every Latin word is a name or a term carried over
        capital = token[0].isupper() and (
            i > 0 or not same_script or zipf_frequency(lower, "en") < RARE_ZIPF
        )
        fact = (capital or not same_script) and lower not in _FILLER and len(lower) > 1
        if fact and _stem(lower) not in asked_words:
            names.add(lower)
    quotes = tuple(q.strip().lower() for q in _QUOTED_RE.findall(_fold(sentence)) if q.strip())
    content: set[str] = set()
    framing: set[str] = set()
    if same_script:
        said = {w for w in _words(_NUMBER_RE.sub(" ", _digitise(sentence)))
                if len(w) >= 3 and w not in _FILLER}
        framing = {w for w in said if _stem(w) in asked_words}
        content = (said - framing) - {t.lower() for t in tokens if t[0].isupper()}
        # names are claims of their own: found, they must not vouch for the rest of the
        # sentence ("John … amiable")
    return Facts(frozenset(numbers), frozenset(names), quotes, frozenset(content),
                 frozenset(framing))


def _name_found(name: str, words: set[str]) -> bool:
    if name in words or _stem(name) in {_stem(w) for w in words}:
        return True
    parts = [p for p in re.split(r"['\-]", name) if p]
    if len(parts) > 1 and all(p in words for p in parts):
        return True
    # ASR spells names by ear ("Chiara" / "Kiara"): a close spelling of a longer name counts
    return len(name) >= 5 and bool(get_close_matches(name, words, n=1, cutoff=0.7))


def _content_found(word: str, stems: set[str]) -> bool:
    stem = _stem(word)
    return stem in stems or (len(stem) >= 5 and bool(get_close_matches(stem, stems, 1, 0.8)))


def missing(facts: Facts, evidence_texts: Iterable[str]) -> list[str]:
    """The facts of a sentence that none of ``evidence_texts`` contains (empty = supported).

    Numbers, names and quotes must each be found; the content claim needs half of its
    words (one of one or two), each by stem or a close spelling."""
    text = " ".join(evidence_texts)
    digitised = _digitise(text)
    have_numbers = numbers_in(digitised)
    words = _words(digitised)
    stems = {_stem(w) for w in words}
    flat = " ".join(_fold(text).lower().split())
    gaps = [n for n in sorted(facts.numbers) if n not in have_numbers]
    gaps += [n for n in sorted(facts.names) if not _name_found(n, words)]
    gaps += [f'"{q}"' for q in facts.quotes if " ".join(q.split()) not in flat]
    # the content claim compares words, so only when the evidence is in Latin script too
    comparable = _latin_share(text) > 0.8
    if facts.content and comparable:
        unfound = sorted(w for w in facts.content if not _content_found(w, stems))
        if 2 * (len(facts.content) - len(unfound)) < len(facts.content):
            gaps.append("content: " + ", ".join(unfound[:5]))
    filled_blank = facts.framing and not facts.content and (facts.names or facts.numbers)
    if filled_blank and comparable and not any(_content_found(w, stems) for w in facts.framing):
        gaps.append("about: " + ", ".join(sorted(facts.framing)[:5]))
    return gaps


def supported(sentence: str, evidence_texts: Iterable[str], question: str = "") -> bool:
    """True when every checkable fact of ``sentence`` is in ``evidence_texts``."""
    return not missing(extract(sentence, question), evidence_texts)
