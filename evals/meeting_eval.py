"""What the runner needs for the long-meeting set: the shared library, the cached Whisper
transcripts, the reference transcript behind each citation, the unsupported-claims check,
and whole-recording scores (summary ROUGE-1, chapter boundary F1).

The library is *every* recording built in the meetings folder that has its cached
transcript (dev and test), so a dev-only run searches the same library as a full run and
numbers stay comparable once the whole set is built.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.claims import Cited, ClaimCheck, check_claims, sentence_citations
from ingestion.pipeline import file_sha256, media_id_of

if TYPE_CHECKING:
    from app.container import Container


@dataclass
class MeetingLibrary:
    """Manifests of the built recordings, keyed by the media id of their audio."""

    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)  # media id -> manifest
    audio: dict[str, Path] = field(default_factory=dict)  # media id -> audio (transcribed)
    transcripts: list[Path] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> MeetingLibrary:
        lib = cls()
        for path in sorted(Path(folder).glob("*/manifest.json")):
            manifest = json.loads(path.read_text(encoding="utf-8"))
            audio = path.parent / manifest["audio"]
            media_id = media_id_of(file_sha256(audio))
            lib.manifests[media_id] = manifest
            transcript = path.parent / "transcript.json"
            if transcript.is_file():
                lib.audio[media_id] = audio
                lib.transcripts.append(transcript)
        return lib

    def reference(self, media_id: str, start_s: float, end_s: float) -> str:
        """The people-made text (and speakers) of the turns overlapping [start_s, end_s]."""
        manifest = self.manifests.get(media_id)
        if manifest is None:
            return ""
        parts = [manifest["meeting"]]
        for turn in manifest["turns"]:
            if turn["start_s"] <= end_s and turn["end_s"] >= start_s:
                parts += [turn["speaker"], turn["text"]]
        return " ".join(parts)

    def speakers(self, media_id: str, start_s: float, end_s: float) -> set[str]:
        """Who said [start_s, end_s]: the true speaker (role) holding most of it, or every
        one of them tied (a span in a silence: the nearest turn's speaker)."""
        manifest = self.manifests.get(media_id)
        if manifest is None or not manifest["turns"]:
            return set()
        held: dict[str, float] = {}
        for t in manifest["turns"]:
            overlap = min(end_s, t["end_s"]) - max(start_s, t["start_s"])
            if overlap > 0:
                held[t["speaker"]] = held.get(t["speaker"], 0.0) + overlap
        if not held:
            middle = (start_s + end_s) / 2
            near = min(manifest["turns"],
                       key=lambda t: abs((t["start_s"] + t["end_s"]) / 2 - middle))  # fmt: skip
            return {near["speaker"]}
        most = max(held.values())
        return {sp for sp, time in held.items() if time == most}


def use_cached_transcripts(container: Container, transcripts: Sequence[Path]) -> None:
    """Let the ingestor take Whisper's output from ``transcript.json`` when the audio hash
    and model match (same transcriber, same file: no second Whisper pass)."""
    from evals.meeting_transcripts import CachedTranscriber

    if not transcripts:
        return
    pipeline = speech_pipeline(container)
    if not isinstance(pipeline.transcriber, CachedTranscriber):
        pipeline.transcriber = CachedTranscriber(pipeline.transcriber, list(transcripts))


def speech_pipeline(container: Container) -> Any:
    """The object holding the ingestion pipeline's ``transcriber`` (the ingestor itself, or
    the pipeline the lifecycle-managed ingestor wraps)."""
    ingestor = container.ingestor
    if hasattr(ingestor, "transcriber"):
        return ingestor
    return ingestor.pipeline


def claim_check(
    answer: str, citations: Sequence[Any], title_ids: dict[str, str], lib: MeetingLibrary
) -> ClaimCheck:
    """Unsupported claims of an answer against the reference turns its sentences cite."""
    from graphs.citations import CITATION_RE, parse_mmss

    def resolve(m: Any) -> Cited:
        media_id = title_ids.get(m["title"].strip().casefold(), "")
        return Cited(media_id, parse_mmss(m["start"]), parse_mmss(m["end"]))

    fallback = [Cited(c.media_id, c.start_s, c.end_s) for c in citations]
    pairs = sentence_citations(answer, CITATION_RE, resolve, fallback)
    return check_claims(pairs, lib.reference, lib.speakers)


def score_summaries(
    container: Container, lib: MeetingLibrary, media_ids: Sequence[str]
) -> dict[str, Any]:
    """Summary ROUGE-1 against QMSum's whole-meeting answer and chapter boundary F1 (±45 s)
    against QMSum's topic boundaries, per recording and averaged."""
    from evals.summary_metrics import boundary_f1, chapter_boundaries, rouge1

    rows: dict[str, dict[str, Any]] = {}
    for media_id in media_ids:
        manifest = lib.manifests[media_id]
        row: dict[str, Any] = {"split": manifest["split"]}
        try:
            if manifest.get("summary"):
                made = container.agent.summarize(media_id, style="summary")
                row["rouge1"] = rouge1(made.summary, manifest["summary"]["answer"])
                row["summary"] = made.summary
            chapters = container.agent.summarize(media_id, style="chapters").chapters
            starts = [w[0] for t in manifest["topics"] for w in t["windows"][:1]]
            score = boundary_f1(chapter_boundaries([c.start_s for c in chapters]),
                                chapter_boundaries(starts))
            row.update(chapter_f1=score.f1, chapters=len(chapters))
        except Exception as exc:  # a failing recording is reported, the others still run
            row["error"] = f"{type(exc).__name__}: {exc}"
        rows[manifest["meeting"]] = row
    out: dict[str, Any] = {"recordings": rows}
    for split in sorted({r["split"] for r in rows.values()}):
        mine = [r for r in rows.values() if r["split"] == split]
        for key in ("rouge1", "chapter_f1"):
            vals = [r[key] for r in mine if key in r]
            out[f"{split}_{key}"] = sum(vals) / len(vals) if vals else None
    return out
