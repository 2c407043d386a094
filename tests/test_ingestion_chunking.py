"""Speech chunking rules on word sequences."""

from __future__ import annotations

import pytest

from ingestion.chunking import ChunkParams, speech_chunks, word_groups
from ingestion.transcribe import Word


def words_at(times: list[float], texts: list[str] | None = None, dur: float = 0.3) -> list[Word]:
    texts = texts or [f"w{i}" for i in range(len(times))]
    return [Word(t, t + dur, text) for t, text in zip(times, texts, strict=True)]


def test_long_pause_splits_without_overlap() -> None:
    words = words_at([0, 0.5, 1.0, 1.5, 8.0, 8.5])
    groups = word_groups(words, ChunkParams(pause_s=2.0, overlap_words=2))
    assert [[w.text for w in g] for g in groups] == [["w0", "w1", "w2", "w3"], ["w4", "w5"]]


def test_limits_bound_chunks_and_overlap_continues_speech() -> None:
    words = words_at([i * 0.5 for i in range(100)])
    params = ChunkParams(max_s=10.0, max_words=15, pause_s=2.0, overlap_words=3)
    groups = word_groups(words, params)
    assert all(len(g) <= 15 and g[-1].end - g[0].start <= 10.0 for g in groups)
    for a, b in zip(groups, groups[1:], strict=False):
        assert [w.text for w in a[-3:]] == [w.text for w in b[:3]]
    covered = {w.text for g in groups for w in g}
    assert covered == {w.text for w in words}


def test_sentence_end_splits_once_long_enough() -> None:
    texts = ["Short.", "then", "more", "words", "here", "end.", "next", "one"]
    words = words_at([0, 1, 2, 3, 4, 5.5, 6.0, 6.5], texts)
    groups = word_groups(words, ChunkParams(max_s=10.0, min_sentence_fraction=0.5))
    # "Short." is too early to end a chunk; "end." at 5.8 s (≥ 5 s) does
    assert [g[-1].text for g in groups] == ["end.", "one"]


def test_chunks_carry_exact_word_times_and_metadata() -> None:
    words = words_at([1.25, 1.75, 2.5, 9.0, 9.4])
    chunks = speech_chunks(
        words, media_id="m1", language="en", recorded_at=None, params=ChunkParams(pause_s=2.0)
    )
    expected = [(words[0].start, words[2].end), (words[3].start, words[4].end)]
    assert [(c.start_s, c.end_s) for c in chunks] == expected
    assert all(c.source == "speech" and c.media_id == "m1" and c.language == "en" for c in chunks)
    assert chunks[0].text == "w0 w1 w2"


def test_words_stamped_alike_never_give_two_chunks_one_point_id() -> None:
    # Whisper can give several words one start time; overlap must not start the next chunk
    # at the same millisecond (its point would overwrite this one's)
    words = words_at([0.0] * 4 + [0.5] * 4 + [1.0] * 4, dur=0.0)
    params = ChunkParams(max_words=3, overlap_words=2)
    chunks = speech_chunks(words, media_id="m", language="en", recorded_at=None, params=params)
    assert len({c.point_id for c in chunks}) == len(chunks) > 1
    assert {w for c in chunks for w in c.text.split()} == {w.text for w in words}


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n: int) -> None:
    assert len(word_groups(words_at([0.0] * n), ChunkParams())) == n


def test_join_words_keeps_whisper_split_words_together() -> None:
    from ingestion.transcribe import Word, join_words

    texts = ["not", "ill", "-disposed.", "Yes,", "it's", "fine", "!"]
    words = [Word(i, i + 0.5, t) for i, t in enumerate(texts)]
    assert join_words(words) == "not ill-disposed. Yes, it's fine!"
