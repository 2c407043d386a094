"""Write an evaluation as a Markdown report, a per-language bar chart (PNG) and JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evals.metrics import ItemResult
from evals.runner import EvalResult

SEARCH_COLUMNS = [
    ("r1_iou50", "R1@0.5"),
    ("r5_iou50", "R5@0.5"),
    ("mean_iou", "mean IoU"),
    ("mrr", "MRR@10"),
    ("lenient_hit", "lenient"),
]
SEEK_COLUMNS = [("seek_acc", "seek"), ("in_span", "in span")]
NAIVE_COLUMNS = [("naive_seek_acc", "naive seek"), ("naive_in_span", "naive in span")]
ASK_COLUMNS = [
    ("cited_hit", "cited hit"),
    ("keyword_acc", "keywords"),
    ("invalid_citations", "invalid cites"),
    ("raw_invalid_citations", "raw invalid"),
    ("refusals", "refusals"),
    ("latency_p50_s", "p50 s"),
    ("latency_p95_s", "p95 s"),
]
CLAIM_COLUMNS = [("key_fact", "key fact"), ("unsupported_claims", "unsupported"),
                 ("claims", "claims")]
# questions the recording does not answer: how many got an answer instead of a refusal
UNANSWERABLE_COLUMNS = [("unanswerable", "unanswerable"), ("false_answers", "answered")]
# Extra breakdowns of the long-meeting set (key in the metrics, heading).
MEETING_SECTIONS = [
    ("by_split", "split", "By split (dev: tuned on; test: reported)"),
    ("by_group", "group", "By question group"),
    ("by_length", "length", "By media length"),
    ("by_group_lang", "split · group · lang", "By split, group and language"),
]
# Rates drawn in the chart (all in 0..1).
CHART_METRICS = [
    ("seek_acc", "seek accuracy"),
    ("naive_seek_acc", "naive seek accuracy"),
    ("r1_iou50", "R1@IoU0.5"),
    ("r5_iou50", "R5@IoU0.5"),
    ("mrr", "MRR@10"),
    ("cited_hit", "answer cites a true window"),
    ("keyword_acc", "keyword accuracy"),
]


def fmt_value(value: Any, key: str = "") -> str:
    """A metric for a table cell: rates with 3 decimals, seconds with 1, '–' if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and key.endswith("_s"):
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def metric_columns(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    cols = [("n", "n")]
    if "seek_acc" in metrics and "naive_seek_acc" in metrics:
        cols += SEEK_COLUMNS + NAIVE_COLUMNS
    if "r1_iou50" in metrics:
        cols += SEARCH_COLUMNS
    if "cited_hit" in metrics:
        cols += ASK_COLUMNS
    if "unsupported_claims" in metrics:
        cols += CLAIM_COLUMNS
    if "unanswerable" in metrics:
        cols += UNANSWERABLE_COLUMNS
    return cols


def table_columns(rows: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The columns of a table of groups: every metric any group has."""
    cols = list(dict.fromkeys(c for row in rows.values() for c in metric_columns(row)))
    return cols or [("n", "n")]


def metrics_table(rows: dict[str, dict[str, Any]], first: str) -> str:
    """A Markdown table: one row per group, one column per metric any group has."""
    cols = table_columns(rows)
    lines = [
        "| " + " | ".join([first] + [label for _, label in cols]) + " |",
        "|" + "---|" * (len(cols) + 1),
    ]
    for name, metrics in rows.items():
        cells = [name] + [fmt_value(metrics.get(key), key) for key, _ in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _item_row(item: ItemResult, search_cells: int = 0) -> str:
    """One question's row; ``search_cells`` dashes stand in for a search not run on it
    (an unanswerable question has nothing to find)."""
    question = item.question.replace("|", "\\|")
    cells = [str(item.index + 1), item.lang, item.source, item.media, question]
    if item.search is None:
        cells += ["–"] * search_cells
    else:
        rank = item.search.rank
        cells += [str(rank) if rank else "–", f"{item.search.top_iou:.2f}"]
        if item.naive is not None:
            cells += [_yes(item.search.in_span if item.scoring == "span" else item.search.seek),
                      _yes(item.naive.in_span if item.scoring == "span" else item.naive.seek)]
    if item.ask is not None:
        kw = item.ask.keywords
        cited = "yes" if item.ask.grounded else "no"
        if item.scoring == "refuse":  # the right answer is a refusal
            cited = "refused" if item.ask.refused else "answered"
        cells += [
            cited,
            "–" if kw is None else f"{kw:.2f}",
            str(item.ask.invalid),
            f"{item.ask.latency_s:.1f}",
        ]
        if item.ask.unsupported is not None:
            cells.append(str(item.ask.unsupported))
    return "| " + " | ".join(cells) + " |"


def _yes(value: float) -> str:
    return "yes" if value else "no"


def _meeting_parts(m: dict[str, Any]) -> list[str]:
    """System-vs-naive headline, the meeting breakdowns and whole-recording scores."""
    parts: list[str] = []
    if "naive_seek_acc" in m:
        parts += [
            "## System vs naive baseline",
            "",
            "*seek*: the top hit overlaps the answering turn(s) and starts at most 10 s before "
            "them (where the player lands); *in span*: the top hit's middle lies inside a "
            "broad QMSum span. Naive: 3 consecutive Whisper segments per chunk (sliding, "
            "stride 1), multilingual e5 dense only, no keywords.",
            "",
            "| set | system seek | naive seek | system in span | naive in span |",
            "|---|---|---|---|---|",
        ]
        for name, row in {"all": m, **m.get("by_group_lang", {})}.items():
            parts.append("| " + " | ".join([name] + [
                fmt_value(row.get(k)) for k in
                ("seek_acc", "naive_seek_acc", "in_span", "naive_in_span")
            ]) + " |")
        parts.append("")
    for key, first, heading in MEETING_SECTIONS:
        if m.get(key):
            parts += [f"## {heading}", "", metrics_table(m[key], first), ""]
    if "summaries" in m:
        parts += ["## Summaries and chapters", "",
                  "ROUGE-1 of the summary against QMSum's whole-meeting answer; chapter "
                  "boundary F1 (±45 s) against QMSum's topic boundaries.", "",
                  "| recording | split | ROUGE-1 | chapter F1 | chapters | error |",
                  "|---|---|---|---|---|---|"]
        for name, row in m["summaries"]["recordings"].items():
            parts.append("| " + " | ".join([
                name, row["split"], fmt_value(row.get("rouge1")), fmt_value(row.get("chapter_f1")),
                fmt_value(row.get("chapters")), str(row.get("error", "")).replace("|", "/")[:80],
            ]) + " |")
        parts.append("")
    return parts


def render_markdown(result: EvalResult, chart_name: str | None = None) -> str:
    """The whole report as Markdown."""
    m = result.metrics
    if not result.items:
        return "\n".join([
            "# ChronoRAG evaluation", "",
            f"- dataset: `{result.dataset}` (mode `{result.mode}`)",
            f"- run: {result.started_at}, {result.elapsed_s:.0f} s", "",
            *_meeting_parts(m),
        ])
    parts = [
        "# ChronoRAG evaluation",
        "",
        f"- dataset: `{result.dataset}` ({m['n']} questions, mode `{result.mode}`)",
        f"- run: {result.started_at}, {result.elapsed_s:.0f} s",
        "- models: " + ", ".join(f"{k}={v}" for k, v in result.models.items() if v),
        "",
        "A search hit counts only on the right media; R@k uses IoU ≥ 0.5 with a true "
        "window; *lenient*: the top hit overlaps a true window at all. *cited hit*: the "
        "answer cites a span overlapping a true window. *invalid cites*: citations outside "
        "the media or outside the evidence the agent retrieved (*raw*: in the model's text, "
        "before the agent repairs or drops them). A refusal is an answer without citations "
        "or one that says the agent's not-found sentence.",
        "",
        "## Overall",
        "",
        metrics_table({"all": m}, "set"),
        "",
        "## By language",
        "",
        metrics_table(m["by_lang"], "lang"),
        "",
        "## By source",
        "",
        metrics_table(m["by_source"], "source"),
        "",
        *_meeting_parts(m),
    ]
    if chart_name:
        parts += [f"![per-language scores]({chart_name})", ""]
    head = ["#", "lang", "source", "media", "question"]
    search_cells = 0
    if result.mode in ("search", "both"):
        head += ["rank", "top IoU"]
        if any(i.naive is not None for i in result.items):
            head += ["system hit", "naive hit"]
        search_cells = len(head) - 5
    if result.mode in ("ask", "both"):
        head += ["cited hit", "keywords", "invalid", "latency s"]
        if any(i.ask is not None and i.ask.unsupported is not None for i in result.items):
            head += ["unsupported"]
    parts += [
        "## Questions",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *(_item_row(i, search_cells) for i in result.items),
        "",
    ]
    return "\n".join(parts)


def render_chart(by_lang: dict[str, dict[str, Any]], path: Path) -> Path:
    """Grouped bars: one group per language, one bar per rate metric present."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = list(by_lang)
    metrics = [
        (key, label)
        for key, label in CHART_METRICS
        if any(not _missing(by_lang[lang].get(key)) for lang in langs)
    ]
    if not langs or not metrics:
        raise ValueError("nothing to chart: no per-language rates")
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(langs) + 3), 4.2), dpi=110)
    for k, (key, label) in enumerate(metrics):
        values = [_zero(by_lang[lang].get(key)) for lang in langs]
        xs = [i + (k - (len(metrics) - 1) / 2) * width for i in range(len(langs))]
        bars = ax.bar(xs, values, width=width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(langs)), [f"{lang} (n={by_lang[lang]['n']})" for lang in langs])
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("score")
    ax.set_title("ChronoRAG evaluation by question language")
    ax.legend(fontsize=8, loc="upper center", ncols=min(len(metrics), 3),
              bbox_to_anchor=(0.5, -0.1))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _zero(value: Any) -> float:
    return 0.0 if _missing(value) else float(value)


def write_report(result: EvalResult, out_dir: Path) -> dict[str, Path]:
    """Write ``report.md``, ``by_language.png`` and ``results.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = None
    if result.items:
        chart = render_chart(result.metrics["by_lang"], out_dir / "by_language.png")
    report = out_dir / "report.md"
    report.write_text(render_markdown(result, chart.name if chart else None), encoding="utf-8")
    data = out_dir / "results.json"
    payload = {
        "summary": result.summary(),
        "media": result.media,
        "items": [_item_json(i) for i in result.items],
    }
    data.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str) + "\n",
                    encoding="utf-8")
    paths = {"report": report, "json": data}
    if chart is not None:
        paths["chart"] = chart
    return paths


def _item_json(item: ItemResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": item.index, "question": item.question, "media": item.media,
        "lang": item.lang, "source": item.source, "detail": item.detail,
    }
    if item.search is not None:
        out["search"] = asdict(item.search)
    if item.ask is not None:
        out["ask"] = asdict(item.ask)
    if item.naive is not None:
        out["naive"] = asdict(item.naive)
    if item.group:
        out.update(group=item.group, split=item.split, length=item.length, scoring=item.scoring)
    return out
