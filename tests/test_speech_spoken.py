"""Text for the ear: citations spoken as times, markup dropped, sentence splitting."""

from __future__ import annotations

import pytest

from speech.spoken import WORD_LANGUAGES, say_time, split_sentences, to_spoken
from speech.tts import UnsupportedLanguageError


def test_english_citation_becomes_spoken_time():
    text = "The budget was approved [Weekly sync @ 02:05–02:30]."
    assert to_spoken(text, "en") == "The budget was approved, at two minutes five seconds."


def test_hindi_citation_uses_hindi_words_and_postposition():
    text = "बजट मंज़ूर हुआ [साप्ताहिक बैठक @ 02:05–02:30]।"
    assert to_spoken(text, "hi") == "बजट मंज़ूर हुआ, दो मिनट पाँच सेकंड पर।"


def test_tamil_citation_uses_tamil_number_words():
    spoken = to_spoken("பட்ஜெட் அங்கீகரிக்கப்பட்டது [கூட்டம் @ 01:02:03-01:03:00].", "ta")
    assert "ஒன்று மணி இரண்டு நிமிடம் மூன்று வினாடி" in spoken
    assert "[" not in spoken and "@" not in spoken and "01" not in spoken


def test_language_without_number_words_keeps_a_clock_time():
    assert to_spoken("Le budget [Réunion @ 02:05–02:30].", "fr") == "Le budget, 2:05."


def test_title_is_spoken_only_when_several_media_are_cited():
    one = to_spoken("A [Demo @ 00:45]. B [Demo @ 01:00].", "en")
    assert "Demo" not in one and "forty-five seconds" in one and "one minute" in one
    two = to_spoken("A [Demo @ 00:45]. B [Standup @ 1:00:00].", "en-US")
    assert "in Demo at forty-five seconds" in two and "in Standup at one hour" in two


def test_citation_with_to_and_hours():
    spoken = to_spoken("Done [Board meeting @ 1:02:05 to 1:03:00].", "en")
    assert spoken == "Done, at one hour two minutes five seconds."


def test_several_citations_in_one_bracket():
    spoken = to_spoken("Agreed [Sync @ 00:10–00:20; Sync @ 03:00–03:05].", "en")
    assert spoken == "Agreed, at ten seconds, at three minutes."


def test_markup_links_and_brackets_are_dropped():
    text = (
        "# Summary\n**Alice** said *yes* (twice) [1].\n- see [the docs](http://example.com/x)\n"
        "- `code` <b>bold</b> https://example.com"
    )
    spoken = to_spoken(text, "en")
    for mark in "*#[]()<>`":
        assert mark not in spoken
    assert "http" not in spoken
    assert spoken == "Summary. Alice said yes, twice. see the docs. code bold."


def test_times_parse_and_say():
    assert to_spoken("Yes [T @ 02:05.5–02:10].", "en") == "Yes, at two minutes five seconds."
    assert say_time(61, "en") == "one minute one second"
    assert say_time(0, "hi") == "शून्य सेकंड"


def test_every_indian_language_gets_words_not_digits():
    assert {"en", "hi", "ta", "te", "bn", "mr", "gu", "kn", "ml", "pa"} <= WORD_LANGUAGES
    for language in WORD_LANGUAGES:
        spoken = say_time(3725, language)
        assert not any(ch.isdigit() for ch in spoken), (language, spoken)
        assert len(spoken.split()) >= 6  # number + unit for hours, minutes, seconds


def test_empty_language_code_is_rejected():
    with pytest.raises(UnsupportedLanguageError):
        to_spoken("hello", " ")


def test_sentence_splitting_keeps_abbreviations_and_handles_danda():
    assert split_sentences("We met, e.g. on Monday. Then left! Why? Fine") == [
        "We met, e.g. on Monday.",
        "Then left!",
        "Why?",
        "Fine",
    ]
    assert split_sentences("पहला वाक्य। दूसरा वाक्य।") == ["पहला वाक्य।", "दूसरा वाक्य।"]
    assert split_sentences("   ") == []
