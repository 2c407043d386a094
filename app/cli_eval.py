"""``chronorag eval DATASET.jsonl``: score search and answers on a labelled dataset.

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


def _print_table(console: Console, title: str, rows: dict[str, dict[str, Any]]) -> None:
    from evals.report import fmt_value, metric_columns

    if not rows:
        return
    cols = metric_columns(next(iter(rows.values())))
    table = Table(title=title)
    table.add_column("group")
    for _, label in cols:
        table.add_column(label, justify="right")
    for name, metrics in rows.items():
        table.add_row(name, *(fmt_value(metrics.get(key), key) for key, _ in cols))
    console.print(table)


def eval_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset JSONL (one question per line).")],
    mode: Annotated[EvalMode, typer.Option(help="What to score.")] = EvalMode.search,
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
    try:
        load_dataset(dataset)  # fail fast on a bad file, before any model loads
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="DATASET") from exc
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
        err.print(f"report: {paths['report']}  chart: {paths['chart']}")
    if as_json:
        summary = result.summary()
        if paths:
            summary["report"] = str(paths["report"])
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    console = Console()
    _print_table(console, "overall", {"all": result.metrics})
    _print_table(console, "by language", result.metrics["by_lang"])
    _print_table(console, "by source", result.metrics["by_source"])


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to the ``chronorag`` app."""
    app.command("eval")(eval_command)
