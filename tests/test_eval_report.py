"""Report writing on a hand-made result: JSON summary shape, Markdown tables, PNG chart."""

from __future__ import annotations

import json

import cv2
import pytest

from evals.metrics import AskScore, ItemResult, SearchScore, aggregate
from evals.report import render_markdown, write_report
from evals.runner import EvalResult


def _result(with_ask: bool) -> EvalResult:
    def search(rank, top):
        return SearchScore(
            r1=float(rank == 1), r5=float(rank is not None and rank <= 5), top_iou=top,
            rr=1 / rank if rank else 0.0, lenient=float(rank is not None), rank=rank,
        )

    rows = [("en", "speech", 1, 0.9), ("en", "screen", 3, 0.2), ("hi", "speech", None, 0.0),
            ("ta", "speech", 2, 0.4)]
    items = []
    for i, (lang, source, rank, top) in enumerate(rows):
        ask = AskScore(float(rank == 1), 1.0 if rank else 0.0, 1 if rank else 0, 0,
                       float(not rank), 2.0 + i) if with_ask else None
        items.append(ItemResult(i, f"question {i} | with a pipe", "a.mp4", lang, source,
                                search=search(rank, top), ask=ask))
    return EvalResult(
        dataset="set.jsonl", mode="both" if with_ask else "search", items=items,
        metrics=aggregate(items), models={"asr": "tiny.en"}, started_at="2026-01-01T00:00:00",
        elapsed_s=12.3,
    )


def test_summary_json_shape_search_only():
    summary = _result(with_ask=False).summary()
    line = json.dumps(summary)  # one JSON object; NaN would not survive strict parsing
    back = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    for key in ("n", "r1_iou50", "r5_iou50", "mean_iou", "mrr", "lenient_hit", "by_lang",
                "by_source", "mode"):
        assert key in back
    assert back["n"] == 4
    assert back["r1_iou50"] == pytest.approx(0.25)
    assert back["mrr"] == pytest.approx(round((1 + 1 / 3 + 0 + 0.5) / 4, 4))
    assert set(back["by_lang"]) == {"en", "hi", "ta"}
    assert "cited_hit" not in back


def test_summary_json_shape_with_ask():
    back = json.loads(json.dumps(_result(with_ask=True).summary()))
    for key in ("cited_hit", "keyword_acc", "invalid_citations", "refusals",
                "latency_p50_s", "latency_p95_s"):
        assert key in back
    assert back["refusals"] == 1
    assert back["latency_p50_s"] == pytest.approx(3.5)
    assert back["by_lang"]["hi"]["refusals"] == 1


def test_markdown_has_every_group_and_escapes_pipes():
    md = render_markdown(_result(with_ask=True), "chart.png")
    assert "## By language" in md and "## By source" in md
    assert "| hi | 1 |" in md and "| ta | 1 |" in md and "| screen | 1 |" in md
    assert "question 0 \\| with a pipe" in md
    assert "![per-language scores](chart.png)" in md
    header = next(line for line in md.splitlines() if line.startswith("| set |"))
    assert "R1@0.5" in header and "cited hit" in header


def test_write_report_files(tmp_path):
    paths = write_report(_result(with_ask=True), tmp_path / "out")
    assert paths["report"].read_text(encoding="utf-8").startswith("# ChronoRAG evaluation")
    image = cv2.imread(str(paths["chart"]))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 400
    assert image.std() > 10  # bars and text drawn, not a blank canvas
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert len(data["items"]) == 4
    assert data["items"][2]["search"]["rank"] is None
    assert data["summary"]["n"] == 4
