"""TTS over the OpenAI ``POST {base_url}/audio/speech`` protocol (vLLM-Omni, hosted APIs,
Kokoro/Orpheus-style servers).

Request (JSON): ``{"model", "voice", "input", "response_format": "wav"|"pcm"|"flac"|…}``.
Response: the audio bytes — for ``pcm`` raw 16-bit little-endian mono samples at
``pcm_sample_rate`` (24 kHz in OpenAI's API); otherwise a file in the requested format
(WAV by default; FLAC/MP3/Opus/AAC and non-PCM WAV are decoded with ffmpeg).
The protocol has no language field (servers infer it from the text), so the
languages a server speaks are declared by configuration (``languages``; empty =
trust it with any language).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import numpy as np
import openai

from speech.audio import Audio, AudioError, decode_audio
from speech.tts import TTSError, UnsupportedLanguageError, base_language


class OpenAITTS:
    """Client for an OpenAI-compatible speech endpoint."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "tts-1",
        voice: str = "alloy",
        api_key: str = "EMPTY",
        languages: Collection[str] = (),
        response_format: Literal["wav", "pcm", "flac", "mp3", "opus", "aac"] = "wav",
        pcm_sample_rate: int = 24_000,
        timeout_s: float = 120.0,
    ) -> None:
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=1
        )
        self.model = model
        self.voice = voice
        self._languages = {base_language(lang) for lang in languages}
        self.response_format = response_format
        self.pcm_sample_rate = pcm_sample_rate

    def languages(self) -> set[str]:
        return set(self._languages)

    def supports(self, language: str) -> bool:
        return not self._languages or base_language(language) in self._languages

    def synthesize(self, text: str, language: str) -> Audio:
        if not self.supports(language):
            raise UnsupportedLanguageError(language, list(self._languages))
        try:
            response = self.client.audio.speech.create(
                model=self.model,
                voice=self.voice,
                input=text,
                response_format=self.response_format,
            )
        except openai.OpenAIError as exc:
            raise TTSError(f"speech server {self.client.base_url} failed: {exc}") from exc
        data = response.read()
        if self.response_format == "pcm":
            audio = Audio(
                np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").copy(), self.pcm_sample_rate
            )
        else:
            try:
                audio = decode_audio(data)
            except AudioError as exc:
                raise TTSError(f"speech server returned no usable audio: {exc}") from exc
        if len(audio.samples) == 0:
            raise TTSError(f"speech server returned empty audio for {text[:60]!r}")
        return audio
