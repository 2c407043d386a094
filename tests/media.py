"""Real test media, built at test time from public-domain LibriVox speech.

The pocketsphinx-testdata clips (LibriVox, read English, exact transcripts in the
``transcription`` file beside them) are concatenated with silences — one of them
≥ 5 s — and muxed with slides (large distinct text, OpenCV ``putText``) shown at
known times into an MP4 (H.264 + AAC), plus an audio-only M4A. The ground truth
(speech times of each clip, its words, slide texts and times) comes back as a
:class:`MediaFixture`. ``ffmpeg`` (Debian) does the encoding.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
RATE = 16_000
SIZE = (640, 360)
FPS = 10

# (clip id, silence after it in seconds); one silence is long (≥ 5 s).
SEQUENCE: tuple[tuple[str, float], ...] = (
    ("sense_and_sensibility_01_austen_64kb-0870", 1.5),
    ("sense_and_sensibility_01_austen_64kb-0880", 1.5),
    ("sense_and_sensibility_01_austen_64kb-0890", 6.0),
    ("sense_and_sensibility_01_austen_64kb-0920", 1.5),
    ("sense_and_sensibility_01_austen_64kb-0930", 2.0),
)
LEAD_IN_S = 1.0
# (text, background BGR, start time); each slide lasts until the next one.
SLIDES: tuple[tuple[str, tuple[int, int, int], float], ...] = (
    ("BLUE WHALES", (140, 60, 20), 0.0),
    ("BUDGET PLAN", (40, 120, 40), 9.0),
    ("VOLCANO SAFETY", (30, 40, 160), 20.0),
    ("PIANO LESSONS", (120, 40, 120), 31.0),
)


@dataclass(frozen=True)
class ClipTruth:
    clip_id: str
    start_s: float  # speech onset in media time
    end_s: float  # speech offset in media time
    words: tuple[str, ...]


@dataclass(frozen=True)
class SlideTruth:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class MediaTruth:
    duration_s: float
    clips: tuple[ClipTruth, ...]
    slides: tuple[SlideTruth, ...]
    long_silence: tuple[float, float]
    language: str = "en"


@dataclass(frozen=True)
class MediaFixture:
    video: Path  # MP4, H.264 + AAC, moov at the end (as ffmpeg writes it)
    audio: Path  # M4A, AAC only
    truth: MediaTruth
    extra: dict[str, Path] = field(default_factory=dict)


def cache_dir(config, name: str) -> Path:  # config: pytest.Config
    """A folder kept across test sessions (pytest's cache; a temp folder without it)."""
    if getattr(config, "cache", None) is not None:
        return Path(config.cache.mkdir(name))
    import tempfile

    path = Path(tempfile.gettempdir()) / "chronorag-test-cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def transcripts() -> dict[str, tuple[str, ...]]:
    out = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
        if m:
            out[m.group(2).strip()] = tuple(m.group(1).split())
    return out


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == RATE and wav.getnchannels() == 1
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float32) / 32768


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def speech_span(samples: np.ndarray) -> tuple[float, float]:
    """First and last 20 ms frame louder than 10 % of the clip's loudest frame."""
    hop = RATE // 50
    n = len(samples) // hop
    rms = np.sqrt((samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms > 0.1 * rms.max())
    return float(loud[0] * hop / RATE), float((loud[-1] + 1) * hop / RATE)


def slide_image(text: str, background: tuple[int, int, int]) -> np.ndarray:
    """A themed slide: coloured background, large white title, a light footer bar."""
    img = np.full((SIZE[1], SIZE[0], 3), background, np.uint8)
    font, scale, thick = cv2.FONT_HERSHEY_DUPLEX, 1.6, 3
    (w, h), _ = cv2.getTextSize(text, font, scale, thick)
    org = ((SIZE[0] - w) // 2, (SIZE[1] + h) // 2)
    cv2.putText(img, text, org, font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    cv2.rectangle(img, (0, SIZE[1] - 40), (SIZE[0], SIZE[1]), (230, 230, 230), -1)
    return img


def _ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is required to build the test media (apt install ffmpeg)")
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", *args], check=True)


def build_media(out_dir: Path, *, repeats: int = 1) -> MediaFixture:
    """Build the talk (``repeats`` times the sequence; slides renamed per round) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    words = transcripts()
    pieces: list[np.ndarray] = [np.zeros(int(LEAD_IN_S * RATE), np.float32)]
    t = LEAD_IN_S
    clips: list[ClipTruth] = []
    for _ in range(repeats):
        for clip_id, gap in SEQUENCE:
            samples = read_wav(LIBRIVOX / f"{clip_id}.wav")
            on, off = speech_span(samples)
            clips.append(ClipTruth(clip_id, round(t + on, 3), round(t + off, 3), words[clip_id]))
            pieces += [samples, np.zeros(int(gap * RATE), np.float32)]
            t += len(samples) / RATE
            t += gap
    long_silence = next(
        (a.end_s, b.start_s)
        for a, b in zip(clips, clips[1:], strict=False)
        if b.start_s - a.end_s >= 5
    )
    audio = np.concatenate(pieces)
    duration = len(audio) / RATE
    wav = out_dir / "speech.wav"
    write_wav(wav, audio)

    round_len = duration / repeats
    slides: list[SlideTruth] = []
    for round_ in range(repeats):
        for i, (text, _, start) in enumerate(SLIDES):
            label = text if repeats == 1 else f"{text} {round_ + 1}"
            end = SLIDES[i + 1][2] if i + 1 < len(SLIDES) else round_len
            slides.append(SlideTruth(label, round_ * round_len + start, round_ * round_len + end))
    slides[-1] = SlideTruth(slides[-1].text, slides[-1].start_s, duration)
    concat = []
    for i, slide in enumerate(slides):
        png = out_dir / f"slide{i:02d}.png"
        cv2.imwrite(str(png), slide_image(slide.text, SLIDES[i % len(SLIDES)][1]))
        concat += [f"file '{png.name}'", f"duration {slide.end_s - slide.start_s:.3f}"]
    concat.append(f"file '{png.name}'")
    (out_dir / "slides.txt").write_text("\n".join(concat) + "\n")

    video = out_dir / "talk.mp4"
    _ffmpeg(
        "-f", "concat", "-safe", "0", "-i", str(out_dir / "slides.txt"), "-i", str(wav),
        "-r", str(FPS), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-g", str(FPS * 5), "-c:a", "aac", "-b:a", "64k", "-t", f"{duration:.3f}", str(video),
    )  # fmt: skip
    m4a = out_dir / "speech.m4a"
    _ffmpeg("-i", str(wav), "-c:a", "aac", "-b:a", "64k", str(m4a))
    truth = MediaTruth(duration, tuple(clips), tuple(slides), long_silence)
    (out_dir / "truth.json").write_text(json.dumps(_as_json(truth), indent=1))
    return MediaFixture(video=video, audio=m4a, truth=truth)


def _as_json(truth: MediaTruth) -> dict:
    from dataclasses import asdict

    return asdict(truth)


# --- checking a transcript against the truth ---------------------------------------------
def _norm(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("mr.", "mister")).split()


def _flat_words(words: list) -> list[tuple[str, object]]:
    return [(token, w) for w in words for token in _norm(w.text)]


def assert_words_at_clip_times(
    words: list, clips: tuple[ClipTruth, ...], tolerance_s: float = 0.5
) -> None:
    """Every clip's words are recognised (≥ 80 %) and lie in the clip's speech span ± tolerance;
    its first/last recognised words start/end within the tolerance of the span."""
    heard = _flat_words(words)
    for clip in clips:
        near = [
            (t, w)
            for t, w in heard
            if w.end >= clip.start_s - tolerance_s and w.start <= clip.end_s + tolerance_s
        ]
        matcher = difflib.SequenceMatcher(a=list(clip.words), b=[t for t, _ in near])
        matched = [near[b + i][1] for a, b, n in matcher.get_matching_blocks() for i in range(n)]
        assert len(matched) >= 0.8 * len(clip.words), (clip.clip_id, [t for t, _ in near])
        assert abs(matched[0].start - clip.start_s) <= tolerance_s, (clip, matched[0])
        assert abs(matched[-1].end - clip.end_s) <= tolerance_s, (clip, matched[-1])
        assert all(
            clip.start_s - tolerance_s <= w.start and w.end <= clip.end_s + tolerance_s
            for w in matched
        )


# --- derived files: bad and damaged inputs ------------------------------------------------
def without_duration(src: Path, dest: Path) -> Path:
    """Matroska written to a pipe: no duration in the header, no cues."""
    with dest.open("wb") as out:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(src), "-c", "copy",
             "-f", "matroska", "pipe:1"],
            stdout=out, check=True,
        )  # fmt: skip
    return dest


def truncated(src: Path, dest: Path, fraction: float = 0.4) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def random_bytes(dest: Path, size: int = 200_000, seed: int = 7) -> Path:
    dest.write_bytes(np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes())
    return dest


def damaged_ts(src: Path, dest: Path, at: float = 0.5, span: int = 30_000) -> Path:
    """MPEG-TS copy of ``src`` with ``span`` bytes overwritten by noise at ``at`` of the file."""
    _ffmpeg("-i", str(src), "-c", "copy", "-f", "mpegts", str(dest))
    data = bytearray(dest.read_bytes())
    pos = int(len(data) * at)
    data[pos : pos + span] = np.random.default_rng(3).integers(0, 256, span, np.uint8).tobytes()
    dest.write_bytes(bytes(data))
    return dest
