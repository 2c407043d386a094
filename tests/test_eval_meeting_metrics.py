"""Long-meeting metrics on hand-made cases: seek accuracy, in-span, key fact, unsupported
claims (numbers as digits and words, names, quotes), breakdowns and the report."""

from __future__ import annotations

import re

import pytest

from evals.claims import Cited, check_claims, names, numbers, sentence_citations
from evals.meeting_eval import MeetingLibrary
from evals.metrics import (
    AskScore,
    ItemResult,
    Span,
    aggregate,
    in_span,
    length_bucket,
    score_search,
    seek_hit,
)
from evals.report import render_markdown
from evals.runner import EvalResult

TRUTH = [(100.0, 112.0)]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (95.0, 105.0, True),  # starts 5 s early, overlaps
        (90.0, 130.0, True),  # exactly 10 s early
        (89.0, 130.0, False),  # 11 s early: the player lands too far before the answer
        (108.0, 140.0, True),  # starts inside the turn
        (113.0, 120.0, False),  # after the turn
        (60.0, 95.0, False),  # before, no overlap
    ],
)
def test_seek_hit(start, end, expected):
    assert seek_hit(Span("m", start, end), "m", TRUTH) is expected


def test_seek_hit_needs_the_right_media():
    assert not seek_hit(Span("other", 100.0, 110.0), "m", TRUTH)


def test_in_span_uses_the_hit_middle():
    spans = [(300.0, 500.0)]
    assert in_span(Span("m", 290.0, 330.0), "m", spans)  # middle 310
    assert not in_span(Span("m", 250.0, 320.0), "m", spans)  # middle 285: mostly outside
    assert not in_span(Span("x", 300.0, 320.0), "m", spans)


def test_score_search_fills_seek_and_in_span():
    score = score_search([Span("m", 98.0, 118.0), Span("m", 0, 5)], "m", TRUTH)
    assert (score.seek, score.in_span, score.rank) == (1.0, 1.0, 1)
    assert score_search([], "m", TRUTH).seek == 0.0


def test_numbers_read_digits_and_words_alike():
    assert numbers("sell it for twenty five Euro, profit fifteen million") == {25.0, 15e6}
    assert numbers("It sells for 25 euros; the profit goal is 15 million.") == {25.0, 15e6}
    assert numbers("at most 12,50 or 15,000,000") == {12.5, 15e6}
    assert numbers("यह २५ यूरो में बिकेगा") == {25.0}
    assert numbers("see 01:03 to 01:17") == set()  # clock times are not claims
    spoken = numbers("a maximum of twelve fifty Euro, twelve and a half", generous=True)
    assert 12.5 in spoken
    assert 1250 in spoken  # "twelve fifty" also reads as hundreds (Whisper wrote "1250")
    assert 1950 in numbers("back in nineteen fifty", generous=True)
    assert 1250 not in numbers("twelve euros fifty", generous=True)  # a price, not hundreds
    assert 1250 not in numbers("a maximum of twelve fifty Euro")  # only the generous reading


def test_names_skip_the_first_word():
    assert names("The cat is called Caramel, says Project Manager.") == {
        "Caramel", "Project", "Manager"}
    assert names("Okay. Dolphins are nice.") == set()


REFERENCE = {
    "m": [(0.0, 10.0, "Project Manager", "we'd like to sell it for about twenty five Euro"),
          (10.5, 20.0, "Marketing", "The name is Caramel."),
          (60.0, 70.0, "Industrial Designer", "it will beep when you clap")],
}


def _reference(media_id, start, end):
    return " ".join(f"{spk} {text}" for s, e, spk, text in REFERENCE.get(media_id, [])
                    if s <= end and e >= start)


def test_unsupported_claims_against_the_cited_turns():
    sentences = [
        ("The remote sells for 25 euros.", [Cited("m", 1.0, 9.0)]),  # supported
        ("The most it may cost is about $1000.", [Cited("m", 1.0, 9.0)]),  # invented
        ("Her cat is called Caramel.", [Cited("m", 12.0, 15.0)]),  # supported
        ("Her cat is called Caramel.", [Cited("m", 61.0, 65.0)]),  # cites the wrong moment
        ("It will say \"beep\" when you clap.", [Cited("m", 61.0, 65.0)]),  # quoted, found
        ("They all agreed.", [Cited("m", 61.0, 65.0)]),  # no claim to check
        ("It costs 12 euros.", [Cited("", 0.0, 5.0)]),  # unknown media: nothing supports it
    ]
    result = check_claims(sentences, _reference)
    assert (result.claims, result.unsupported) == (6, 3)
    assert [d["missing"] for d in result.details] == [["1000"], ["Caramel"], ["12"]]


def _library() -> MeetingLibrary:
    turns = [{"speaker": spk, "text": text, "start_s": s, "end_s": e}
             for s, e, spk, text in REFERENCE["m"]]  # fmt: skip
    return MeetingLibrary(manifests={"m": {"meeting": "M", "turns": turns}})


def test_who_said_it_by_role_must_be_who_spoke_the_cited_turn():
    sentences = [
        ("The marketing expert's cat is called Caramel.", [Cited("m", 12.0, 15.0)]),  # right
        ("The industrial designer said it will beep.", [Cited("m", 61.0, 65.0)]),  # right
        ("The user interface designer picked a fish.", [Cited("m", 61.0, 65.0)]),  # wrong
        ("Marketing wants it to beep.", [Cited("m", 61.0, 65.0)]),  # wrong: the designer
        ("The marketing plan says it will beep.", [Cited("m", 61.0, 65.0)]),  # no role named
        ("यूज़र इंटरफ़ेस डिज़ाइनर ने मछली चुनी।", [Cited("m", 61.0, 65.0)]),  # Hindi, wrong
        ("The project manager or the designer wants 25 euros.", [Cited("m", 1.0, 9.0)]),
    ]
    result = check_claims(sentences, _reference, _library().speakers)
    assert (result.claims, result.unsupported) == (6, 3)  # the marketing plan claims nothing
    assert [d["missing"] for d in result.details] == [
        ["role: User Interface"], ["role: Marketing"], ["role: User Interface"]
    ]
    # without who said what, roles are not claims (the short set has no speakers)
    assert check_claims(sentences, _reference).claims == 2


def test_who_said_a_span_is_the_speaker_holding_most_of_it():
    lib = _library()
    assert lib.speakers("m", 8.0, 18.0) == {"Marketing"}  # 2 s of PM, 7.5 s of Marketing
    assert lib.speakers("m", 9.0, 11.5) == {"Project Manager", "Marketing"}  # 1 s each
    assert lib.speakers("m", 30.0, 31.0) == {"Marketing"}  # in a silence: the nearest turn
    assert lib.speakers("other", 0.0, 5.0) == set()


def test_pad_lets_a_citation_end_just_before_the_turn():
    # the citation ends 2 s before the Marketing turn starts: within the ±3 s pad
    result = check_claims([("Her cat is Caramel.", [Cited("m", 0.0, 8.5)])], _reference)
    assert result.unsupported == 0


CITE = re.compile(r"\[(?P<title>[^@\]]+)@\s*(?P<start>[\d.]+)-(?P<end>[\d.]+)\]")


def _resolve(m):
    return Cited(m["title"].strip(), float(m["start"]), float(m["end"]))


def test_sentence_citations_own_next_previous_fallback():
    answer = ("It sells for 25 euros [m @ 1-9]. The cat is Caramel. [m @ 12-15] "
              "Nobody disagreed.")
    pairs = sentence_citations(answer, CITE, _resolve, fallback=[Cited("f", 0, 1)])
    assert pairs == [
        ("It sells for 25 euros.", [Cited("m", 1, 9)]),
        ("The cat is Caramel.", [Cited("m", 12, 15)]),  # the citation written after it
        ("Nobody disagreed.", [Cited("m", 12, 15)]),  # the last one before it
    ]
    plain = sentence_citations("No marks at all.", CITE, _resolve, fallback=[Cited("f", 0, 1)])
    assert plain == [("No marks at all.", [Cited("f", 0, 1)])]


def test_key_fact_needs_every_keyword():
    def ask(kw):
        return AskScore(grounded=1.0, keywords=kw, citations=1, invalid=0, refused=0.0,
                        latency_s=1.0)

    assert ask(1.0).key_fact == 1.0
    assert ask(0.5).key_fact == 0.0
    assert ask(None).key_fact is None


@pytest.mark.parametrize(("seconds", "bucket"), [
    (30.0, "< 1 min"), (300.0, "1–10 min"), (900.0, "10–20 min"), (1500.0, "20–30 min"),
    (2000.0, "≥ 30 min"), (None, "unknown"),
])
def test_length_bucket(seconds, bucket):
    assert length_bucket(seconds) == bucket


def _items():
    def search(seek, span):
        return score_search([Span("m", *seek)], "m", [span])

    rows = [
        # group, split, lang, system top hit, naive top hit, truth
        ("pointed", "dev", "en", (100, 110), (200, 210), (101, 108)),
        ("pointed", "dev", "hi", (100, 110), (100, 110), (101, 108)),
        ("qmsum", "dev", "en", (300, 320), (10, 30), (250, 400)),
        ("pointed", "test", "ta", (500, 510), (100, 110), (101, 108)),
    ]
    items = []
    for n, (group, split, lang, system, naive, truth) in enumerate(rows):
        item = ItemResult(n, f"q{n}", "m.m4a", lang, "speech", group=group, split=split,
                          length="10–20 min", scoring="span" if group == "qmsum" else "seek")
        item.search, item.naive = search(system, truth), search(naive, truth)
        item.ask = AskScore(1.0, 1.0, 1, 0, 0.0, 2.0, claims=2, unsupported=n % 2)
        items.append(item)
    return items


def test_aggregate_breaks_down_by_split_group_and_length():
    m = aggregate(_items())
    # seek accuracy over the exact-moment questions only, in-span over the broad ones
    assert m["seek_acc"] == 2 / 3 and m["naive_seek_acc"] == 2 / 3
    assert m["in_span"] == 1.0 and m["naive_in_span"] == 0.0
    assert m["by_split"]["dev"]["seek_acc"] == 1.0
    assert m["by_group"]["qmsum"]["in_span"] == 1.0
    assert m["by_group"]["qmsum"]["naive_in_span"] == 0.0
    assert m["by_length"]["10–20 min"]["n"] == 4
    assert m["by_group_lang"]["test · pointed · ta"]["seek_acc"] == 0.0
    assert (m["claims"], m["unsupported_claims"], m["key_fact"]) == (8, 2, 1.0)


def test_report_shows_system_vs_naive():
    items = _items()
    result = EvalResult(dataset="d.jsonl", mode="both", items=items, metrics=aggregate(items))
    md = render_markdown(result)
    assert "## System vs naive baseline" in md
    assert "| dev · qmsum · en | – | – | 1.000 | 0.000 |" in md
    assert "## By media length" in md and "unsupported" in md


def test_summary_only_report_renders_without_questions():
    summaries = {"recordings": {"ES2008a": {"split": "dev", "rouge1": 0.31, "chapter_f1": 0.5,
                                            "chapters": 4}}, "dev_rouge1": 0.31}
    result = EvalResult(dataset="d.jsonl", mode="summary", items=[],
                        metrics={"n": 0, "summaries": summaries})
    md = render_markdown(result)
    assert "| ES2008a | dev | 0.310 | 0.500 | 4 |  |" in md


def test_quotations_stay_whole_and_match_by_words():
    answer = ('The recording says: "Not one quick. But the industrial design is the first '
              'one." [m @ 60-65] Then "Caramel." [m @ 12-15]')
    pairs = sentence_citations(answer, CITE, _resolve)
    assert [text for text, _ in pairs] == [
        'The recording says: "Not one quick. But the industrial design is the first one."',
        'Then "Caramel."',
    ]
    ref = ("Industrial Designer Not one quickly. But the I think that's the industrial design "
           "is the first one.")
    assert check_claims([(pairs[0][0], [Cited("m", 60, 65)])], lambda *a: ref).unsupported == 0
    # a short quotation must be there word for word
    assert check_claims([('She said "dolphin".', [Cited("m", 12, 15)])],
                        _reference).unsupported == 1


def test_unanswerable_questions_count_answers_not_citations():
    items = _items()
    for n, refused in enumerate((1.0, 0.0, 1.0)):
        item = ItemResult(10 + n, f"u{n}", "m.m4a", "en", "speech", group="unanswerable",
                          split="dev", length="10–20 min", scoring="refuse")
        item.ask = AskScore(0.0, None, 0 if refused else 1, 0, refused, 2.0)
        items.append(item)
    m = aggregate(items)
    assert (m["unanswerable"], m["false_answers"]) == (3, 1)
    # the answerable questions' scores are theirs alone
    assert m["cited_hit"] == 1.0 and m["refusals"] == 0
    assert m["by_group"]["unanswerable"]["false_answers"] == 1
    assert "cited_hit" not in m["by_group"]["unanswerable"]
    md = render_markdown(EvalResult(dataset="d.jsonl", mode="both", items=items, metrics=m))
    assert "| answered |" in md.splitlines()[md.splitlines().index("## By question group") + 2]
    row = next(line for line in md.splitlines() if "| u1 |" in line)
    assert "| – | – | – | – | answered |" in row
