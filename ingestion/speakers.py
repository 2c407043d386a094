"""Speakers onto words: each word takes the diarizer's speaker, snapped to phrases.

A voice window is 1.6 s long, so a diarizer's change point can land a word or two off
the true one; Whisper's sentence ends and pauses are sharper. A word first takes the
turn it overlaps most (else the nearest turn); then every *phrase* (words between
sentence ends and pauses of ``phrase_pause_s``) takes the speaker holding most of its
time. A phrase whose second speaker holds at least ``split_share`` of it in one run of
words keeps the change (two people without punctuation between them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ingestion.diarize import SpeakerTurn
from ingestion.transcribe import Word

SENTENCE_END = (".", "?", "!", "。", "？", "！", "।", "॥")


def word_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> list[str | None]:
    """The raw speaker of each word: most overlap, else the nearest turn."""
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


def phrases(words: Sequence[Word], pause_s: float) -> list[range]:
    """Index ranges of phrases: cut after a sentence end and at pauses ≥ ``pause_s``."""
    out: list[range] = []
    start = 0
    for i, w in enumerate(words):
        last = i + 1 == len(words)
        if last or w.text.endswith(SENTENCE_END) or words[i + 1].start - w.end >= pause_s:
            out.append(range(start, i + 1))
            start = i + 1
    return out


def assign_speakers(
    words: Sequence[Word],
    turns: Sequence[SpeakerTurn],
    *,
    phrase_pause_s: float = 0.5,
    split_share: float = 0.4,
) -> list[Word]:
    """``words`` with ``speaker`` set (unchanged when there are no turns)."""
    if not turns:
        return list(words)
    raw = word_speakers(words, turns)
    labels: list[str | None] = list(raw)
    for span in phrases(words, phrase_pause_s):
        time: dict[str, float] = {}
        for i in span:
            sp = raw[i]
            if sp is not None:
                time[sp] = time.get(sp, 0.0) + max(words[i].end - words[i].start, 0.01)
        if len(time) < 2:
            continue
        total = sum(time.values())
        ranked = sorted(time, key=time.__getitem__, reverse=True)
        runs = _runs([raw[i] for i in span])
        second = ranked[1]
        # one clean change inside the phrase, the second part large: keep it
        if len(runs) == 2 and time[second] / total >= split_share:
            continue
        for i in span:
            labels[i] = ranked[0]
    return [replace(w, speaker=sp) for w, sp in zip(words, labels, strict=True)]


def _runs(labels: Sequence[str | None]) -> list[str | None]:
    out: list[str | None] = []
    for sp in labels:
        if not out or out[-1] != sp:
            out.append(sp)
    return out
