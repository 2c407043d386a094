"""Run a dataset through a ``Container``: ingest each media once, search and/or ask, score.

Search questions go to ``container.search.search`` over the whole library (no media
filter), so a hit only counts on the right media. Ask questions go to
``container.agent.stream`` (the ``ask`` result plus the model's raw text); citations are
checked against the media durations and against the evidence the agent retrieved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evals.dataset import EvalItem, load_dataset
from evals.meeting_eval import (
    MeetingLibrary,
    claim_check,
    score_summaries,
    use_cached_transcripts,
)
from evals.metrics import (
    AskScore,
    ItemResult,
    Span,
    aggregate,
    length_bucket,
    score_answer,
    score_search,
)
from ingestion.pipeline import file_sha256, media_id_of

if TYPE_CHECKING:
    from app.container import Container

Mode = Literal["search", "ask", "both", "summary"]
# (phase, done, total) after each question; phase is "questions".
ProgressFn = Callable[[str, int, int], None]
# (media name, stage, fraction) from the ingestor.
IngestProgressFn = Callable[[str, str, float], None]

SEARCH_LIMIT = 10  # R5 uses the first five; MRR is MRR@10
SEARCH_KEYS = ("r1_iou50", "r5_iou50", "mean_iou", "mrr", "lenient_hit", "seek_acc")


class EvalError(RuntimeError):
    """The evaluation cannot go on (e.g. a media file failed to ingest)."""


@dataclass
class EvalResult:
    """Scored items plus the aggregate metrics and what produced them."""

    dataset: str
    mode: Mode
    items: list[ItemResult]
    metrics: dict[str, Any]
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    elapsed_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The JSON object printed by ``chronorag eval --json`` (NaN becomes null).

        The search keys are always there; they are null when search was not run.
        """
        return _jsonable(
            {
                "n": self.metrics.get("n", len(self.items)),
                **{key: None for key in SEARCH_KEYS},
                **self.metrics,
                "mode": self.mode,
                "dataset": self.dataset,
                "models": self.models,
                "started_at": self.started_at,
                "elapsed_s": round(self.elapsed_s, 1),
            }
        )


def media_id_for(path: Path) -> str:
    """The registry id of a file: first 16 hex of its sha256 (as the ingestor assigns)."""
    return media_id_of(file_sha256(Path(path)))


def ingest_all(
    container: Container,
    paths: Sequence[Path],
    *,
    progress: IngestProgressFn | None = None,
) -> dict[Path, str]:
    """Ingest each distinct file unless it is already ready; returns path -> media id."""
    ids: dict[Path, str] = {}
    for path in dict.fromkeys(paths):
        media_id = media_id_for(path)
        record = container.registry.get_media(media_id)
        if record is None or record.status != "ready":
            stage_cb = None
            if progress is not None:
                def stage_cb(stage: str, frac: float, _name: str = path.name) -> None:
                    progress(_name, stage, frac)
            try:
                outcome = container.ingestor.ingest(path, title=path.stem, progress=stage_cb)
            except Exception as exc:
                raise EvalError(f"{path}: ingestion failed: {exc}") from exc
            if outcome.status != "ready":
                raise EvalError(f"{path}: ingestion failed: {outcome.error}")
            if outcome.media_id != media_id:
                raise EvalError(
                    f"{path}: ingestor assigned id {outcome.media_id}, expected {media_id}"
                )
        ids[path] = media_id
    return ids


def _span(obj: Any) -> Span:
    return Span(str(obj.media_id), float(obj.start_s), float(obj.end_s))


def run_search(
    container: Container, item: EvalItem, media_id: str, *, restrict_to_media: bool = False
) -> tuple[Any, dict]:
    """Search the whole library (or only the question's own media) for one question, as
    the API does (a speaker the question names keeps to their lines), and score the
    ranked hits."""
    from vectorstore.schema import SearchRequest

    media_ids = [media_id] if restrict_to_media else None
    hits = container.speaker_search.find(
        SearchRequest(query=item.question, media_ids=media_ids, limit=SEARCH_LIMIT)
    ).hits
    spans = [_span(h) for h in hits]
    score = score_search(spans, media_id, item.windows)
    detail = {
        "top": [
            {"media_id": h.media_id, "source": h.source, "start_s": h.start_s,
             "end_s": h.end_s, "text": h.text[:160]}
            for h in hits[:3]
        ]
    }
    return score, detail


def agent_evidence(agent: Any, thread_id: str) -> list[Span] | None:
    """The evidence the agent retrieved for its last turn in ``thread_id`` (from its
    LangGraph checkpoint), or None when the agent does not expose it."""
    graph = getattr(agent, "graph", None)
    if graph is None or not hasattr(graph, "get_state"):
        return None
    try:
        values = graph.get_state({"configurable": {"thread_id": thread_id}}).values
    except Exception:  # no checkpoint for the thread: treat as not exposed
        return None
    rows = values.get("evidence") if isinstance(values, dict) else None
    if rows is None:
        return None
    return [Span(str(r["media_id"]), float(r["start_s"]), float(r["end_s"])) for r in rows]


def _indexed_under(container: Container, cites: Sequence[Span]) -> list[Span]:
    """Fallback evidence: the indexed chunks under each cited span."""
    spans: list[Span] = []
    for cite in cites:
        if cite.media_id and 0 <= cite.start_s <= cite.end_s:
            chunks = container.search.window(cite.media_id, cite.start_s, cite.end_s)
            spans.extend(_span(c) for c in chunks)
    return spans


def raw_citations(text: str, title_ids: dict[str, str]) -> list[Span]:
    """Citations ``[title @ mm:ss–mm:ss]`` as the model wrote them; an unknown title
    maps to media id "" (invalid: unknown media)."""
    from graphs.citations import CITATION_RE, parse_mmss

    spans = []
    for m in CITATION_RE.finditer(text):
        media_id = title_ids.get(m["title"].strip().casefold(), "")
        spans.append(Span(media_id, parse_mmss(m["start"]), parse_mmss(m["end"])))
    return spans


def refusal_phrases() -> list[str]:
    """The agent's "not found" sentences in every language it answers in."""
    try:
        from graphs.language import REFUSALS
    except ImportError:  # another agent implementation: only citation-less answers count
        return []
    return list(REFUSALS.values())


def run_ask(
    container: Container,
    item: EvalItem,
    media_id: str,
    durations: dict[str, float | None],
    title_ids: dict[str, str],
    *,
    restrict_to_media: bool = False,
    library: MeetingLibrary | None = None,
) -> tuple[AskScore, dict]:
    """Ask the agent one question (streamed, to see the model's raw text) and score it.

    With a meetings ``library`` the answer's claims are also checked against the reference
    turns each sentence cites (``unsupported``)."""
    agent = container.agent
    t0 = time.perf_counter()
    tokens: list[str] = []
    result = None
    try:
        media_ids = [media_id] if restrict_to_media else None
        for event in agent.stream(item.question, media_ids=media_ids):
            if event.get("type") == "token":
                tokens.append(event["text"])
            elif event.get("type") == "final":
                result = event["result"]
        if result is None:
            raise RuntimeError("the agent finished without a result")
    except Exception as exc:  # an eval reports a failing question instead of stopping
        score = AskScore(
            grounded=0.0, keywords=0.0 if item.keywords else None, citations=0, invalid=0,
            refused=1.0, latency_s=time.perf_counter() - t0, error=True,
        )
        return score, {"error": f"{type(exc).__name__}: {exc}"}
    latency = time.perf_counter() - t0
    cites = [_span(c) for c in result.citations]
    raw = raw_citations("".join(tokens), title_ids)
    evidence = agent_evidence(agent, result.thread_id)
    evidence_kind = "agent"
    if evidence is None:
        evidence, evidence_kind = _indexed_under(container, [*cites, *raw]), "index"
    score = score_answer(
        answer=result.answer,
        citations=cites,
        media_id=media_id,
        windows=item.windows,
        keywords=item.keywords,
        latency_s=latency,
        durations=durations,
        evidence=evidence,
        raw_citations=raw,
        refusal_phrases=refusal_phrases(),
    )
    claims = None
    if library is not None:
        claims = claim_check(result.answer, result.citations, title_ids, library)
        score = replace(score, claims=claims.claims, unsupported=claims.unsupported)
    detail = {
        "answer": result.answer,
        "raw_answer": "".join(tokens),
        "evidence": evidence_kind,
        "evidence_n": len(evidence),
        "citations": [
            {"media_id": c.media_id, "start_s": c.start_s, "end_s": c.end_s}
            for c in cites
        ],
    }
    if claims is not None and claims.details:
        detail["unsupported"] = claims.details
    return score, detail


def run_eval(
    container: Container,
    dataset: Path,
    *,
    mode: Mode = "search",
    restrict_ask_to_media: bool = False,
    progress: ProgressFn | None = None,
    ingest_progress: IngestProgressFn | None = None,
    meetings_dir: Path | None = None,
) -> EvalResult:
    """Ingest the dataset's media, run every question in ``mode`` and score it all.

    ``meetings_dir`` (the long-meeting set, :mod:`evals.meetings`): every recording built
    there is ingested (the same library for any split), Whisper output comes from the cached
    transcripts, each question is asked about its own recording (the meetings all discuss
    the same remote control, prices included: a user asks on the meeting's page), the naive
    baseline runs beside search on the same recording, answers get the unsupported-claims
    check, and ``mode="summary"`` scores summaries and chapters instead of questions.
    """
    if mode not in ("search", "ask", "both", "summary"):
        raise ValueError(f"mode must be search, ask, both or summary, not {mode!r}")
    if mode == "summary" and meetings_dir is None:
        raise ValueError("mode summary needs the meetings set (--set meetings)")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    items = load_dataset(dataset)
    library = MeetingLibrary.load(meetings_dir) if meetings_dir is not None else None
    extra: list[Path] = []
    if library is not None:
        use_cached_transcripts(container, library.transcripts)
        extra = list(library.audio.values())
    ids = ingest_all(container, [i.media for i in items] + extra, progress=ingest_progress)
    records = container.registry.list_media()
    durations: dict[str, float | None] = {r.media_id: r.duration_s for r in records}
    title_ids = {r.title.strip().casefold(): r.media_id for r in records}
    naive = _naive_index(container, library) if library and mode != "summary" else None
    if mode in ("ask", "both", "summary"):
        _ = container.agent  # build it (and start the LLM server) before any timing
    results: list[ItemResult] = []
    metrics_extra: dict[str, Any] = {}
    if mode == "summary":
        assert library is not None
        wanted = list(dict.fromkeys(ids[i.media] for i in items))
        metrics_extra["summaries"] = score_summaries(container, library, wanted)
    # a question the media does not answer has nothing to find: only the agent's refusal
    # scores it
    questions = [i for i in items if mode != "search" or i.scoring != "refuse"]
    for n, item in enumerate(questions if mode != "summary" else []):
        media_id = ids[item.media]
        res = ItemResult(
            index=n, question=item.question, media=item.media.name,
            lang=item.lang, source=item.source, group=item.group or "",
            split=item.split or "", scoring=item.scoring,
            length=length_bucket(durations.get(media_id)) if library else "",
        )
        if mode in ("search", "both") and item.scoring != "refuse":  # nothing to find
            res.search, res.detail["search"] = run_search(
                container, item, media_id, restrict_to_media=library is not None
            )
            if naive is not None:
                hits = naive.search(item.question, media_id=media_id)
                res.naive = score_search(hits, media_id, item.windows)
        if mode in ("ask", "both"):
            res.ask, res.detail["ask"] = run_ask(
                container, item, media_id, durations, title_ids,
                restrict_to_media=restrict_ask_to_media or library is not None,
                library=library,
            )
        results.append(res)
        if progress is not None:
            progress("questions", n + 1, len(questions))
    media = {
        path.name: {"media_id": mid, "duration_s": durations.get(mid)}
        for path, mid in ids.items()
    }
    metrics = aggregate(results) if results else {"n": 0}
    return EvalResult(
        dataset=str(dataset),
        mode=mode,
        items=results,
        metrics={**metrics, **metrics_extra},
        media=media,
        models=_models(container),
        started_at=started,
        elapsed_s=time.perf_counter() - t0,
    )


def _naive_index(container: Container, library: MeetingLibrary) -> Any:
    """The naive sliding-window baseline over the cached transcripts (None without any)."""
    from evals.naive import NaiveIndex

    if not library.transcripts:
        return None
    cache = container.settings.data_dir / "naive"
    return NaiveIndex(container.embedder, library.transcripts, cache)


def _models(container: Container) -> dict[str, Any]:
    try:
        described = container.describe_models()
    except Exception:  # describing models must never sink a finished evaluation
        return {}
    return {role: info.get("model") or info.get("backend") for role, info in described.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
