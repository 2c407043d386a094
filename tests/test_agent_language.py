"""The language table and question language identification (English, nine Indian languages)."""

from __future__ import annotations

import pytest

from graphs.extractive import LEAD_INS
from graphs.language import ANSWERED, LANGUAGES, NAMES, REFUSALS, SUPPORTED, detect_language
from speech.spoken import WORD_LANGUAGES


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("What did they say about the budget?", "en"),
        ("बजट के बारे में उन्होंने क्या कहा?", "hi"),
        ("पहले दस मिनट में क्या हुआ?", "hi"),
        ("बजेटबद्दल ते काय म्हणाले? मला सांगा", "mr"),
        ("அவர்கள் பட்ஜெட் பற்றி என்ன சொன்னார்கள்?", "ta"),
        ("వారు బడ్జెట్ గురించి ఏమి చెప్పారు?", "te"),
        ("তারা বাজেট সম্পর্কে কী বলেছিল?", "bn"),
        ("તેઓએ બજેટ વિશે શું કહ્યું?", "gu"),
        ("ಅವರು ಬಜೆಟ್ ಬಗ್ಗೆ ಏನು ಹೇಳಿದರು?", "kn"),
        ("അവർ ബജറ്റിനെക്കുറിച്ച് എന്താണ് പറഞ്ഞത്?", "ml"),
        ("ਉਨ੍ਹਾਂ ਨੇ ਬਜਟ ਬਾਰੇ ਕੀ ਕਿਹਾ?", "pa"),
        ("डेमो में Priya ने लॉन्च की तारीख के बारे में क्या कहा?", "hi"),  # code-mixed
    ],
)
def test_detect_language(text: str, code: str) -> None:
    assert code in SUPPORTED
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "12:30?", "!!!"])
def test_undecidable_text_uses_the_default(text: str) -> None:
    assert detect_language(text, default="hi") == "hi"


def test_one_table_feeds_every_per_language_value() -> None:
    codes = [lang.code for lang in LANGUAGES]
    assert len(codes) == len(set(codes))
    assert set(SUPPORTED) == set(REFUSALS) == set(LEAD_INS) == {lang.code for lang in ANSWERED}
    assert set(NAMES) == WORD_LANGUAGES == set(codes)
    for lang in ANSWERED:
        assert lang.refusal and lang.said and lang.shown and lang.said != lang.shown
    assert {"ne", "or"} <= WORD_LANGUAGES - set(SUPPORTED)  # spoken only


def test_a_spoken_only_language_is_not_detected() -> None:
    assert detect_language("ଆପଣ କଣ କହିଲେ?") == "en"  # Odia: spoken, not answered
