"""Name and role proposals from self-introductions: "I'm Chiara, the marketing expert" →
S2 = Chiara (:func:`propose_names`), the marketing expert (:func:`propose_roles`).

Whisper capitalises names and sentence starts, so a capitalised word right after "my name
is", "I'm", "I am" or "call me" (not a word that merely starts a clause, see ``_NOT_NAMES``)
is taken as the speaker's own name ("my name is" weighs more: Whisper hears "Um" as "I'm").
A name (or role) claimed by two speakers is proposed for none. Roles are the job a speaker
gives themself ("I'll be the project manager", "as your marketing expert").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

_INTRO = re.compile(
    r"\b(?:(?P<strong>[Mm]y name is|[Mm]y name's|[Cc]all me)|[Ii]'m|[Ii] am)\s+"
    r"(?P<name>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)"
)
_ROLE = re.compile(
    r"\b(?:I'm|I am|I'll be|I will be|as)\s+(?:[\w'-]+,\s+)?(?:the|your|a|an|our)\s+"
    r"((?:[\w-]+\s+){0,2}?(?:manager|designer|expert|engineer|lead|director|officer|analyst"
    r"|developer|architect|specialist|consultant|coordinator|head|chair|secretary)|marketing)\b",
    re.IGNORECASE,
)
STRONG = 3  # "my name is X" outweighs "I'm X" (Whisper hears "Um" as "I'm")
_NOT_NAMES = {
    "a", "an", "the", "i", "so", "okay", "ok", "sorry", "just", "not", "going", "here", "um",
    "uh", "yeah", "yes", "no", "really", "sure", "fine", "good", "great", "glad", "also",
    "actually", "still", "very", "quite", "all", "in", "on", "at", "for", "from", "with",
    "project", "marketing", "industrial", "user", "interface", "designer", "manager", "what",
    "that", "it", "we", "you", "they", "he", "she", "our", "your", "my", "mister", "miss",
    "i'm", "i'll", "i've", "i'd", "it's", "that's", "we're", "you're", "there's",
}  # fmt: skip


def names_in(text: str) -> list[tuple[str, int]]:
    """Names a speaker gives for themself in ``text``, each with its weight."""
    out = []
    for m in _INTRO.finditer(text):
        parts = m.group("name").split()
        if parts[0].lower() in _NOT_NAMES:
            continue
        if len(parts) > 1 and parts[1].lower() in _NOT_NAMES:
            parts = parts[:1]
        out.append((" ".join(parts), STRONG if m.group("strong") else 1))
    return out


def propose_names(lines: Iterable[tuple[str | None, str]]) -> dict[str, str]:
    """Speaker id → proposed name, from ``(speaker, text)`` lines."""
    found: dict[str, Counter[str]] = {}
    for speaker, text in lines:
        if not speaker:
            continue
        for name, weight in names_in(text):
            found.setdefault(speaker, Counter())[name] += weight
    best = {sp: c.most_common(1)[0][0] for sp, c in found.items()}
    claimed = Counter(best.values())
    return {sp: name for sp, name in best.items() if claimed[name] == 1}


def propose_roles(lines: Iterable[tuple[str | None, str]]) -> dict[str, str]:
    """Speaker id → the role they give themself ("I'll be the project manager", "I'm
    Chiara, the marketing expert")."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for speaker, text in lines:
        if speaker:
            for m in _ROLE.finditer(text):
                found[speaker][m.group(1).lower()] += 1
    best = {sp: c.most_common(1)[0][0] for sp, c in found.items()}
    claimed = Counter(best.values())
    return {sp: role for sp, role in best.items() if claimed[role] == 1}
