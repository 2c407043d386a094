"""Real two-speaker recordings for the speaker tests, with the true turns.

- ``fillets_dialogue``: Fish Fillets NG's Dutch voice actors (Debian ``fillets-ng-data-nl``),
  the small fish (``-m-`` lines) and the big fish (``-v-`` lines) taking turns.
- ``reader_and_caller``: a LibriVox reader of *Sense and Sensibility* and a CMU speaker
  calling playing cards (Debian ``pocketsphinx-testdata``), taking turns.
Both are laid end to end with short silences into a 16 kHz WAV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingestion.audio import stream_audio
from ingestion.diarize import SpeakerTurn
from tests.media import LIBRIVOX, RATE, read_wav, write_wav

FILLETS = Path("/usr/share/games/fillets-ng/sound/start/nl")
CARDS = Path("/usr/share/pocketsphinx/test/data/cards")
GAP_S = 0.7


def _decode(path: Path) -> np.ndarray:
    """16 kHz mono float32 through the project's own decoder."""
    return np.concatenate(list(stream_audio(path)))


def lay_out(clips: list[tuple[str, np.ndarray]], out: Path) -> list[SpeakerTurn]:
    """Write the clips with ``GAP_S`` silences between them; returns the true turns."""
    gap = np.zeros(int(GAP_S * RATE), np.float32)
    parts, turns, t = [gap], [], GAP_S
    for speaker, samples in clips:
        turns.append(SpeakerTurn(round(t, 3), round(t + len(samples) / RATE, 3), speaker))
        parts += [samples, gap]
        t += len(samples) / RATE + GAP_S
    write_wav(out, np.concatenate(parts))
    return turns


def fillets_dialogue(out: Path, per_speaker: int = 5) -> list[SpeakerTurn]:
    small = sorted(FILLETS.glob("*-m-*.ogg"))[:per_speaker]
    big = sorted(FILLETS.glob("*-v-*.ogg"))[:per_speaker]
    if len(small) < per_speaker or len(big) < per_speaker:
        raise FileNotFoundError(f"{FILLETS}: install the Debian package fillets-ng-data-nl")
    clips: list[tuple[str, np.ndarray]] = []
    for s, b in zip(small, big, strict=True):
        clips += [("small fish", _decode(s)), ("big fish", _decode(b))]
    return lay_out(clips, out)


def reader_and_caller(out: Path) -> list[SpeakerTurn]:
    reader = sorted(LIBRIVOX.glob("*.wav"))
    caller = sorted(CARDS.glob("*.wav"))
    clips: list[tuple[str, np.ndarray]] = []
    for r, c in zip(reader, caller, strict=False):
        clips += [("reader", read_wav(r)), ("caller", read_wav(c))]
    return lay_out(clips, out)
