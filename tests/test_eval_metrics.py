"""Metric code on hand-made cases: known IoUs, ranks, keyword matches, citations, groups."""

from __future__ import annotations

import json
import math

import pytest

from evals.metrics import (
    AskScore,
    ItemResult,
    SearchScore,
    Span,
    aggregate,
    best_iou,
    breakdown,
    first_correct_rank,
    invalid_citations,
    iou,
    keyword_fraction,
    overlaps,
    percentile,
    score_answer,
    score_search,
    summarize,
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 10), (0, 10), 1.0),
        ((0, 10), (5, 15), 5 / 15),
        ((0, 10), (2, 4), 0.2),
        ((0, 10), (10, 20), 0.0),  # touching: zero-length intersection
        ((0, 10), (11, 20), 0.0),
        ((3, 3), (3, 3), 1.0),
        ((0, 4), (1, 5), 3 / 5),
    ],
)
def test_iou_known_values(a, b, expected):
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)


def test_iou_rejects_reversed_window():
    with pytest.raises(ValueError, match="start <= end"):
        iou((5, 1), (0, 10))


def test_overlaps_is_closed_interval():
    assert overlaps((0, 10), (10, 20))
    assert not overlaps((0, 9.99), (10, 20))


def test_best_iou_requires_the_right_media():
    windows = [(0.0, 10.0), (20.0, 30.0)]
    assert best_iou(Span("m1", 21, 30), "m1", windows) == pytest.approx(0.9)
    assert best_iou(Span("m2", 21, 30), "m1", windows) == 0.0


def test_first_correct_rank_skips_wrong_media_and_low_iou():
    windows = [(10.0, 20.0)]
    hits = [
        Span("other", 10, 20),  # perfect span, wrong media
        Span("m", 0, 12),  # IoU 2/20 = 0.1
        Span("m", 12, 20),  # IoU 0.8
    ]
    assert first_correct_rank(hits, "m", windows) == 3
    assert first_correct_rank(hits, "m", windows, threshold=0.05) == 2
    assert first_correct_rank(hits[:2], "m", windows) is None


def test_score_search_known_ranks():
    windows = [(10.0, 20.0)]
    at1 = score_search([Span("m", 11, 20)], "m", windows)
    assert (at1.r1, at1.r5, at1.rr, at1.lenient, at1.rank) == (1.0, 1.0, 1.0, 1.0, 1)
    assert at1.top_iou == pytest.approx(0.9)

    misses = [Span("m", 40, 50)] * 3
    at4 = score_search([*misses, Span("m", 10, 20)], "m", windows)
    assert (at4.r1, at4.r5, at4.rank) == (0.0, 1.0, 4)
    assert at4.rr == pytest.approx(0.25)
    assert at4.top_iou == 0.0

    at6 = score_search([Span("m", 40, 50)] * 5 + [Span("m", 10, 20)], "m", windows)
    assert (at6.r1, at6.r5, at6.rank) == (0.0, 0.0, 6)
    assert at6.rr == pytest.approx(1 / 6)
    assert at6.lenient == 0.0  # lenient looks at the top hit only
    assert at4.lenient == 0.0


def test_score_search_lenient_counts_any_overlap():
    score = score_search([Span("m", 19, 40)], "m", [(10.0, 20.0)])
    assert score.r5 == 0.0
    assert score.lenient == 1.0
    assert score.top_iou == pytest.approx(1 / 30)


def test_score_search_without_hits():
    score = score_search([], "m", [(0.0, 1.0)])
    assert (score.r1, score.r5, score.top_iou, score.rr, score.lenient) == (0, 0, 0, 0, 0)


def test_keyword_fraction_alternatives_and_scripts():
    assert keyword_fraction("It was 500 pounds.", ["500"]) == 1.0
    assert keyword_fraction("It was 5000 pounds.", ["500"]) == 0.0  # whole words only
    assert keyword_fraction("He said TEN of clubs", ["ten|10", "spades"]) == 0.5
    assert keyword_fraction("उसने दस कहा", ["ten|10|दस"]) == 1.0
    assert keyword_fraction("அவன் சுயநலமானவன்", ["selfish|சுயநல"]) == 1.0
    assert keyword_fraction("anything", []) is None


def test_invalid_citations_detects_each_reason():
    durations = {"m": 60.0, "n": None}
    evidence = [Span("m", 0, 10), Span("n", 100, 110)]
    cites = [
        Span("m", 2, 5),  # valid
        Span("x", 0, 1),  # unknown media
        Span("m", 70, 75),  # after the end
        Span("m", 55, 65),  # ends after the end
        Span("m", 30, 35),  # inside the media, not in the evidence
        Span("m", 9, 8),  # malformed
        Span("n", 105, 200),  # unknown duration, overlaps evidence: valid
        Span("m", 59.5, 60.6),  # within the rounding tolerance, but no evidence
    ]
    bad = invalid_citations(cites, durations=durations, evidence=evidence)
    reasons = {(c.media_id, c.start_s): why for c, why in bad}
    assert reasons == {
        ("x", 0): "unknown media",
        ("m", 70): "starts after the media ends",
        ("m", 55): "ends after the media ends",
        ("m", 30): "outside the evidence",
        ("m", 9): "malformed span",
        ("m", 59.5): "outside the evidence",
    }
    # Without evidence only the media checks apply.
    no_evidence = invalid_citations(cites, durations=durations)
    assert {(c.media_id, c.start_s) for c, _ in no_evidence} == {
        ("x", 0), ("m", 70), ("m", 55), ("m", 9)
    }


def test_score_answer_grounding_refusal_and_invalid():
    kwargs = dict(
        media_id="m", windows=[(10.0, 20.0)], keywords=["500"], latency_s=2.5,
        durations={"m": 60.0}, evidence=[Span("m", 0, 30)],
    )
    good = score_answer(answer="500 pounds [m @ 00:12]", citations=[Span("m", 12, 14)], **kwargs)
    assert (good.grounded, good.keywords, good.citations, good.invalid, good.refused) == (
        1.0, 1.0, 1, 0, 0.0
    )
    wrong_place = score_answer(answer="500", citations=[Span("m", 25, 28)], **kwargs)
    assert (wrong_place.grounded, wrong_place.invalid) == (0.0, 0)
    refused = score_answer(answer="I could not find that.", citations=[], **kwargs)
    assert (refused.refused, refused.grounded, refused.keywords) == (1.0, 0.0, 0.0)
    said_no = score_answer(answer="Sorry: I could NOT find it. [m @ 00:12–00:14]",
                           citations=[Span("m", 12, 14)],
                           refusal_phrases=["I could not find it", "मुझे नहीं मिला"], **kwargs)
    assert (said_no.refused, said_no.grounded, said_no.citations) == (1.0, 0.0, 1)
    hindi = score_answer(answer="मुझे नहीं मिला।", citations=[Span("m", 12, 14)],
                         refusal_phrases=["I could not find it", "मुझे नहीं मिला"], **kwargs)
    assert hindi.refused == 1.0
    malformed = score_answer(answer="x", citations=[Span("m", 15, 11)], **kwargs)
    assert (malformed.invalid, malformed.grounded, malformed.refused) == (1, 0.0, 0.0)


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([5.0], 95) == 5.0
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert math.isnan(percentile([], 50))


def _item(i, lang, source, rank=None, top_iou=0.0, ask=None):
    search = SearchScore(
        r1=float(rank == 1), r5=float(rank is not None and rank <= 5), top_iou=top_iou,
        rr=1 / rank if rank else 0.0, lenient=float(rank is not None), rank=rank,
    )
    return ItemResult(i, f"q{i}", "a.mp4", lang, source, search=search, ask=ask)


def test_summarize_means_and_mrr():
    items = [_item(0, "en", "speech", 1, 0.8), _item(1, "en", "speech", 2, 0.1),
             _item(2, "hi", "screen", None, 0.0), _item(3, "hi", "speech", 4, 0.3)]
    s = summarize(items)
    assert s["n"] == 4
    assert s["r1_iou50"] == pytest.approx(0.25)
    assert s["r5_iou50"] == pytest.approx(0.75)
    assert s["mrr"] == pytest.approx((1 + 0.5 + 0 + 0.25) / 4)
    assert s["mean_iou"] == pytest.approx(1.2 / 4)
    assert "cited_hit" not in s  # no ask metrics without answers


def test_breakdown_groups_by_lang_and_source():
    items = [_item(0, "en", "speech", 1), _item(1, "ta", "screen", None),
             _item(2, "hi", "speech", 2), _item(3, "ta", "speech", 1)]
    agg = aggregate(items)
    assert list(agg["by_lang"]) == ["en", "hi", "ta"]
    assert agg["by_lang"]["ta"]["n"] == 2
    assert agg["by_lang"]["ta"]["r1_iou50"] == pytest.approx(0.5)
    assert agg["by_lang"]["hi"]["mrr"] == pytest.approx(0.5)
    assert {k: v["n"] for k, v in agg["by_source"].items()} == {"screen": 1, "speech": 3}
    assert agg["by_source"]["screen"]["r5_iou50"] == 0.0
    assert breakdown(items, lambda i: i.media) == {"a.mp4": summarize(items)}


def test_ask_summary_counts_and_latency():
    asks = [
        AskScore(1.0, 1.0, 2, 0, 0.0, 1.0),
        AskScore(0.0, 0.5, 1, 1, 0.0, 3.0),
        AskScore(0.0, None, 0, 0, 1.0, 5.0),
        AskScore(0.0, 0.0, 0, 0, 1.0, 7.0, error=True),
    ]
    items = [ItemResult(i, "q", "a.mp4", "en", "speech", ask=a) for i, a in enumerate(asks)]
    s = summarize(items)
    assert s["cited_hit"] == pytest.approx(0.25)
    assert s["keyword_acc"] == pytest.approx(0.5)  # mean over answers that have keywords
    assert (s["citations"], s["invalid_citations"], s["refusals"], s["ask_errors"]) == (3, 1, 2, 1)
    assert s["invalid_citation_rate"] == pytest.approx(1 / 3)
    assert s["latency_p50_s"] == pytest.approx(4.0)
    assert s["latency_p95_s"] == pytest.approx(6.7)
    assert "r1_iou50" not in s
    json.dumps(s)  # plain JSON types
