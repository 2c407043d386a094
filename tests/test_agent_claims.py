"""Claim support: numbers, names, quotes and content of a cited sentence must be in its
evidence; unsupported sentences are re-cited to supporting evidence or dropped."""

from __future__ import annotations

import pytest

from graphs import claims
from graphs.citations import Evidence, validate_answer
from graphs.speakers import KnownSpeaker

PRICE = Evidence(
    media_id="m1", title="Kick-off", source="speech", start_s=60, end_s=77,
    text="so the selling price of the product will be twenty five euros", rank=1,
)  # fmt: skip
COST = Evidence(
    media_id="m1", title="Kick-off", source="speech", start_s=80, end_s=95,
    text="and the production cost should be at most twelve and a half euros", rank=2,
)  # fmt: skip
ANIMAL = Evidence(
    media_id="m1", title="Kick-off", source="speech", start_s=300, end_s=312,
    text="my favourite animal, I'd draw a dolphin because they are smart", rank=0,
)  # fmt: skip
EVIDENCE = [ANIMAL, PRICE, COST]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("twenty five euros", {"25"}),
        ("1,000 dollars and 12.50", {"1000", "12.5"}),
        ("at 12:05 nothing", set()),
        ("पच्चीस यूरो", {"25"}),
        ("இருபத்து ஐந்து யூரோ", {"25"}),
        ("२५ रुपये", {"25"}),
    ],
)
def test_numbers_are_read_from_digits_and_number_words(text: str, values: set[str]) -> None:
    assert claims.numbers_in(text) == values


def test_invented_amount_with_a_citation_is_repaired_or_dropped() -> None:
    # the example: "$1000" appears in no retrieved chunk → the sentence goes
    answer = "The most the remote may cost to produce is about $1000 [Kick-off @ 01:03–01:17]."
    assert validate_answer(answer, EVIDENCE, question="What may it cost at most?") == ("", [])


def test_right_fact_with_the_wrong_citation_is_recited() -> None:
    answer = "It will sell for 25 euros [Kick-off @ 05:00–05:12]."
    text, cites = validate_answer(answer, EVIDENCE, question="What will it sell for?")
    assert [(c.start_s, c.end_s) for c in cites] == [(60, 77)]
    assert "25 euros" in text


def test_invented_object_is_dropped_and_supported_sentence_kept() -> None:
    answer = (
        "The user interface designer chose a cat [Kick-off @ 05:00–05:12]. "
        "It will sell for twenty five euros [Kick-off @ 01:00–01:17]."
    )
    text, cites = validate_answer(
        answer, EVIDENCE, question="Which animal did the user interface designer choose?"
    )
    assert "cat" not in text
    assert [(c.start_s, c.end_s) for c in cites] == [(60, 77)]


def test_supported_object_is_kept_when_the_role_is_known() -> None:
    answer = "The user interface designer chose a dolphin [Kick-off @ 05:00–05:12]."
    question = "Which animal did the user interface designer choose?"
    said = [ev.model_copy(update={"speaker": "S3"}) for ev in EVIDENCE]
    designer = [KnownSpeaker("S3", ("user interface designer",))]
    text, cites = validate_answer(answer, said, question=question, speakers=designer)
    assert "dolphin" in text
    assert [(c.start_s, c.end_s) for c in cites] == [(300, 312)]
    # nobody is known to be the designer, and the line does not say it: who chose the
    # dolphin is a claim nothing supports (the "the designer chose a cat")
    other = [KnownSpeaker("S3", ("industrial designer",))]  # S3 holds another role
    for evidence, speakers in ((said, []), (EVIDENCE, []), (said, other)):
        assert validate_answer(answer, evidence, question=question, speakers=speakers) == ("", [])
    # a bare noun names no one in particular: "the members" is no attribution to check
    members = "सभी सदस्यों ने डॉल्फ़िन चुनी [Kick-off @ 05:00–05:12]।"  # all members chose a dolphin
    assert validate_answer(members, EVIDENCE, fallback=True, question=question)[1]
    # uncited in another language (the best evidence would stand in): still nobody's role
    tamil = "மார்க்கெட்டிங் நிபுணர் ஒரு டால்பினை வரைந்தார்"  # the marketing expert drew a dolphin
    assert validate_answer(tamil, EVIDENCE, fallback=True, question=question) == ("", [])
    # a line that names the role itself supports it
    intro = ANIMAL.model_copy(update={"text": "as the user interface designer I'd draw a dolphin"})
    text, _ = validate_answer(answer, [intro, PRICE], question=question)
    assert "dolphin" in text


def test_names_match_by_ear_but_invented_names_do_not() -> None:
    ev = ["Kiara will send the minutes to everyone by Friday"]
    assert claims.supported("Chiara sends the minutes by Friday.", ev, "Who sends the minutes?")
    assert not claims.supported("Rahul sends the minutes by Friday.", ev, "Who sends minutes?")


def test_cross_lingual_answer_checks_numbers_only() -> None:
    ev = [PRICE.text]
    assert claims.supported("रिमोट पच्चीस यूरो में बिकेगा।", ev, "रिमोट कितने में बिकेगा?")
    assert not claims.supported("रिमोट 40 यूरो में बिकेगा।", ev, "रिमोट कितने में बिकेगा?")


def test_what_the_question_says_is_not_a_claim() -> None:
    facts = claims.extract("Yes, the Kiwi budget is 25 euros.", "Is the Kiwi budget 25 euros?")
    assert facts.numbers == frozenset() and "kiwi" not in facts.names


def test_quoted_words_must_be_in_the_evidence() -> None:
    assert claims.supported('She called it "smart".', [ANIMAL.text])
    assert not claims.supported('She called it "adorable".', [ANIMAL.text])


def test_one_shared_word_does_not_support_a_sentence_of_new_content() -> None:
    # the demo's wrong citation: one word in common ("dolphin") among five new ones
    question = "What does the designer think of animals?"
    invented = "The dolphin was banned from the aquarium by council inspectors."
    assert claims.missing(claims.extract(invented, question), [ANIMAL.text])
    # a close paraphrase with most of its words in the evidence is still supported
    paraphrase = "The designer would draw a dolphin because dolphins are smart."
    assert claims.supported(paraphrase, [ANIMAL.text], question)


def test_names_found_do_not_vouch_for_the_rest_of_the_sentence() -> None:
    # the demo's case: the names are in the cited line, the claim about them is not
    cited = "John Dashwood had then leisure to consider how much was in his power to do"
    claim = "John Dashwood might have been made amiable himself."
    question = "What might have made him more respectable?"
    assert not claims.supported(claim, [cited], question)
    assert claims.supported(claim, ["John Dashwood might even have been made amiable"], question)


def test_a_name_filled_into_the_question_needs_evidence_about_the_question() -> None:
    # the 0.5B's answer to an unanswerable question: the predicate is the question's own,
    # the name comes from a line about something else
    question = "Who won the football match?"
    answer = "Mr. John Dashwood won the football match."
    elsewhere = "Mr. John Dashwood had never been much in the habit of going to his wife"
    assert claims.missing(claims.extract(answer, question), [elsewhere]) == [
        "about: football, match, won"
    ]
    assert claims.supported(answer, ["and then John Dashwood won the match for us"], question)


def test_a_number_filled_into_the_question_needs_evidence_about_the_question() -> None:
    question = "How much will the remote control sell for?"
    assert claims.supported("The remote control will sell for 25 euros.", [PRICE.text], question)
    assert claims.supported("It will sell for 25.", [PRICE.text], question)  # "selling"
    assert not claims.supported("It will sell for 25.", ["twenty five people came"], question)
    # a sentence with words of its own is judged by them, as before
    assert claims.supported("It costs 25 euros.", ["twenty five euros"], question)
