"""TTS from a local Hugging Face ``transformers`` checkpoint folder (GPU deployments).

Supported ``config.json`` model types:

* ``vits`` — VITS / MMS-TTS (``facebook/mms-tts-hin``, ``-tam``, … exist for Indian
  languages): folder with the model + its ``VitsTokenizer`` files. Output at
  ``config.sampling_rate``. Checkpoints whose tokenizer needs ``uroman`` or
  ``phonemizer`` raise a clear error when those packages are missing.
* ``speecht5`` — ``SpeechT5ForTextToSpeech`` + its tokenizer in the folder, a HiFi-GAN
  vocoder in ``<folder>/vocoder`` (or ``vocoder_path``) and a 512-float x-vector in
  ``<folder>/speaker_embedding.npy`` (or ``speaker_embedding_path``). Microsoft's own
  checkpoint ships a SentencePiece tokenizer, which needs the ``sentencepiece`` package.

torch and transformers are imported lazily: the embedded default never needs them.
Weights are only read from the folder (``local_files_only``); nothing is downloaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from speech.audio import Audio
from speech.tts import TTSError, UnsupportedLanguageError, base_language

# MMS checkpoints name their language in ISO 639-3 (tokenizer ``language``).
_ISO3 = {
    "eng": "en", "hin": "hi", "tam": "ta", "tel": "te", "ben": "bn", "mar": "mr", "guj": "gu",
    "kan": "kn", "mal": "ml", "pan": "pa", "urd": "ur", "npi": "ne", "nep": "ne", "ory": "or",
    "ori": "or", "asm": "as", "san": "sa", "snd": "sd", "kas": "ks", "kok": "kok", "mai": "mai",
    "fra": "fr", "deu": "de", "spa": "es", "por": "pt", "rus": "ru", "ara": "ar", "cmn": "zh",
}  # fmt: skip


class TransformersTTS:
    """Speak with a VITS/MMS or SpeechT5 checkpoint read from ``path``."""

    name = "transformers"

    def __init__(
        self,
        path: Path,
        *,
        languages: Collection[str] = (),
        device: str = "cpu",
        vocoder_path: Path | None = None,
        speaker_embedding_path: Path | None = None,
        seed: int | None = 0,
    ) -> None:
        self.path = Path(path)
        config_file = self.path / "config.json"
        if not config_file.is_file():
            raise TTSError(f"no transformers checkpoint at {self.path} (config.json missing)")
        self.model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
        if self.model_type not in ("vits", "speecht5"):
            raise TTSError(
                f"{self.path}: model_type {self.model_type!r} is not a supported TTS model "
                "(use a VITS/MMS-TTS or SpeechT5 checkpoint)"
            )
        self.device = device
        self.seed = seed
        self._lock = threading.Lock()
        try:
            import torch  # noqa: F401
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise TTSError("the transformers TTS backend needs torch and transformers") from exc
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        if self.model_type == "vits":
            self._load_vits()
        else:
            self._load_speecht5(vocoder_path, speaker_embedding_path)
        if languages:
            self._languages = {base_language(lang) for lang in languages}
        else:  # what the checkpoint says it speaks; SpeechT5 checkpoints are English
            code = getattr(self.tokenizer, "language", None) or (
                "eng" if self.model_type == "speecht5" else None
            )
            self._languages = {_ISO3.get(code, code)} if code else set()

    def _load_vits(self) -> None:
        from transformers import VitsModel

        self.model = VitsModel.from_pretrained(str(self.path), local_files_only=True)
        self.model.to(self.device).eval()
        self.sample_rate = int(self.model.config.sampling_rate)

    def _load_speecht5(self, vocoder_path: Path | None, embedding_path: Path | None) -> None:
        import torch
        from transformers import SpeechT5ForTextToSpeech, SpeechT5HifiGan

        vocoder_dir = Path(vocoder_path) if vocoder_path else self.path / "vocoder"
        embedding_file = (
            Path(embedding_path) if embedding_path else self.path / "speaker_embedding.npy"
        )
        if not (vocoder_dir / "config.json").is_file():
            raise TTSError(f"SpeechT5 needs a HiFi-GAN vocoder folder; none at {vocoder_dir}")
        if not embedding_file.is_file():
            raise TTSError(f"SpeechT5 needs a speaker x-vector (.npy); none at {embedding_file}")
        self.model = SpeechT5ForTextToSpeech.from_pretrained(str(self.path), local_files_only=True)
        self.vocoder = SpeechT5HifiGan.from_pretrained(str(vocoder_dir), local_files_only=True)
        self.model.to(self.device).eval()
        self.vocoder.to(self.device).eval()
        embedding = np.load(embedding_file).astype(np.float32).reshape(1, -1)
        expected = self.model.config.speaker_embedding_dim
        if embedding.shape[1] != expected:
            raise TTSError(
                f"speaker embedding has {embedding.shape[1]} values, the model wants {expected}"
            )
        self.speaker_embedding = torch.from_numpy(embedding).to(self.device)
        self.sample_rate = int(self.vocoder.config.sampling_rate)

    def languages(self) -> set[str]:
        """Declared languages, else the checkpoint's own; empty = unknown, tried for any."""
        return set(self._languages)

    def supports(self, language: str) -> bool:
        return not self._languages or base_language(language) in self._languages

    def _encode(self, text: str) -> dict[str, Any]:
        if getattr(self.tokenizer, "is_uroman", False) and not text.isascii():
            import importlib.util

            if importlib.util.find_spec("uroman") is None:
                raise TTSError(f"{self.path}: this checkpoint needs 'uroman' for non-Latin text")
        try:
            inputs = self.tokenizer(text, return_tensors="pt")
        except ImportError as exc:
            raise TTSError(f"{self.path}: tokenizer dependency missing: {exc}") from exc
        if inputs["input_ids"].shape[-1] == 0:
            raise TTSError(f"{self.path}: nothing in {text[:60]!r} is in the model's vocabulary")
        return {k: v.to(self.device) for k, v in inputs.items()}

    def synthesize(self, text: str, language: str) -> Audio:
        if not self.supports(language):
            raise UnsupportedLanguageError(language, list(self._languages))
        import torch

        inputs = self._encode(text)
        with self._lock, torch.inference_mode():
            if self.seed is not None:
                torch.manual_seed(self.seed)  # VITS samples noise; keep output reproducible
            if self.model_type == "vits":
                waveform = self.model(**inputs).waveform[0]
            else:
                waveform = self.model.generate_speech(
                    inputs["input_ids"], self.speaker_embedding, vocoder=self.vocoder
                )
        samples = waveform.detach().float().cpu().numpy()
        if samples.size == 0:
            raise TTSError(f"{self.path}: the model produced no audio for {text[:60]!r}")
        return Audio.from_float(samples, self.sample_rate)
