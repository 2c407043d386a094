"""Probing, tolerant audio streaming and silence splitting on real media (no models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingestion.audio import SAMPLE_RATE, audio_pieces, split_at_silences, stream_audio
from ingestion.errors import MediaError
from ingestion.probe import estimate_duration, probe
from tests.media import MediaFixture, read_wav, speech_span


def test_probe_video_and_audio(media: MediaFixture) -> None:
    video = probe(media.video)
    assert (video.kind, video.has_audio, video.has_video) == ("video", True, True)
    assert (video.width, video.height) == (640, 360) and video.fps == pytest.approx(10)
    assert video.duration_s == pytest.approx(media.truth.duration_s, abs=0.2)
    assert {"h264", "aac"} <= set(video.codecs)
    audio = probe(media.audio)
    assert (audio.kind, audio.has_video, audio.width) == ("audio", False, None)
    assert audio.duration_s == pytest.approx(media.truth.duration_s, abs=0.2)


def test_probe_estimates_a_missing_duration(bad_media: dict[str, Path], media) -> None:
    import av

    with av.open(str(bad_media["no_duration"])) as container:  # the header really lacks it
        assert not container.duration and not any(s.duration for s in container.streams)
    assert estimate_duration(bad_media["no_duration"]) == pytest.approx(
        media.truth.duration_s, abs=0.2
    )
    assert probe(bad_media["no_duration"]).duration_s == pytest.approx(
        media.truth.duration_s, abs=0.2
    )


@pytest.mark.parametrize("kind", ["truncated", "random", "text", "empty"])
def test_probe_refuses_bad_files(kind: str, bad_media: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as err:
        probe(bad_media[kind])
    assert str(bad_media[kind]) in str(err.value)


def test_probe_refuses_a_still_image_and_a_missing_file(media: MediaFixture, tmp_path) -> None:
    still = next(media.video.parent.glob("slide*.png"))
    renamed = tmp_path / "slide.mp4"
    renamed.write_bytes(still.read_bytes())
    for path in (still, renamed, tmp_path / "missing.mp4"):
        with pytest.raises(MediaError, match=str(path.name)):
            probe(path)


def test_probe_real_video(bigbuckbunny: Path) -> None:
    info = probe(bigbuckbunny)
    assert info.kind == "video" and info.has_video and info.duration_s and info.duration_s > 1


def test_stream_audio_is_16k_mono_in_media_time(media: MediaFixture) -> None:
    original = read_wav(media.video.parent / "speech.wav")
    for path in (media.audio, media.video):
        blocks = list(stream_audio(path, block_s=5.0))
        assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
        assert all(len(b) == 5 * SAMPLE_RATE for b in blocks[:-1])
        decoded = np.concatenate(blocks)
        assert len(decoded) / SAMPLE_RATE == pytest.approx(len(original) / SAMPLE_RATE, abs=0.1)
        # speech starts where it does in the source (AAC priming aside)
        assert speech_span(decoded)[0] == pytest.approx(speech_span(original)[0], abs=0.05)


def test_damaged_stream_keeps_later_audio_at_its_time(bad_media: dict[str, Path], media):
    decoded = np.concatenate(list(stream_audio(bad_media["damaged"])))
    last = media.truth.clips[-1]
    tail = decoded[int((last.start_s - 1) * SAMPLE_RATE) :]
    onset = last.start_s - 1 + speech_span(tail[: int(4 * SAMPLE_RATE)])[0]
    assert onset == pytest.approx(last.start_s, abs=0.1)


def test_pieces_are_bounded_contiguous_and_cut_in_quiet(media: MediaFixture) -> None:
    original = read_wav(media.video.parent / "speech.wav")
    pieces = list(audio_pieces(media.audio, max_piece_s=8.0))
    assert len(pieces) >= 5 and all(p.duration_s <= 8.0 for p in pieces)
    for a, b in zip(pieces, pieces[1:], strict=False):
        assert b.start_s == pytest.approx(a.start_s + a.duration_s, abs=1e-6)
    joined = np.concatenate([p.samples for p in pieces])
    assert len(joined) / SAMPLE_RATE == pytest.approx(len(original) / SAMPLE_RATE, abs=0.1)
    hop = SAMPLE_RATE // 10
    loud = np.percentile(np.abs(original), 99)
    for piece in pieces[1:]:
        at = int(piece.start_s * SAMPLE_RATE)
        around = original[max(0, at - hop // 2) : at + hop // 2]
        assert np.sqrt((around**2).mean()) < 0.1 * loud, piece.start_s


def test_split_without_quiet_still_bounds_pieces() -> None:
    rng = np.random.default_rng(0)
    noise = [rng.uniform(-0.5, 0.5, 3 * SAMPLE_RATE).astype(np.float32) for _ in range(10)]
    pieces = list(split_at_silences(noise, max_piece_s=7.0))
    assert all(p.duration_s <= 7.0 for p in pieces)
    assert sum(len(p.samples) for p in pieces) == 30 * SAMPLE_RATE


FORMATS = {
    "mkv": ("video", ["-c", "copy"]),
    "mov": ("video", ["-c", "copy"]),
    "avi": ("video", ["-c:v", "copy", "-c:a", "libmp3lame"]),
    "webm": ("video", ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
                       "-b:v", "300k", "-c:a", "libopus"]),
    "wav": ("audio", ["-vn"]),
    "mp3": ("audio", ["-vn", "-c:a", "libmp3lame"]),
    "ogg": ("audio", ["-vn", "-c:a", "libvorbis"]),
    "flac": ("audio", ["-vn", "-c:a", "flac"]),
}  # fmt: skip


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_probe_by_content_across_formats(ext: str, media: MediaFixture, tmp_path: Path) -> None:
    import subprocess

    kind, codec_args = FORMATS[ext]
    out = tmp_path / f"talk.{ext}"
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(media.video), "-t", "10"]
    subprocess.run([*cmd, *codec_args, str(out)], check=True)
    info = probe(out)
    assert info.kind == kind and info.has_audio
    assert info.duration_s == pytest.approx(10.0, abs=0.6)  # stream copy cuts at packets
    # the extension is irrelevant: the same bytes under a misleading name probe the same
    renamed = tmp_path / ("misnamed.txt" if ext != "wav" else "misnamed.mp4")
    renamed.write_bytes(out.read_bytes())
    assert probe(renamed).kind == kind


def test_a_timestamp_jump_is_filled_without_holding_it_in_memory(
    media: MediaFixture, tmp_path: Path
) -> None:
    """Two MPEG-TS recordings joined byte-wise, the second stamped an hour later (a
    resumed recording): the hour between is silence at its true time, streamed in blocks."""
    import subprocess
    import tracemalloc

    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(media.audio), "-vn", "-c:a", "aac"]
    first, second = tmp_path / "a.ts", tmp_path / "b.ts"
    subprocess.run([*cmd, "-t", "2", str(first)], check=True)
    subprocess.run([*cmd, "-ss", "2", "-t", "2", "-output_ts_offset", "3600", str(second)],
                   check=True)  # fmt: skip
    joined = tmp_path / "resumed.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())

    tracemalloc.start()
    try:
        sizes = [len(block) for block in stream_audio(joined, block_s=30.0)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(sizes) <= 30 * SAMPLE_RATE
    assert sum(sizes) / SAMPLE_RATE == pytest.approx(3602.0, abs=0.5)
    # an hour of float32 zeros is 230 MB; streamed, a few 30 s blocks (~2 MB each) at most
    assert peak < 40e6


def test_audio_format_changing_mid_stream(media: MediaFixture, tmp_path: Path) -> None:
    """A stereo 44.1 kHz recording joined byte-wise with a mono 22.05 kHz one (MPEG-TS, as
    broadcast captures are): both halves come out as 16 kHz mono at their media times."""
    import subprocess

    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(media.audio), "-vn", "-c:a", "aac"]
    first, second = tmp_path / "a.ts", tmp_path / "b.ts"
    subprocess.run([*cmd, "-t", "3", "-ac", "2", "-ar", "44100", str(first)], check=True)
    subprocess.run([*cmd, "-ss", "3", "-t", "3", "-ac", "1", "-ar", "22050",
                    "-output_ts_offset", "3", str(second)], check=True)  # fmt: skip
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())

    samples = np.concatenate(list(stream_audio(joined)))
    assert len(samples) / SAMPLE_RATE == pytest.approx(6.0, abs=0.3)
    # each half's loudness contour (50 ms windows) matches the original's within 0.15 s
    # (the re-encoding shifts it by its priming delay, a few tens of ms)
    original = np.concatenate(list(stream_audio(media.audio)))
    for lo, hi in ((0.3, 2.7), (3.3, 5.7)):
        ours = _envelope(samples[int(lo * SAMPLE_RATE) : int(hi * SAMPLE_RATE)])
        best = max(
            np.corrcoef(
                ours, _envelope(original[int((lo + k * 0.05) * SAMPLE_RATE) :])[: len(ours)]
            )[0, 1]
            for k in range(-3, 4)
        )
        assert best > 0.8, (lo, hi, best)


def _envelope(samples: np.ndarray, window: int = SAMPLE_RATE // 20) -> np.ndarray:
    n = len(samples) // window
    return np.sqrt((samples[: n * window].reshape(n, window) ** 2).mean(axis=1))
