"""Mouth shapes per video frame from the speech audio (the envelope-driven viseme track).

For frame ``i`` (``fps`` frames per second) the audio under that frame gives:

* ``open`` in [0, 1] — loudness in dB relative to the clip's loudest frame, so the
  mouth is shut in pauses and opens in proportion to voiced energy;
* ``round`` in [0, 1] — low spectral centroid (/o/, /u/) → rounder, narrower lips;
  high centroid (/i/, /s/) → wider lips.

This works for every TTS backend (and for the HTTP ones that give no phoneme timings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speech.audio import Audio

_DYNAMIC_RANGE_DB = 30.0  # quieter than (peak - 30 dB) → mouth closed
_FULL_OPEN_DB = 6.0  # within 6 dB of the peak → fully open


@dataclass(frozen=True)
class MouthTrack:
    """Per-frame mouth parameters; ``len(track)`` is the number of video frames."""

    open: np.ndarray
    round: np.ndarray
    fps: float

    def __len__(self) -> int:
        return len(self.open)


def frame_count(duration_s: float, fps: float) -> int:
    """Frames needed so that video and audio have the same length (±half a frame)."""
    return max(1, round(duration_s * fps))


def frame_rms_db(audio: Audio, fps: float) -> np.ndarray:
    """RMS level (dBFS) of the audio under each video frame."""
    samples = audio.to_float()
    n = frame_count(audio.duration_s, fps)
    hop = audio.sample_rate / fps
    edges = np.minimum((np.arange(n + 1) * hop).round().astype(int), len(samples))
    squares = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    mean_sq = (squares[edges[1:]] - squares[edges[:-1]]) / counts
    return 10.0 * np.log10(mean_sq + 1e-10)


def _centroids(audio: Audio, fps: float, n: int) -> np.ndarray:
    samples = audio.to_float()
    size = 1024
    hop = audio.sample_rate / fps
    window = np.hanning(size).astype(np.float32)
    freqs = np.fft.rfftfreq(size, 1.0 / audio.sample_rate)
    out = np.zeros(n, dtype=np.float32)
    for i in range(n):
        start = int(i * hop)
        seg = samples[start : start + size]
        if len(seg) < size:
            seg = np.pad(seg, (0, size - len(seg)))
        power = np.abs(np.fft.rfft(seg * window)) ** 2
        total = power.sum()
        out[i] = float((freqs * power).sum() / total) if total > 1e-9 else 0.0
    return out


def mouth_track(audio: Audio, fps: float = 25.0) -> MouthTrack:
    """Mouth opening and roundness for each video frame of ``audio``."""
    level = frame_rms_db(audio, fps)
    n = len(level)
    peak = float(level.max()) if n else -100.0
    if peak < -60.0:  # silence: keep the mouth shut
        zeros = np.zeros(n, dtype=np.float32)
        return MouthTrack(zeros, zeros.copy(), fps)
    floor = peak - _DYNAMIC_RANGE_DB
    raw = np.clip((level - floor) / (_DYNAMIC_RANGE_DB - _FULL_OPEN_DB), 0.0, 1.0)
    # Light smoothing (one-pole, fast attack / slower release) so lips do not flicker.
    smooth = np.empty_like(raw)
    prev = 0.0
    for i, value in enumerate(raw):
        prev = value if value > prev else 0.5 * prev + 0.5 * value
        smooth[i] = prev
    centroid = _centroids(audio, fps, n)
    # ~500 Hz (back vowels) → round 1; ≥ 3 kHz (front vowels, fricatives) → round 0.
    rnd = np.clip((3000.0 - centroid) / 2500.0, 0.0, 1.0) * (smooth > 0.05)
    return MouthTrack(smooth.astype(np.float32), rnd.astype(np.float32), fps)
