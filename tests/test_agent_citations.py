"""Citation parsing, validation and repair against retrieved evidence."""

from __future__ import annotations

import pytest

from graphs.citations import Evidence, format_citation, parse_citations, validate_answer
from graphs.mediatime import format_time

EVIDENCE = [
    Evidence(
        media_id="m1",
        title="Team sync",
        source="speech",
        start_s=110,
        end_s=140,
        text="We decided to ship the beta on Friday, and Ravi will fix the latency.",
        rank=0,
    ),
    Evidence(
        media_id="m1",
        title="Team sync",
        source="speech",
        start_s=20,
        end_s=45,
        text="Priya will now show the demo of the new search feature.",
        rank=1,
    ),
    Evidence(
        media_id="m2",
        title="Guest talk",
        source="speech",
        start_s=3600,
        end_s=3630,
        text="Tomatoes need six hours of sun each day.",
        rank=2,
    ),
]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "00:00"), (12.9, "00:12"), (125, "02:05"), (3725, "1:02:05")]
)
def test_citation_times(seconds: float, text: str) -> None:
    assert format_time(seconds) == text


def test_parse_accepts_en_dash_hyphen_and_hours() -> None:
    text = "A [Team sync @ 01:50–02:20]. B [Guest talk @ 1:00:00-1:00:30]. C [x @ 1:00 to 1:10]."
    found = [(c.title, c.start_s, c.end_s) for c in parse_citations(text)]
    assert found == [("Team sync", 110, 140), ("Guest talk", 3600, 3630), ("x", 60, 70)]


def test_valid_citation_is_normalised_to_the_chunk_span() -> None:
    text, cites = validate_answer("The beta ships Friday [team sync @ 01:55-02:00].", EVIDENCE)
    assert text == f"The beta ships Friday {format_citation('Team sync', 110, 140)}."
    assert [(c.media_id, c.start_s, c.end_s) for c in cites] == [("m1", 110, 140)]
    assert cites[0].quote.startswith("We decided to ship the beta")


def test_wrong_time_is_repaired_to_the_supporting_chunk() -> None:
    text, cites = validate_answer(
        "Priya showed the demo of the search feature [Team sync @ 40:00–40:10].", EVIDENCE
    )
    assert "[Team sync @ 00:20–00:45]" in text and "40:00" not in text
    assert [(c.start_s, c.end_s) for c in cites] == [(20, 45)]


def test_wrong_time_without_support_goes_to_the_nearest_chunk_of_that_media() -> None:
    # a sentence with no checkable fact (only filler words) keeps its repaired citation
    text, cites = validate_answer("They talked about it then [Team sync @ 00:50–00:55].", EVIDENCE)
    assert [(c.start_s, c.end_s) for c in cites] == [(20, 45)]  # nearer than 01:50


def test_unknown_title_is_repaired_by_support_or_dropped() -> None:
    text, cites = validate_answer(
        "Tomatoes need six hours of sun [Garden show @ 00:01–00:02]. "
        "The CEO resigned [Board call @ 00:03–00:04].",
        EVIDENCE,
    )
    assert "[Guest talk @ 1:00:00–1:00:30]" in text
    assert "Board call" not in text and "Garden show" not in text
    assert [c.media_id for c in cites] == ["m2"]


def test_uncited_supported_sentence_gets_a_citation() -> None:
    text, cites = validate_answer("Ravi will fix the latency.", EVIDENCE)
    assert text == "Ravi will fix the latency [Team sync @ 01:50–02:20]."
    assert len(cites) == 1


def test_cross_lingual_fallback_cites_the_best_ranked_evidence() -> None:
    text, cites = validate_answer("बीटा शुक्रवार को आएगा।", EVIDENCE, fallback=True)
    assert text == "बीटा शुक्रवार को आएगा [Team sync @ 01:50–02:20]।"
    assert [(c.start_s, c.end_s) for c in cites] == [(110, 140)]


def test_without_fallback_an_unsupported_answer_is_emptied() -> None:
    assert validate_answer("बीटा शुक्रवार को आएगा।", EVIDENCE) == ("", [])


def test_a_sentence_citing_unretrieved_media_is_dropped_even_with_fallback() -> None:
    # e.g. the model parroting the prompt's worked example
    answer = "The app launches on Monday [Demo call @ 00:10–00:20]."
    assert validate_answer(answer, EVIDENCE, fallback=True) == ("", [])


def test_uncited_unsupported_sentences_are_dropped_next_to_cited_ones() -> None:
    text, cites = validate_answer(
        "The beta ships Friday [Team sync @ 01:50–02:20]. Everyone was thrilled.", EVIDENCE
    )
    assert text == "The beta ships Friday [Team sync @ 01:50–02:20]."
    assert len(cites) == 1


def test_no_evidence_means_no_answer() -> None:
    assert validate_answer("Made up [Team sync @ 00:01–00:02].", []) == ("", [])


def test_duplicate_citations_are_listed_once() -> None:
    text, cites = validate_answer(
        "The beta ships Friday [Team sync @ 01:50–02:20]. "
        "Ravi fixes latency [Team sync @ 01:50–02:20].",
        EVIDENCE,
    )
    assert len(cites) == 1 and text.count("[Team sync @ 01:50–02:20]") == 2


def test_citation_after_the_full_stop_joins_its_sentence() -> None:
    text, cites = validate_answer("The beta ships on Friday. [Team sync @ 01:50–02:20].", EVIDENCE)
    assert text == "The beta ships on Friday [Team sync @ 01:50–02:20]."
    assert len(cites) == 1


def test_real_span_that_does_not_say_it_is_moved_to_the_chunk_that_does() -> None:
    text, cites = validate_answer(
        "Priya will show the demo of the new search feature [Team sync @ 01:55–02:00].",
        EVIDENCE,
    )
    assert "[Team sync @ 00:20–00:45]" in text
    assert [(c.start_s, c.end_s) for c in cites] == [(20, 45)]


def test_an_initial_does_not_end_the_sentence() -> None:
    # cut at "M." the check kept only the cited fragment "M. feature, which …"
    answer = "Ravi will fix the latency, the P. M. decided [Team sync @ 01:50–02:20]."
    text, cites = validate_answer(answer, EVIDENCE)
    assert text == answer
    assert [(c.start_s, c.end_s) for c in cites] == [(110, 140)]
