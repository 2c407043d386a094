"""Which language a question is written in (en and nine Indian languages).

Unicode scripts that belong to exactly one supported language (Tamil, Telugu,
Kannada, Malayalam, Gujarati, Gurmukhi → Punjabi, Bengali) decide directly: that is
exact, and lingua has no Kannada or Malayalam model. Devanagari (Hindi vs Marathi)
goes to the lingua language detector; Latin script is English.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = ("en", "hi", "ta", "te", "bn", "mr", "gu", "kn", "ml", "pa")

NAMES = {
    "en": "English",
    "hi": "Hindi",
    "ta": "Tamil",
    "te": "Telugu",
    "bn": "Bengali",
    "mr": "Marathi",
    "gu": "Gujarati",
    "kn": "Kannada",
    "ml": "Malayalam",
    "pa": "Punjabi",
}

# First word of the Unicode character name → language, for scripts used by one language.
_UNIQUE_SCRIPTS = {
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "GUJARATI": "gu",
    "GURMUKHI": "pa",
    "BENGALI": "bn",
}


@lru_cache(maxsize=1)
def _devanagari_detector() -> LanguageDetector:
    # Only the candidates the script leaves open: a two-way model is more accurate on
    # short questions than one over every language.
    return LanguageDetectorBuilder.from_languages(Language.HINDI, Language.MARATHI).build()


def _script_counts(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha() or unicodedata.category(ch) in ("Mn", "Mc"):
            name = unicodedata.name(ch, "")
            counts[name.split(" ", 1)[0]] += 1
    return counts


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of ``text`` among :data:`SUPPORTED`; ``default`` if undecidable."""
    counts = _script_counts(text)
    if not counts:
        return default
    script, _ = counts.most_common(1)[0]
    if script in _UNIQUE_SCRIPTS:
        return _UNIQUE_SCRIPTS[script]
    if script == "DEVANAGARI":
        found = _devanagari_detector().detect_language_of(text)
        return "mr" if found == Language.MARATHI else "hi"
    if script == "LATIN":
        # English is the only supported language written in Latin script; romanised
        # Hindi ("kya hua") is not reliably identifiable and is answered in English.
        return "en"
    return default
