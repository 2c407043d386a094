"""Chapter boundary F1 and summary ROUGE-1 (evals/summary_metrics.py) on hand-made cases."""

from __future__ import annotations

import pytest

from evals.summary_metrics import boundary_f1, chapter_boundaries, match_boundaries, rouge1


def test_boundary_f1_counts_matches_within_the_tolerance() -> None:
    score = boundary_f1([100.0, 300.0], [120.0, 500.0])
    assert (score.matched, score.predicted, score.reference) == (1, 2, 2)
    assert (score.precision, score.recall, score.f1) == (0.5, 0.5, 0.5)


def test_boundary_matching_is_one_to_one_and_closest_first() -> None:
    # both predictions are near the one reference: only the closer one matches
    assert match_boundaries([100.0, 110.0], [108.0], 45.0) == [(110.0, 108.0)]
    score = boundary_f1([100.0, 110.0], [108.0])
    assert score.matched == 1 and score.precision == 0.5 and score.recall == 1.0
    assert score.f1 == pytest.approx(2 / 3)


def test_boundary_tolerance_is_inclusive_and_configurable() -> None:
    assert boundary_f1([145.0], [100.0]).f1 == 1.0
    assert boundary_f1([145.5], [100.0]).f1 == 0.0
    assert boundary_f1([130.0], [100.0], tolerance_s=20).f1 == 0.0
    with pytest.raises(ValueError, match="tolerance"):
        boundary_f1([1.0], [1.0], tolerance_s=-1)


def test_boundary_f1_edge_cases() -> None:
    assert boundary_f1([], []).f1 == 1.0  # one chapter for a one-topic recording
    assert boundary_f1([], [60.0]).f1 == 0.0
    assert boundary_f1([60.0], []).f1 == 0.0
    assert boundary_f1([60.0, 60.0], [60.0]).f1 == 1.0  # duplicates count once


def test_chapter_boundaries_drop_the_recording_start() -> None:
    assert chapter_boundaries([0.0, 250.0, 100.0]) == [100.0, 250.0]
    # the first topic opens the meeting even after a lead-in of small talk
    assert chapter_boundaries([30.0, 200.0, 200.0]) == [200.0]
    assert chapter_boundaries([]) == []


def test_rouge1_is_stemmed_unigram_f_measure() -> None:
    assert rouge1("The team chose a dolphin.", "the team chose a dolphin") == 1.0
    # cats→cat matches; sat vs sits does not: P = R = 2/3
    assert rouge1("the cats sat", "the cat sits") == pytest.approx(2 / 3)
    assert rouge1("", "a reference") == 0.0
    with pytest.raises(ValueError, match="empty"):
        rouge1("a summary", "  ")
