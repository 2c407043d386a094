"""Name and role proposals from self-introductions: "I'm Chiara, the marketing expert" →
S2 = Chiara (:func:`propose_names`), the marketing expert (:func:`propose_roles`).

Whisper capitalises names and sentence starts, so a capitalised word right after "my name
is", "I'm", "I am" or "call me" (not a word that merely starts a clause, see ``_NOT_NAMES``)
is taken as the speaker's own name ("my name is" weighs more: Whisper hears "Um" as "I'm").
A name claimed by two speakers is proposed for none; a role goes to whoever claims it
more often, or first. Roles are the job a speaker gives themself ("I'll be the project
manager", "as your marketing expert", "Marketing is me", "I'm the user interface deny" as
Whisper heard "designer") or that another speaker gives them ("You're our marketing
expert." → the next other speaker), a job given oneself weighing more.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_INTRO = re.compile(
    r"\b(?:(?P<strong>[Mm]y name is|[Mm]y name's|[Cc]all me)|[Ii]'m|[Ii] am)\s+"
    r"(?P<name>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)"
)
_HEADS = (
    r"(?:manager|designer|expert|engineer|lead|director|officer|analyst|developer|architect"
    r"|specialist|consultant|coordinator|head|chair|secretary)"
)
# "project manager", "user interface designer"; not "manager or secretary"
_ROLE_WORDS = rf"(?:(?!(?:or|and)\b)[\w-]+\s+){{0,2}}?{_HEADS}"
_MODIFIED_ROLE = rf"(?:(?!(?:or|and)\b)[\w-]+\s+){{1,2}}?{_HEADS}"  # a word before the head
_UPPER = r"(?-i:[A-Z])"  # a capital even though the pattern ignores case
# a field that names the job without a head word ("Marketing is me"); Whisper also garbles
# the head after one ("I'm the user interface deny", "I'm a news user interface")
_FIELDS = r"(?:marketing|user interface|sales)"
# a role after an article, or a field with at most one (misheard) word before it
_ARTICLED = rf"(?:(?P<role>{_ROLE_WORDS})|(?:[\w'-]+\s+)?(?P<field>{_FIELDS}))"
# the job a speaker gives themself: "I'll be the project manager", "I'm Bart the project
# manager", "I'm uh, the project manager", "I'm Project Manager" (without an article only
# when capitalised: "I am not a designer" is no role), "as your marketing expert" (not "as
# the designer said"), "my role … is to be an industrial designer", "Marketing is me";
# a field alone only after an article ("I am marketing the idea" is no role either)
_ROLE = re.compile(
    r"\b(?:I'm|I am|I'll be|I will be|I'd be|I would be|I'm going to be)\s+"
    rf"(?:(?:{_UPPER}[\w'-]+,?\s+|[\w'-]+,\s+)?(?:the|your|a|an|our)\s+{_ARTICLED}"
    rf"|(?P<bare>(?:{_UPPER}[\w-]+\s+){{1,2}}{_HEADS}))\b"
    rf"|\bas\s+(?:your|a|an)\s+(?P<as>{_ROLE_WORDS}|{_FIELDS})\b"
    r"|\b[Mm]y (?:role|job|position)\b[^.?!]{0,40}?\bis\s+(?:to be\s+)?(?:the|an?)\s+"
    rf"(?P<mine>{_ROLE_WORDS}|{_FIELDS})\b"
    rf"|(?:^|(?<=[.!?,])\s*|\b(?:the|your|our)\s+)(?P<me>{_ROLE_WORDS}|{_FIELDS}),?\s+"
    r"(?:is|that's|that is)\s+me\b",
    re.IGNORECASE,
)
# the job someone gives the person they turn to: "You're our marketing expert." "And you
# are user interface." — a claim for the next other speaker within REPLY_WITHIN lines. A
# head needs a word before it ("you're the expert here" gives no one a job) and a bare
# field ends its clause ("you are marketing it to kids" is no role)
_ADDRESSED = re.compile(
    r"\byou(?:'re| are|'ll be| will be)\s+(?:going to be\s+|gonna be\s+)?"
    rf"(?:(?:the|our|my|a|an)\s+(?:(?P<role>{_MODIFIED_ROLE})"
    rf"|(?:[\w'-]+\s+)?(?P<field>{_FIELDS}))|(?P<bare>{_FIELDS})(?=\s*(?:[.,!?]|$)))\b",
    re.IGNORECASE,
)
SELF = 2  # a job given oneself outweighs one given by another ("you're the designer")
REPLY_WITHIN = 3  # lines after an address in which the addressee's reply is looked for
_FILLERS = {"the", "your", "a", "an", "our", "so", "and", "well", "okay", "yeah", "then"}
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


def _roles_in(pattern: re.Pattern[str], text: str) -> list[str]:
    out = []
    for m in pattern.finditer(text):
        words = next(g for g in m.groups() if g).lower().split()
        while len(words) > 1 and words[0] in _FILLERS:  # "so the manager is me"
            words = words[1:]
        out.append(" ".join(words))
    return out


def propose_roles(lines: Iterable[tuple[str | None, str]]) -> dict[str, str]:
    """Speaker id → the role they give themself ("I'll be the project manager", "I'm
    Chiara, the marketing expert", "Marketing is me"), or that another speaker gives them
    ("You're our marketing expert." → the next other speaker within
    :data:`REPLY_WITHIN` lines, who is usually the one addressed).

    Each speaker gets one role and each role one speaker: the claims are granted by
    weight (a job given oneself counts :data:`SELF` times), then earliest first (people
    introduce themselves at the start; a later "I'm the designer" is more likely a quote
    or a diarization slip), each unless its speaker or its role is already taken."""
    lines = list(lines)
    claims: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], int] = {}

    def claim(speaker: str, role: str, weight: int, i: int) -> None:
        claims[speaker, role] += weight
        first.setdefault((speaker, role), i)

    for i, (speaker, text) in enumerate(lines):
        if not speaker:
            continue
        for role in _roles_in(_ROLE, text):
            claim(speaker, role, SELF, i)
        addressed = _roles_in(_ADDRESSED, text)
        reply = next((other for other, _ in lines[i + 1 : i + 1 + REPLY_WITHIN]
                      if other and other != speaker), None) if addressed else None  # fmt: skip
        for role in addressed if reply else ():
            claim(reply, role, 1, i)
    roles: dict[str, str] = {}
    for speaker, role in sorted(claims, key=lambda c: (-claims[c], first[c])):
        if speaker not in roles and role not in roles.values():
            roles[speaker] = role
    return roles
