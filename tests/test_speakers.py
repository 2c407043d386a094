"""Speakers: real voices through the real diarizer, words and chunks by speaker, stored
transcripts, exports and renaming on the real embedded index.

Voices: Fish Fillets NG's two Dutch voice actors and a LibriVox reader beside a CMU
speaker (tests/speaker_media.py). The diarizer is resemblyzer's GE2E encoder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import transcripts
from app.config import Settings
from app.container import Container
from evals.speakers import score
from ingestion.chunking import ChunkParams, MomentParams, moment_chunks, speech_chunks
from ingestion.diarize import ResemblyzerDiarizer, SpeakerTurn
from ingestion.speaker_names import propose_names, propose_roles
from ingestion.speakers import assign_speakers
from ingestion.transcribe import Transcript, Word
from ingestion.transcript_store import MediaTranscript, build_transcript
from tests.speaker_media import fillets_dialogue, reader_and_caller
from vectorstore.schema import SearchRequest


@pytest.fixture(scope="module")
def diarizer() -> ResemblyzerDiarizer:
    return ResemblyzerDiarizer(threads=2)


@pytest.mark.parametrize("build", [fillets_dialogue, reader_and_caller])
def test_two_real_voices_are_told_apart(
    build, diarizer: ResemblyzerDiarizer, tmp_path: Path
) -> None:
    wav = tmp_path / "dialogue.wav"
    truth = build(wav)
    found = score(truth, diarizer.diarize(wav))
    assert found.found_speakers == 2, found
    assert found.accuracy >= 0.95, found
    given = score(truth, diarizer.diarize(wav, speakers=2))
    assert given.found_speakers == 2 and given.accuracy >= 0.95, given
    # turns are in media time and in order
    turns = diarizer.diarize(wav)
    assert all(a.end_s <= b.start_s + 1e-6 for a, b in zip(turns, turns[1:], strict=False))
    assert turns[0].speaker == "S1" and turns[-1].end_s <= truth[-1].end_s + 1.0


def test_silence_has_no_speakers(diarizer: ResemblyzerDiarizer, tmp_path: Path) -> None:
    import numpy as np

    from tests.media import write_wav

    wav = tmp_path / "silence.wav"
    write_wav(wav, np.zeros(16_000 * 3, np.float32))
    assert diarizer.diarize(wav) == []


def _words(*spec: tuple[float, float, str]) -> list[Word]:
    return [Word(a, b, t) for a, b, t in spec]


def test_each_word_takes_the_turn_it_overlaps_most() -> None:
    words = _words(
        (0.0, 0.4, "I"), (0.4, 0.8, "think"), (0.8, 1.2, "so."),
        (1.3, 1.6, "Well"), (1.6, 2.0, "no,"), (2.0, 2.4, "never."), (5.0, 5.2, "Hm."),
    )  # fmt: skip
    turns = [SpeakerTurn(0.0, 1.35, "S1"), SpeakerTurn(1.35, 2.2, "S2"), SpeakerTurn(6, 7, "S1")]
    got = [w.speaker for w in assign_speakers(words, turns)]
    # "never." overlaps only S2; "Hm." overlaps nothing: the nearest turn (S1 at 6 s)
    assert got == ["S1", "S1", "S1", "S2", "S2", "S2", "S1"]
    assert assign_speakers(words, []) == words


def test_chunks_never_span_a_speaker_change() -> None:
    lines = [("S1", "Of course. You don't judge a book by its cover."),
             ("S2", "Oh, that's a relief to hear."), ("S1", "It really is")]  # fmt: skip
    words, t = [], 0.0
    for speaker, text in lines:
        for token in text.split():
            words.append(Word(t, t + 0.3, token, speaker=speaker))
            t += 0.35  # no pause at the change: only the speaker ends the chunk
    for chunks in (
        moment_chunks(words, media_id="m", language="en", recorded_at=None,
                      params=MomentParams(min_s=30, max_s=60)),
        speech_chunks(words, media_id="m", language="en", recorded_at=None,
                      params=ChunkParams(max_s=60, max_words=100)),
    ):  # fmt: skip
        assert [(c.speaker, c.text) for c in chunks] == [
            ("S1", lines[0][1]),
            ("S2", lines[1][1]),
            ("S1", lines[2][1]),
        ]


def _doc() -> MediaTranscript:
    words = [
        Word(0.5, 0.9, "Hello,", speaker="S1"), Word(0.9, 1.2, "I'm", speaker="S1"),
        Word(1.2, 1.8, "Chiara,", speaker="S1"), Word(1.8, 2.0, "the", speaker="S1"),
        Word(2.0, 2.6, "marketing", speaker="S1"), Word(2.6, 3.1, "expert.", speaker="S1"),
        Word(3.6, 4.0, "Price", speaker="S2"), Word(4.0, 4.2, "is", speaker="S2"),
        Word(4.2, 4.8, "<twelve>", speaker="S2"), Word(4.8, 5.3, "euros.", speaker="S2"),
    ]  # fmt: skip
    return build_transcript("m1", Transcript("en", 0.99, 6.0, words))


def test_stored_transcript_keeps_whisper_times_and_exports() -> None:
    doc = _doc()
    assert [s.speaker for s in doc.segments] == ["S1", "S2"]
    assert doc.segments[1].words[0].model_dump() == {"w": "Price", "start_s": 3.6, "end_s": 4.0}
    body = json.loads(transcripts.export(doc, "json"))
    assert set(body) >= {"media_id", "segments"}
    assert set(body["segments"][0]) == {"start_s", "end_s", "speaker", "text", "words"}
    named = doc.model_copy(update={"names": {"S1": "Chiara"}}).named()
    srt = transcripts.export(named, "srt")
    assert srt.startswith("1\n00:00:00,500 --> 00:00:03,100\nChiara: Hello, I'm Chiara")
    vtt = transcripts.export(named, "vtt")
    assert vtt.startswith("WEBVTT")
    assert "<v Chiara>Hello, I'm Chiara, the marketing expert.</v>" in vtt
    assert "<v S2>Price is &lt;twelve&gt; euros.</v>" in vtt
    txt = transcripts.export(named, "txt")
    assert txt.splitlines()[1] == "[00:03] S2: Price is <twelve> euros."
    assert [s.speaker for s in doc.between(3.0, 3.5).segments] == ["S1"]
    assert propose_names((s.speaker, s.text) for s in doc.segments) == {"S1": "Chiara"}


def test_names_proposed_only_from_self_introductions() -> None:
    lines = [("S1", "My name is Rose Lindgren. I'm glad you could come."),
             ("S2", "Let's start with Amina."), ("S3", "I am Amina, I'm the designer."),
             ("S4", "I'm Just kidding, I'm Amina.")]  # fmt: skip
    assert propose_names(lines) == {"S1": "Rose Lindgren"}  # Amina claimed twice: no one


def test_roles_proposed_from_the_ways_people_give_their_job() -> None:
    # lines Whisper wrote for the AMI meetings (long-meeting set)
    lines = [("S1", "I'd be the project manager."),
             ("S2", "I'm Bart the project manager, so I'll direct you."),
             ("S3", "MMK, I'm Rosen I'm Project Manager, from California."),
             ("S4", "And my role in this us an aerial is to be an industrial designer."),
             ("S5", "Marketing is me."),
             ("S6", "Oh, and I guess I'm the user interface designer here.")]  # fmt: skip
    roles = propose_roles(lines)
    # three claim "project manager": the first claim wins, the others get none
    assert roles == {"S1": "project manager", "S4": "industrial designer", "S5": "marketing",
                     "S6": "user interface designer"}  # fmt: skip


def test_no_role_from_words_that_only_look_like_one() -> None:
    lines = [("S1", "I'm sure the designer will like it."), ("S2", "I am not a designer."),
             ("S3", "I am marketing the idea to everyone."),
             ("S4", "I'm with the project manager on that."),
             ("S5", "As the project manager said, we need it."),
             ("S5", "As the project manager said, it must be cheap."),
             ("S6", "My job is really the designer's problem.")]  # fmt: skip
    assert propose_roles(lines) == {}
    # a quoted role does not take it from the speaker who gave it themself
    lines += [("S7", "I'm uh, the project manager."), ("S8", "I think the designer is me.")]
    assert propose_roles(lines) == {"S7": "project manager", "S8": "designer"}


def test_a_role_given_by_the_speaker_before_goes_to_who_replies() -> None:
    # lines Whisper wrote for the AMI meetings: the manager hands the word on by role
    lines = [("S1", "Let's start with you. You're our marketing expert."),
             ("S1", "Go ahead."),
             ("S3", "Um my name is Dirk. Um I will be a PR project for marketing."),
             ("S1", "Okay, excellent. And you are user interface."),
             ("S2", "User interface 9er. I'm going to look at the technical side.")]  # fmt: skip
    assert propose_roles(lines) == {"S3": "marketing expert", "S2": "user interface"}
    # nobody else speaks after the address: no one gets the role, least of all the speaker
    assert propose_roles([("S1", "You're the designer, I think.")]) == {}
    # a job given oneself outweighs the one another gives
    lines = [("S1", "You're our marketing expert."), ("S2", "Hello."),
             ("S3", "I'm the marketing expert, actually.")]  # fmt: skip
    assert propose_roles(lines) == {"S3": "marketing expert"}
    # a question about someone's job gives none, nor does a verb, a hedge or a lone head
    for said in ("Are you the designer?", "You are marketing it to kids.",
                 "You are sales oriented.", "Or maybe you are my coordinator, am I right?",
                 "You're the expert here."):  # fmt: skip
        assert propose_roles([("S1", said), ("S2", "No.")]) == {}, said
    # the reply is looked for in the next three lines only
    far = [("S1", "You're our marketing expert."), ("S1", "So."), ("S1", "Well."),
           ("S1", "Go on."), ("S2", "Hello.")]  # fmt: skip
    assert propose_roles(far) == {}


def test_a_field_is_a_role_even_when_whisper_garbles_its_head() -> None:
    lines = [("S1", "I'm a Michael. I'm the user interface deny."),
             ("S2", "Usheri, my name is Magnus, and I'm a news user interface."),
             ("S3", "I am the sales, and I'm marketing it.")]  # fmt: skip
    assert propose_roles(lines) == {"S1": "user interface", "S3": "sales"}  # S2: taken


def test_a_role_claimed_twice_goes_to_who_claims_it_more_often() -> None:
    lines = [("S2", "I'm the user interface designer."),  # a quote, or a diarization slip
             ("S4", "And I'm the user interface designer for the project."),
             ("S4", "As your user interface designer I want fewer buttons."),
             ("S2", "I'll be the project manager.")]  # fmt: skip
    # S4 claims it twice; S2 then keeps the role only it claims
    assert propose_roles(lines) == {"S4": "user interface designer", "S2": "project manager"}


def test_rename_updates_index_payloads_and_the_stored_transcript(settings: Settings) -> None:
    from vectorstore.schema import Chunk

    c = Container(settings.model_copy(update={"diarizer_backend": "none"}))
    try:
        doc = _doc()
        c.transcripts.save(doc)
        c.index.upsert([
            Chunk(media_id="m1", source="speech", start_s=s.start_s, end_s=s.end_s,
                  text=s.text, speaker=s.speaker)
            for s in doc.segments
        ])  # fmt: skip
        req = SearchRequest(query="what does it cost", media_ids=["m1"], speaker="S2")
        assert [ch.speaker for ch, _ in c.index.search(req)] == ["S2"]
        transcripts.rename(c, "m1", {"S1": "Chiara", "S2": "Marco"})
        assert [ch.speaker for ch in c.index.window("m1")] == ["Chiara", "Marco"]
        req = SearchRequest(query="who is the marketing expert", speaker="Chiara")
        hits = c.index.search(req)
        assert [ch.text for ch, _ in hits] == [doc.segments[0].text]
        stored = c.transcripts.load("m1")
        assert stored is not None and stored.names == {"S1": "Chiara", "S2": "Marco"}
        # a swap by current names goes through without merging the two speakers
        transcripts.rename(c, "m1", {"Chiara": "Marco", "Marco": "Chiara"})
        assert [ch.speaker for ch in c.index.window("m1")] == ["Marco", "Chiara"]
        with pytest.raises(transcripts.BadRename, match="no speaker"):
            transcripts.rename(c, "m1", {"S9": "Nobody"})
        with pytest.raises(transcripts.BadRename, match="both be called"):
            transcripts.rename(c, "m1", {"S1": "Chiara"})
        assert [ch.speaker for ch in c.index.window("m1")] == ["Marco", "Chiara"]
    finally:
        c.close()


class Crash(RuntimeError):
    pass


@pytest.mark.slow
def test_ingest_stores_speaker_words_and_a_failed_run_leaves_no_transcript(
    diarizer: ResemblyzerDiarizer, tmp_path: Path
) -> None:
    """The real pipeline under the lifecycle: tiny.en, the diarizer beside it, the index."""
    from app.assets import whisper_model_dir
    from app.lifecycle import Lifecycle
    from app.lifecycle.ingest import Ingestion
    from app.lifecycle.registry import Registry
    from ingestion.pipeline import Ingestor
    from ingestion.transcribe import FasterWhisperTranscriber
    from ingestion.transcript_store import TranscriptStore
    from vectorstore.edge_index import EdgeChunkIndex
    from vectorstore.embedders import E5Embedder

    wav = tmp_path / "reading.wav"
    truth = reader_and_caller(wav)
    whisper = FasterWhisperTranscriber(
        whisper_model_dir("tiny.en", tmp_path / "models"), name="tiny.en", threads=2
    )
    index = EdgeChunkIndex(tmp_path / "index", E5Embedder(threads=2))
    registry = Registry(tmp_path / "db.sqlite3")
    keyframes = tmp_path / "keyframes"
    store = TranscriptStore(keyframes)
    pipeline = Ingestor(whisper, None, index, keyframes, moments=MomentParams(),
                        diarizer=diarizer, transcripts=store)  # fmt: skip
    lifecycle = Lifecycle(registry, lambda: index, keyframes_dir=keyframes, media_dir=tmp_path)
    ingestion = Ingestion(lifecycle, pipeline)
    try:
        def crash(stage: str, fraction: float) -> None:
            if stage == "index" and fraction >= 1.0:
                raise Crash("simulated crash after the speech chunks were written")

        with pytest.raises(Crash):
            ingestion.ingest(wav, progress=crash)
        (record,) = registry.list_media()
        assert record.status == "failed" and store.load(record.media_id) is None
        assert index.count() == 0

        out = ingestion.ingest(wav, speakers=2)
        assert out.status == "ready"
        doc = store.load(out.media_id)
        assert doc is not None and doc.speakers() == ["S1", "S2"]
        said = [
            Word(w.start_s, w.end_s, w.w, speaker=seg.speaker)
            for seg in doc.segments
            for w in seg.words
        ]
        from evals.speakers import score_words

        assert score_words(truth, said).accuracy >= 0.95
        chunks = index.window(out.media_id)
        assert chunks and all(c.speaker in ("S1", "S2") for c in chunks)
        for c in chunks:  # one speaker per chunk, and it is the speaker of its words
            inside = {w.speaker for w in said if c.start_s <= w.start and w.end <= c.end_s}
            assert inside == {c.speaker}, (c, inside)
    finally:
        index.close()
        registry.close()


@pytest.mark.parametrize("backend", ["edge", "qdrant-local"])
def test_both_index_backends_filter_and_rename_speakers(backend: str, tmp_path: Path) -> None:
    from vectorstore.edge_index import EdgeChunkIndex
    from vectorstore.embedders import E5Embedder
    from vectorstore.qdrant_index import QdrantChunkIndex
    from vectorstore.schema import Chunk

    embedder = E5Embedder(threads=2)
    index = (
        EdgeChunkIndex(tmp_path / "edge", embedder)
        if backend == "edge"
        else QdrantChunkIndex.local(tmp_path / "qdrant", embedder)
    )
    said = [("S1", "We should lower the price to twelve euros."),
            ("S2", "The battery lasts two days."), ("S1", "I will send the budget."),
            ("S2", "Marketing wants a yellow case.")]  # fmt: skip
    try:
        index.upsert([
            Chunk(media_id=m, source="speech", start_s=i * 5.0, end_s=i * 5.0 + 4,
                  text=text, speaker=sp)
            for m in ("a", "b") for i, (sp, text) in enumerate(said)
        ])  # fmt: skip
        found = index.search(SearchRequest(query="price", speaker="S2", limit=10))
        assert len(found) == 4 and {c.speaker for c, _ in found} == {"S2"}
        index.rename_speaker("a", "S2", "Chiara")
        assert [c.speaker for c in index.window("a")] == ["S1", "Chiara", "S1", "Chiara"]
        assert [c.speaker for c in index.window("b")] == ["S1", "S2", "S1", "S2"]  # untouched
        hits = index.search(SearchRequest(query="what colour is the case", speaker="Chiara"))
        assert hits[0][0].text == said[3][1] and hits[0][0].media_id == "a"
    finally:
        index.close()
