"""Who spoke when: the ``Diarizer`` protocol and the embedded default on resemblyzer.

The default streams the file's audio (16 kHz mono, :func:`ingestion.audio.stream_audio`),
embeds 1.6 s windows every 0.25 s with resemblyzer's GE2E voice encoder, keeps the
windows WebRTC's VAD calls mostly voiced, and clusters them. The number of speakers is
found by agglomerative clustering (cosine distance, average linkage) cut at
``threshold``, clusters holding less than ``min_share`` of the speech are folded into
their nearest neighbour; a caller who knows the count passes ``speakers=N``. Window labels
are smoothed (a median over ``smooth`` windows) and merged into turns. Speakers are named
``S1``, ``S2``… in order of first appearance. Time is media time throughout: silence is
never cut out of the signal (resemblyzer's own ``preprocess_wav`` would shift every time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ingestion.audio import SAMPLE_RATE, stream_audio
from ingestion.probe import probe

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of one speaker's voice, media seconds."""

    start_s: float
    end_s: float
    speaker: str


@runtime_checkable
class Diarizer(Protocol):
    name: str

    def diarize(
        self,
        path: Path,
        *,
        speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]: ...


@dataclass(frozen=True)
class DiarizeParams:
    rate: float = 4.0  # windows per second
    threshold: float = 0.45  # cosine distance where two clusters stop merging
    min_share: float = 0.04  # a smaller cluster is folded into its nearest neighbour
    max_speakers: int = 12
    min_voiced: float = 0.5  # share of a window's 30 ms VAD frames that must be voiced
    smooth: int = 5  # median over this many windows (odd)
    vad_mode: int = 3  # WebRTC VAD aggressiveness, 0-3


@dataclass(frozen=True)
class Windows:
    """Voice embeddings of the voiced windows: ``times`` are their centres."""

    times: np.ndarray  # (n,) seconds
    embeddings: np.ndarray  # (n, 256) L2-normalised

    @property
    def step_s(self) -> float:
        return float(np.median(np.diff(self.times))) if len(self.times) > 1 else 0.25


def _voiced_frames(block: np.ndarray, vad: object) -> np.ndarray:
    """Per 30 ms frame of ``block``: does WebRTC's VAD hear a voice."""
    frame = SAMPLE_RATE * 30 // 1000
    n = len(block) // frame
    pcm = (np.clip(block[: n * frame], -1.0, 1.0) * 32767).astype("<i2").tobytes()
    step = frame * 2
    return np.array(
        [vad.is_speech(pcm[i * step : (i + 1) * step], SAMPLE_RATE) for i in range(n)],  # type: ignore[attr-defined]
        dtype=bool,
    )


def label_windows(
    embeddings: np.ndarray, params: DiarizeParams, speakers: int | None = None
) -> np.ndarray:
    """Cluster ids (0..k-1) of the windows, in order of first appearance."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1 or speakers == 1:
        return np.zeros(n, dtype=int)
    if speakers is not None:
        model = AgglomerativeClustering(
            n_clusters=min(speakers, n), metric="cosine", linkage="average"
        )
    else:
        model = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=params.threshold,
            metric="cosine",
            linkage="average",
        )
    labels = model.fit_predict(embeddings)
    if speakers is None:
        labels = _fold_small(embeddings, labels, params)
    return _by_first_appearance(labels)


def _fold_small(embeddings: np.ndarray, labels: np.ndarray, params: DiarizeParams) -> np.ndarray:
    """Fold clusters under ``min_share`` (and past ``max_speakers``) into the nearest
    remaining centroid: a cough or a laugh is not a speaker."""
    labels = labels.copy()
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) <= 1:
            return labels
        order = np.argsort(counts)
        smallest = ids[order[0]]
        if counts[order[0]] >= params.min_share * len(labels) and len(ids) <= params.max_speakers:
            return labels
        keep = ids[ids != smallest]
        centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in keep])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        members = labels == smallest
        labels[members] = keep[np.argmax(embeddings[members] @ centroids.T, axis=1)]


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    order: dict[int, int] = {}
    for k in labels:
        order.setdefault(int(k), len(order))
    return np.array([order[int(k)] for k in labels], dtype=int)


def _median_smooth(labels: np.ndarray, width: int) -> np.ndarray:
    """Majority label over a sliding window (a lone window inside a turn is noise)."""
    if width <= 1 or len(labels) < width:
        return labels
    half = width // 2
    k = int(labels.max()) + 1
    onehot = np.eye(k, dtype=int)[labels]
    padded = np.pad(onehot, ((half, half), (0, 0)), mode="edge")
    sums = np.cumsum(np.vstack([np.zeros((1, k), dtype=int), padded]), axis=0)
    votes = sums[width:] - sums[:-width]
    return np.argmax(votes, axis=1)


def turns_from_labels(times: np.ndarray, labels: np.ndarray, step_s: float) -> list[SpeakerTurn]:
    """Consecutive windows of one label → a turn; a gap over 2 steps ends a turn too."""
    turns: list[SpeakerTurn] = []
    half = step_s / 2
    for t, k in zip(times.tolist(), labels.tolist(), strict=True):
        name = f"S{k + 1}"
        last = turns[-1] if turns else None
        if last is not None and last.speaker == name and t - half - last.end_s <= step_s:
            turns[-1] = SpeakerTurn(last.start_s, round(t + half, 3), name)
        else:
            start = max(0.0, t - half)
            if last is not None and start < last.end_s:
                start = last.end_s
            turns.append(SpeakerTurn(round(start, 3), round(t + half, 3), name))
    return turns


class ResemblyzerDiarizer:
    """GE2E voice embeddings (resemblyzer's bundled weights) clustered per file."""

    name = "resemblyzer"

    def __init__(self, *, threads: int = 1, params: DiarizeParams | None = None) -> None:
        import torch
        from resemblyzer import VoiceEncoder

        self.params = params or DiarizeParams()
        self._threads = threads
        self._encoder = VoiceEncoder("cpu", verbose=False)
        self._torch = torch
        self._lock = threading.Lock()  # one encoder: files are embedded one at a time

    def windows(self, path: Path, progress: ProgressCallback | None = None) -> Windows:
        """Embeddings of the voiced windows of the file's audio."""
        import webrtcvad
        from resemblyzer.audio import normalize_volume
        from resemblyzer.hparams import audio_norm_target_dBFS

        duration = probe(Path(path)).duration_s or 0.0
        vad = webrtcvad.Vad(self.params.vad_mode)
        times: list[np.ndarray] = []
        embeddings: list[np.ndarray] = []
        offset = 0
        with self._lock:
            previous = self._torch.get_num_threads()
            self._torch.set_num_threads(self._threads)
            try:
                for block in stream_audio(Path(path), block_s=60.0):
                    self._embed_block(
                        block,
                        offset,
                        vad,
                        times,
                        embeddings,
                        normalize_volume,
                        audio_norm_target_dBFS,
                    )
                    offset += len(block)
                    if progress and duration:
                        progress(min(1.0, offset / SAMPLE_RATE / duration))
            finally:
                self._torch.set_num_threads(previous)
        if not times:
            return Windows(np.zeros(0), np.zeros((0, 256), np.float32))
        return Windows(np.concatenate(times), np.concatenate(embeddings))

    def _embed_block(
        self,
        block: np.ndarray,
        offset: int,
        vad: object,
        times: list[np.ndarray],
        embeddings: list[np.ndarray],
        normalize_volume: Callable[..., np.ndarray],
        target_dbfs: float,
    ) -> None:
        if len(block) < SAMPLE_RATE // 2:
            return
        voiced = _voiced_frames(block, vad)
        if not voiced.any():
            return
        wav = normalize_volume(block, target_dbfs, increase_only=True)
        _, partials, slices = self._encoder.embed_utterance(
            wav, return_partials=True, rate=self.params.rate
        )
        frame = SAMPLE_RATE * 30 // 1000
        keep, centres = [], []
        for i, sl in enumerate(slices):
            stop = min(sl.stop, len(block))
            lo, hi = sl.start // frame, max(sl.start // frame + 1, stop // frame)
            if voiced[lo:hi].mean() >= self.params.min_voiced:
                keep.append(i)
                centres.append((offset + (sl.start + stop) / 2) / SAMPLE_RATE)
        if keep:
            times.append(np.array(centres))
            embeddings.append(partials[keep])

    def diarize(
        self,
        path: Path,
        *,
        speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        win = self.windows(path, progress)
        labels = label_windows(win.embeddings, self.params, speakers)
        labels = _by_first_appearance(_median_smooth(labels, self.params.smooth))
        return turns_from_labels(win.times, labels, win.step_s)
