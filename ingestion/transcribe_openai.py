"""Speech to text through an OpenAI-compatible ``/v1/audio/transcriptions`` server.

vLLM serves Whisper this way, as do hosted APIs. The audio is streamed, cut at
silences into pieces under the protocol's limits (25 MB, and ≤ 600 s here), each
piece sent as 16 kHz mono 16-bit WAV with ``response_format=verbose_json`` and
word + segment timestamps; the returned times are offset back to media time.
"""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np
from openai import OpenAI

from ingestion.audio import SAMPLE_RATE, AudioPiece
from ingestion.transcribe import PieceTranscriber, Word, spread_words

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIECE_S = 600.0


def wav_bytes(samples: np.ndarray) -> bytes:
    """16 kHz mono 16-bit PCM WAV of float samples in [-1, 1]."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm.tobytes())
    return buf.getvalue()


def language_code(name: str | None) -> str:
    """ISO 639-1 code for what servers return ('english' from OpenAI, 'en' from others)."""
    if not name:
        return "und"
    name = name.strip().lower()
    if len(name) <= 3:
        return name
    from lingua import Language

    try:
        return Language.from_str(name).iso_code_639_1.name.lower()
    except ValueError:
        return name


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


class OpenAITranscriber(PieceTranscriber):
    """Client of an OpenAI-compatible transcription server (e.g. vLLM + Whisper)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "EMPTY",
        timeout_s: float = 600.0,
        max_piece_s: float = MAX_PIECE_S,
    ) -> None:
        if max_piece_s > MAX_PIECE_S:
            raise ValueError(f"max_piece_s must be ≤ {MAX_PIECE_S}")
        self.model = model
        self.max_piece_s = max_piece_s
        self._client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s)

    def _piece(self, piece: AudioPiece, language: str | None) -> tuple[list[Word], str, float]:
        data = wav_bytes(piece.samples)
        if len(data) > MAX_UPLOAD_BYTES:  # cannot happen with ≤ 600 s at 16 kHz/16 bit
            raise ValueError(f"audio piece of {len(data)} bytes exceeds the upload limit")
        extra: dict[str, Any] = {"language": language} if language else {}
        response = self._client.audio.transcriptions.create(
            model=self.model,
            file=(f"piece-{piece.start_s:.3f}.wav", data, "audio/wav"),
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
            **extra,
        )
        words = [
            Word(
                start=float(_get(w, "start")),
                end=float(_get(w, "end")),
                text=str(_get(w, "word", "")).strip(),
            )
            for w in _get(response, "words") or ()
            if str(_get(w, "word", "")).strip()
        ]
        if not words:  # vLLM's verbose_json carries segment timestamps only
            for seg in _get(response, "segments") or ():
                start = min(max(float(_get(seg, "start", 0.0)), 0.0), piece.duration_s)
                end = min(max(float(_get(seg, "end", start)), start), piece.duration_s)
                words += spread_words(start, end, str(_get(seg, "text", "")))
        return words, language_code(_get(response, "language")), 1.0
