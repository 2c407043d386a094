"""Who a question is about, and who an answer says said it.

The matcher (graphs/speakers.py) on English, Hindi and Tamil questions; the directory the
agent reads speakers from (the stored transcript: names the user set, names and roles
proposed from self-introductions); and the answer check that repairs or drops a sentence
attributing a line to the wrong speaker (graphs/citations.py with graphs/claims.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from app.speaker_directory import TranscriptSpeakers
from graphs.citations import Evidence, validate_answer
from graphs.speakers import (
    KnownSpeaker,
    match_speaker,
    named_in,
    named_speaker,
    without_mention,
    without_roles,
)
from graphs.words import STOP_WORDS
from ingestion.transcript_store import MediaTranscript, TranscriptSegment, TranscriptStore

MEETING = [
    KnownSpeaker("Chiara", ("S1", "speaker 1", "marketing expert")),
    KnownSpeaker("Marco", ("S2", "speaker 2", "project manager")),
    KnownSpeaker("S3", ("speaker 3", "industrial designer")),
]


def test_a_name_in_an_english_question() -> None:
    said = match_speaker("What did Chiara say about the price?", MEETING)
    assert (said.label, said.mention) == ("Chiara", "Chiara")
    assert without_mention("What did Chiara say about the price?", said) == (
        "What did say about the price?"
    )
    # typed in lower case, or as a possessive, it is still the name
    assert match_speaker("what did chiara think of the price", MEETING).label == "Chiara"
    assert match_speaker("What was Marco's budget?", MEETING).label == "Marco"


def test_a_role_or_an_id_names_the_speaker() -> None:
    said = match_speaker("What did the marketing expert say about the price?", MEETING)
    assert (said.label, said.mention) == ("Chiara", "the marketing expert")
    # one word of a role is enough when it is unique; the id works too
    assert match_speaker("What did the designer want?", MEETING).label == "S3"
    assert match_speaker("what did speaker 2 say?", MEETING).label == "Marco"
    assert match_speaker("What did S3 say about the case?", MEETING).label == "S3"


def test_a_hindi_or_tamil_question_with_the_english_name() -> None:
    hindi = match_speaker("Chiara ने कीमत के बारे में क्या कहा?", MEETING)
    assert (hindi.label, hindi.mention) == ("Chiara", "Chiara")
    assert without_mention("Chiara ने कीमत के बारे में क्या कहा?", hindi) == (
        "ने कीमत के बारे में क्या कहा?"
    )
    assert match_speaker("விலை பற்றி Marco என்ன சொன்னார்?", MEETING).label == "Marco"


def test_a_role_in_a_hindi_or_tamil_question_names_the_speaker_proposed_for_it() -> None:
    # the questions of the long-meeting set (evals/meetings_questions.jsonl)
    said = match_speaker("इंडस्ट्रियल डिज़ाइनर ने व्हाइटबोर्ड पर कौन सा जानवर बनाया?", MEETING)
    assert (said.label, said.mention) == ("S3", "इंडस्ट्रियल डिज़ाइनर")
    assert match_speaker("मार्केटिंग विशेषज्ञ की बिल्ली का नाम क्या है?", MEETING).label == "Chiara"
    # Tamil inflects the head: நிபுணரின் (the expert's), மேனேஜரின் (the manager's)
    said = match_speaker("மார்க்கெட்டிங் நிபுணரின் பூனையின் பெயர் என்ன?", MEETING)
    assert (said.label, said.mention) == ("Chiara", "மார்க்கெட்டிங் நிபுணரின்")
    assert match_speaker("ப்ராஜெக்ட் மேனேஜரின் வீட்டு ரிமோட் எது?", MEETING).label == "Marco"
    # a role word outside a role names no one: "the project's profit goal"
    assert match_speaker("இந்தத் திட்டத்தின் லாப இலக்கு எவ்வளவு?", MEETING).label is None
    assert match_speaker("इस प्रोजेक्ट का मुनाफ़े का लक्ष्य कितना है?", MEETING).label is None
    # an answer in Hindi that names a role names that speaker too
    assert named_in("मार्केटिंग विशेषज्ञ 25 यूरो चाहती हैं।", MEETING) == {"Chiara"}


def test_the_search_reads_a_question_without_the_roles_it_names() -> None:
    # the answering line is the person speaking; it rarely says their role, while
    # self-introductions do ("I'm Bart, the industrial designer")
    cases = {
        "Which animal did the industrial designer draw?": "Which animal did draw?",
        "What is the marketing expert's cat called?": "What is cat called?",
        "Which animal did the user interface designer pick?": "Which animal did pick?",
        "How many devices can our project manager's remote be programmed for?": (
            "How many devices can remote be programmed for?"
        ),
        # nothing left to search for, or no role: unchanged
        "Who is the project manager?": "Who is the project manager?",
        "What did marketing want?": "What did marketing want?",
        "How much will the remote cost?": "How much will the remote cost?",
        # asked who they are: the self-introduction is the answer, the role stays
        "What is the industrial designer's name?": "What is the industrial designer's name?",
        "यूज़र इंटरफ़ेस डिज़ाइनर का नाम क्या है?": "यूज़र इंटरफ़ेस डिज़ाइनर का नाम क्या है?",
        "ப்ராஜெக்ட் மேனேஜரின் பெயர் என்ன?": "ப்ராஜெக்ட் மேனேஜரின் பெயர் என்ன?",
        # Hindi and Tamil: listed modifiers only, inflected Tamil heads too
        "प्रोजेक्ट मैनेजर ने बजट के बारे में क्या कहा?": "ने बजट के बारे में क्या कहा?",
        "बजट के लिए मार्केटिंग एक्सपर्ट ने क्या कहा?": "बजट के लिए ने क्या कहा?",
        "இண்டஸ்ட்ரியல் டிசைனருக்கு எவ்வளவு நேரம் வேண்டும்?": "எவ்வளவு நேரம் வேண்டும்?",
        "பட்ஜெட் பற்றி மார்க்கெட்டிங் நிபுணர் என்ன சொன்னார்?": "பட்ஜெட் பற்றி என்ன சொன்னார்?",
        # a modifier run stops at punctuation; an English role is "the …", not "a …"
        "After the budget, the designer Anna spoke?": "After the budget, Anna spoke?",
        "Could he have become a pleasant person?": "Could he have become a pleasant person?",
        "वे बजट, मैनेजर के बारे में क्या बोले?": "वे बजट, के बारे में क्या बोले?",
    }
    for question, query in cases.items():
        assert without_roles(question, STOP_WORDS) == query


def test_words_that_only_qualify_a_role_name_no_one() -> None:
    # "the project" of the project manager, "the marketing" of the marketing expert: topics
    for question in ("What is the project deadline?", "How much is the marketing budget?"):
        assert match_speaker(question, MEETING).label is not None  # the words do match
        assert named_speaker(question, MEETING).label is None, question
    said = named_speaker("What did the project manager say about the deadline?", MEETING)
    assert (said.label, said.mention) == ("Marco", "the project manager")
    assert named_speaker("What did Chiara and Marco decide?", MEETING).ambiguous


def test_no_speaker_named_filters_nothing() -> None:
    for question in ("How much will the remote cost?", "कीमत क्या है?", "Who spoke first?"):
        said = match_speaker(question, MEETING)
        assert said.label is None and not said.ambiguous
    # an everyday word that is also a name counts only when written as one
    people = [KnownSpeaker("Rose"), KnownSpeaker("Reader")]
    assert match_speaker("Why the prices rose in May?", people).label is None
    assert match_speaker("What did Rose say about May?", people).label == "Rose"
    assert match_speaker("what did the reader say?", people).label == "Reader"
    assert match_speaker("Is this a good reader?", people).label is None


def test_two_speakers_named_is_ambiguous() -> None:
    said = match_speaker("What did Chiara and Marco decide?", MEETING)
    assert said.label is None and said.candidates == ("Chiara", "Marco")
    # two people with one first name: no guess either
    roses = [KnownSpeaker("Rose Lindgren"), KnownSpeaker("Rose Amari")]
    assert match_speaker("What did Rose say?", roses).ambiguous
    assert match_speaker("What did Rose Amari say?", roses).label == "Rose Amari"
    # the same name in two recordings is one speaker: the filter is the label
    twice = [KnownSpeaker("Chiara"), KnownSpeaker("Chiara", ("S2",)), KnownSpeaker("Marco")]
    assert match_speaker("What did Chiara say?", twice).label == "Chiara"


def test_the_directory_reads_names_and_self_introductions(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path)
    doc = MediaTranscript(
        media_id="m1",
        segments=[
            TranscriptSegment(start_s=0, end_s=4, speaker="S1",
                              text="Hi, I'm Chiara, the marketing expert."),
            TranscriptSegment(start_s=4, end_s=8, speaker="S2",
                              text="I'll be the project manager today."),
            TranscriptSegment(start_s=8, end_s=12, speaker="S1", text="It should sell for 25."),
        ],
    )  # fmt: skip
    store.save(doc)
    directory = TranscriptSpeakers(store)
    assert directory.speakers("m1") == (
        KnownSpeaker("S1", ("speaker 1", "Chiara", "marketing expert")),
        KnownSpeaker("S2", ("speaker 2", "project manager")),
    )
    assert match_speaker("What did Chiara say?", directory.speakers("m1")).label == "S1"
    # a rename rewrites the file: the next question sees the new label at once
    store.save(doc.model_copy(update={"names": {"S2": "Marco"}}))
    path = store.path("m1")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert [sp.label for sp in directory.speakers("m1")] == ["S1", "Marco"]
    assert match_speaker("What did the project manager say?", directory.speakers("m1")).label == (
        "Marco"
    )
    assert directory.speakers("no-such-item") == ()


def _line(start: float, speaker: str, text: str, rank: int) -> Evidence:
    return Evidence(media_id="m1", title="Kickoff", source="speech", start_s=start,
                    end_s=start + 10, text=text, rank=rank, speaker=speaker)  # fmt: skip


CHIARA = _line(10, "Chiara", "I think it should sell for twenty-five euros.", 0)
MARCO = _line(40, "Marco", "Twenty-five euros is too much, make it twenty.", 1)
PEOPLE = [KnownSpeaker("Chiara"), KnownSpeaker("Marco")]


def test_a_line_attributed_to_the_wrong_speaker_is_re_cited_to_theirs() -> None:
    # the model cites Marco's line for what Chiara said: the name is in the question,
    # still the attribution is checked, and Chiara's own line says it
    text, cites = validate_answer(
        "Chiara said it should sell for 25 euros [Kickoff @ 00:40–00:50].",
        [MARCO, CHIARA],
        question="What did Chiara say about the price?",
        speakers=PEOPLE,
    )
    assert [(c.speaker, c.start_s) for c in cites] == [("Chiara", 10.0)]
    assert text == "Chiara said it should sell for 25 euros [Kickoff @ 00:10–00:20]."


def test_a_wrong_attribution_nothing_supports_is_dropped() -> None:
    # Marco never said 25 should be the price: no line of his supports the sentence
    text, cites = validate_answer(
        "Marco said it should sell for 25 euros [Kickoff @ 00:10–00:20].",
        [CHIARA, MARCO.model_copy(update={"text": "Let us look at the schedule first."})],
        question="What did Marco say about the price?",
        speakers=PEOPLE,
    )
    assert (text, cites) == ("", [])
    # the same sentence about the right speaker stands
    text, cites = validate_answer(
        "Chiara said it should sell for 25 euros [Kickoff @ 00:10–00:20].",
        [CHIARA, MARCO],
        question="What did Chiara say about the price?",
        speakers=PEOPLE,
    )
    assert [c.speaker for c in cites] == ["Chiara"] and text.startswith("Chiara said")


def test_an_unnamed_answer_to_a_speaker_question_cites_that_speaker() -> None:
    # "What did Marco say?" answered from Chiara's line, naming no one
    text, cites = validate_answer(
        "It should sell for twenty-five euros [Kickoff @ 00:10–00:20].",
        [CHIARA, MARCO],
        question="What did Marco say about the price?",
        speakers=PEOPLE,
        asked_speaker="Marco",
    )
    assert cites == [] or all(c.speaker == "Marco" for c in cites)
    assert "00:10" not in text
    # without a speaker asked about, the same sentence keeps Chiara's line
    _, cites = validate_answer(
        "It should sell for twenty-five euros [Kickoff @ 00:10–00:20].",
        [CHIARA, MARCO],
        question="What should it sell for?",
        speakers=PEOPLE,
    )
    assert [c.speaker for c in cites] == ["Chiara"]


def test_answers_name_speakers_by_name_or_role() -> None:
    known = [KnownSpeaker("Chiara", ("marketing expert",)), KnownSpeaker("Marco")]
    assert named_in("The marketing expert wants 25 euros.", known) == {"Chiara"}
    assert named_in("Marco disagreed with Chiara.", known) == {"Chiara", "Marco"}
    assert named_in("It will sell for 25 euros.", known) == set()
