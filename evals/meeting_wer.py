"""Word error of the cached Whisper transcripts of the long-meeting set, per speaker.

For every built meeting (``OUT/<meeting>/manifest.json`` with its ``transcript.json``, see
:mod:`evals.meetings`), each spoken turn's text is the reference and the Whisper words whose
start falls nearest the turn are the hypothesis: a turn owns the time from halfway through the
silence before it to halfway through the one after (Whisper often starts a word a little
before the turn does, and what it hears in a silence counts as inserted). Both sides are
lower-cased, stripped of punctuation and of AMI's fillers (um, uh, mm, hmm: the voices say
them, Whisper drops them by design), then aligned turn by turn with ``jiwer``; errors and
reference words are summed per speaker role over the split (a word-weighted rate). This
measures the *set* (how well its voices can be heard), not the product's search.

    python -m evals.meeting_wer OUT_DIR [--split dev|test|all] [--json]
"""

from __future__ import annotations

import argparse
import bisect
import importlib.util
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.meetings import existing_manifests

FILLERS = frozenset({"um", "uh", "mm", "hmm", "mm-hmm", "uh-huh", "er", "erm"})
_WORD = re.compile(r"[\w'-]+")


def words_of(text: str) -> list[str]:
    """Lower-cased words without punctuation or fillers ("Um, the T-V." -> ["the", "t-v"])."""
    out = []
    for w in _WORD.findall(text.lower()):
        w = w.strip("'-")
        if w and w not in FILLERS:
            out.append(w)
    return out


@dataclass
class Tally:
    """Word errors (substitutions + deletions + insertions) over reference words."""

    errors: int = 0
    words: int = 0
    turns: int = 0

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0


def turn_of_words(turns: list[dict[str, Any]], starts: list[float]) -> list[int]:
    """For each word start, the index of the turn that owns it (see the module docstring)."""
    edges = [(a["end_s"] + b["start_s"]) / 2 for a, b in zip(turns, turns[1:], strict=False)]
    return [bisect.bisect_right(edges, s) for s in starts]


def score_meeting(manifest: dict[str, Any], transcript: dict[str, Any],
                  by_speaker: dict[str, Tally]) -> None:
    """Add one meeting's turns to ``by_speaker`` (role -> tally)."""
    import jiwer  # the test extra: `pip install -e '.[test]'` (make setup does)

    turns = manifest["turns"]
    heard = [(w[0], w[2]) for seg in transcript["segments"] for w in seg["words"]]
    said: list[list[str]] = [[] for _ in turns]
    for k, (_, text) in zip(turn_of_words(turns, [s for s, _ in heard]), heard, strict=True):
        said[k].append(text)
    for turn, hyp_words in zip(turns, said, strict=True):
        ref = words_of(turn["text"])
        if not ref:
            continue  # a filler-only turn: nothing to hear
        hyp = words_of(" ".join(hyp_words))
        tally = by_speaker.setdefault(turn["speaker"], Tally())
        if hyp:
            out = jiwer.process_words(" ".join(ref), " ".join(hyp))
            tally.errors += out.substitutions + out.deletions + out.insertions
        else:
            tally.errors += len(ref)
        tally.words += len(ref)
        tally.turns += 1


def score_split(out_dir: Path, split: str) -> dict[str, Tally]:
    """Role -> tally over the split's meetings that have a transcript (plus ``all``)."""
    by_speaker: dict[str, Tally] = {}
    for folder_name, path in existing_manifests(out_dir).items():
        manifest = json.loads(path.read_text(encoding="utf-8"))
        transcript = path.parent / "transcript.json"
        if split not in ("all", manifest["split"]) or not transcript.is_file():
            continue
        if manifest.get("group", "pointed") != "pointed":
            continue  # the real Dutch recording: its turn texts are the English script
        score_meeting(manifest, json.loads(transcript.read_text(encoding="utf-8")),
                      by_speaker)
        print(f"scored {folder_name}", file=sys.stderr)
    tallies = by_speaker.values()
    total = Tally(sum(t.errors for t in tallies), sum(t.words for t in tallies),
                  sum(t.turns for t in tallies))
    return {**dict(sorted(by_speaker.items())), "all": total}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.meeting_wer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    if not args.out_dir.is_dir():
        print(f"error: {args.out_dir} is not a folder (build it: python -m evals.meetings "
              f"{args.out_dir})", file=sys.stderr)
        return 1
    if importlib.util.find_spec("jiwer") is None:
        print("error: the word error tool needs jiwer (pip install -e '.[test]'; make setup "
              "installs it)", file=sys.stderr)
        return 1
    tallies = score_split(args.out_dir, args.split)
    if tallies["all"].words == 0:
        print(f"error: no meeting with a transcript.json in {args.out_dir}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({k: {**asdict(t), "wer": round(t.wer, 3)} for k, t in tallies.items()}))
        return 0
    for role, t in tallies.items():
        print(f"{role:<20} WER {t.wer:.3f}  ({t.errors} errors / {t.words} words, "
              f"{t.turns} turns)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
