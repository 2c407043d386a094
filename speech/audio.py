"""Mono 16-bit PCM audio as it passes between TTS backends, the speaker and the avatar.

Every backend returns :class:`Audio`; WAV reading and writing go through the
standard-library ``wave`` module so no extra audio dependency is needed.
"""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr


class AudioError(ValueError):
    """Bytes or a file that are not usable PCM WAV audio."""


@dataclass(frozen=True)
class Audio:
    """Mono int16 samples at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16 or self.samples.ndim != 1:
            raise AudioError("Audio.samples must be a 1-D int16 array")
        if self.sample_rate <= 0:
            raise AudioError(f"bad sample rate {self.sample_rate}")

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @classmethod
    def from_float(cls, samples: np.ndarray, sample_rate: int) -> Audio:
        """From float samples in [-1, 1] (any shape that squeezes to 1-D)."""
        flat = np.asarray(samples, dtype=np.float32).reshape(-1)
        flat = np.nan_to_num(flat, nan=0.0, posinf=1.0, neginf=-1.0)
        pcm = np.clip(flat * 32767.0, -32767, 32767).astype(np.int16)
        return cls(pcm, int(sample_rate))

    @classmethod
    def silence(cls, seconds: float, sample_rate: int) -> Audio:
        return cls(np.zeros(round(seconds * sample_rate), dtype=np.int16), sample_rate)

    def to_float(self) -> np.ndarray:
        return self.samples.astype(np.float32) / 32768.0

    def resampled(self, sample_rate: int) -> Audio:
        """Band-limited resample (soxr, high quality): what lies above the new rate's
        Nyquist frequency is removed, not folded back into the band. The same audio when
        the rate already matches."""
        if sample_rate == self.sample_rate:
            return self
        if len(self.samples) == 0:
            return Audio(self.samples, sample_rate)
        values = soxr.resample(self.samples.astype(np.float32), self.sample_rate, sample_rate,
                               quality="HQ")
        return Audio(np.clip(np.rint(values), -32768, 32767).astype(np.int16), sample_rate)


def _set_format(wav: wave.Wave_write, sample_rate: int) -> None:
    wav.setnchannels(1)
    wav.setsampwidth(2)
    wav.setframerate(sample_rate)


def streaming_wav_header(sample_rate: int) -> bytes:
    """A mono 16-bit WAV header for a stream of unknown length (sizes set to the maximum,
    as streaming servers do); raw PCM chunks follow it."""
    unknown = 0xFFFFFFFF
    return b"".join(
        [
            b"RIFF", unknown.to_bytes(4, "little"), b"WAVEfmt ",
            (16).to_bytes(4, "little"), (1).to_bytes(2, "little"), (1).to_bytes(2, "little"),
            sample_rate.to_bytes(4, "little"), (sample_rate * 2).to_bytes(4, "little"),
            (2).to_bytes(2, "little"), (16).to_bytes(2, "little"),
            b"data", (unknown - 36).to_bytes(4, "little"),
        ]
    )  # fmt: skip


def concat(parts: Iterable[Audio], gap_s: float = 0.0) -> Audio:
    """Join audio pieces (resampled to the first one's rate) with ``gap_s`` of silence."""
    pieces = list(parts)
    if not pieces:
        raise AudioError("nothing to concatenate")
    rate = pieces[0].sample_rate
    gap = np.zeros(round(gap_s * rate), dtype=np.int16)
    arrays: list[np.ndarray] = []
    for i, piece in enumerate(pieces):
        if i and len(gap):
            arrays.append(gap)
        arrays.append(piece.resampled(rate).samples)
    return Audio(np.concatenate(arrays), rate)


def read_wav(source: Path | bytes) -> Audio:
    """Decode 8/16/32-bit PCM WAV (mono or multi-channel, mixed down) into :class:`Audio`."""
    src = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with wave.open(src, "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"not a PCM WAV file: {exc}") from exc
    if width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 65536.0
    elif width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) * 256.0
    else:
        raise AudioError(f"unsupported WAV sample width {width} bytes")
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    return Audio(np.clip(np.round(data), -32768, 32767).astype(np.int16), rate)


AUDIO_FORMATS = "wav,mp3,ogg,flac,aac,mov,matroska,webm,caf,w64"  # ffmpeg demuxers


def decode_audio(data: bytes, ffmpeg: str = "ffmpeg") -> Audio:
    """Decode any audio bytes: PCM WAV directly, anything else (float/extensible WAV, FLAC,
    MP3, Opus, AAC, M4A) through ffmpeg to mono 16-bit at the source's sample rate.

    ffmpeg reads a temp file, not a pipe: an MP4/M4A whose index (moov) comes after the
    samples, as ffmpeg itself writes them, cannot be read from a pipe (it gave a bare WAV
    header and exit 0). An empty result is an error, never silent "audio"."""
    try:
        return read_wav(data)
    except AudioError:
        pass
    with tempfile.NamedTemporaryFile(prefix="chronorag-decode-") as src:
        src.write(data)
        src.flush()
        # the bytes come from a server: audio containers only, and only this one file
        # (defence in depth: ffmpeg 5's own HLS checks already refuse a playlist of a WAV)
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file",
               "-format_whitelist", AUDIO_FORMATS, "-i", src.name,
               "-ac", "1", "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AudioError(f"ffmpeg could not decode the audio: {exc}") from exc
    reason = done.stderr.decode("utf-8", "replace").strip()[:300]
    if done.returncode != 0 or not done.stdout:
        raise AudioError(f"not decodable audio ({len(data)} bytes): {reason}")
    audio = read_wav(done.stdout)
    if len(audio.samples) == 0:
        raise AudioError(f"no audio samples in {len(data)} bytes: {reason or 'empty stream'}")
    return audio


class WavStreamWriter:
    """Write a WAV piece by piece into a temp file that becomes ``path`` only on success.

    Use as a context manager; if the block raises, no file is left at ``path``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp: Path | None = None
        self._wav: wave.Wave_write | None = None
        self.sample_rate: int | None = None
        self.frames = 0

    def __enter__(self) -> WavStreamWriter:
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=".", suffix=".wav.part")
        os.close(fd)
        self._tmp = Path(name)
        return self

    def write(self, audio: Audio) -> None:
        assert self._tmp is not None, "use WavStreamWriter as a context manager"
        if self._wav is None:
            self.sample_rate = audio.sample_rate
            self._wav = wave.open(str(self._tmp), "wb")  # noqa: SIM115 (closed in __exit__)
            _set_format(self._wav, audio.sample_rate)
        assert self.sample_rate is not None
        pcm = audio.resampled(self.sample_rate).samples
        self._wav.writeframes(pcm.tobytes())
        self.frames += len(pcm)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._tmp is not None
        if self._wav is not None:
            self._wav.close()
        if exc_type is None and self._wav is not None:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)
            if exc_type is None:
                raise AudioError("no audio was written")


def write_wav(audio: Audio, path: Path) -> Path:
    """Write ``audio`` to ``path`` atomically."""
    with WavStreamWriter(path) as writer:
        writer.write(audio)
    return path
