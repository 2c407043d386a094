"""Speech to text with word timestamps: the ``Transcriber`` protocol and faster-whisper.

The faster-whisper backend loads its model once (the object holds it) and
transcribes long media piece by piece (≤ ``max_piece_s``, cut at silences by
:mod:`ingestion.audio`), so memory stays bounded; word times are offset back to
media time. The language is detected once per media item, on the first piece
that contains speech, and then kept for the remaining pieces. The other backends
(``transcribe_openai``, ``transcribe_transformers``) build on ``PieceTranscriber`` here;
this module never imports them (``app.container`` chooses one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from ingestion.audio import AudioPiece, audio_pieces
from ingestion.probe import probe

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class Word:
    """One recognised word; times in media seconds; ``speaker`` once diarized (``S1``…)."""

    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None


_NO_SPACE_BEFORE = tuple("-,.;:!?%)]}'’")


def join_words(words: Sequence[Word]) -> str:
    """Words back into text: Whisper splits "ill-disposed" into "ill" + "-disposed"."""
    parts: list[str] = []
    for w in words:
        if parts and not (w.text.startswith(_NO_SPACE_BEFORE) or parts[-1].endswith("-")):
            parts.append(" ")
        parts.append(w.text)
    return "".join(parts)


def spread_words(start: float, end: float, text: str) -> list[Word]:
    """Words of one timestamped segment, each given a share of its time in proportion to
    its length — segment-level precision, for servers that return no word timestamps."""
    tokens = text.split()
    total = sum(len(t) for t in tokens)
    words, t = [], start
    for tok in tokens:
        step = (end - start) * len(tok) / total
        words.append(Word(start=round(t, 3), end=round(t + step, 3), text=tok))
        t += step
    return words


@dataclass
class Transcript:
    """Everything said in one media item."""

    language: str
    language_probability: float
    duration_s: float
    words: list[Word] = field(default_factory=list)

    @property
    def text(self) -> str:
        return join_words(self.words)


@runtime_checkable
class Transcriber(Protocol):
    name: str
    model: str

    def transcribe(
        self,
        path: Path,
        *,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript: ...


def transcribe_in_pieces(
    path: Path,
    piece_fn: Callable[[AudioPiece, str | None], tuple[list[Word], str, float]],
    *,
    max_piece_s: float,
    language: str | None,
    progress: ProgressCallback | None,
) -> Transcript:
    """Run ``piece_fn(piece, language) -> (words in piece time, language, probability)``
    over the file's audio pieces and assemble one transcript in media time."""
    duration = probe(path).duration_s or 0.0
    forced = language  # detected on the first piece with speech, then kept
    detected, probability = language, 1.0
    words: list[Word] = []
    end = 0.0
    for piece in audio_pieces(path, max_piece_s):
        piece_words, lang, prob = piece_fn(piece, forced)
        if forced is None and (piece_words or detected is None):
            detected, probability = lang, prob
            if piece_words:
                forced = lang
        words.extend(
            Word(
                start=round(float(piece.start_s + w.start), 3),
                end=round(float(piece.start_s + w.end), 3),
                text=w.text,
                probability=w.probability,
            )
            for w in piece_words
        )
        end = piece.start_s + piece.duration_s
        if progress and duration:
            progress(min(1.0, end / duration))
    if progress:
        progress(1.0)
    if not words and language is None:
        # Whisper names a language even for silence; with nothing said there is none
        detected, probability = None, 0.0
    return Transcript(
        language=detected or "und",
        language_probability=probability,
        duration_s=max(end, duration),
        words=words,
    )


class PieceTranscriber(ABC):
    """A ``Transcriber`` that sends the file's audio through ``_piece`` one silence-cut
    piece (≤ ``max_piece_s``) at a time; see :func:`transcribe_in_pieces`."""

    name: str
    model: str
    max_piece_s: float

    @abstractmethod
    def _piece(self, piece: AudioPiece, language: str | None) -> tuple[list[Word], str, float]:
        """(words in piece time, language, its probability) of one piece."""

    def _forced_language(self, language: str) -> str:
        """Check a language the caller forces (backends that know their languages do)."""
        return language

    def transcribe(
        self,
        path: Path,
        *,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        return transcribe_in_pieces(
            Path(path),
            self._piece,
            max_piece_s=self.max_piece_s,
            language=self._forced_language(language) if language else None,
            progress=progress,
        )


class FasterWhisperTranscriber(PieceTranscriber):
    """faster-whisper (CTranslate2) on a local model folder, with VAD and word timestamps."""

    name = "faster-whisper"

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str | None = None,
        threads: int = 2,
        beam_size: int = 1,
        vad_min_silence_ms: int = 500,
        max_piece_s: float = 600.0,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model = name or Path(model_dir).name  # the model's name; ``self.name`` is the backend
        self.max_piece_s = max_piece_s
        self._beam_size = beam_size
        self._vad = {"min_silence_duration_ms": vad_min_silence_ms}
        self._whisper = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads
        )

    def _piece(self, piece: AudioPiece, language: str | None) -> tuple[list[Word], str, float]:
        segments, info = self._whisper.transcribe(
            piece.samples,
            language=language,
            beam_size=self._beam_size,
            vad_filter=True,
            vad_parameters=self._vad,
            word_timestamps=True,
            condition_on_previous_text=False,
        )
        words = [
            Word(
                start=float(w.start),
                end=float(w.end),
                text=w.word.strip(),
                probability=float(w.probability),
            )
            for seg in segments
            for w in seg.words or ()
            if w.word.strip()
        ]
        return words, info.language, info.language_probability
