"""Who spoke when: the ``Diarizer`` protocol and the embedded default on resemblyzer.

The default streams the file's audio (16 kHz mono, :func:`ingestion.audio.stream_audio`),
finds the stretches of voice (WebRTC's VAD; a piece never spans a pause), cuts each into
pieces of about 3 s and runs resemblyzer's GE2E voice encoder once over each piece (its
LSTM's final state is the piece's voice print), then clusters the pieces (see
:func:`label_pieces`); the number of speakers is found, or given (``speakers=N``). Speakers
are named ``S1``, ``S2``… in order of first appearance. Time is media time throughout:
silence is never cut out of the signal (resemblyzer's own ``preprocess_wav`` would shift
every time).

One pass per piece replaced 1.6 s windows every 0.5 s pooled into ~3 s segments: each
frame goes through the LSTM once instead of 3.2 times (see :class:`_PieceBatch` for the
voice print).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ingestion.audio import SAMPLE_RATE, stream_audio
from ingestion.probe import probe

ProgressCallback = Callable[[float], None]
MIN_SPEAKERS, MAX_SPEAKERS = 1, 20  # what a caller may give as the speaker count


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
    piece_s: float = 3.0  # a stretch of voice is cut into pieces of about this length
    threshold: float = 0.28  # cosine distance at which two clusters of pieces stay apart
    min_share: float = 0.04  # a smaller cluster is no speaker (a cough, a laugh)
    max_speakers: int = 8
    bridge_s: float = 0.2  # a shorter unvoiced gap does not end a stretch of voice
    min_region_s: float = 0.4  # a shorter stretch of voice is too short to tell who spoke
    vad_mode: int = 3  # WebRTC VAD aggressiveness, 0-3


@dataclass(frozen=True)
class Pieces:
    """Voice prints of the pieces of voice: ``spans`` are their (start, end) seconds."""

    spans: np.ndarray  # (n, 2) seconds
    embeddings: np.ndarray  # (n, 256) L2-normalised

    @property
    def seconds(self) -> np.ndarray:
        return self.spans[:, 1] - self.spans[:, 0]


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


def label_pieces(
    embeddings: np.ndarray,
    seconds: np.ndarray,
    params: DiarizeParams,
    speakers: int | None = None,
) -> np.ndarray:
    """Speaker ids (0..k-1, in order of first appearance) of the pieces.

    The pieces are clustered agglomeratively (cosine distance, average linkage) up to
    ``threshold``, and a cluster holding under ``min_share`` of the speech (``seconds``
    weigh each piece) is folded into its nearest neighbour (a cough or a laugh is no
    speaker). With ``speakers`` given, too many clusters are folded down to that many, too
    few are re-cut into exactly that many."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(embeddings)
    if n < 2 or speakers == 1:
        return np.zeros(n, dtype=int)
    found = AgglomerativeClustering(
        n_clusters=None, distance_threshold=params.threshold, metric="cosine", linkage="average"
    ).fit_predict(embeddings)
    labels = _fold(embeddings, seconds, found, params, None)
    if speakers is not None and len(np.unique(labels)) > speakers:
        labels = _fold(embeddings, seconds, labels, params, speakers)
    elif speakers is not None and len(np.unique(labels)) < speakers:
        labels = AgglomerativeClustering(
            n_clusters=min(n, speakers), metric="cosine", linkage="average"
        ).fit_predict(embeddings)
    return _by_first_appearance(labels)


def _fold(
    pooled: np.ndarray,
    weight: np.ndarray,
    labels: np.ndarray,
    params: DiarizeParams,
    speakers: int | None,
) -> np.ndarray:
    """Fold the smallest cluster into the nearest other centroid while it is under
    ``min_share`` of the speech or a single piece (or, with ``speakers``, while there are
    too many)."""
    labels = labels.copy()
    total = weight.sum()
    while True:
        ids = np.unique(labels)
        if len(ids) <= 1:
            return labels
        sizes = np.array([weight[labels == k].sum() for k in ids])
        smallest = ids[np.argmin(sizes)]
        too_many = len(ids) > (speakers if speakers is not None else params.max_speakers)
        # one piece (a few seconds) is no speaker either, however short the file
        lone = np.sum(labels == smallest) < 2
        if not too_many and (
            speakers is not None or (sizes.min() >= params.min_share * total and not lone)
        ):
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


def turns_from_pieces(spans: np.ndarray, labels: np.ndarray) -> list[SpeakerTurn]:
    """Pieces → turns; touching pieces of one speaker (one stretch of voice) are one turn."""
    turns: list[SpeakerTurn] = []
    for (start, end), k in zip(spans.tolist(), labels.tolist(), strict=True):
        name = f"S{k + 1}"
        last = turns[-1] if turns else None
        if last is not None and last.speaker == name and start - last.end_s < 0.02:
            turns[-1] = SpeakerTurn(last.start_s, round(end, 3), name)
        else:
            turns.append(SpeakerTurn(round(start, 3), round(end, 3), name))
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
        self._warm_up()

    def _warm_up(self) -> None:
        """Import and run everything once now: an import in the diarizer's thread holds the
        GIL for seconds beside Whisper (a cold first ingest of 90 s took 1.24× faster-whisper
        alone against 1.02× warm)."""
        import sklearn.cluster  # noqa: F401
        import webrtcvad  # noqa: F401

        noise = np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
        batch = _PieceBatch(self._encoder, self._torch)
        batch.add(mel_frames(noise), (0.0, 1.0))
        batch.pieces()

    def pieces(self, path: Path, progress: ProgressCallback | None = None) -> Pieces:
        """Voice prints of the pieces of voice of the file's audio."""
        import webrtcvad

        duration = probe(Path(path)).duration_s or 0.0
        vad = webrtcvad.Vad(self.params.vad_mode)
        batch = _PieceBatch(self._encoder, self._torch)
        offset = 0
        with self._lock:
            previous = self._torch.get_num_threads()
            self._torch.set_num_threads(self._threads)
            try:
                for block in stream_audio(Path(path), block_s=60.0):
                    self._add_block(block, offset, vad, batch)
                    offset += len(block)
                    if progress and duration:
                        progress(min(1.0, offset / SAMPLE_RATE / duration))
                return batch.pieces()
            finally:
                self._torch.set_num_threads(previous)

    def _add_block(self, block: np.ndarray, offset: int, vad: object, batch: _PieceBatch) -> None:
        """Queue the pieces of each stretch of voice in ``block``."""
        frame = SAMPLE_RATE * 30 // 1000
        hop = SAMPLE_RATE // 100  # mel frames are 10 ms apart
        for lo, hi in voiced_regions(_voiced_frames(block, vad), self.params):
            wav = block[lo * frame : hi * frame]
            mel = mel_frames(wav) * _volume_gain(wav) ** 2
            start_s = (offset + lo * frame) / SAMPLE_RATE
            count = max(1, round(len(wav) / SAMPLE_RATE / self.params.piece_s))
            for part in np.array_split(np.arange(len(mel)), count):
                first, end = int(part[0]), int(part[-1]) + 1
                span = (start_s + first * hop / SAMPLE_RATE,
                        start_s + min(end * hop, len(wav)) / SAMPLE_RATE)  # fmt: skip
                batch.add(mel[first:end], span)

    def diarize(
        self,
        path: Path,
        *,
        speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        found = self.pieces(path, progress)
        labels = label_pieces(found.embeddings, found.seconds, self.params, speakers)
        return turns_from_pieces(found.spans, labels)


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


class _PieceBatch:
    """Pieces' mel frames queued for the encoder, embedded ``size`` at a time (one packed
    LSTM call per batch; memory stays bounded).

    A piece's voice print is the mean of the encoder's embedding after 1.6 s (the length
    its GE2E training used) and at the piece's end: the end state alone drifts over 3 s
    (dev mean 0.783, Fish Fillets' two actors split into 7), the pair held 0.889."""

    _TRAINED_FRAMES = 160  # resemblyzer's ``partials_n_frames``

    def __init__(self, encoder: Any, torch: Any, size: int = 64) -> None:
        self._encoder = encoder
        self._torch = torch
        self._size = size
        self._pending: list[np.ndarray] = []
        self._spans: list[tuple[float, float]] = []
        self._embedded: list[np.ndarray] = []

    def add(self, mel: np.ndarray, span: tuple[float, float]) -> None:
        self._pending.append(mel)
        self._spans.append(span)
        if len(self._pending) >= self._size:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        torch, encoder = self._torch, self._encoder
        rnn = torch.nn.utils.rnn
        with torch.no_grad():
            padded = rnn.pad_sequence([torch.from_numpy(m) for m in self._pending], True)
            lengths = torch.tensor([len(m) for m in self._pending])
            packed = rnn.pack_padded_sequence(padded, lengths, True, enforce_sorted=False)
            outputs, _ = rnn.pad_packed_sequence(encoder.lstm(packed)[0], True)
            rows = torch.arange(len(lengths))
            early = outputs[rows, lengths.clamp(max=self._TRAINED_FRAMES) - 1]
            late = outputs[rows, lengths - 1]
            out = _unit(torch, _unit(torch, encoder.relu(encoder.linear(early)))
                        + _unit(torch, encoder.relu(encoder.linear(late))))  # fmt: skip
        self._embedded.append(out.numpy())
        self._pending.clear()

    def pieces(self) -> Pieces:
        self._flush()
        if not self._spans:
            return Pieces(np.zeros((0, 2)), np.zeros((0, 256), np.float32))
        return Pieces(np.array(self._spans), np.concatenate(self._embedded))


def _unit(torch: Any, x: Any) -> Any:
    return x / torch.norm(x, dim=1, keepdim=True).clamp_min(1e-9)
