"""Topic segmentation on real meeting speech: one topic stays one chapter, two are split.

The text is people's real talk from AMI meeting IS1001a as QMSum transcribes it (the
long-meeting set's source, ``evals.meetings.SOURCE_DIR``), in the turn ranges QMSum's
annotators marked as one topic each; times are synthetic (0.4 s a word, 0.5 s between
turns, as ``bench/summarize_meetings.py --text qmsum`` spreads them). The lines are
chunked into moments as ingestion indexes them and embedded by the real multilingual
e5, then segmented with the default :class:`graphs.chapters.SegmentParams` scaled to
the duration, exactly as :meth:`graphs.summarize.Summarizer._chapters` does.
"""

from __future__ import annotations

import json

import pytest

from evals.meetings import SOURCE_DIR, clean_text
from graphs.chapters import SegmentParams, Unit, segment
from ingestion.chunking import MomentParams, moment_chunks
from ingestion.transcribe import Word
from vectorstore.embedders import E5Embedder

pytestmark = pytest.mark.skipif(not (SOURCE_DIR / "IS1001a.json").is_file(),
                                reason="QMSum AMI files not here")  # fmt: skip

INTRODUCTION = (0, 27)  # "Group warming and introduction"
ANIMALS = (28, 122)  # "Drawings of favourite animals" (QMSum topic list, turn range)
REQUIREMENTS = (125, 218)  # "Specific designing requirements of the new remote control"
WORD_S, TURN_GAP_S = 0.4, 0.5


def spoken(ranges: list[tuple[int, int]]) -> tuple[list[Word], list[float], float]:
    """Words of the turn ranges one after another; also where each later range starts."""
    turns = json.loads((SOURCE_DIR / "IS1001a.json").read_text())["meeting_transcripts"]
    words: list[Word] = []
    starts: list[float] = []
    t = 0.0
    for first, last in ranges:
        starts.append(t)
        for turn in turns[first:last + 1]:
            for w in clean_text(turn["content"]).split():
                words.append(Word(t, t + WORD_S, w))
                t += WORD_S
            t += TURN_GAP_S
    return words, starts[1:], t


def chapter_starts(ranges: list[tuple[int, int]]) -> tuple[list[float], list[float]]:
    words, joins, duration = spoken(ranges)
    chunks = moment_chunks(words, media_id="m", language="en", recorded_at=None,
                           params=MomentParams())  # fmt: skip
    units = [Unit(c.start_s, c.end_s, c.text) for c in chunks]
    vectors = E5Embedder(threads=2).embed_passages([u.text for u in units])
    return segment(units, vectors, SegmentParams().scaled(duration)), joins


@pytest.mark.parametrize("topic", [ANIMALS, REQUIREMENTS], ids=["animals", "requirements"])
def test_one_real_topic_stays_one_chapter(topic: tuple[int, int]) -> None:
    bounds, _ = chapter_starts([topic])
    assert bounds == []


def test_two_real_topics_are_split_where_they_meet() -> None:
    bounds, joins = chapter_starts([INTRODUCTION, ANIMALS])
    assert len(bounds) == 1
    assert abs(bounds[0] - joins[0]) <= 45.0  # the eval's boundary tolerance
