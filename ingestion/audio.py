"""Stream a media file's audio as 16 kHz mono float32 blocks, and cut it at silences.

Nothing here holds a whole long recording in memory: audio is decoded packet by
packet (PyAV), resampled in blocks, and grouped into pieces of bounded length
whose cut points are the quietest moments near the limit. Damaged packets are
skipped; a gap in the timestamps is filled with silence so later audio stays
at its true media time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ingestion.decode import decoded_frames

SAMPLE_RATE = 16_000
_GAP_FILL_S = 0.25  # timestamp jumps larger than this are filled with silence


def _samples(frame: av.AudioFrame) -> np.ndarray:
    return frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)


def stream_audio(path: Path, block_s: float = 30.0) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks of about ``block_s`` seconds, in media time from 0."""
    resampler: av.AudioResampler | None = None
    source: tuple[str, str, int] | None = None  # the input the resampler was set up for
    block = int(block_s * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_n = 0
    emitted = 0  # samples produced so far (the media-time clock)

    def push(samples: np.ndarray) -> Iterator[np.ndarray]:
        nonlocal pending_n, emitted
        pending.append(samples)
        pending_n += len(samples)
        emitted += len(samples)
        while pending_n >= block:
            joined = np.concatenate(pending)
            yield joined[:block]
            rest = joined[block:]
            pending[:] = [rest] if len(rest) else []
            pending_n = len(rest)

    for t, frame in decoded_frames(path, "audio"):
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        if shape != source:  # a stream may change rate or channels mid-way (joined TS)
            if resampler is not None:
                for out in resampler.resample(None):
                    yield from push(_samples(out))
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            source = shape
        if t is not None:
            lag = t - emitted / SAMPLE_RATE
            if lag > _GAP_FILL_S:  # packets were lost: keep later audio at its true time
                # block by block: a wild timestamp must not allocate hours of zeros at once
                for n in _gap_blocks(int(lag * SAMPLE_RATE), block):
                    yield from push(np.zeros(n, np.float32))
        frame.pts = None  # let the resampler run on a continuous clock
        for out in resampler.resample(frame):
            yield from push(_samples(out))
    for out in resampler.resample(None) if resampler is not None else ():
        yield from push(_samples(out))
    if pending_n:
        yield np.concatenate(pending)


def _gap_blocks(total: int, block: int) -> Iterator[int]:
    """Sizes (each ≤ ``block``) that add up to ``total``."""
    while total > 0:
        n = min(total, block)
        yield n
        total -= n


@dataclass(frozen=True)
class AudioPiece:
    """A piece of audio starting at ``start_s`` (media time)."""

    start_s: float
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def quietest_point(samples: np.ndarray, lo: int, hi: int, window: int = 1600) -> int:
    """Index in ``[lo, hi)`` at the centre of the lowest-energy ``window`` (100 ms)."""
    region = samples[lo:hi]
    n = len(region) // window
    if n < 1:
        return hi
    energy = (region[: n * window].reshape(n, window) ** 2).mean(axis=1)
    # Prefer the latest among near-minimal windows: pieces stay close to the limit.
    best = np.flatnonzero(energy <= energy.min() * 1.05 + 1e-10)[-1]
    return lo + int(best) * window + window // 2


def split_at_silences(
    blocks: Iterable[np.ndarray], max_piece_s: float, search_s: float | None = None
) -> Iterator[AudioPiece]:
    """Group blocks into pieces ≤ ``max_piece_s``, each cut at the quietest moment
    within the last ``search_s`` seconds before the limit (default: a fifth of it)."""
    limit = int(max_piece_s * SAMPLE_RATE)
    search = int((search_s if search_s is not None else max_piece_s / 5) * SAMPLE_RATE)
    buf = np.zeros(0, np.float32)
    start = 0  # sample offset of buf[0]
    for block in blocks:
        buf = np.concatenate([buf, block]) if len(buf) else block
        while len(buf) > limit:
            cut = quietest_point(buf, max(0, limit - search), limit)
            yield AudioPiece(start / SAMPLE_RATE, buf[:cut])
            buf = buf[cut:]
            start += cut
    if len(buf):
        yield AudioPiece(start / SAMPLE_RATE, buf)


def audio_pieces(path: Path, max_piece_s: float) -> Iterator[AudioPiece]:
    """The file's audio in pieces of at most ``max_piece_s`` seconds, cut at silences."""
    block_s = min(30.0, max_piece_s / 2)
    return split_at_silences(stream_audio(path, block_s=block_s), max_piece_s)
