"""Cut a transcript's words into time-windowed speech chunks.

A chunk follows the words: it ends at a long pause (≥ ``pause_s``), at a sentence
end once it is long enough, or when it reaches ``max_s`` / ``max_words``. Its
start and end are the first and last word times, so a chunk never spans a long
silence. Consecutive chunks of continuous speech share ``overlap_words`` words.
No two chunks start in the same millisecond: that is their point id in the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingestion.transcribe import Word, join_words
from vectorstore.schema import Chunk

_SENTENCE_END = (".", "?", "!", "。", "？", "！", "।", "॥")


@dataclass(frozen=True)
class ChunkParams:
    max_s: float = 20.0
    max_words: int = 60
    pause_s: float = 2.0
    overlap_words: int = 3
    min_sentence_fraction: float = 0.3  # split at a sentence end past this share of max_s


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


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
        if current and word.start - current[-1].end >= params.pause_s:
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
        )
        for group in word_groups(words, params)
    ]
