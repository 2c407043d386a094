"""The development set: built from real Debian speech recordings, windows that match the
muxed media, deterministic bytes, and honest (paraphrased, cross-lingual) questions."""

from __future__ import annotations

import hashlib
import json
import re

import av
import numpy as np
import pytest

from evals.dataset import load_dataset
from evals.devset import (
    CLIPS,
    MEDIA,
    SAMPLE_RATE,
    SPEECH_ROOT,
    DevsetError,
    build_devset,
    load_template,
    voiced_extent,
)

pytestmark = pytest.mark.skipif(
    not (SPEECH_ROOT / "librivox").is_dir(), reason="Debian pocketsphinx-testdata not installed"
)

STOPWORDS = {
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "is", "was", "be", "been",
    "he", "his", "him", "it", "its", "that", "this", "what", "when", "where", "who", "how",
    "much", "many", "did", "does", "do", "had", "have", "has", "by", "for", "from", "with",
    "as", "not", "more", "than", "too", "own", "some", "any", "one",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("devset")
    return build_devset(out)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _decode(path):
    """(mono float audio at 16 kHz, [(time_s, BGR frame)]) of an MP4."""
    with av.open(str(path)) as container:
        frames = [
            (f.time, f.to_ndarray(format="bgr24"))
            for f in (container.decode(video=0) if container.streams.video else ())
        ]
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float64), frames


def test_dataset_loads_with_three_languages_and_both_sources(built):
    items = load_dataset(built)
    assert len(items) == len(load_template())
    langs = {lang: sum(i.lang == lang for i in items) for lang in ("en", "hi", "ta")}
    assert langs == {"en": 16, "hi": 16, "ta": 16}
    assert {i.source for i in items} == {"speech", "screen"}
    assert {i.media.name for i in items} == {m.name for m in MEDIA}
    assert all(i.keywords for i in items)


def test_build_is_deterministic(built, tmp_path):
    again = build_devset(tmp_path)
    for spec in MEDIA:
        assert _sha(again.parent / spec.name) == _sha(built.parent / spec.name)
    assert again.read_text(encoding="utf-8") == built.read_text(encoding="utf-8")


def test_windows_match_the_muxed_media(built):
    items = load_dataset(built)
    for spec in MEDIA:
        audio, frames = _decode(built.parent / spec.name)
        duration = len(audio) / SAMPLE_RATE
        assert bool(frames) == bool(spec.slides)  # the M4A has no picture
        if frames:
            assert duration == pytest.approx(frames[-1][0], abs=0.5)
        peak = np.abs(audio).max()
        mine = [i for i in items if i.media.name == spec.name]
        speech = sorted({w for i in mine if i.source == "speech" for w in i.windows})
        for start, end in speech:
            assert 0 <= start < end <= duration
            seg = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            assert np.sqrt((seg**2).mean()) > 0.02 * peak  # voiced inside the window
        # Between consecutive speech windows only room noise and the silences we added.
        for (_, end), (start, _) in zip(speech, speech[1:], strict=False):
            gap = audio[int((end + 0.3) * SAMPLE_RATE) : int((start - 0.3) * SAMPLE_RATE)]
            assert len(gap) > SAMPLE_RATE and np.sqrt((gap**2).mean()) < 0.005 * peak
        # Each screen window shows one slide: its background colour, different per slide.
        colours = []
        screen = sorted({w for i in mine if i.source == "screen" for w in i.windows})
        for start, end in screen:
            inside = [f for t, f in frames if start + 0.3 < t < end - 0.3]
            assert inside, (start, end)
            corner = np.array([f[5:25, -25:-5].reshape(-1, 3).mean(axis=0) for f in inside])
            assert corner.std(axis=0).max() < 3  # the same slide all along the window
            colours.append(tuple(np.round(corner.mean(axis=0))))
        assert len(set(colours)) == len(colours)


def _words(text):
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOPWORDS}


def test_english_questions_paraphrase_their_target():
    slides = {s.id: s for spec in MEDIA for s in spec.slides}
    for row in load_template():
        if row["lang"] != "en":
            continue
        target = row["target"]
        source_text = (
            CLIPS[target].transcript if target in CLIPS
            else " ".join((slides[target].title, *slides[target].lines))
        )
        shared = _words(row["question"]) & _words(source_text)
        assert not shared, f"{row['question']!r} copies {shared} from its {target}"


def test_hindi_and_tamil_questions_are_in_their_scripts():
    scripts = {"hi": r"[\u0900-\u097F]", "ta": r"[\u0B80-\u0BFF]"}
    rows = load_template()
    for row in rows:
        if row["lang"] in scripts:
            letters = re.findall(r"\w", row["question"])
            native = re.findall(scripts[row["lang"]], row["question"])
            assert len(native) > 0.8 * len(letters), row["question"]
    # Every target is asked in all three languages (cross-lingual on English media).
    by_target: dict[str, set[str]] = {}
    for row in rows:
        by_target.setdefault(row["target"], set()).add(row["lang"])
    assert all(langs == {"en", "hi", "ta"} for langs in by_target.values())


def test_voiced_extent_on_a_known_signal():
    rng = np.random.default_rng(0)
    signal = np.zeros(SAMPLE_RATE * 3, dtype=np.int16)
    signal[SAMPLE_RATE : 2 * SAMPLE_RATE] = rng.integers(-8000, 8000, SAMPLE_RATE)
    assert voiced_extent(signal) == pytest.approx((1.0, 2.0), abs=0.02)


def test_missing_package_data_is_a_clear_error(tmp_path):
    with pytest.raises(DevsetError, match="pocketsphinx-testdata"):
        build_devset(tmp_path / "out", root=tmp_path / "nowhere")


def test_template_targets_must_exist(tmp_path):
    bad = tmp_path / "tpl.jsonl"
    bad.write_text(json.dumps({"media": MEDIA[0].name, "target": "nope", "question": "q"}) + "\n")
    with pytest.raises(DevsetError, match="unknown media/target"):
        build_devset(tmp_path / "out", template=bad)
