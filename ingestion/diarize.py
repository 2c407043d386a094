"""Who spoke when: the ``Diarizer`` protocol and the embedded default on resemblyzer.

The default streams the file's audio (16 kHz mono, :func:`ingestion.audio.stream_audio`),
embeds 1.6 s windows every 0.25 s with resemblyzer's GE2E voice encoder, keeps the
windows of each stretch of voice (WebRTC's VAD; a window never spans a pause), pools
them into segments of a few seconds and clusters those (see :func:`label_windows`); the
number of speakers is found, or given (``speakers=N``). Speakers are named ``S1``,
``S2``… in order of first appearance. Time is media time throughout: silence is never cut
out of the signal (resemblyzer's own ``preprocess_wav`` would shift every time).
"""

from __future__ import annotations

import functools
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
    rate: float = 2.0  # windows per second (4 was 2× slower and no better on dev)
    threshold: float = 0.3  # cosine distance at which two clusters of segments stay apart
    segment_windows: int = 6  # a long stretch of voice is cut into ~3 s segments
    min_share: float = 0.04  # a smaller cluster is no speaker (a cough, a laugh)
    max_speakers: int = 8
    bridge_s: float = 0.2  # a shorter unvoiced gap does not end a stretch of voice
    min_region_s: float = 0.4  # a shorter stretch of voice is too short to tell who spoke
    vad_mode: int = 3  # WebRTC VAD aggressiveness, 0-3


@dataclass(frozen=True)
class Windows:
    """Voice embeddings of the voiced windows: ``times`` are their centres."""

    times: np.ndarray  # (n,) seconds
    embeddings: np.ndarray  # (n, 256) L2-normalised
    regions: np.ndarray  # (n,) which stretch of voice (between pauses) each window is in

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


def voiced_regions(voiced: np.ndarray, params: DiarizeParams) -> list[tuple[int, int]]:
    """(first, end) 30 ms frames of each stretch of voice: gaps under ``bridge_s`` are
    bridged, stretches under ``min_region_s`` dropped. A window never spans a pause, so it
    never holds two speakers who take turns with a breath between them."""
    frames_s = 0.03
    bridge = int(params.bridge_s / frames_s)
    regions: list[tuple[int, int]] = []
    for i in np.flatnonzero(voiced).tolist():
        if regions and i - regions[-1][1] <= bridge:
            regions[-1] = (regions[-1][0], i + 1)
        else:
            regions.append((i, i + 1))
    return [(lo, hi) for lo, hi in regions if (hi - lo) * frames_s >= params.min_region_s]


def segments(regions: np.ndarray, windows_per_segment: int) -> np.ndarray:
    """Segment id of each window: a stretch of voice, cut into pieces of about
    ``windows_per_segment`` windows when it is long (a speaker may change without a pause)."""
    seg = np.zeros(len(regions), dtype=int)
    next_id = 0
    for r in np.unique(regions):
        idx = np.flatnonzero(regions == r)
        for piece in np.array_split(idx, max(1, round(len(idx) / windows_per_segment))):
            seg[piece] = next_id
            next_id += 1
    return seg


def label_windows(
    regions: np.ndarray,
    embeddings: np.ndarray,
    params: DiarizeParams,
    speakers: int | None = None,
) -> np.ndarray:
    """Speaker ids (0..k-1, in order of first appearance) of the windows.

    Windows are pooled into segments (:func:`segments`; the mean of a few seconds of one
    voice is a far steadier voice print than one window), the segments are clustered
    agglomeratively (cosine distance, average linkage) up to ``threshold``, and a cluster
    holding under ``min_share`` of the speech is folded into its nearest neighbour (a
    cough or a laugh is no speaker). With ``speakers`` given, too many clusters are
    folded down to that many, too few are re-cut into exactly that many."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    seg = segments(regions, params.segment_windows)
    ids = np.unique(seg)
    if len(ids) < 2 or speakers == 1:
        return np.zeros(n, dtype=int)
    pooled = np.stack([embeddings[seg == s].mean(axis=0) for s in ids])
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-9)
    weight = np.bincount(seg)[ids]
    found = AgglomerativeClustering(
        n_clusters=None, distance_threshold=params.threshold, metric="cosine", linkage="average"
    ).fit_predict(pooled)
    labels = _fold(pooled, weight, found, params, None)
    if speakers is not None and len(np.unique(labels)) > speakers:
        labels = _fold(pooled, weight, labels, params, speakers)
    elif speakers is not None and len(np.unique(labels)) < speakers:
        labels = AgglomerativeClustering(
            n_clusters=min(len(ids), speakers), metric="cosine", linkage="average"
        ).fit_predict(pooled)
    return _by_first_appearance(labels[np.searchsorted(ids, seg)])


def _fold(
    pooled: np.ndarray,
    weight: np.ndarray,
    labels: np.ndarray,
    params: DiarizeParams,
    speakers: int | None,
) -> np.ndarray:
    """Fold the smallest cluster into the nearest other centroid while it is under
    ``min_share`` of the speech (or, with ``speakers``, while there are too many)."""
    labels = labels.copy()
    total = weight.sum()
    while True:
        ids = np.unique(labels)
        if len(ids) <= 1:
            return labels
        sizes = np.array([weight[labels == k].sum() for k in ids])
        smallest = ids[np.argmin(sizes)]
        too_many = len(ids) > (speakers if speakers is not None else params.max_speakers)
        if not too_many and (speakers is not None or sizes.min() >= params.min_share * total):
            return labels
        keep = ids[ids != smallest]
        centroids = np.stack(
            [np.average(pooled[labels == k], axis=0, weights=weight[labels == k]) for k in keep]
        )
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
        members = labels == smallest
        labels[members] = keep[np.argmax(pooled[members] @ centroids.T, axis=1)]


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    order: dict[int, int] = {}
    for k in labels:
        order.setdefault(int(k), len(order))
    return np.array([order[int(k)] for k in labels], dtype=int)


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
        import warnings

        import torch

        with warnings.catch_warnings():  # resemblyzer imports a deprecated scipy path
            warnings.simplefilter("ignore", DeprecationWarning)
            from resemblyzer import VoiceEncoder

        self.params = params or DiarizeParams()
        self._threads = threads
        self._encoder = VoiceEncoder("cpu", verbose=False)
        self._torch = torch
        self._lock = threading.Lock()  # one encoder: files are embedded one at a time

    def windows(self, path: Path, progress: ProgressCallback | None = None) -> Windows:
        """Embeddings of the voiced windows of the file's audio."""
        import webrtcvad

        duration = probe(Path(path)).duration_s or 0.0
        vad = webrtcvad.Vad(self.params.vad_mode)
        batch = _WindowBatch(self._encoder, self._torch)
        region = 0
        offset = 0
        with self._lock:
            previous = self._torch.get_num_threads()
            self._torch.set_num_threads(self._threads)
            try:
                for block in stream_audio(Path(path), block_s=60.0):
                    region = self._add_block(block, offset, vad, batch, region)
                    offset += len(block)
                    if progress and duration:
                        progress(min(1.0, offset / SAMPLE_RATE / duration))
                return batch.windows()
            finally:
                self._torch.set_num_threads(previous)

    def _add_block(
        self, block: np.ndarray, offset: int, vad: object, batch: _WindowBatch, region: int
    ) -> int:
        """Queue the windows of each stretch of voice in ``block``; the next region id."""
        from resemblyzer import VoiceEncoder

        frame = SAMPLE_RATE * 30 // 1000
        for lo, hi in voiced_regions(_voiced_frames(block, vad), self.params):
            wav = block[lo * frame : hi * frame]
            wav_slices, mel_slices = VoiceEncoder.compute_partial_slices(
                len(wav), self.params.rate, 0.75
            )
            if wav_slices[-1].stop > len(wav):  # the last window is padded, as resemblyzer does
                wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
            mel = mel_frames(wav) * _volume_gain(block[lo * frame : hi * frame]) ** 2
            start = offset + lo * frame
            for ws, ms in zip(wav_slices, mel_slices, strict=True):
                centre = (start + (ws.start + min(ws.stop, (hi - lo) * frame)) / 2) / SAMPLE_RATE
                batch.add(mel[ms], centre, region)
            region += 1
        return region

    def diarize(
        self,
        path: Path,
        *,
        speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        win = self.windows(path, progress)
        labels = label_windows(win.regions, win.embeddings, self.params, speakers)
        return turns_from_labels(win.times, labels, win.step_s)


def _volume_gain(wav: np.ndarray) -> float:
    """resemblyzer's ``normalize_volume(wav, -30 dBFS, increase_only=True)`` as a gain."""
    from resemblyzer.hparams import audio_norm_target_dBFS

    power = float(np.mean(np.square(wav, dtype=np.float64)))
    if power <= 0.0:
        return 1.0
    change_db = audio_norm_target_dBFS - 10 * np.log10(power)
    return float(10 ** (change_db / 20)) if change_db > 0 else 1.0


@functools.cache
def _mel_basis() -> np.ndarray:
    import librosa
    from resemblyzer.hparams import mel_n_channels, mel_window_length, sampling_rate

    n_fft = sampling_rate * mel_window_length // 1000
    return librosa.filters.mel(sr=sampling_rate, n_fft=n_fft, n_mels=mel_n_channels)


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel spectrogram, the same as resemblyzer's
    ``wav_to_mel_spectrogram`` without rebuilding the filter bank on every call."""
    import librosa
    from resemblyzer.hparams import mel_window_length, mel_window_step, sampling_rate

    spectrum = np.abs(
        librosa.stft(
            wav,
            n_fft=sampling_rate * mel_window_length // 1000,
            hop_length=sampling_rate * mel_window_step // 1000,
        )
    )
    return (_mel_basis() @ spectrum**2).astype(np.float32).T


class _WindowBatch:
    """Mel windows queued for the encoder, embedded ``size`` at a time (one LSTM call per
    batch rather than per stretch of voice; memory stays bounded)."""

    def __init__(self, encoder: object, torch: object, size: int = 64) -> None:
        self._encoder = encoder
        self._torch = torch
        self._size = size
        self._pending: list[np.ndarray] = []
        self._times: list[float] = []
        self._regions: list[int] = []
        self._embedded: list[np.ndarray] = []

    def add(self, mel: np.ndarray, centre_s: float, region: int) -> None:
        self._pending.append(mel)
        self._times.append(centre_s)
        self._regions.append(region)
        if len(self._pending) >= self._size:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        torch = self._torch
        with torch.no_grad():  # type: ignore[attr-defined]
            out = self._encoder(torch.from_numpy(np.stack(self._pending)))  # type: ignore[attr-defined,operator]
        self._embedded.append(out.numpy())
        self._pending.clear()

    def windows(self) -> Windows:
        self._flush()
        if not self._times:
            return Windows(np.zeros(0), np.zeros((0, 256), np.float32), np.zeros(0, int))
        return Windows(
            np.array(self._times), np.concatenate(self._embedded), np.array(self._regions)
        )
