"""The eval's own check of answer claims against the reference transcript (not the agent's).

An answer sentence makes *claims* when it states numbers or amounts, names (capitalised
words inside the sentence), quoted words, or who said it by role ("the industrial designer
drew a shark": :data:`ROLE_PHRASES`, the AMI meetings' four roles in English, Hindi and
Tamil). It is *unsupported* when any of them is missing from the reference — the
people-made transcript turns that overlap the span the sentence cites (± :data:`PAD_S`);
for roles, who said the cited span (the true speaker holding most of it) must be one of the
roles the sentence names. Numbers match as values, digits and number words alike ("twelve
fifty", "12.50", "12,5" are the same amount), via ``text2num``.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from text_to_num import alpha2digit

PAD_S = 3.0
# After . ! ? (or a closing quote after them), or after a citation's "]" when a new sentence
# starts; a citation inside a sentence is followed by lower case and does not cut it.
_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?।])|(?<=[.!?।][\"”»]))\s+|(?<=\])\s+(?=[A-Z\"“\u0900-\u0dff])"
)
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_SCALE_WORD = re.compile(r"(\d+(?:\.\d+)?)\s*(million|billion|thousand)\b", re.IGNORECASE)
_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s+(?:(?:uh|um)\s+)?(1000000000|1000000|1000)\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CENTS = re.compile(r"(\d+)\s+(?:(?:euros?|dollars?|pounds?)\s+)?(\d{1,2})\b", re.IGNORECASE)
_HALF = re.compile(r"(\d+)\s+and\s+a\s+half\b", re.IGNORECASE)
_HUNDREDS = re.compile(r"(?<![\d.,])\b([1-9]\d)\s+([1-9]\d)\b(?![.,]\d)")  # "12 50" said as 1250
_NAME = re.compile(r"(?<![\w'’])[A-Z][A-Za-z]+(?:[-'’][A-Za-z]+)*")
_QUOTES = "\"“”„«»"
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]{2,400})[\"“”„«»]")
# A quotation of the recording is ASR text while the reference is people's transcript: it
# is supported when this share of its words is in the reference (all, for 1–3 words).
QUOTE_MATCH = 0.7
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
# The meetings' roles (the manifests' speakers) as answers name them, in English, Hindi
# (with and without the nukta) and Tamil (without the final virama, so inflected forms
# such as டிசைனரின் match). A field alone is a role only as the sentence's subject
# ("Marketing wanted …"), not "Marketing research shows …" or "the marketing plan"
_NOT_A_ROLE_NEXT = r"(?!\s+(?:research|plan|budget|strategy|team|department|design|concept)s?\b)"
ROLE_PHRASES = {
    "Project Manager": r"(?i:\bproject manager)|प्रोजेक्ट मैनेजर|परियोजना प्रबंधक"
                       r"|ப்ராஜெக்ட் மேனேஜர|திட்ட மேலாளர",
    "Marketing": rf"(?i:\bmarketing (?:expert|person|manager|specialist|lead))|^Marketing\b"
                 rf"{_NOT_A_ROLE_NEXT}|मार्केटिंग (?:विशेषज्ञ|एक्सपर्ट|वाले)"
                 r"|மார்(?:க்)?கெட்டிங் (?:நிபுண|உறுப்பின)",
    "Industrial Designer": r"(?i:\bindustrial designer)|इंडस्ट्रियल डि(?:ज़|ज)ाइनर"
                           r"|இ(?:ண்|ன்)டஸ்ட்ரியல் டிசைன",
    "User Interface": rf"(?i:\b(?:user )?interface designer|\bUI designer)|^User Interface\b"
                      rf"{_NOT_A_ROLE_NEXT}|यू(?:ज़|ज)र इंटर(?:फ़|फ)ेस डि(?:ज़|ज)ाइनर"
                      r"|யூசர் இன்டர்ஃபேஸ் டிசைன",
}  # fmt: skip
_ROLE_RES = {role: re.compile(pattern) for role, pattern in ROLE_PHRASES.items()}

# Capitalised words that are not names (sentence-internal capitals in ordinary answers).
_NOT_NAMES = {
    "i", "i'm", "i'll", "i've", "i'd", "ok", "okay", "tv", "dvd", "the", "a", "an", "and",
    "euro", "euros", "dollar", "dollars", "yes", "no", "mr", "mrs", "ms", "f",
}


def _ascii_digits(text: str) -> str:
    """NFKC plus every Unicode decimal digit (Devanagari, Tamil, …) as ASCII."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)


def _to_float(token: str) -> float:
    return float(token.replace(",", "."))


def numbers(text: str, *, generous: bool = False) -> set[float]:
    """Values stated in ``text`` (digits and English number words). ``generous`` adds the
    readings a spoken transcript allows: "12 50" → 12.5, "12 and a half" → 12.5, and
    "twelve fifty" / "nineteen fifty" → 1250 / 1950 (how English says hundreds and years:
    Whisper writes what it hears as "1250", and that is not an invented number)."""
    text = _CLOCK.sub(" ", _ascii_digits(text))
    text = _SCALE_WORD.sub(lambda m: str(float(m[1]) * _SCALES[m[2].lower()]), text)
    with contextlib.suppress(Exception):  # text2num may give up: keep the digits there
        text = alpha2digit(text, "en")
    text = _SCALED.sub(lambda m: str(float(m[1]) * float(m[2])), text)
    text = _THOUSANDS.sub("", text)
    values = {_to_float(tok) for tok in _NUMBER.findall(text)}
    if generous:
        values |= {int(a) + int(b) / 100 for a, b in _CENTS.findall(text)}
        values |= {int(a) + int(b) / 10 for a, b in _CENTS.findall(text) if len(b) == 1}
        values |= {int(a) + 0.5 for a in _HALF.findall(text)}
        values |= {int(a) * 100 + int(b) for a, b in _HUNDREDS.findall(text)}
    return values


def _fold(word: str) -> str:
    word = unicodedata.normalize("NFKC", word).casefold().replace("’", "'")
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def names(sentence: str) -> set[str]:
    """Capitalised words that are not the sentence's first word (likely names)."""
    found = set()
    for m in _NAME.finditer(sentence):
        before = sentence[: m.start()].rstrip()
        if not before or before.endswith((".", "!", "?", ":", "\n", *_QUOTES)):
            continue  # the first word of the sentence, a clause or a quotation
        if m[0].casefold() not in _NOT_NAMES:
            found.add(m[0])
    return found


def quoted(sentence: str) -> set[str]:
    return {q.strip() for q in _QUOTED.findall(sentence) if q.strip()}


@dataclass(frozen=True)
class Cited:
    """A citation the sentence leans on: media id ('' when unknown) and span."""

    media_id: str
    start_s: float
    end_s: float


@dataclass
class ClaimCheck:
    """Sentences with claims, how many are unsupported, and why."""

    claims: int = 0
    unsupported: int = 0
    details: list[dict] = field(default_factory=list)


ReferenceFn = Callable[[str, float, float], str]


_REF_WORD = re.compile(r"[\w'’-]+")


def reference_words(reference: str) -> set[str]:
    """The reference's words as the checks compare them (case and plural folded)."""
    return {_fold(w) for w in _REF_WORD.findall(reference)}


def quote_found(phrase: str, ref_words: set[str]) -> bool:
    """A quotation is supported when :data:`QUOTE_MATCH` of its words are in the reference
    (all of them for 1–3 words); no words, nothing to check."""
    words = [_fold(w) for w in _REF_WORD.findall(phrase)]
    need = len(words) if len(words) <= 3 else QUOTE_MATCH * len(words)
    return not words or sum(w in ref_words for w in words) >= need


def roles(sentence: str) -> set[str]:
    """The meeting roles (:data:`ROLE_PHRASES`) ``sentence`` names."""
    text = unicodedata.normalize("NFKC", sentence)
    return {role for role, pattern in _ROLE_RES.items() if pattern.search(text)}


def _supported(sentence: str, reference: str, speakers: set[str] | None = None) -> list[str]:
    """The claims of ``sentence`` not found in ``reference`` (empty: all supported); with
    ``speakers`` (the true speakers of the cited turns) its roles are checked too."""
    missing: list[str] = []
    named = roles(sentence)
    if speakers is not None and named and not named & speakers:
        missing += [f"role: {role}" for role in sorted(named)]
    ref_values = numbers(reference, generous=True)
    for value in sorted(numbers(sentence)):
        if not any(abs(value - v) < 1e-6 for v in ref_values):
            missing.append(f"{value:g}")
    ref_words = reference_words(reference)
    for name in sorted(names(sentence)):
        if _fold(name) not in ref_words:
            missing.append(name)
    for phrase in sorted(quoted(sentence)):
        if not quote_found(phrase, ref_words):
            missing.append(f'"{phrase}"')
    return missing


def has_claims(sentence: str, *, with_roles: bool = False) -> bool:
    return bool(numbers(sentence) or names(sentence) or quoted(sentence)
                or with_roles and roles(sentence))  # fmt: skip


SpeakersFn = Callable[[str, float, float], set[str]]  # who said a span (true roles)


def check_claims(
    sentences: Sequence[tuple[str, Sequence[Cited]]],
    reference: ReferenceFn,
    speakers: SpeakersFn | None = None,
) -> ClaimCheck:
    """Check each (sentence without citation marks, its citations) pair; ``speakers`` gives
    the true speakers of a span (the roles are checked only with it)."""
    out = ClaimCheck()
    for sentence, cited in sentences:
        if not has_claims(sentence, with_roles=speakers is not None):
            continue
        out.claims += 1
        spans = [(c.media_id, c.start_s - PAD_S, c.end_s + PAD_S) for c in cited if c.media_id]
        ref = " ".join(reference(*span) for span in spans)
        # who said it: the speaker holding most of each cited span itself (no padding)
        said_by = (set().union(*(speakers(c.media_id, c.start_s, c.end_s) for c in cited
                                 if c.media_id)) if speakers else None)  # fmt: skip
        missing = _supported(sentence, ref, said_by)
        if missing:
            out.unsupported += 1
            out.details.append({"sentence": sentence, "missing": missing,
                                "cited": [(c.media_id, c.start_s, c.end_s) for c in cited]})
    return out


def sentence_citations(
    answer: str,
    citation_re: re.Pattern[str],
    resolve: Callable[[re.Match[str]], Cited],
    fallback: Sequence[Cited] = (),
) -> list[tuple[str, list[Cited]]]:
    """Split ``answer`` into sentences, each with the citations it leans on: its own, else
    the next one written after it, else the last one before it, else ``fallback``."""
    marks = [(m.start(), resolve(m)) for m in citation_re.finditer(answer)]
    quotes = [m.span() for m in _QUOTED.finditer(answer)]
    cuts = [m for m in _SENTENCE_END.finditer(answer)
            if not any(a < m.start() < b for a, b in quotes)]  # never inside a quotation
    bounds = [0, *(p for m in cuts for p in m.span()), len(answer)]
    pieces = list(zip(bounds[::2], bounds[1::2], strict=True))
    out = []
    for start, end in pieces:
        own = [c for p, c in marks if start <= p < end]
        if not own:
            later = [c for p, c in marks if p >= end]
            earlier = [c for p, c in marks if p < start]
            own = later[:1] or earlier[-1:] or list(fallback)
        text = " ".join(citation_re.sub(" ", answer[start:end]).split())
        text = re.sub(r"\s+([,.;:!?।])", r"\1", text)
        if text:
            out.append((text, own))
    return out
