"""Timestamp citations ``[title @ mm:ss–mm:ss]``: format, parse, validate and repair.

A companion document (slides, agenda, notes attached to a media item) is cited by name
and page instead: ``[Deck.pdf p. 3]`` (``[notes.md]`` when it has no pages); it resolves
to retrieved document evidence of that name, the same page first.

An answer may cite only evidence the agent actually retrieved. A citation is valid
when its title names a retrieved media item and its span overlaps a retrieved chunk
of that item; it is then normalised to that chunk's exact span. An invalid citation
is repaired to the nearest supporting chunk (same title: nearest in time; unknown
title: the chunk sharing most words with the sentence) or dropped. A sentence with
no citation gets one when a chunk clearly supports it.

Who said it is a claim too: a sentence naming a speaker ("Chiara said …", "the marketing
expert wants …") must cite a line of one of the speakers it names, and when the question
asked about one speaker (``asked_speaker``) a sentence naming no one must cite that
speaker's line. Otherwise it is re-cited to such a line that supports it, or dropped —
even when the question says the name (the name is the user's framing, the attribution
is not). A sentence naming someone by a role no known speaker holds ("the user interface
designer picked a fish", when nobody said who that is) is dropped, unless a line it cites
names the role itself ("I'm the user interface designer").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from graphs import claims
from graphs.mediatime import CLOCK, format_span, parse_clock
from graphs.speakers import KnownSpeaker, named_in, roles_named
from graphs.words import STOP_WORDS, WORD_RE, content_words

CITATION_RE = re.compile(
    rf"\[\s*(?P<title>[^\[\]@]+?)\s*@\s*(?P<start>{CLOCK})\s*"
    rf"(?:[-–—]|to)\s*(?P<end>{CLOCK})\s*\]"
)
DOC_CITATION_RE = re.compile(
    r"\[\s*(?P<doc>[^\[\]@]+?\.(?:pdf|docx|md|markdown|txt))"
    r"(?:\s*,?\s*(?:p\.|page|pp\.)\s*(?P<page>\d+))?\s*\]",
    re.IGNORECASE,
)
# a sentence ends at . ! ? । and a space, but not inside a citation ("[Deck.pdf p. 3]"),
# after an initial ("J. R. Smith"; not "I.") or after Mr./Mrs./Ms./Dr./St.: cut there, the
# check dropped "The designer drew the M." and kept a fragment ("M. feature, which is …")
SENTENCE_END = re.compile(
    r"(?<=[.!?।])(?<!\b[A-HJ-Z]\.)(?<!\b(?:Mr|Ms|Dr|St)\.)(?<!\bMrs\.)\s+(?![^\[\]]*\])"
)
MIN_SUPPORT_WORDS = 2  # shared content words for lexical support


class Evidence(BaseModel):
    """One retrieved piece the answer may cite."""

    media_id: str
    title: str
    source: str
    start_s: float
    end_s: float
    text: str
    rank: int = 0  # retrieval order: lower is better
    page: int | None = None  # documents: the page (``title`` is the document's name)
    speaker: str | None = None  # who said it (diarized speech), by their current name
    confidence: float | None = None  # speech: mean word probability (None: not known)

    @property
    def is_document(self) -> bool:
        return self.source == "document"

    @property
    def said(self) -> str:
        """The text with its speaker (``Chiara: …``): what a model reads and a claim is
        checked against, so "Chiara said …" is supported by Chiara's line."""
        return f"{self.speaker}: {self.text}" if self.speaker else self.text

    @property
    def key(self) -> tuple[str, str, int]:
        if self.is_document:
            return self.media_id, f"document/{self.title}", self.page or 0
        return self.media_id, self.source, round(self.start_s * 1000)

    @property
    def label(self) -> str:
        if self.is_document:
            return format_document_citation(self.title, self.page)
        return format_citation(self.title, self.start_s, self.end_s)

    def citation(self) -> Citation:
        return Citation(
            media_id=self.media_id, title=self.title, start_s=self.start_s,
            end_s=self.end_s, quote=quote(self.text), page=self.page,
            document=self.is_document, speaker=self.speaker,
        )  # fmt: skip


class Citation(BaseModel):
    """A validated citation, as returned to callers (CLI ``--json`` shape). A document
    citation has ``document`` set, ``title`` = the document's name and its ``page``."""

    media_id: str
    title: str
    start_s: float
    end_s: float
    quote: str
    page: int | None = None
    document: bool = False
    speaker: str | None = None

    @property
    def label(self) -> str:
        if self.document:
            return format_document_citation(self.title, self.page)
        return format_citation(self.title, self.start_s, self.end_s)


def parse_mmss(text: str) -> float:
    """A citation's time as the model wrote it (``00:75`` reads as 75 s, to be repaired)."""
    return parse_clock(text, strict=False)


def format_citation(title: str, start_s: float, end_s: float) -> str:
    """``[title @ mm:ss–mm:ss]`` (``h:mm:ss`` past an hour): the one citation label."""
    return f"[{title} @ {format_span(start_s, end_s)}]"


def format_document_citation(document: str, page: int | None) -> str:
    """``[Deck.pdf p. 3]``, or ``[notes.md]`` for a document without pages."""
    return f"[{document} p. {page}]" if page is not None else f"[{document}]"


@dataclass(frozen=True)
class RawCitation:
    title: str
    start_s: float
    end_s: float
    span: tuple[int, int]  # character offsets in the text
    page: int | None = None
    document: bool = False


def parse_citations(text: str) -> list[RawCitation]:
    """Every ``[title @ mm:ss–mm:ss]`` (hyphen or en dash) and ``[Deck.pdf p. 3]`` in
    ``text``, in order."""
    times = [
        RawCitation(
            m.group("title").strip(),
            parse_mmss(m.group("start")),
            parse_mmss(m.group("end")),
            m.span(),
        )
        for m in CITATION_RE.finditer(text)
    ]
    docs = [
        RawCitation(
            m.group("doc").strip(),
            0.0,
            0.0,
            m.span(),
            page=int(m.group("page")) if m.group("page") else None,
            document=True,
        )  # fmt: skip
        for m in DOC_CITATION_RE.finditer(text)
    ]
    return sorted(times + docs, key=lambda raw: raw.span)


def strip_citations(text: str) -> str:
    return DOC_CITATION_RE.sub(" ", CITATION_RE.sub(" ", text))


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD_RE.findall(text) if len(w) > 3 or not w.isascii()}


def _norm_title(title: str) -> str:
    return re.sub(r"\W+", " ", title).strip().lower()


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def _shared(sentence: str, ev: Evidence) -> int:
    return len(_words(strip_citations(sentence)) & _words(ev.text))


def _support(sentence: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The chunk sharing most content words with ``sentence`` (ties: best rank)."""
    best: tuple[int, int] | None = None
    chosen: Evidence | None = None
    for ev in evidence:
        shared = _shared(sentence, ev)
        if shared >= MIN_SUPPORT_WORDS and (best is None or (shared, -ev.rank) > best):
            best, chosen = (shared, -ev.rank), ev
    return chosen


def _resolve_document(
    raw: RawCitation, sentence: str, evidence: Sequence[Evidence]
) -> Evidence | None:
    """A ``[Deck.pdf p. 3]``: that document's evidence, the words' page, else the nearest."""
    same = [
        ev for ev in evidence
        if ev.is_document and _norm_title(ev.title) == _norm_title(raw.title)
    ]  # fmt: skip
    if not same:
        return _support(sentence, evidence)
    supported = _support(sentence, same)
    on_page = [ev for ev in same if ev.page == raw.page]
    if on_page:
        cited = max(on_page, key=lambda ev: (_shared(sentence, ev), -ev.rank))
        # a real page, but another page of the document says what the sentence says
        if supported is not None and _shared(sentence, supported) > _shared(sentence, cited):
            return supported
        return cited
    if supported is not None:
        return supported
    page = raw.page or 0
    return min(same, key=lambda ev: (abs((ev.page or 0) - page), ev.rank))


def resolve(raw: RawCitation, sentence: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The retrieved chunk a citation stands for, or None (drop it)."""
    if raw.document:
        return _resolve_document(raw, sentence, evidence)
    timed = [ev for ev in evidence if not ev.is_document]
    same_title = [ev for ev in timed if _norm_title(ev.title) == _norm_title(raw.title)]
    if not same_title:
        return _support(sentence, evidence)
    supported = _support(sentence, same_title)
    overlapping = [
        ev for ev in same_title if _overlap(raw.start_s, raw.end_s, ev.start_s, ev.end_s) >= 0
    ]
    if overlapping:
        cited = max(
            overlapping, key=lambda ev: _overlap(raw.start_s, raw.end_s, ev.start_s, ev.end_s)
        )
        # a real span, but another chunk of the same media says what the sentence says
        if supported is not None and _shared(sentence, supported) > _shared(sentence, cited):
            return supported
        return cited
    if supported is not None:
        return supported
    mid = (raw.start_s + raw.end_s) / 2
    return min(same_title, key=lambda ev: abs((ev.start_s + ev.end_s) / 2 - mid))


def quote(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _repair_support(
    body: str,
    chosen: list[Evidence],
    evidence: Sequence[Evidence],
    question: str,
    who: Collection[str] = (),
) -> list[Evidence] | None:
    """The evidence that supports every checkable fact of ``body`` (and is said by one of
    ``who``, when given): the chosen chunks if they do, else the best single retrieved
    chunk that does (same media first, then retrieval rank), else None — the sentence
    claims what nothing retrieved says."""
    facts = claims.extract(body, question)

    def said_by(evs: Sequence[Evidence]) -> bool:
        return not who or any(ev.speaker in who for ev in evs)

    if said_by(chosen) and (facts.empty or not claims.missing(facts, [ev.said for ev in chosen])):
        return chosen
    cited_media = {ev.media_id for ev in chosen}
    candidates = sorted(evidence, key=lambda ev: (ev.media_id not in cited_media, ev.rank))
    for ev in candidates:
        if said_by([ev]) and not claims.missing(facts, [ev.said]):
            return [ev]
    return None


def _unheld_role(body: str, chosen: Sequence[Evidence]) -> bool:
    """``body`` says who by a role no known speaker holds ("The user interface designer
    picked a fish"), and no cited line names that role itself: nothing says who that is.
    The role is compared word for word, so a Hindi or Tamil role is never found in an
    English line: such a sentence goes."""
    lines = [set(content_words(ev.text)) for ev in chosen]
    for role in roles_named(body, STOP_WORDS):
        words = set(content_words(role.removesuffix("'s")))
        # a role with what qualifies it ("the user interface designer"), not a bare noun
        # that may name anyone ("the designer", "सदस्यों": the members)
        if len(words) >= 2 and not any(words <= said for said in lines):
            return True
    return False


def _speakers(evidence: Sequence[Evidence], known: Sequence[KnownSpeaker]) -> list[KnownSpeaker]:
    """The speakers an answer may name: those known for the media, and every evidence
    line's speaker."""
    labels = {sp.label for sp in known}
    extra = {ev.speaker for ev in evidence if ev.speaker and ev.speaker not in labels}
    return [*known, *(KnownSpeaker(label) for label in sorted(extra))]


def validate_answer(
    answer: str,
    evidence: Sequence[Evidence],
    *,
    fallback: bool = False,
    question: str = "",
    speakers: Sequence[KnownSpeaker] = (),
    asked_speaker: str | None = None,
) -> tuple[str, list[Citation]]:
    """Rewrite ``answer`` so every citation points into ``evidence``; list the citations.

    A sentence whose citations all fail to resolve is dropped (it claims a source that
    was never retrieved). A sentence without citation gets one from a chunk that shares
    its words; once any sentence is cited, uncited ones are dropped. A cited sentence
    whose numbers, names, quoted words or content its evidence does not contain
    (:mod:`graphs.claims`; what ``question`` says is exempt) is re-cited to a chunk that
    contains them, or dropped; so is a sentence attributing a line to the wrong speaker
    (``speakers``: those known for the media; ``asked_speaker``: the one the question
    asked about, whose lines a sentence naming no one must cite). With ``fallback``
    (a question in another language than the media, where words cannot be compared),
    an answer with no citation at all cites the best-ranked evidence instead of being
    emptied.
    """
    if not evidence:
        return "", []
    sentences = [s for s in SENTENCE_END.split(answer.strip()) if s.strip()]
    known = _speakers(evidence, speakers)
    kept: list[tuple[str, list[Evidence]]] = []
    for sentence in sentences:
        raws = parse_citations(sentence)
        chosen: list[Evidence] = []
        for raw in raws:
            ev = resolve(raw, sentence, evidence)
            if ev is not None and ev not in chosen:
                chosen.append(ev)
        if raws and not chosen:
            continue
        body = strip_citations(sentence).strip()
        body = re.sub(r"\s+([.!?।,])", r"\1", re.sub(r"\s{2,}", " ", body))
        if not WORD_RE.search(body):
            # a citation written after the full stop belongs to the previous sentence
            if kept and chosen:
                kept[-1][1].extend(ev for ev in chosen if ev not in kept[-1][1])
            continue
        if not chosen and (ev := _support(body, evidence)) is not None:
            chosen.append(ev)
        who = named_in(body, known) if known else set()
        if not who and asked_speaker:
            who = {asked_speaker}
        if not who and _unheld_role(body, chosen):
            continue  # who said it, by a role: nothing supports that (cited or not)
        if chosen:
            repaired = _repair_support(body, chosen, evidence, question, who)
            if repaired is None:
                continue
            chosen = repaired
        kept.append((body, chosen))
    if any(chosen for _, chosen in kept):
        kept = [(body, chosen) for body, chosen in kept if chosen]
    elif fallback and kept:
        top = min(evidence, key=lambda ev: ev.rank)
        kept[-1] = (kept[-1][0], [top])
    else:
        return "", []
    cited: dict[tuple[str, str, int], Evidence] = {}
    out: list[str] = []
    for body, chosen in kept:
        for ev in chosen:
            cited.setdefault(ev.key, ev)
        labels = " ".join(ev.label for ev in chosen)
        m = re.search(r"[.!?।]+$", body)
        out.append(f"{body[: m.start()]} {labels}{m.group(0)}" if m else f"{body} {labels}")
    return " ".join(out), [ev.citation() for ev in cited.values()]
