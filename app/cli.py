"""The ``chronorag`` command line: ingest, search, media, ask, summarize (+ feature groups).

Human output goes through rich (progress bars on stderr); ``--json`` prints
machine-readable JSON on stdout and nothing else there. Failures never print a
traceback: a mistake in the arguments is one line and exit code 2, a model, server,
index, speech or disk failure one line and exit code 1 (``main``).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import sys
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from app.assets import AssetError
from app.cli_time import time_option
from app.config import Settings, settings_problem
from app.container import Container
from app.profiles import ProfileError
from graphs.mediatime import format_time as mmss
from ingestion.diarize import MAX_SPEAKERS, MIN_SPEAKERS
from ingestion.errors import MediaError
from vectorstore.index import IndexInUseError, IndexMismatchError

app = typer.Typer(
    help="ChronoRAG: ask questions about recorded video and meetings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
media_app = typer.Typer(help="List, show and delete indexed media.", no_args_is_help=True)
app.add_typer(media_app, name="media")

out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


class SourceChoice(StrEnum):
    speech = "speech"
    screen = "screen"
    caption = "caption"
    document = "document"  # attached slides, agenda, notes (chronorag attach)


class SpeakChoice(StrEnum):
    none = "none"
    audio = "audio"
    avatar = "avatar"


class StyleChoice(StrEnum):
    summary = "summary"
    chapters = "chapters"
    minutes = "minutes"


@contextmanager
def _container() -> Any:
    container = Container(Settings())
    try:
        yield container
    finally:
        container.close()


def _emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _window(start: str | None, end: str | None) -> tuple[float | None, float | None]:
    t0, t1 = time_option(start, "--start"), time_option(end, "--end")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise typer.BadParameter("--end is before --start (or equal to it)", param_hint="--end")
    return t0, t1


def _text(value: str, name: str) -> str:
    if not value.strip():
        raise typer.BadParameter("must not be empty", param_hint=name)
    return value


def _known_media(c: Container, media_ids: list[str] | None) -> None:
    """Exit 2 when a ``--media-id`` names nothing in the library."""
    for media_id in media_ids or ():
        if c.registry.get_media(media_id) is None:
            raise typer.BadParameter(f"no media with id {media_id!r}", param_hint="--media-id")


class _StageBars:
    """One rich progress bar per ingestion stage, created when the stage first reports."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress = progress
        self.label = label
        self.tasks: dict[str, Any] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(f"{self.label} · {stage}", total=1.0)
        self.progress.update(self.tasks[stage], completed=max(0.0, min(1.0, fraction)))


# --- ingest -------------------------------------------------------------------------------
@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Video or audio files.")],
    title: Annotated[str | None, typer.Option(help="Title (default: file name).")] = None,
    recorded_at: Annotated[
        str | None, typer.Option("--recorded-at", help="Wall-clock start, ISO 8601.")
    ] = None,
    speakers: Annotated[
        int | None,
        typer.Option(min=MIN_SPEAKERS, max=MAX_SPEAKERS, help="Number of speakers, when known."),
    ] = None,
    reindex: Annotated[
        bool,
        typer.Option(
            "--reindex",
            help="Index a file that is already ready again (its chunks and transcript are "
            "replaced; it is not searchable until the new index is complete).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Index what is said and shown in each file. Exit code 1 if any file failed."""
    when: datetime | None = None
    if recorded_at:
        try:
            when = datetime.fromisoformat(recorded_at)
        except ValueError as exc:
            raise typer.BadParameter(
                f"{recorded_at!r} is not ISO 8601 (e.g. 2026-11-24T10:00:00+05:30)",
                param_hint="--recorded-at",
            ) from exc
    if title and len(paths) > 1:
        raise typer.BadParameter("--title applies to a single file", param_hint="--title")
    failed = 0
    with _container() as c:
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        for path in paths:
            try:
                with Progress(*columns, console=err, transient=as_json) as progress:
                    outcome = c.ingestor.ingest(
                        path,
                        title=title,
                        recorded_at=when,
                        progress=_StageBars(progress, path.name),
                        raise_errors=False,
                        speakers=speakers,
                        reindex=reindex,
                    )
            except MediaError as exc:  # nothing to register (e.g. the file does not exist)
                failed += 1
                if as_json:
                    _emit_json(
                        {
                            "media_id": None,
                            "title": title or path.stem,
                            "status": "failed",
                            "error": str(exc),
                        }
                    )
                else:
                    err.print(f"[red]failed[/] {exc}")
                continue
            result = {k: v for k, v in dataclasses.asdict(outcome).items() if v is not None}
            failed += outcome.status != "ready"
            if as_json:
                _emit_json(result)
            elif outcome.status == "ready":
                out.print(
                    f"[green]ready[/] {outcome.title} ({outcome.media_id}): "
                    f"{outcome.duration_s or 0:.1f} s, language {outcome.language}, "
                    f"{outcome.chunks} chunks"
                )
            else:
                err.print(f"[red]failed[/] {path}: {outcome.error}")
    raise typer.Exit(1 if failed else 0)


# --- search -------------------------------------------------------------------------------
@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in any language.")],
    media_id: Annotated[
        list[str] | None, typer.Option("--media-id", help="Restrict to media (repeatable).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Window start (s or mm:ss).")] = None,
    end: Annotated[str | None, typer.Option(help="Window end (s or mm:ss).")] = None,
    source: Annotated[SourceChoice | None, typer.Option(help="Only this source.")] = None,
    speaker: Annotated[
        str | None, typer.Option(help="Only what this speaker said (S2, or their name).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Hybrid search over what was said and shown, with time filters.

    Without --speaker, a query naming a speaker of the one --media-id searched ("what did the
    marketing expert draw") keeps to that speaker's lines."""
    from vectorstore.schema import SearchRequest

    t0, t1 = _window(start, end)
    req = SearchRequest(
        query=_text(query, "QUERY"),
        media_ids=media_id or None,
        start_s=t0,
        end_s=t1,
        source=source.value if source else None,
        speaker=_text(speaker, "--speaker").strip() if speaker is not None else None,
        limit=limit,
    )
    with _container() as c:
        _known_media(c, media_id)
        found = c.speaker_search.find(req)
    hits = found.hits
    if found.speaker is not None and found.mention and not as_json:
        err.print(f"[dim]{found.mention} → {found.speaker}: searching their lines[/]")
    fields = ("media_id", "title", "source", "start_s", "end_s", "speaker", "text", "score")
    if as_json:
        docs = ("document", "page")  # a companion document's piece also names its source
        _emit_json([{k: getattr(h, k) for k in fields + docs * (h.source == "document")}
                    for h in hits])  # fmt: skip
        return
    if not hits:
        err.print("no matches")
        return
    table = Table("when", "media", "source", "text", "score")
    for h in hits:
        when = f"{mmss(h.start_s)}–{mmss(h.end_s)}"
        if h.source == "document":
            when = f"{h.document} p. {h.page}" if h.page else str(h.document)
        text = f"{h.speaker}: {h.text}" if h.speaker else h.text
        table.add_row(when, h.title, h.source, text, f"{h.score:.3f}")
    out.print(table)


# --- media --------------------------------------------------------------------------------
def _media_json(rec: Any) -> dict[str, Any]:
    return rec.model_dump(mode="json")


@media_app.command("list")
def media_list(as_json: JsonFlag = False) -> None:
    """All media with their status."""
    with _container() as c:
        records = c.lifecycle.list_media()  # cleans interrupted ingestions first
    if as_json:
        _emit_json([_media_json(r) for r in records])
        return
    table = Table(
        Column("media_id", no_wrap=True),
        "title",
        "status",
        "duration",
        "language",
        "chunks",
        "recorded_at",
    )
    for r in records:
        status = r.status if r.status != "failed" else f"failed: {r.error}"
        table.add_row(
            r.media_id,
            r.title,
            status,
            mmss(r.duration_s or 0),
            r.language or "",
            str(r.chunks),
            r.recorded_at.isoformat() if r.recorded_at else "",
        )
    out.print(table)


@media_app.command("show")
def media_show(media_id: str, as_json: JsonFlag = False) -> None:
    """One media item."""
    with _container() as c:
        rec = c.registry.get_media(media_id)
    if rec is None:
        err.print(f"no media with id {media_id!r}")
        raise typer.Exit(1)
    if as_json:
        _emit_json(_media_json(rec))
    else:
        for key, value in _media_json(rec).items():
            out.print(f"[bold]{key}[/]: {value}")


@media_app.command("delete")
def media_delete(media_id: str, as_json: JsonFlag = False) -> None:
    """Remove a media item: its points, keyframes, stored file and registry rows."""
    from app.library import delete_media

    with _container() as c:
        deleted = delete_media(c, media_id)
    if as_json:
        _emit_json({"media_id": media_id, "deleted": deleted})
    elif deleted:
        out.print(f"deleted {media_id}")
    if not deleted:
        if not as_json:
            err.print(f"no media with id {media_id!r}")
        raise typer.Exit(1)


# --- ask / summarize ----------------------------------------------------------------------
@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in your language.")],
    media_id: Annotated[
        list[str] | None, typer.Option("--media-id", help="Restrict to media (repeatable).")
    ] = None,
    thread: Annotated[str | None, typer.Option(help="Conversation id for follow-ups.")] = None,
    speak: Annotated[SpeakChoice, typer.Option(help="Also speak the answer.")] = SpeakChoice.none,
    as_json: JsonFlag = False,
) -> None:
    """Answer a question about the indexed media, citing the exact moments."""
    from app.answering import answer_question

    _text(question, "QUESTION")
    with _container() as c:
        _known_media(c, media_id)
        with err.status("thinking…") as status:
            # Human output shows the checked answer (citations validated), not raw tokens.
            on_progress = None if as_json else (lambda e: status.update(f"[dim]{e}[/]"))
            result = answer_question(
                c,
                question,
                media_ids=media_id or None,
                thread_id=thread,
                speak=speak.value,
                on_progress=on_progress,
            )
    if as_json:
        _emit_json(result.model_dump(mode="json"))
        return
    out.print(result.answer, highlight=False)
    for cite in result.citations:
        out.print(f"  [cyan]\\{cite.label}[/] {cite.quote}")
    if result.audio_path:
        out.print(f"audio: {result.audio_path}")
    if result.video_path:
        out.print(f"video: {result.video_path}")
    if result.speech_error:
        err.print(f"not spoken: {result.speech_error}", markup=False)
    err.print(f"[dim]thread: {result.thread_id}[/]")


@app.command()
def summarize(
    media_id: Annotated[str, typer.Argument(help="The media to summarise.")],
    start: Annotated[str | None, typer.Option(help="From (s or mm:ss).")] = None,
    end: Annotated[str | None, typer.Option(help="To (s or mm:ss).")] = None,
    style: Annotated[StyleChoice, typer.Option(help="What to write.")] = StyleChoice.summary,
    as_json: JsonFlag = False,
) -> None:
    """A summary, chapter list or meeting minutes for a media item or a time range."""
    t0, t1 = _window(start, end)
    with _container() as c:
        record = c.registry.get_media(media_id)
        if record is None:
            raise typer.BadParameter(f"no media with id {media_id!r}", param_hint="MEDIA_ID")
        if record.status != "ready":
            raise typer.BadParameter(
                f"{media_id!r} is not indexed (status {record.status})", param_hint="MEDIA_ID"
            )
        if record.duration_s and t0 is not None and t0 >= record.duration_s:
            raise typer.BadParameter(
                f"the media is only {mmss(record.duration_s)} long", param_hint="--start"
            )
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task(style.value, total=None)

            def on_progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=f"{style.value} · {stage}", completed=done,
                           total=total or None)  # fmt: skip

            result = c.agent.summarize(
                media_id, start_s=t0, end_s=t1, style=style.value, on_progress=on_progress
            )
    if as_json:
        _emit_json(result.model_dump(mode="json"))
    else:
        out.print(result.render(), highlight=False)


def _register_feature_groups() -> None:
    """Feature modules add their own commands (models, serve/worker, eval)."""
    import importlib

    for name in ("app.cli_models", "app.cli_serve", "app.cli_eval", "app.cli_mcp",
                 "app.cli_documents", "app.cli_transcripts"):  # fmt: skip
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)


_register_feature_groups()


# Errors a user can cause and fix: one clear line, exit code 2, no traceback.
USER_ERRORS = (
    MediaError,
    AssetError,
    IndexMismatchError,
    IndexInUseError,
    ProfileError,
    ConnectionError,
    PermissionError,
)



def _service_errors() -> tuple[type[BaseException], ...]:
    """Failures of a model, server, index, speech or the disk: exit code 1."""
    from graphs.llm import LLMError
    from graphs.llm_server import LlamaServerError
    from graphs.vlm import VLMError
    from speech.audio import AudioError
    from speech.avatar import AvatarError
    from speech.tts import TTSError
    from vectorstore.embedders import EmbedderError

    return (LLMError, LlamaServerError, VLMError, EmbedderError, TTSError, AvatarError,
            AudioError, OSError)  # fmt: skip


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full: {exc}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 500 else text[:500] + "…"


def main() -> None:
    try:
        app()
    except USER_ERRORS as exc:
        err.print(f"[red]error:[/] {_one_line(exc)}", highlight=False)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:  # never a traceback; the failure's own words, on one line
        if isinstance(exc, ValidationError) and (problem := settings_problem(exc)):
            err.print(f"[red]error:[/] {problem}", highlight=False, soft_wrap=True)
            raise SystemExit(2) from None  # a bad CHRONORAG_* value: the user's to fix
        known = isinstance(exc, _service_errors())
        prefix = "" if known else f"unexpected {type(exc).__name__}: "
        err.print(f"[red]error:[/] {prefix}{_one_line(exc)}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
