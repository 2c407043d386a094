"""The long-meeting set builder: AMI text cleaning, turn ranges to windows, the checked-in
pointed questions against the real transcripts, dataset lines, (slow) a real spoken
build of the first turns of one meeting with Piper + eSpeak NG and ffmpeg, and the
``clear`` voices (Piper at two pitches, Festival) heard by whisper-base and told apart."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from evals.dataset import load_dataset
from evals.meeting_speech import PitchedPiperTTS, missing_festival_voices, speak_turns
from evals.meetings import (
    DEV,
    SOURCE_DIR,
    TEST,
    UNANSWERABLE,
    VOICE_SETS,
    build_key,
    build_meeting,
    clean_text,
    dataset_lines,
    load_questions,
    span_windows,
    turn_windows,
)

needs_source = pytest.mark.skipif(not SOURCE_DIR.is_dir(), reason="QMSum AMI files not here")
needs_festival = pytest.mark.skipif(
    bool(missing_festival_voices(VOICE_SETS["clear"].values())),
    reason="Debian festival with festvox-us-slt-hts and festvox-kdlpc16k is needed")


@pytest.mark.parametrize(("raw", "spoken"), [
    ("{vocalsound} Hmm .", "Hmm."),
    ("{vocalsound}", ""),
    ("{disfmarker} {gap} , .", ""),
    ("I hate the T_V_ remote , {disfmarker} you know .", "I hate the TV remote, you know."),
    ("Um , , so we , uh , go .", "Um, so we, uh, go."),
])
def test_clean_text(raw, spoken):
    assert clean_text(raw) == spoken


def test_the_build_keys_move_only_with_the_recipe():
    """Built sets rest on each recipe's cache key (golden values of espeak recipe 2 and
    clear recipe 3, Piper without sampled noise); only a recipe change may move them."""
    assert build_key(b"ES2008a source" + b"None") == "da10b6b8ee9ed36b"
    assert build_key(b"ES2008a source" + b"None", "clear") == "89136ad4eb7023da"


def test_turns_of_different_rates_are_written_at_one_rate(tmp_path):
    """A 16 kHz and a 32 kHz turn both land in a 22.05 kHz WAV at their own length and
    pitch (not relabelled at the first turn's rate)."""
    import numpy as np

    from speech.audio import read_wav

    def tone(rate: int, hz: float, seconds: float) -> tuple[bytes, int]:
        t = np.arange(round(rate * seconds)) / rate
        return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16).tobytes(), rate

    wav = tmp_path / "two.wav"
    spans = speak_turns([], wav, seed="x", sample_rate=22_050,
                        pool_results=[tone(16_000, 220.0, 1.0), tone(32_000, 440.0, 2.0)])
    audio = read_wav(wav)
    assert audio.sample_rate == 22_050
    assert [round(s.end_s - s.start_s, 2) for s in spans] == [1.0, 2.0]
    for span, hz in zip(spans, (220.0, 440.0), strict=True):
        piece = audio.samples[round(span.start_s * 22_050):round(span.end_s * 22_050)]
        spectrum = np.abs(np.fft.rfft(piece.astype(np.float64)))
        assert np.fft.rfftfreq(len(piece), 1 / 22_050)[int(np.argmax(spectrum))] == (
            pytest.approx(hz, abs=2))


def test_dev_and_test_are_apart():
    assert not set(DEV) & set(TEST)
    assert len(DEV) + len(TEST) == 9


TURNS = {
    3: {"index": 3, "start_s": 0.5, "end_s": 1.2},
    4: {"index": 4, "start_s": 1.8, "end_s": 70.0},
    6: {"index": 6, "start_s": 70.5, "end_s": 75.0},
}


def test_span_windows_skip_unspoken_turns():
    # turn 5 was empty after cleaning; a range of only unspoken turns gives no window
    assert span_windows([["4", "6"], ["0", "3"], ["5", "5"]], TURNS) == [[1.8, 75.0],
                                                                        [0.5, 1.2]]


def test_turn_windows_by_index_or_line_id():
    manifest = {"meeting": "m", "turns": [*TURNS.values(),
                                          {"index": 7, "id": "help2", "start_s": 80.0,
                                           "end_s": 84.0}]}
    assert turn_windows(manifest, [4, "help2"]) == [[1.8, 70.0], [80.0, 84.0]]
    with pytest.raises(ValueError, match="no spoken turn"):
        turn_windows(manifest, [5])


@needs_source
def test_checked_in_questions_point_at_turns_that_say_the_answer():
    questions = load_questions()
    en = [q for q in questions if q["lang"] == "en" and q["meeting"] != "fillets-nl"
          and q["kind"] != UNANSWERABLE]
    assert {q["meeting"] for q in en} == set(DEV) | set(TEST)
    assert all(len([q for q in en if q["meeting"] == m]) >= 4 for m in DEV + TEST)
    for q in en:
        turns = json.loads((SOURCE_DIR / f"{q['meeting']}.json").read_text())[
            "meeting_transcripts"]
        text = " ".join(clean_text(turns[t]["content"]) for t in q["turns"]).lower()
        text = text.replace(" uh ", " ")  # "fifty uh million"
        for keyword in q["keywords"]:
            assert any(re.search(rf"(?<!\w){re.escape(a.lower())}(?!\w)", text)
                       for a in keyword.split("|")), (q["question"], keyword)
    # every English question has its Hindi and Tamil paraphrase on the same turns
    for q in en:
        same = [p for p in questions if p["meeting"] == q["meeting"]
                and p["turns"] == q["turns"] and p["kind"] == q["kind"]]
        assert {"en", "hi", "ta"} <= {p["lang"] for p in same}


@needs_source
def test_unanswerable_questions_are_asked_of_every_meeting_in_three_languages():
    asked = [q for q in load_questions() if q["kind"] == UNANSWERABLE]
    assert all(q["turns"] == [] and q["keywords"] == [] for q in asked)
    for meeting in DEV + TEST:
        mine = [q for q in asked if q["meeting"] == meeting]
        assert len(mine) >= 4 * 3
        assert {q["lang"] for q in mine} == {"en", "hi", "ta"}
        # the subject of each English one is not in the meeting at all
        said = (SOURCE_DIR / f"{meeting}.json").read_text().lower()
        for q in mine:
            if q["lang"] == "en":
                subject = {"hotel", "salary", "cricket", "office"} & set(
                    re.findall(r"\w+", q["question"].lower()))
                assert subject and not any(w in said for w in subject), q["question"]


def test_dataset_lines_load_as_eval_items(tmp_path):
    folder = tmp_path / "ES2008a"
    folder.mkdir()
    (folder / "ES2008a.m4a").write_bytes(b"not really audio")
    manifest = {
        "meeting": "ES2008a", "split": "dev", "audio": "ES2008a.m4a",
        "turns": [{"index": 69, "speaker": "Project Manager", "text": "twenty five Euro",
                   "start_s": 300.0, "end_s": 360.0}],
        "queries": [{"query": "Summarize the finances.", "answer": "25 Euro.",
                     "windows": [[300.0, 360.0]]}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    questions = [{"meeting": "ES2008a", "turns": [69], "lang": "hi", "kind": "price",
                  "question": "कीमत?", "keywords": ["25|पच्चीस"]},
                 {"meeting": "ES2008a", "turns": [], "lang": "en", "kind": UNANSWERABLE,
                  "question": "Which hotel?", "keywords": []},
                 {"meeting": "IS1001a", "turns": [1], "lang": "en", "question": "skipped"}]
    lines = dataset_lines({"ES2008a": folder / "manifest.json"}, tmp_path, questions)
    path = tmp_path / "dataset-dev.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
    items = load_dataset(path)
    assert [(i.group, i.scoring, i.windows) for i in items] == [
        ("pointed", "seek", [(300.0, 360.0)]), ("unanswerable", "refuse", []),
        ("qmsum", "span", [(300.0, 360.0)])]
    assert items[0].manifest == (folder / "manifest.json").resolve()
    assert items[2].reference == "25 Euro."


@pytest.mark.slow
@needs_source
@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None,
                    reason="espeak-ng and ffmpeg are needed")
def test_build_speaks_the_first_turns_with_exact_times(tmp_path):
    from ingestion.probe import probe

    path = build_meeting("IS1004a", tmp_path, workers=1, turn_limit=2)
    manifest = json.loads(path.read_text())
    turns = manifest["turns"]
    assert [(t["index"], t["speaker"], t["text"]) for t in turns] == [
        (0, "Project Manager", "Okay. Good morning everybody."),
        (1, "Industrial Designer", "Good morning."),
    ]
    assert turns[0]["start_s"] == 0.5 and turns[0]["end_s"] > 1.5
    audio = path.parent / manifest["audio"]
    assert abs(probe(audio).duration_s - manifest["duration_s"]) < 0.2
    mtime = path.stat().st_mtime_ns
    assert build_meeting("IS1004a", tmp_path, workers=1, turn_limit=2) == path
    assert path.stat().st_mtime_ns == mtime  # cached: nothing rebuilt

    more = json.loads(build_meeting("IS1004a", tmp_path, workers=2, turn_limit=6).read_text())
    assert [t["speaker"] for t in more["turns"]] == [
        "Project Manager", "Industrial Designer", "Project Manager", "User Interface",
        "Project Manager", "User Interface"]
    spans = [(t["start_s"], t["end_s"]) for t in more["turns"]]
    assert all(s < e for s, e in spans)
    gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]
    assert all(0.3 - 1e-3 <= g <= 0.8 + 1e-3 for g in gaps)
    assert more["duration_s"] == pytest.approx(spans[-1][1] + 0.5, abs=1e-3)


CLEAR_LINES = {  # speaker -> (line, words Whisper must hear)
    "Project Manager": ("Our remote control will sell for twenty five euros.", {"remote", "sell"}),
    "Marketing": ("I like the panther, and it has a battery status display.",
                  {"panther", "battery"}),
    "Industrial Designer": ("My favourite animal is the dolphin because it is clever.",
                            {"dolphin", "clever"}),
    # at 22.05 kHz whisper-base hears the diphone's "buttons" as "button": two other words
    "User Interface": ("The buttons should glow in the dark.", {"glow", "dark"}),
}


@pytest.mark.slow
@needs_festival
def test_clear_voices_are_heard_and_told_apart(tmp_path, pytestconfig):
    """The ``clear`` recipe: Whisper hears every voice's words and the speaker encoder tells
    all four voices apart (the pitched voice's pitch and tempo: the test below)."""
    import numpy as np
    from resemblyzer import VoiceEncoder, preprocess_wav

    from app.assets import whisper_model_dir
    from ingestion.transcribe import FasterWhisperTranscriber
    from speech.audio import read_wav
    from tests.media import cache_dir

    voices = VOICE_SETS["clear"]
    assert set(voices) == set(VOICE_SETS["espeak"])
    assert len(set(voices.values())) == 4
    wav = tmp_path / "clear.wav"
    names = list(voices)
    spans = speak_turns([(voices[n], CLEAR_LINES[n][0]) for n in names], wav, seed="clear",
                        sample_rate=22_050)
    audio = read_wav(wav)
    assert audio.sample_rate == 22_050
    pieces = [audio.samples[round(s.start_s * audio.sample_rate):
                            round(s.end_s * audio.sample_rate)] for s in spans]

    whisper = FasterWhisperTranscriber(  # the product's default model
        whisper_model_dir("whisper-base", cache_dir(pytestconfig, "models")),
        name="whisper-base", threads=2)
    heard = whisper.transcribe(wav).words
    for name, span in zip(names, spans, strict=True):
        words = {w.text.lower().strip(" .,!?") for w in heard
                 if span.start_s - 0.3 <= w.start < span.end_s}
        assert CLEAR_LINES[name][1] <= words, (name, words)

    encoder = VoiceEncoder("cpu", verbose=False)
    vectors = [encoder.embed_utterance(preprocess_wav(p.astype(np.float32) / 32768,
                                                      source_sr=audio.sample_rate))
               for p in pieces]
    closest = max(float(a @ b) for i, a in enumerate(vectors) for b in vectors[i + 1:])
    assert closest < 0.85, closest


@pytest.mark.slow
def test_pitched_piper_keeps_the_tempo_and_speaks_lower():
    """``piper:joe@0.82,0.74`` speaks at Piper's own pace, only lower: a shorter synthesis
    played back slower, not a slowed-down recording (measured 1.004 of Piper's own duration
    over twelve AMI turns; 0.82 as the length factor gave 1.10). Piper samples its prosody,
    so one run varies: over ten runs of these lines, duration 0.98–1.00 of its own and
    median pitch 0.83–0.86 of its own; the bounds below are looser than that on purpose."""
    import librosa
    import numpy as np

    from app.assets import piper_voice
    from speech.piper_tts import PiperTTS
    from speech.tts import UnsupportedLanguageError

    lines = ["The buttons should glow in the dark, like the old remote did.",
             "I think we should go with a kinetic battery, because people forget to charge "
             "things, and then the remote is dead just when the match starts.",
             "So the budget is twelve euro fifty, and we sell it for twenty five.",
             "My favourite animal is the dolphin, because it is clever and it swims fast."]

    def spoken(tts) -> tuple[float, float]:
        """(seconds, median pitch in Hz) of the lines spoken by ``tts``, at 22.05 kHz."""
        pieces = [tts.synthesize(line, "en") for line in lines]
        x = np.concatenate([a.resampled(22_050).samples for a in pieces])
        f0 = librosa.yin(x.astype(np.float32) / 32768, fmin=50, fmax=300, sr=22_050)
        return sum(a.duration_s for a in pieces), float(np.median(f0))

    low = PitchedPiperTTS(0.82, 0.74)
    own_s, own_hz = spoken(PiperTTS(*piper_voice(), threads=1))
    low_s, low_hz = spoken(low)
    assert low_s == pytest.approx(own_s, rel=0.06)
    assert low_hz < 0.93 * own_hz, (own_hz, low_hz)
    assert low.languages() == {"en"}
    with pytest.raises(UnsupportedLanguageError):
        low.synthesize("नमस्ते", "hi")


@needs_festival
def test_festival_speaks_english_only():
    from evals.meeting_speech import FestivalTTS
    from speech.tts import UnsupportedLanguageError

    tts = FestivalTTS("ked_diphone")
    assert tts.supports("en-GB") and not tts.supports("ta")
    with pytest.raises(UnsupportedLanguageError):
        tts.synthesize("வணக்கம்", "ta")
