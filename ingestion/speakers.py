"""Speakers onto words: each word takes the diarizer's turn it overlaps most.

A word between two turns (the diarizer skips pauses) takes the nearest one. Snapping
speaker changes to Whisper's sentence ends and pauses was tried on the long-meeting dev
set and lost a little (bench/diarization.py word accuracy), so words follow the turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ingestion.diarize import SpeakerTurn
from ingestion.transcribe import Word


def word_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> list[str | None]:
    """The speaker of each word: most overlap, else the nearest turn (None: no turns)."""
    if not turns:
        return [None] * len(words)
    starts = np.array([t.start_s for t in turns])
    ends = np.array([t.end_s for t in turns])
    out: list[str | None] = []
    for w in words:
        overlap = np.minimum(ends, w.end) - np.maximum(starts, w.start)
        best = int(np.argmax(overlap))
        if overlap[best] <= 0:
            mid = (w.start + w.end) / 2
            best = int(np.argmin(np.minimum(np.abs(starts - mid), np.abs(ends - mid))))
        out.append(turns[best].speaker)
    return out


def assign_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> list[Word]:
    """``words`` with ``speaker`` set (unchanged when there are no turns)."""
    if not turns:
        return list(words)
    return [
        replace(w, speaker=sp) for w, sp in zip(words, word_speakers(words, turns), strict=True)
    ]
