"""Speech to text with Hugging Face transformers, for Whisper checkpoints on local disk.

This is the route for checkpoints faster-whisper cannot load as they are: the
``openai/whisper-large-v3`` safetensors and the Indian-language Whisper fine-tunes.
The model is read from a local folder, or from the local Hugging Face cache when a
Hub id is given; nothing is downloaded. Long media is streamed in pieces cut at
silences (:mod:`ingestion.audio`); inside a piece the transformers ASR pipeline does
Whisper's chunked long-form decoding (30 s windows, batched on GPU). Timestamps come
back per word (cross-attention alignment, when the checkpoint has alignment heads) or
per segment, and are offset back to media time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingestion.audio import SAMPLE_RATE, AudioPiece
from ingestion.transcribe import PieceTranscriber, Word, spread_words

Timestamps = Literal["auto", "word", "segment"]
_LANG_TOKEN = re.compile(r"^<\|([a-z]{2,3}(?:_[a-z]+)?)\|>$")


def resolve_model_path(model: str | Path) -> Path:
    """A local checkpoint folder for ``model``: the folder itself, or the Hub id's
    snapshot in the local Hugging Face cache. Never downloads."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path}: not a transformers checkpoint (no config.json)")
        return path
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(str(model), local_files_only=True))
    except (LocalEntryNotFoundError, ValueError) as exc:
        raise FileNotFoundError(
            f"Whisper checkpoint {str(model)!r} is neither a local folder nor in the local "
            "Hugging Face cache (nothing is downloaded at run time)"
        ) from exc


class TransformersTranscriber(PieceTranscriber):
    """Whisper through transformers: chunked long-form decoding, word or segment timestamps,
    forced or detected language; batched on GPU."""

    name = "transformers"

    def __init__(
        self,
        model: str | Path,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        chunk_length_s: float = 30.0,
        timestamps: Timestamps = "auto",
        num_beams: int = 1,
        max_piece_s: float = 600.0,
        threads: int | None = None,
    ) -> None:
        import torch
        from transformers import WhisperForConditionalGeneration, WhisperProcessor, pipeline

        if chunk_length_s <= 0 or chunk_length_s > 30:
            raise ValueError("chunk_length_s must be in (0, 30] (Whisper's window is 30 s)")
        if threads:
            torch.set_num_threads(threads)
        self.model = str(model)
        self.max_piece_s = max_piece_s
        self.device = device or ("cuda:0" if torch.cuda.is_available() else "cpu")
        on_gpu = self.device.startswith("cuda")
        self.batch_size = batch_size or (16 if on_gpu else 1)
        path = resolve_model_path(model)
        self._whisper = WhisperForConditionalGeneration.from_pretrained(
            path, local_files_only=True, dtype=torch.float16 if on_gpu else torch.float32
        ).to(self.device)
        self._whisper.eval()
        processor = WhisperProcessor.from_pretrained(path, local_files_only=True)
        self._features = processor.feature_extractor
        self._tokenizer = processor.tokenizer
        gen = self._whisper.generation_config
        if self._tokenizer.pad_token_id is None:  # batching pads with it; Whisper pads with EOS
            self._tokenizer.pad_token_id = gen.pad_token_id or gen.eos_token_id
        has_alignment = bool(getattr(gen, "alignment_heads", None))
        if timestamps == "word" and not has_alignment:
            raise ValueError(
                f"{self.model}: no alignment_heads in generation_config.json, so no word "
                "timestamps; use timestamps='segment'"
            )
        self.timestamps: Literal["word", "segment"] = (
            "segment" if timestamps == "segment" or not has_alignment else "word"
        )
        self._lang_to_id: dict[str, int] = dict(getattr(gen, "lang_to_id", None) or {})
        self._multilingual = bool(getattr(gen, "is_multilingual", bool(self._lang_to_id)))
        self._codes = {m.group(1): tok for tok in self._lang_to_id if (m := _LANG_TOKEN.match(tok))}
        self._num_beams = num_beams
        self._chunk_length_s = chunk_length_s
        self._asr = pipeline(
            "automatic-speech-recognition",
            model=self._whisper,
            tokenizer=self._tokenizer,
            feature_extractor=self._features,
            device=self.device,
        )

    # --- language ---------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        """Language codes the checkpoint knows (``['en']`` for English-only models)."""
        return sorted(self._codes) if self._multilingual else ["en"]

    def _forced_language(self, language: str) -> str:
        code = language.strip().lower()
        if not self._multilingual:
            if code != "en":
                raise ValueError(f"{self.model} is English-only; cannot force language {code!r}")
            return code
        if code not in self._codes:
            raise ValueError(
                f"language {language!r} is not one {self.model} knows "
                f"(e.g. {', '.join(sorted(self._codes)[:12])}, …)"
            )
        return code

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """(ISO code, probability) from the first 30 s of ``samples``."""
        if not self._multilingual:
            return "en", 1.0
        import torch

        feats = self._features(
            samples[: 30 * SAMPLE_RATE], sampling_rate=SAMPLE_RATE, return_tensors="pt"
        ).input_features.to(self.device, dtype=self._whisper.dtype)
        start = self._whisper.generation_config.decoder_start_token_id
        codes = sorted(self._codes)
        ids = torch.tensor([self._lang_to_id[self._codes[c]] for c in codes], device=self.device)
        with torch.no_grad():
            logits = self._whisper(
                input_features=feats,
                decoder_input_ids=torch.tensor([[start]], device=self.device),
                use_cache=False,
            ).logits[0, -1]
        probs = torch.softmax(logits[ids].float(), dim=-1)
        best = int(torch.argmax(probs))
        return codes[best], float(probs[best])

    # --- decoding ---------------------------------------------------------------------
    def _piece(self, piece: AudioPiece, language: str | None) -> tuple[list[Word], str, float]:
        if language is None:
            language, probability = self.detect_language(piece.samples)
        else:
            probability = 1.0
        generate: dict[str, Any] = {"task": "transcribe", "num_beams": self._num_beams}
        if self._multilingual:
            generate["language"] = language
        result = self._asr(
            {"raw": piece.samples, "sampling_rate": SAMPLE_RATE},
            chunk_length_s=self._chunk_length_s,
            batch_size=self.batch_size,
            return_timestamps="word" if self.timestamps == "word" else True,
            ignore_warning=True,  # chunked decoding is what lets a GPU batch the windows
            generate_kwargs=generate,
        )
        chunks = result.get("chunks") or []
        if self.timestamps == "word":
            words = _word_chunks(chunks, piece.duration_s)
        else:
            words = _segment_words(chunks, piece.duration_s)
        return words, language, probability


def _span(chunk: dict[str, Any], limit: float) -> tuple[float, float]:
    """A chunk's (start, end) clamped to the piece; the last chunk may have no end."""
    start, end = chunk.get("timestamp") or (None, None)
    start = 0.0 if start is None else min(max(float(start), 0.0), limit)
    end = limit if end is None else min(max(float(end), start), limit)
    return start, end


def _word_chunks(chunks: list[dict[str, Any]], limit: float) -> list[Word]:
    words = []
    for chunk in chunks:
        text = (chunk.get("text") or "").strip()
        if text:
            start, end = _span(chunk, limit)
            words.append(Word(start=start, end=end, text=text))
    return words


def _segment_words(chunks: list[dict[str, Any]], limit: float) -> list[Word]:
    words = []
    for chunk in chunks:
        start, end = _span(chunk, limit)
        words += spread_words(start, end, chunk.get("text") or "")
    return words
