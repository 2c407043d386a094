"""``chronorag eval DATASET.jsonl``: score search and answers on a labelled dataset.

``chronorag eval --set meetings --split dev`` scores the long-meeting set built by
``python -m evals.meetings DIR`` (``--meetings-dir``, default ``.chronorag/meetings``),
with the naive baseline beside the system; ``--mode summary`` scores summaries/chapters.
Progress goes to stderr (rich); a table of the scores goes to stdout, or with
``--json`` one JSON object as the last stdout line.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import Settings
from app.container import Container


class EvalMode(StrEnum):
    search = "search"
    ask = "ask"
    both = "both"
    summary = "summary"


class EvalSet(StrEnum):
    file = "file"
    meetings = "meetings"


class EvalSplit(StrEnum):
    dev = "dev"
    test = "test"
    all = "all"


def _meetings_dataset(
    folder: Path, split: EvalSplit, langs: list[str], groups: list[str]
) -> Path:
    """The split's question file; with ``--lang``/``--group`` a subset of it written beside
    it (so the media paths stay relative to the same folder)."""
    dataset = folder / f"dataset-{split.value}.jsonl"
    if not dataset.is_file():
        raise typer.BadParameter(
            f"{dataset} not found: build the set first with `python -m evals.meetings {folder}`",
            param_hint="--meetings-dir",
        )
    if not langs and not groups:
        return dataset
    lines = [line for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = [
        line
        for line, row in ((line, json.loads(line)) for line in lines)
        if (not langs or row.get("lang") in langs) and (not groups or row.get("group") in groups)
    ]
    if not keep:
        raise typer.BadParameter(
            f"no {split.value} question has lang in {langs or 'any'} and group in "
            f"{groups or 'any'}",
            param_hint="--lang/--group",
        )
    name = f".dataset-{split.value}-{'+'.join(langs) or 'all'}-{'+'.join(groups) or 'all'}.jsonl"
    subset = folder / name
    subset.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return subset


def _print_table(console: Console, title: str, rows: dict[str, dict[str, Any]]) -> None:
    from evals.report import fmt_value, table_columns

    if not rows:
        return
    cols = table_columns(rows)
    table = Table(title=title)
    table.add_column("group")
    for _, label in cols:
        table.add_column(label, justify="right")
    for name, metrics in rows.items():
        table.add_row(name, *(fmt_value(metrics.get(key), key) for key, _ in cols))
    console.print(table)


def eval_command(
    dataset: Annotated[
        Path | None, typer.Argument(help="Dataset JSONL (one question per line).")
    ] = None,
    mode: Annotated[EvalMode, typer.Option(help="What to score.")] = EvalMode.search,
    eval_set: Annotated[
        EvalSet, typer.Option("--set", help="'meetings': the long-meeting set (no DATASET).")
    ] = EvalSet.file,
    split: Annotated[
        EvalSplit, typer.Option(help="Meetings split: dev (tune on), test (report), all.")
    ] = EvalSplit.all,
    meetings_dir: Annotated[
        Path, typer.Option(help="Where `python -m evals.meetings` built the set.")
    ] = Path(".chronorag/meetings"),
    langs: Annotated[
        list[str] | None,
        typer.Option("--lang", help="Meetings: only questions in this language (repeatable)."),
    ] = None,
    groups: Annotated[
        list[str] | None,
        typer.Option("--group", help="Meetings: only this group: pointed, qmsum, "
                     "unanswerable or fillets-nl (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write report.md, a PNG chart and JSON here.")
    ] = None,
    restrict_ask: Annotated[
        bool,
        typer.Option("--restrict-ask", help="Ask each question only about its own media."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: one JSON object of scores.")
    ] = False,
) -> None:
    """Ingest the dataset's media (once), run every question and score grounding/answers."""
    from evals.dataset import DatasetError, load_dataset
    from evals.runner import EvalError, run_eval

    err = Console(stderr=True)
    meetings = eval_set is EvalSet.meetings
    if meetings:
        if dataset is not None:
            raise typer.BadParameter("give either DATASET or --set meetings", param_hint="DATASET")
        dataset = _meetings_dataset(meetings_dir, split, langs or [], groups or [])
    elif langs or groups:
        raise typer.BadParameter("--lang/--group filter the meetings set", param_hint="--set")
    elif dataset is None:
        raise typer.BadParameter("a dataset file is required (or --set meetings)",
                                 param_hint="DATASET")
    elif mode is EvalMode.summary:
        raise typer.BadParameter("--mode summary needs --set meetings", param_hint="--mode")
    try:
        items = load_dataset(dataset)  # fail fast on a bad file, before any model loads
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="DATASET") from exc
    if mode is EvalMode.search and all(i.scoring == "refuse" for i in items):
        raise typer.BadParameter("unanswerable questions have nothing to find: their score is "
                                 "the agent's refusal (--mode ask)", param_hint="--mode")
    container = Container(Settings())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=as_json) as progress:
            tasks: dict[str, Any] = {}

            def on_ingest(name: str, stage: str, frac: float) -> None:
                key = f"{name} · {stage}"
                if key not in tasks:
                    tasks[key] = progress.add_task(f"ingest {key}", total=100)
                progress.update(tasks[key], completed=round(100 * max(0.0, min(1.0, frac))))

            def on_question(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(f"{mode.value} · {phase}", total=total)
                progress.update(tasks[phase], completed=done)

            result = run_eval(
                container, dataset, mode=mode.value, restrict_ask_to_media=restrict_ask,
                progress=on_question, ingest_progress=on_ingest,
                meetings_dir=meetings_dir if meetings else None,
            )
    except EvalError as exc:
        err.print(f"[red]eval failed:[/] {exc}")
        raise typer.Exit(1) from exc
    finally:
        container.close()
    paths: dict[str, Path] = {}
    if out is not None:
        from evals.report import write_report

        paths = write_report(result, out)
        chart = f"  chart: {paths['chart']}" if "chart" in paths else ""
        err.print(f"report: {paths['report']}{chart}")
    if as_json:
        summary = result.summary()
        if paths:
            summary["report"] = str(paths["report"])
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    console = Console()
    if result.items:
        _print_table(console, "overall", {"all": result.metrics})
        _print_table(console, "by language", result.metrics["by_lang"])
        _print_table(console, "by source", result.metrics["by_source"])
    for key, title in (("by_split", "by split"), ("by_group", "by group"),
                       ("by_length", "by media length"), ("by_group_lang", "by split/group/lang")):
        _print_table(console, title, result.metrics.get(key, {}))
    if "summaries" in result.metrics:
        console.print_json(data=result.metrics["summaries"])


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to the ``chronorag`` app."""
    app.command("eval")(eval_command)
