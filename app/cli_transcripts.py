"""``chronorag transcript`` and ``chronorag media speakers``: read, export, name speakers.

* ``chronorag transcript ID [--format json|srt|vtt|txt] [--start S] [--end S]`` — the
  stored transcript (Whisper's words and times, speakers by their current names).
* ``chronorag media speakers ID [--rename S2=Chiara]… [--json]`` — the speakers with
  their speaking time and a name proposed from self-introductions; ``--rename`` sets names
  (by id or current name) in the transcript and the index, never re-transcribing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app import transcripts
from app.cli_time import time_option
from app.config import Settings
from app.container import Container
from graphs.mediatime import format_time

out = Console()
err = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


class FormatChoice(StrEnum):
    json = "json"
    srt = "srt"
    vtt = "vtt"
    txt = "txt"


@contextmanager
def _container() -> Iterator[Container]:
    container = Container(Settings())
    try:
        yield container
    finally:
        container.close()


def _ready(c: Container, media_id: str) -> None:
    rec = c.registry.get_media(media_id)
    if rec is None:
        raise typer.BadParameter(f"no media with id {media_id!r}", param_hint="MEDIA_ID")
    if rec.status != "ready":
        err.print(f"media {media_id!r} is not indexed yet (status: {rec.status})")
        raise typer.Exit(1)


def transcript(
    media_id: Annotated[str, typer.Argument(help="The media item.")],
    fmt: Annotated[FormatChoice, typer.Option("--format", help="Output format.")] = (
        FormatChoice.txt
    ),
    start: Annotated[str | None, typer.Option(help="From (s or mm:ss).")] = None,
    end: Annotated[str | None, typer.Option(help="To (s or mm:ss).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print a media item's transcript with speakers (``--json`` = ``--format json``)."""
    t0, t1 = time_option(start, "--start"), time_option(end, "--end")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise typer.BadParameter("--end is before --start (or equal to it)", param_hint="--end")
    with _container() as c:
        _ready(c, media_id)
        try:
            doc = transcripts.load(c, media_id)
        except transcripts.TranscriptMissing as exc:
            err.print(str(exc))
            raise typer.Exit(1) from None
    text = transcripts.export(doc.named().between(t0, t1), "json" if as_json else fmt.value)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _parse_renames(values: list[str]) -> dict[str, str]:
    renames: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise typer.BadParameter(f"{value!r} is not SPEAKER=NAME", param_hint="--rename")
        renames[old.strip()] = new.strip()
    return renames


def speakers(
    media_id: Annotated[str, typer.Argument(help="The media item.")],
    rename: Annotated[
        list[str] | None, typer.Option(help="SPEAKER=NAME, by id or current name (repeatable).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A media item's speakers (with proposed names and roles); ``--rename S2=Chiara``
    names one."""
    renames = _parse_renames(rename or [])
    with _container() as c:
        _ready(c, media_id)
        try:
            doc = (
                transcripts.rename(c, media_id, renames)
                if renames
                else transcripts.load(c, media_id)
            )
        except transcripts.BadRename as exc:
            raise typer.BadParameter(str(exc), param_hint="--rename") from None
        except transcripts.TranscriptMissing as exc:
            err.print(str(exc))
            raise typer.Exit(1) from None
    rows = transcripts.speakers(doc)
    if as_json:
        sys.stdout.write(json.dumps({"media_id": media_id, "speakers": rows}) + "\n")
        return
    if not rows:
        err.print("no speakers (diarization was off, or nothing was said)")
        return
    table = Table("speaker", "name", "proposed", "role", "speech", "segments")
    for r in rows:
        table.add_row(
            str(r["speaker"]),
            str(r["name"] or ""),
            str(r["proposed_name"] or ""),
            str(r["proposed_role"] or ""),
            format_time(float(r["speech_s"])),  # type: ignore[arg-type]
            str(r["segments"]),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("transcript")(transcript)
    media = next(g.typer_instance for g in app.registered_groups if g.name == "media")
    assert media is not None
    media.command("speakers")(speakers)
