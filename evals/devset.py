"""Build the development set at run time: real public-domain speech + slides at known times.

Speech: Debian ``pocketsphinx-testdata`` — LibriVox recordings of *Sense and
Sensibility* (public domain, read by a volunteer) and CMU's own test recordings of
spoken commands, playing cards, digits and numbers (all real human speech; nothing
synthetic). Clips are laid end to end with silences between them and muxed with slides
rendered by OpenCV at known times into two MP4s, plus one audio-only M4A. The true
window of a speech question is the voiced part of its clip (found from the signal
energy), of a screen question the time its slide is on screen.

The questions live in ``evals/devset.jsonl`` (a template naming a clip or slide as
``target``); this module resolves targets to windows and writes ``dataset.jsonl``.

    python -m evals.devset OUT_DIR
"""

from __future__ import annotations

import json
import sys
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from evals.dataset import read_jsonl

SPEECH_ROOT = Path("/usr/share/pocketsphinx/test/data")
TEMPLATE = Path(__file__).with_name("devset.jsonl")
SAMPLE_RATE = 16_000
FPS = 5
SIZE = (640, 360)  # width, height


@dataclass(frozen=True)
class Clip:
    """A real speech recording shipped by a Debian package, with its transcript."""

    id: str
    path: str  # relative to SPEECH_ROOT; .raw is 16 kHz mono s16le
    transcript: str


@dataclass(frozen=True)
class Slide:
    """A slide shown from ``start_s`` until the next slide (or the end)."""

    id: str
    start_s: float
    title: str
    lines: tuple[str, ...]
    background: tuple[int, int, int]  # BGR; slides differ in colour so cuts are detected


@dataclass(frozen=True)
class MediaSpec:
    name: str
    clips: tuple[str, ...]
    slides: tuple[Slide, ...]
    lead_s: float = 1.5
    gap_s: float = 3.5  # longer than the chunker's 2 s pause: one speech chunk per clip
    tail_s: float = 2.0


_LIBRIVOX = "librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
CLIPS: dict[str, Clip] = {
    c.id: c
    for c in (
        Clip("ss0870", _LIBRIVOX.format("0870"), "and mister john dashwood had then leisure to "
             "consider how much there might be prudently in his power to do for them"),
        Clip("ss0880", _LIBRIVOX.format("0880"), "he was not an ill disposed young man"),
        Clip("ss0890", _LIBRIVOX.format("0890"), "unless to be rather cold hearted and rather "
             "selfish is to be ill disposed"),
        Clip("ss0920", _LIBRIVOX.format("0920"), "had he married a more amiable woman he might "
             "have been made still more respectable than he was"),
        Clip("ss0930", _LIBRIVOX.format("0930"), "he might even have been made amiable himself"),
        Clip("goforward", "goforward.raw", "go forward ten meters"),
        Clip("something", "something.raw", "go somewhere and do something"),
        Clip("cards005", "cards/005.wav", "eight of spades four of clubs seven of hearts"),
        Clip("cards001", "cards/001.wav", "ten of clubs"),
        # TIDIGITS-style name: speaker dhd reading the digits 2 9 3 4 z(ero).
        Clip("digits", "tidigits/dhd.2934z.raw", "two nine three four zero"),
        Clip("numbers", "numbers.raw", ""),  # a distractor: no transcript shipped, no question
        Clip("cards004", "cards/004.wav", "five five"),
    )
}

MEDIA: tuple[MediaSpec, ...] = (
    MediaSpec(
        name="austen_reading.mp4",
        clips=("ss0870", "ss0880", "ss0890", "ss0920", "ss0930"),
        slides=(
            Slide("title", 0.0, "CHAPTER ONE", ("Sense and Sensibility", "Jane Austen, 1811"),
                  (235, 225, 210)),
            Slide("income", 10.0, "FAMILY INCOME",
                  ("Mrs Dashwood and daughters:", "500 pounds a year"), (200, 235, 245)),
            Slide("map", 21.0, "THE MOVE",
                  ("Norland Park, Sussex", "to Barton Cottage, Devonshire"), (210, 245, 210)),
            Slide("cast", 31.0, "THE SISTERS",
                  ("Elinor - 19 years old", "Marianne - 16", "Margaret - 13"), (230, 210, 240)),
        ),
    ),
    MediaSpec(
        name="commands_and_cards.mp4",
        clips=("goforward", "something", "cards005", "cards001"),
        slides=(
            Slide("robot", 0.0, "ROBOT FIELD TEST", ("Battery: 87 percent", "Top speed: 2 m/s"),
                  (215, 235, 250)),
            Slide("score", 11.0, "CARD GAME - ROUND 3", ("Score: Asha 42, Ravi 37",),
                  (245, 220, 200)),
        ),
    ),
    # Audio only: more real speech (and distractors full of numbers) without a picture.
    MediaSpec(name="digits_and_numbers.m4a", clips=("numbers", "digits", "cards004"), slides=()),
)


class DevsetError(RuntimeError):
    """The development set cannot be built (missing package data, bad template)."""


def load_clip(clip: Clip, root: Path = SPEECH_ROOT) -> np.ndarray:
    """The clip as int16 mono samples at 16 kHz."""
    path = root / clip.path
    if not path.is_file():
        raise DevsetError(
            f"{path} is missing: install the Debian package pocketsphinx-testdata"
        )
    if path.suffix == ".raw":
        return np.frombuffer(path.read_bytes(), dtype="<i2").copy()
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise DevsetError(f"{path}: expected 16 kHz mono 16-bit PCM")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").copy()


def voiced_extent(samples: np.ndarray, rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """(start_s, end_s) of the voiced part: 20 ms frames within 30 dB of the loudest."""
    frame = rate // 50
    n = len(samples) // frame
    if n == 0:
        raise DevsetError("clip shorter than one 20 ms frame")
    frames = samples[: n * frame].astype(np.float64).reshape(n, frame)
    rms = np.sqrt((frames**2).mean(axis=1)) + 1e-9
    db = 20 * np.log10(rms / rms.max())
    voiced = np.flatnonzero(db > -30.0)
    return float(voiced[0] * frame / rate), float((voiced[-1] + 1) * frame / rate)


@dataclass(frozen=True)
class Timeline:
    """Where every clip and slide of one media file ended up."""

    audio: np.ndarray
    duration_s: float
    windows: dict[str, tuple[float, float]]  # target id -> true window


def lay_out(spec: MediaSpec, root: Path = SPEECH_ROOT) -> Timeline:
    """Concatenate the clips with silences; compute every target's true window."""
    pieces = [np.zeros(round(spec.lead_s * SAMPLE_RATE), dtype=np.int16)]
    cursor = spec.lead_s
    windows: dict[str, tuple[float, float]] = {}
    for k, clip_id in enumerate(spec.clips):
        samples = load_clip(CLIPS[clip_id], root)
        v0, v1 = voiced_extent(samples)
        windows[clip_id] = (round(cursor + v0, 2), round(cursor + v1, 2))
        pieces.append(samples)
        cursor += len(samples) / SAMPLE_RATE
        gap = spec.gap_s if k < len(spec.clips) - 1 else spec.tail_s
        pieces.append(np.zeros(round(gap * SAMPLE_RATE), dtype=np.int16))
        cursor += gap
    audio = np.concatenate(pieces)
    duration = len(audio) / SAMPLE_RATE
    for k, slide in enumerate(spec.slides):
        end = spec.slides[k + 1].start_s if k + 1 < len(spec.slides) else duration
        if not 0 <= slide.start_s < end <= duration:
            raise DevsetError(f"{spec.name}: slide {slide.id} does not fit in {duration:.1f} s")
        windows[slide.id] = (slide.start_s, round(end, 2))
    return Timeline(audio=audio, duration_s=duration, windows=windows)


def render_slide(slide: Slide, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The slide as a BGR image: dark text on a plain coloured background."""
    import cv2

    width, height = size
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = slide.background
    cv2.putText(img, slide.title, (40, 80), cv2.FONT_HERSHEY_DUPLEX, 1.4, (40, 30, 20), 2,
                cv2.LINE_AA)
    cv2.line(img, (40, 100), (width - 40, 100), (60, 60, 60), 2)
    for k, line in enumerate(slide.lines):
        cv2.putText(img, line, (40, 160 + 55 * k), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20),
                    2, cv2.LINE_AA)
    return img


def write_media(spec: MediaSpec, timeline: Timeline, path: Path) -> None:
    """Mux the slides (H.264, 5 fps; none for audio-only specs) and the speech (AAC,
    16 kHz mono) into an MP4/M4A, written atomically."""
    import av

    images = [render_slide(s) for s in spec.slides]
    starts = [s.start_s for s in spec.slides]
    tmp = path.with_name(f".{path.name}.part")
    with av.open(str(tmp), mode="w", format="mp4") as container:
        video = None
        if images:
            video = container.add_stream("libx264", rate=FPS)
            video.width, video.height = SIZE
            video.pix_fmt = "yuv420p"
            video.options = {"preset": "veryfast", "crf": "23"}
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "mono"
        n_frames = int(np.ceil(timeline.duration_s * FPS)) if video is not None else 0
        for i in range(n_frames):
            t = i / FPS
            current = max(k for k, s in enumerate(starts) if s <= t)
            frame = av.VideoFrame.from_ndarray(images[current], format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            container.mux(video.encode(frame))
        if video is not None:
            container.mux(video.encode())
        block = 1024
        for i in range(0, len(timeline.audio), block):
            chunk = timeline.audio[i : i + block].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = i
            frame.time_base = Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    tmp.replace(path)


def load_template(path: Path = TEMPLATE) -> list[dict]:
    """The question template: one JSON object per line with a ``target`` clip/slide id."""
    return read_jsonl(path, DevsetError)


def build_devset(out_dir: Path, *, root: Path = SPEECH_ROOT, template: Path = TEMPLATE) -> Path:
    """Write the media files and ``dataset.jsonl`` into ``out_dir``; return the dataset path.

    The build is deterministic (same bytes, so the same media ids on every run).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    windows: dict[tuple[str, str], tuple[float, float]] = {}
    durations: dict[str, float] = {}
    for spec in MEDIA:
        timeline = lay_out(spec, root)
        durations[spec.name] = timeline.duration_s
        for target, window in timeline.windows.items():
            windows[(spec.name, target)] = window
        write_media(spec, timeline, out_dir / spec.name)
    lines = []
    for row in load_template(template):
        key = (row.get("media", ""), row.get("target", ""))
        if key not in windows:
            raise DevsetError(f"{template}: unknown media/target {key}")
        item = {k: v for k, v in row.items() if k != "target"}
        item["windows"] = [list(windows[key])]
        lines.append(json.dumps(item, ensure_ascii=False))
    dataset = out_dir / "dataset.jsonl"
    tmp = dataset.with_name(".dataset.jsonl.part")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(dataset)
    return dataset


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m evals.devset OUT_DIR", file=sys.stderr)
        return 2
    try:
        dataset = build_devset(Path(args[0]))
    except DevsetError as exc:
        print(f"devset: {exc}", file=sys.stderr)
        return 1
    n = sum(1 for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip())
    print(f"wrote {dataset} ({n} questions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
