"""Questions naming a speaker on the long-meeting set: the agent with and without its
speaker argument, same library, same process, same questions.

The questions are the set's English pointed questions that name a meeting role ("What
did the marketing expert draw?"), picked by a fixed pattern (not by the agent's matcher).
The meetings are ingested into ``--home`` from their cached Whisper transcripts and the
real resemblyzer diarizer's turns cached beside the set (``.bench-diarization.pkl``,
written by ``bench/meeting_speakers.py``; a meeting missing there is diarized now, not
stored). Each diarized speaker is then renamed after the true role that speaks most of
its time, by the best one-to-one mapping — what a user does after listening (a cluster
left over keeps its id). Every question is asked twice: with the speaker
directory (the default agent) and without it (``speakers=None``: the agent before),
each on its own meeting (as ``chronorag eval --set meetings`` does).

Scores per question: ``grounded`` (a citation overlaps a true answering turn, as in
``chronorag eval``), ``keywords`` (the key fact is in the answer) and ``by_speaker``
(share of cited speech time spoken by the asked role, from the manifest's true turns).

    python -m evals.speaker_questions .chronorag/meetings --home /tmp/x [--split test] --json
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.dataset import EvalItem
from evals.meeting_eval import MeetingLibrary, use_cached_transcripts
from evals.meetings import DEV, TEST, dataset_lines, existing_manifests, load_questions
from evals.metrics import Span
from evals.runner import run_ask
from evals.speakers import reference_turns, score
from ingestion.diarize import SpeakerTurn

ROLES = {  # manifest speaker → what people call them (AMI's role names)
    "Project Manager": "Project Manager",
    "Marketing": "Marketing Expert",
    "Industrial Designer": "Industrial Designer",
    "User Interface": "User Interface Designer",
}
ASKED = re.compile(
    r"\b(?P<role>project manager|marketing|industrial designer|user interface)\b", re.I
)
MAX_QUESTIONS = 12


class CachedTurns:
    """The real diarizer's turns, computed once per meeting and cached beside the set."""

    name = "resemblyzer (cached turns)"

    def __init__(self, turns: dict[str, list[SpeakerTurn]]) -> None:
        self.turns = turns
        self._live: Any = None

    def diarize(self, path: Path, *, speakers: int | None = None, progress: Any = None):
        meeting = Path(path).stem
        if meeting in self.turns:
            return list(self.turns[meeting])
        if self._live is None:
            from ingestion.diarize import ResemblyzerDiarizer

            self._live = ResemblyzerDiarizer(threads=2)
        return self._live.diarize(path, speakers=speakers, progress=progress)


def speaker_questions(root: Path, split: str = "dev") -> list[dict[str, Any]]:
    rows = dataset_lines(existing_manifests(root), root, load_questions())
    return [
        r for r in rows
        if r["split"] == split and r["lang"] == "en" and r.get("group") == "pointed"
        and ASKED.search(r["question"])
    ][:MAX_QUESTIONS]  # fmt: skip


def role_of(question: str) -> str:
    m = ASKED.search(question)
    assert m is not None
    said = m.group("role").lower()
    return next(r for r in ROLES if r.lower().startswith(said.split()[0]))


def oracle_names(doc: Any, manifest: Path) -> dict[str, str]:
    """Diarized id → the role name of its true speaker, by the best one-to-one mapping of
    speech time (:func:`evals.speakers.score`; a cluster left over keeps its id)."""
    said = [SpeakerTurn(s.start_s, s.end_s, s.speaker) for s in doc.segments if s.speaker]
    mapping = score(reference_turns(manifest), said).mapping
    return {sp: ROLES[role] for role, sp in mapping.items()}


def by_speaker(cites: Sequence[Span], manifest: dict[str, Any], role: str) -> float | None:
    """Share of the cited time that the asked role speaks (true turns)."""
    total = asked = 0.0
    for c in cites:
        for t in manifest["turns"]:
            shared = min(c.end_s, t["end_s"]) - max(c.start_s, t["start_s"])
            if shared > 0:
                total += shared
                asked += shared if t["speaker"] == role else 0.0
    return None if total == 0 else asked / total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the long-meeting folder (read only)")
    parser.add_argument("--home", type=Path, required=True, help="a fresh data dir")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--split", choices=["dev", "test"], default="dev", help="dev tunes; test is reported"
    )
    args = parser.parse_args(argv)

    from app import transcripts
    from app.config import Settings
    from app.container import Container

    questions = speaker_questions(args.root, args.split)
    if not questions:
        parser.error(f"{args.root}: no {args.split} questions name a role")
    meetings = sorted({q["meeting"] for q in questions})
    assert set(meetings) <= set(DEV if args.split == "dev" else TEST)
    cache = args.root / ".bench-diarization.pkl"
    turns = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
    container = Container(Settings(home=args.home))
    try:
        library = MeetingLibrary.load(args.root)
        use_cached_transcripts(container, library.transcripts)
        container.pipeline.diarizer = CachedTurns(turns)
        manifests: dict[str, dict[str, Any]] = {}
        media: dict[str, str] = {}
        for meeting in meetings:
            audio = next(p for p in library.audio.values() if p.parent.name == meeting)
            out = container.ingestor.ingest(audio, title=meeting)
            assert out.status == "ready", out.error
            media[meeting] = out.media_id
            manifests[meeting] = library.manifests[out.media_id]
            doc = transcripts.load(container, out.media_id)
            names = oracle_names(doc, args.root / meeting / "manifest.json")
            transcripts.rename(container, out.media_id, names)
            print(f"{meeting}: {names}", file=sys.stderr, flush=True)
        durations = {m.media_id: m.duration_s for m in container.registry.list_media()}
        titles = {m.title: m.media_id for m in container.registry.list_media()}
        directory = container.agent.nodes.speakers
        rows = []
        for q in questions:
            item = EvalItem.model_validate({**q, "media": args.root / q["media"]})
            role = role_of(q["question"])
            row: dict[str, Any] = {"meeting": q["meeting"], "question": q["question"],
                                   "role": role}  # fmt: skip
            for mode, speakers in (("without", None), ("with", directory)):
                container.agent.nodes.speakers = speakers
                score, detail = run_ask(container, item, media[q["meeting"]], durations, titles,
                                        restrict_to_media=True, library=library)  # fmt: skip
                cites = [Span(c["media_id"], c["start_s"], c["end_s"])
                         for c in detail.get("citations", [])]  # fmt: skip
                row[mode] = {
                    "grounded": score.grounded,
                    "keywords": score.keywords,
                    "refused": score.refused,
                    "by_speaker": by_speaker(cites, manifests[q["meeting"]], role),
                    "latency_s": round(score.latency_s, 1),
                    "answer": detail.get("answer", detail.get("error")),
                }
            container.agent.nodes.speakers = directory
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        container.close()
    summary = {mode: _mean_scores([r[mode] for r in rows]) for mode in ("without", "with")}
    report = {"questions": len(rows), "meetings": meetings, "summary": summary, "rows": rows}
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        for mode, s in summary.items():
            print(f"{mode:>8} speaker argument: " + ", ".join(f"{k} {v}" for k, v in s.items()))
    return 0


def _mean_scores(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in ("grounded", "keywords", "refused", "by_speaker", "latency_s"):
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = round(sum(values) / len(values), 3) if values else None
    return out


if __name__ == "__main__":
    raise SystemExit(main())
