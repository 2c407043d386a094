"""Diarization score: share of speech time given to the right speaker, and speakers found.

Reference turns (``evals.meetings`` manifests hold every turn's speaker and exact times)
and hypothesis turns are sampled every ``step_s``; a reference instant goes to the
hypothesis turn covering it, else to the nearest one (as a word between two turns is
assigned at ingest, :mod:`ingestion.speakers`). Reference and hypothesis speakers are
mapped one to one by the assignment that maximises agreeing time (``scipy``'s
``linear_sum_assignment``); ``accuracy`` is agreeing time / reference speech time.
:func:`score_words` scores what a transcript shows: each Whisper word's speaker against
the true speaker of that word (the reference turn it overlaps most), weighted by duration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from ingestion.diarize import SpeakerTurn
from ingestion.speakers import word_speakers
from ingestion.transcribe import Word


@dataclass(frozen=True)
class SpeakerScore:
    accuracy: float  # share of reference speech time attributed to the right speaker
    speech_s: float
    true_speakers: int
    found_speakers: int
    mapping: dict[str, str]  # reference speaker → hypothesis speaker

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def reference_turns(manifest: Path) -> list[SpeakerTurn]:
    """The exact turns of an ``evals.meetings`` manifest."""
    data = json.loads(Path(manifest).read_text())
    return [SpeakerTurn(t["start_s"], t["end_s"], t["speaker"]) for t in data["turns"]]


def _label_at(times: np.ndarray, hyp: Sequence[SpeakerTurn]) -> np.ndarray:
    """Index of the hypothesis turn covering (else nearest to) each time."""
    starts = np.array([t.start_s for t in hyp])
    ends = np.array([t.end_s for t in hyp])
    mids = (starts + ends) / 2
    out = np.empty(len(times), dtype=int)
    for i, t in enumerate(times):
        inside = np.flatnonzero((starts <= t) & (t <= ends))
        if len(inside):
            out[i] = inside[0]
        else:
            distance = np.minimum(np.abs(starts - t), np.abs(ends - t))
            out[i] = int(np.argmin(distance + 1e-9 * np.abs(mids - t)))
    return out


def score(
    reference: Sequence[SpeakerTurn], hypothesis: Sequence[SpeakerTurn], step_s: float = 0.1
) -> SpeakerScore:
    ref_names = sorted({t.speaker for t in reference})
    hyp_names = sorted({t.speaker for t in hypothesis})
    times: list[float] = []
    ref_ids: list[int] = []
    for turn in reference:
        ts = np.arange(turn.start_s + step_s / 2, turn.end_s, step_s)
        times.extend(ts.tolist())
        ref_ids.extend([ref_names.index(turn.speaker)] * len(ts))
    speech_s = len(times) * step_s
    if not hyp_names or not times:
        return SpeakerScore(0.0, speech_s, len(ref_names), len(hyp_names), {})
    at = _label_at(np.array(times), hypothesis)
    hyp_ids = np.array([hyp_names.index(hypothesis[j].speaker) for j in at])
    agree = np.zeros((len(ref_names), len(hyp_names)))
    np.add.at(agree, (np.array(ref_ids), hyp_ids), step_s)
    rows, cols = linear_sum_assignment(agree, maximize=True)
    right = float(agree[rows, cols].sum())
    return SpeakerScore(
        accuracy=round(right / speech_s, 4),
        speech_s=round(speech_s, 1),
        true_speakers=len(ref_names),
        found_speakers=len(hyp_names),
        mapping={ref_names[r]: hyp_names[c] for r, c in zip(rows, cols, strict=True)},
    )


def score_words(reference: Sequence[SpeakerTurn], words: Sequence[Word]) -> SpeakerScore:
    """Speakers of diarized ``words`` against the true speaker of each word."""
    truth = word_speakers(words, reference)
    ref = [SpeakerTurn(w.start, w.end, sp) for w, sp in zip(words, truth, strict=True) if sp]
    hyp = [SpeakerTurn(w.start, w.end, w.speaker or "?") for w in words]
    return score(ref, hyp, step_s=0.02)
