"""Cut a transcript's words into speech chunks: *moments* (the default) or windows.

**Moments.** Meetings repeat their topic words in every window, so a chunk must be
short enough that its span is the answering moment (the player lands there) and its
embedding must still see enough of the conversation to know what the moment is about.
A moment is one sentence or a few short ones (``min_s``–``max_s`` seconds, cut at
sentence ends and pauses); what the embedder reads (``Chunk.context``) is the moment
plus ``context_before`` / ``context_after`` neighbouring moments, while the span and
``text`` (what a citation quotes) are the moment's own. Moments do not overlap and never
cross a silence of ``pause_s`` or more.

**Windows** (the first release's recipe, kept for comparison). A chunk follows the
words: it ends at a long pause (≥ ``pause_s``), at a sentence
end once it is long enough, or when it reaches ``max_s`` / ``max_words``. Its
start and end are the first and last word times, so a chunk never spans a long
silence. Consecutive chunks of continuous speech share ``overlap_words`` words.
No two chunks start in the same millisecond: that is their point id in the index.

**Speakers.** Once words carry a speaker (:mod:`ingestion.speakers`), neither kind of
chunk spans a speaker change: a new speaker always starts a new chunk (no overlap words
carried across), and ``Chunk.speaker`` is the chunk's one speaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingestion.transcribe import Word, join_words
from vectorstore.schema import Chunk

_SENTENCE_END = (".", "?", "!", "。", "？", "！", "।", "॥")
SENTENCE_END = _SENTENCE_END  # also where a transcript line ends (ingestion.transcript_store)


@dataclass(frozen=True)
class ChunkParams:
    max_s: float = 20.0
    max_words: int = 60
    pause_s: float = 2.0
    overlap_words: int = 3
    min_sentence_fraction: float = 0.3  # split at a sentence end past this share of max_s


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def confidence(words: list[Word]) -> float | None:
    """The mean recognition probability of ``words`` (None for none). On the dev meetings
    a moment under 0.7 was misheard (under 70 % of its words in people's transcript) 18
    times as often as one above it (``bench/quote_confidence.py``)."""
    return round(sum(w.probability for w in words) / len(words), 3) if words else None


def word_groups(words: list[Word], params: ChunkParams) -> list[list[Word]]:
    """Group words into chunks' word lists (overlap included)."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    carried = 0  # words at the head of ``current`` carried over as overlap

    def close(overlap: bool) -> None:
        nonlocal current, carried
        if len(current) > carried:
            groups.append(current)
        keep = min(params.overlap_words, len(current) - 1) if overlap else 0
        # The next chunk must start at another millisecond than this one: a chunk's point
        # id is (media, source, start ms), and words Whisper stamps alike would collide.
        while keep > 0 and _ms(current[-keep].start) == _ms(current[0].start):
            keep -= 1
        current = current[len(current) - keep :] if keep > 0 else []
        carried = len(current)

    for word in words:
        if current and (
            word.start - current[-1].end >= params.pause_s or word.speaker != current[-1].speaker
        ):
            close(overlap=False)
        if (
            current
            and (word.end - current[0].start > params.max_s or len(current) >= params.max_words)
            and _ms(word.start) != _ms(current[0].start)  # else the two would share an id
        ):
            close(overlap=True)
        current.append(word)
        long_enough = word.end - current[0].start >= params.max_s * params.min_sentence_fraction
        if long_enough and word.text.endswith(_SENTENCE_END):
            close(overlap=False)
    close(overlap=False)
    return groups


def speech_chunks(
    words: list[Word],
    *,
    media_id: str,
    language: str | None,
    recorded_at: datetime | None,
    params: ChunkParams,
) -> list[Chunk]:
    return [
        Chunk(
            media_id=media_id,
            source="speech",
            start_s=group[0].start,
            end_s=max(group[-1].end, group[0].start),
            text=join_words(group),
            language=language,
            recorded_at=recorded_at,
            speaker=group[0].speaker,
            confidence=confidence(group),
        )
        for group in word_groups(words, params)
    ]


@dataclass(frozen=True)
class MomentParams:
    min_s: float = 4.0  # shorter sentences join their neighbour ("Yeah." is no moment)
    max_s: float = 12.0
    pause_s: float = 2.0  # a silence this long always ends a moment (and the context)
    sentence_pause_s: float = 1.0  # a sentence end followed by this much silence ends one too
    context_before: int = 0
    context_after: int = 0


@dataclass(frozen=True)
class Moment:
    start_s: float
    end_s: float
    text: str  # the moment's own words (quoted, cited, read as evidence)
    embed_text: str  # what the embedder reads: the moment with its neighbours
    speaker: str | None = None
    confidence: float | None = None  # mean word probability (see :func:`confidence`)


def moment_words(words: list[Word], params: MomentParams) -> list[list[Word]]:
    """Words grouped into moments, in order; no word in two moments."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        gap = word.start - current[-1].end if current else 0.0
        if current and (
            gap >= params.pause_s
            or word.speaker != current[-1].speaker  # one moment, one speaker
            # a finished sentence followed by a clear pause is a moment, however short
            or (gap >= params.sentence_pause_s and current[-1].text.endswith(_SENTENCE_END))
            or (
                word.end - current[0].start > params.max_s
                and _ms(word.start) != _ms(current[0].start)
            )
        ):
            groups.append(current)
            current = []
        current.append(word)
        long_enough = current[-1].end - current[0].start >= params.min_s
        if long_enough and word.text.endswith(_SENTENCE_END):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def moment_units(words: list[Word], params: MomentParams) -> list[Moment]:
    """Moments with their embedding context (neighbours not across a long silence)."""
    groups = moment_words(words, params)
    texts = [join_words(g) for g in groups]
    out: list[Moment] = []
    for i, group in enumerate(groups):
        lo = i
        while lo > 0 and i - lo < params.context_before and not _gap(groups, lo - 1, params):
            lo -= 1
        hi = i
        while (
            hi + 1 < len(groups) and hi - i < params.context_after and not _gap(groups, hi, params)
        ):
            hi += 1
        out.append(
            Moment(
                start_s=group[0].start,
                end_s=max(group[-1].end, group[0].start),
                text=texts[i],
                embed_text=" ".join(texts[lo : hi + 1]),
                speaker=group[0].speaker,
                confidence=confidence(group),
            )
        )
    return out


def _gap(groups: list[list[Word]], i: int, params: MomentParams) -> bool:
    """A long silence between moment ``i`` and ``i + 1``."""
    return groups[i + 1][0].start - groups[i][-1].end >= params.pause_s


def moment_chunks(
    words: list[Word],
    *,
    media_id: str,
    language: str | None,
    recorded_at: datetime | None,
    params: MomentParams,
) -> list[Chunk]:
    """Speech chunks, one a moment; ``context`` holds what the embedder reads."""
    return [
        Chunk(
            media_id=media_id,
            source="speech",
            start_s=m.start_s,
            end_s=m.end_s,
            text=m.text,
            context=m.embed_text if m.embed_text != m.text else None,
            language=language,
            recorded_at=recorded_at,
            speaker=m.speaker,
            confidence=m.confidence,
        )
        for m in moment_units(words, params)
    ]
