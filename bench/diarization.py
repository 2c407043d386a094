"""Diarization on the long-meeting set: speech time attributed right, speakers found.

Runs the embedded diarizer (``ResemblyzerDiarizer``) on each meeting's audio and scores it
against the manifest's exact turns (:mod:`evals.speakers`); with the meeting's cached
Whisper words (``transcript.json``) it also scores the words' speakers
(:func:`evals.speakers.score_words`: what a transcript shows), and the roles proposed
from those lines (:func:`ingestion.speaker_names.propose_roles`, what the agent's speaker
matching reads) against each diarized speaker's majority true role: *named* speakers,
*right* (the role names the majority's, e.g. "user interface" for User Interface) and
*wrong*. Prints one line per meeting and the mean per split (DEV is for tuning, TEST for
reporting only).

    python bench/diarization.py MEETINGS_DIR [--split dev|test|all] [--meetings A,B]
        [--threshold X] [--piece-s S] [--speakers-known] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evals.meetings import DEV, TEST
from evals.speakers import reference_turns, score, score_words
from ingestion.diarize import DiarizeParams, ResemblyzerDiarizer, SpeakerTurn
from ingestion.speaker_names import propose_roles
from ingestion.speakers import assign_speakers
from ingestion.transcribe import Word, join_words
from ingestion.transcript_store import segment_words

DEV_ALL = (*DEV, "fillets-nl")


def _cached_words(folder: Path) -> list[Word]:
    path = folder / "transcript.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return [Word(a, b, t, p) for seg in data["segments"] for a, b, t, p in seg["words"]]


def role_counts(ref: list[SpeakerTurn], words: list[Word]) -> dict[str, int]:
    """Diarized speakers, those given a role, and how many of the roles fit the speaker's
    majority true role (its first word: "user interface" fits User Interface)."""
    lines = segment_words(words)  # the stored transcript's lines
    roles = propose_roles([(g[0].speaker, join_words(g)) for g in lines])
    time: dict[str, dict[str, float]] = {}
    for g in lines:
        for t in ref:
            overlap = min(g[-1].end, t.end_s) - max(g[0].start, t.start_s)
            if overlap > 0 and g[0].speaker:
                by = time.setdefault(g[0].speaker, {})
                by[t.speaker] = by.get(t.speaker, 0.0) + overlap
    right = sum(
        1 for sp, role in roles.items()
        if sp in time and max(time[sp], key=time[sp].get).split()[0].lower() in role.split()
    )  # fmt: skip
    return {"speakers": len(time), "named": len(roles), "right": right,
            "wrong": len(roles) - right}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("meetings_dir", type=Path)
    ap.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    ap.add_argument("--meetings", help="comma-separated names (overrides --split)")
    ap.add_argument("--threshold", type=float, default=DiarizeParams.threshold)
    ap.add_argument("--min-share", type=float, default=DiarizeParams.min_share)
    ap.add_argument("--piece-s", type=float, default=DiarizeParams.piece_s)
    ap.add_argument("--speakers-known", action="store_true", help="pass the true count")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    names = (
        args.meetings.split(",")
        if args.meetings
        else {"dev": DEV_ALL, "test": TEST, "all": (*DEV_ALL, *TEST)}[args.split]
    )
    params = DiarizeParams(
        threshold=args.threshold,
        min_share=args.min_share,
        piece_s=args.piece_s,
    )
    diarizer = ResemblyzerDiarizer(threads=args.threads, params=params)
    rows = []
    for name in names:
        folder = args.meetings_dir / name
        manifest = json.loads((folder / "manifest.json").read_text())
        ref = reference_turns(folder / "manifest.json")
        known = len({t.speaker for t in ref}) if args.speakers_known else None
        t0, c0 = time.perf_counter(), time.process_time()
        hyp = diarizer.diarize(folder / manifest["audio"], speakers=known)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        s = score(ref, hyp)
        row = {
            "meeting": name,
            "split": manifest["split"],
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "duration_s": manifest["duration_s"],
            **s.as_dict(),
        }
        words = _cached_words(folder)
        if words:
            spoken = assign_speakers(words, hyp)
            row["word_accuracy"] = score_words(ref, spoken).accuracy
            row["roles"] = role_counts(ref, spoken)
        rows.append(row)
        if not args.json:
            words_acc = f"  words {row['word_accuracy']:.3f}" if "word_accuracy" in row else ""
            if "roles" in row:
                r = row["roles"]
                words_acc += f"  roles {r['right']} right, {r['wrong']} wrong of {r['speakers']}"
            print(
                f"{name:12s} {manifest['split']:5s} accuracy {s.accuracy:.3f}{words_acc}  speakers "
                f"{s.found_speakers}/{s.true_speakers}  {wall:6.1f}s ({cpu:.1f}s CPU) for "
                f"{manifest['duration_s']:.0f}s",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for split in ("dev", "test"):
            part = [r for r in rows if r["split"] == split]
            if part:
                mean = sum(r["accuracy"] for r in part) / len(part)
                exact = sum(r["found_speakers"] == r["true_speakers"] for r in part)
                print(f"{split}: mean accuracy {mean:.3f}, true count on {exact}/{len(part)}")
                scored = [r["word_accuracy"] for r in part if "word_accuracy" in r]
                if scored:
                    print(f"{split}: mean word accuracy {sum(scored) / len(scored):.3f}")
                roles = [r["roles"] for r in part if "roles" in r]
                if roles:
                    total = {k: sum(r[k] for r in roles) for k in roles[0]}
                    print(f"{split}: speakers given a role {total['named']} of "
                          f"{total['speakers']}, right {total['right']}, wrong {total['wrong']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
