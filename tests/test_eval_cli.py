"""``chronorag eval`` end to end on part of the development set (real models, tiny.en),
plus the CLI's input errors. The scores themselves are not asserted: only their shape,
ranges, the files written and that a second run does not ingest again."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app
from evals.devset import SPEECH_ROOT, build_devset

runner = CliRunner()

SUBSET_MEDIA = "commands_and_cards.mp4"  # the shorter of the two files (~24 s)


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """Four questions (en/hi/ta, speech and screen) about one media file."""
    if not (SPEECH_ROOT / "librivox").is_dir():
        pytest.skip("Debian pocketsphinx-testdata not installed")
    root = tmp_path_factory.mktemp("eval_devset")
    rows = [json.loads(line) for line in build_devset(root).read_text().splitlines()]
    mine = [r for r in rows if r["media"] == SUBSET_MEDIA]
    picked = [
        next(r for r in mine if r["lang"] == "en" and r["source"] == "speech"),
        next(r for r in mine if r["lang"] == "hi" and r["source"] == "screen"),
        next(r for r in mine if r["lang"] == "ta" and r["source"] == "speech"),
        next(r for r in mine if r["lang"] == "en" and r["source"] == "screen"),
    ]
    path = root / "subset.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in picked) + "\n")
    return path


def _env(home):
    return {"CHRONORAG_HOME": str(home), "CHRONORAG_ASR_MODEL": "tiny.en",
            "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE", "COLUMNS": "200"}


def _last_json(stdout: str) -> dict:
    line = stdout.strip().splitlines()[-1]
    return json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One data dir for the module: the ask test reuses the search test's ingestion."""
    return tmp_path_factory.mktemp("eval_home")


@pytest.mark.slow
def test_eval_search_end_to_end(subset, home, tmp_path):
    out = tmp_path / "report"
    first = runner.invoke(app, ["eval", str(subset), "--json", "--out", str(out)],
                          env=_env(home))
    assert first.exit_code == 0, first.output + repr(first.exception)
    summary = _last_json(first.stdout)
    assert summary["n"] == 4 and summary["mode"] == "search"
    for key in ("r1_iou50", "r5_iou50", "mean_iou", "mrr", "lenient_hit"):
        assert 0.0 <= summary[key] <= 1.0, key
    assert summary["r1_iou50"] <= summary["r5_iou50"]
    assert summary["r1_iou50"] <= summary["lenient_hit"]
    assert set(summary["by_lang"]) == {"en", "hi", "ta"}
    assert {k: v["n"] for k, v in summary["by_source"].items()} == {"screen": 2, "speech": 2}
    assert "cited_hit" not in summary
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## By language" in report and SUBSET_MEDIA in report
    assert (out / "by_language.png").stat().st_size > 5_000
    items = json.loads((out / "results.json").read_text(encoding="utf-8"))["items"]
    assert all(i["detail"]["search"]["top"] for i in items)  # every question got hits

    db = home / "chronorag.sqlite3"
    updated_before = _media_rows(db)
    second = runner.invoke(app, ["eval", str(subset), "--json"], env=_env(home))
    assert second.exit_code == 0, second.output + repr(second.exception)
    again = _last_json(second.stdout)
    assert _media_rows(db) == updated_before  # same single media row, not re-ingested
    for key in ("r1_iou50", "r5_iou50", "mean_iou", "mrr"):
        assert again[key] == summary[key]


@pytest.mark.slow
def test_eval_ask_end_to_end(subset, home, tmp_path):
    """One question through the real agent (llama.cpp + Qwen2.5-0.5B): ask metrics present."""
    one = subset.with_name("one.jsonl")  # beside the media: paths are relative
    one.write_text(subset.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    out = tmp_path / "report"
    result = runner.invoke(app, ["eval", str(one), "--mode", "ask", "--json", "--out", str(out)],
                           env=_env(home))
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = _last_json(result.stdout)
    assert summary["n"] == 1 and summary["mode"] == "ask"
    assert summary["r1_iou50"] is None and summary["mrr"] is None  # search was not run
    assert summary["ask_errors"] == 0
    assert summary["refusals"] in (0, 1)
    assert summary["refusals"] == 1 or summary["citations"] > 0  # an answer cites
    assert summary["invalid_citations"] <= summary["citations"]
    assert 0.0 <= summary["cited_hit"] <= 1.0 and 0.0 <= summary["keyword_acc"] <= 1.0
    assert summary["latency_p50_s"] > 0
    item = json.loads((out / "results.json").read_text(encoding="utf-8"))["items"][0]
    assert item["detail"]["ask"]["evidence"] == "agent"  # checked against its real evidence
    assert item["detail"]["ask"]["answer"]


def _media_rows(db):
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT media_id, status, chunks, updated_at FROM media").fetchall()


def test_eval_rejects_a_bad_dataset_before_loading_models(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"media": "missing.mp4", "question": "q", "windows": [[0, 1]]}\n')
    result = runner.invoke(app, ["eval", str(bad)], env=_env(tmp_path / "home"))
    assert result.exit_code == 2
    assert "media file not found" in result.output
    assert not (tmp_path / "home" / "chronorag.sqlite3").exists()


def test_eval_rejects_an_unknown_mode(subset, tmp_path):
    result = runner.invoke(app, ["eval", str(subset), "--mode", "guess"],
                           env=_env(tmp_path / "home"))
    assert result.exit_code == 2


def test_eval_meetings_set_must_be_built_first(tmp_path):
    result = runner.invoke(app, ["eval", "--set", "meetings", "--split", "dev",
                                 "--meetings-dir", str(tmp_path / "nothing")],
                           env=_env(tmp_path / "home"))
    assert result.exit_code == 2
    assert "python -m evals.meetings" in result.output
    assert not (tmp_path / "home" / "chronorag.sqlite3").exists()


def test_eval_needs_a_dataset_or_the_meetings_set(subset, tmp_path):
    missing = runner.invoke(app, ["eval"], env=_env(tmp_path / "home"))
    assert missing.exit_code == 2 and "--set meetings" in missing.output
    summary = runner.invoke(app, ["eval", str(subset), "--mode", "summary"],
                            env=_env(tmp_path / "home"))
    assert summary.exit_code == 2 and "--set meetings" in summary.output


def test_eval_meetings_subset_by_language_and_group(tmp_path):
    from app.cli_eval import EvalSplit, _meetings_dataset

    rows = [
        {"media": "A/a.m4a", "question": "q1", "lang": "en", "group": "pointed"},
        {"media": "A/a.m4a", "question": "q2", "lang": "hi", "group": "pointed"},
        {"media": "A/a.m4a", "question": "q3", "lang": "en", "group": "qmsum"},
    ]
    (tmp_path / "dataset-dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    subset = _meetings_dataset(tmp_path, EvalSplit.dev, ["en"], ["pointed"])
    assert subset.parent == tmp_path  # media paths stay relative to the same folder
    assert [json.loads(line)["question"] for line in subset.read_text().splitlines()] == ["q1"]
    assert _meetings_dataset(tmp_path, EvalSplit.dev, [], []) == tmp_path / "dataset-dev.jsonl"
    nothing = runner.invoke(app, ["eval", "--set", "meetings", "--split", "dev", "--lang", "ta",
                                  "--meetings-dir", str(tmp_path)], env=_env(tmp_path / "home"))
    assert nothing.exit_code == 2 and "no dev question" in nothing.output
    assert not (tmp_path / "home" / "chronorag.sqlite3").exists()


def test_eval_search_of_unanswerable_questions_only_is_refused(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "a.m4a").write_bytes(b"not really audio")
    row = {"media": "A/a.m4a", "question": "Which hotel?", "lang": "en",
           "group": "unanswerable", "scoring": "refuse", "split": "dev"}
    (tmp_path / "dataset-dev.jsonl").write_text(json.dumps(row) + "\n")
    args = ["eval", "--set", "meetings", "--split", "dev", "--group", "unanswerable",
            "--meetings-dir", str(tmp_path)]
    result = runner.invoke(app, args, env=_env(tmp_path / "home"))
    assert result.exit_code == 2 and "--mode ask" in result.output
    assert not (tmp_path / "home" / "chronorag.sqlite3").exists()
