"""Speech chunking rules on word sequences."""

from __future__ import annotations

import pytest

from ingestion.chunking import (
    ChunkParams,
    MomentParams,
    moment_chunks,
    moment_words,
    speech_chunks,
    word_groups,
)
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


def sentence_words(sentences: list[tuple[float, str]], rate: float = 0.4) -> list[Word]:
    """Words of sentences that start at the given times, one word every ``rate`` s."""
    out: list[Word] = []
    for start, text in sentences:
        for i, token in enumerate(text.split()):
            out.append(Word(start + i * rate, start + i * rate + 0.3, token))
    return out


def test_moments_are_sentences_joined_to_min_length_and_never_overlap() -> None:
    words = sentence_words(
        [(0.0, "Okay."), (1.0, "The price will be twenty five euros per unit."),
         (6.0, "Yeah."), (6.6, "Right."), (7.2, "And the cost is twelve fifty at most.")]
    )  # fmt: skip
    groups = moment_words(words, MomentParams(min_s=4.0, max_s=12.0))
    texts = [" ".join(w.text for w in g) for g in groups]
    assert texts[0] == "Okay. The price will be twenty five euros per unit."
    assert texts[1].startswith("Yeah. Right. And the cost")
    assert sum(len(g) for g in groups) == len(words)  # every word once


def test_moment_span_is_its_own_and_context_reads_the_neighbours() -> None:
    words = sentence_words(
        [(0.0, "We looked at animals for the logo today."),
         (5.0, "I would pick a dolphin for it."),
         (8.0, "Because dolphins are smart and friendly.")]
    )  # fmt: skip
    chunks = moment_chunks(
        words, media_id="m", language="en", recorded_at=None,
        params=MomentParams(min_s=2.0, context_before=1, context_after=1),
    )  # fmt: skip
    middle = chunks[1]
    assert middle.text == "I would pick a dolphin for it."
    assert (middle.start_s, middle.end_s) == (5.0, words[14].end)
    assert middle.context is not None
    assert "animals" in middle.context and "smart" in middle.context
    assert middle.embed_text == middle.context  # what the index embeds


def test_moments_do_not_cross_or_read_across_a_long_silence() -> None:
    words = sentence_words([(0.0, "First part of the talk is here."), (30.0, "After a break.")])
    chunks = moment_chunks(
        words, media_id="m", language="en", recorded_at=None, params=MomentParams(min_s=1.0)
    )
    assert [c.text for c in chunks] == ["First part of the talk is here.", "After a break."]
    assert all(c.context is None for c in chunks)  # no neighbour within reach


def test_moments_respect_max_length_and_unique_starts() -> None:
    words = words_at([i * 0.5 for i in range(200)])  # no sentence end at all
    chunks = moment_chunks(
        words, media_id="m", language="en", recorded_at=None, params=MomentParams(max_s=8.0)
    )
    assert all(c.end_s - c.start_s <= 8.0 for c in chunks)
    assert len({c.point_id for c in chunks}) == len(chunks)


def test_a_chunk_carries_the_mean_probability_of_its_own_words() -> None:
    words = [Word(0.0, 0.4, "Twelve", 0.9), Word(0.5, 0.9, "fifty", 0.3),
             Word(1.0, 1.4, "euros.", 0.6), Word(6.0, 6.4, "Right.", 1.0)]  # fmt: skip
    moments = moment_chunks(words, media_id="m", language="en", recorded_at=None,
                            params=MomentParams(min_s=0.5, context_before=1))  # fmt: skip
    assert [m.confidence for m in moments] == [0.6, 1.0]  # not the context's words
    windows = speech_chunks(words, media_id="m", language="en", recorded_at=None,
                            params=ChunkParams())  # fmt: skip
    assert windows[0].confidence == 0.6
