"""Does Whisper's word probability tell a misheard moment? The cut for quoting as said.

An extractive answer quotes a moment verbatim ("The recording says: …"), and the eval
counts a quote as unsupported when under 70 % of its words are in people's transcript
(:func:`evals.claims.quote_found`). This bench cuts each meeting's cached Whisper
transcript (``transcript.json`` of ``python -m evals.meetings DIR``) into moments as
ingestion does, marks a moment *misheard* by that same function against the reference turns
overlapping it (± :data:`evals.claims.PAD_S`), and prints, for several cuts of the
moment's mean word probability (:func:`ingestion.chunking.confidence`), the share of
moments still quotable, of misheard ones caught, and the misheard rate among what is
still quoted — with its ratio to quoting everything (the baseline, same run).

    .venv/bin/python bench/quote_confidence.py .chronorag/meetings --split dev
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.claims import PAD_S, QUOTE_MATCH, quote_found, reference_words  # noqa: E402
from evals.meetings import DEV, TEST  # noqa: E402
from graphs.extractive import MIN_QUOTE_CONFIDENCE  # noqa: E402
from ingestion.chunking import MomentParams, confidence, moment_words  # noqa: E402
from ingestion.transcribe import Word  # noqa: E402

CUTS = (0.5, 0.6, MIN_QUOTE_CONFIDENCE, 0.8)


def moments(folder: Path) -> list[tuple[float, bool]]:
    """(confidence, misheard) of every moment of three words or more in one meeting."""
    manifest = json.loads((folder / "manifest.json").read_text())
    segments = json.loads((folder / "transcript.json").read_text())["segments"]
    words = [Word(a, b, t, p) for seg in segments for a, b, t, p in seg["words"]]
    out = []
    for group in moment_words(words, MomentParams()):
        start, end = group[0].start - PAD_S, group[-1].end + PAD_S
        reference = reference_words(" ".join(
            turn["text"] for turn in manifest["turns"]
            if turn["start_s"] <= end and turn["end_s"] >= start
        ))  # fmt: skip
        heard = " ".join(word.text for word in group)
        if len(heard.split()) < 3:  # "Yeah." is never the quote of an answer
            continue
        out.append((confidence(group) or 0.0, not quote_found(heard, reference)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="the long-meeting set (python -m evals.meetings DIR)")
    ap.add_argument("--split", default="dev", choices=["dev", "test"])
    args = ap.parse_args(argv)
    rows: list[tuple[float, bool]] = []
    for meeting in DEV if args.split == "dev" else TEST:
        folder = args.root / meeting
        if not (folder / "transcript.json").is_file():
            print(f"{meeting}: no transcript.json (python -m evals.meetings {args.root})",
                  file=sys.stderr)  # fmt: skip
            return 1
        rows += moments(folder)
    misheard = sum(bad for _, bad in rows)
    base_rate = misheard / len(rows)
    print(f"{args.split}: {len(rows)} moments, {misheard} misheard "
          f"(under {QUOTE_MATCH:.0%} of their words in the reference)")  # fmt: skip
    print(f"{'cut':>6} {'quotable':>9} {'caught':>7} {'clear lost':>10} "
          f"{'misheard among quoted':>22} {'ratio':>6}")  # fmt: skip
    print(f"{'none':>6} {1:>9.3f} {0:>7.3f} {0:>10.3f} {base_rate:>22.3f} {1:>6.2f}  (baseline)")
    for cut in CUTS:
        kept = [bad for conf, bad in rows if conf >= cut]
        caught = sum(bad for conf, bad in rows if conf < cut) / max(misheard, 1)
        clear_lost = sum(not bad for conf, bad in rows if conf < cut) / max(len(rows) - misheard, 1)
        rate = sum(kept) / len(kept) if kept else 0.0
        mark = "  (shipped)" if cut == MIN_QUOTE_CONFIDENCE else ""
        print(f"{cut:>6.2f} {len(kept) / len(rows):>9.3f} {caught:>7.3f} {clear_lost:>10.3f} "
              f"{rate:>22.3f} {rate / base_rate:>6.2f}{mark}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
