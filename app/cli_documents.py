"""``chronorag attach MEDIA_ID FILE…``: companion documents (slides, agenda, notes) of a
media item, indexed beside its speech and screen text and cited as ``[Deck.pdf p. 3]``."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.config import Settings
from app.container import Container


def register(app: typer.Typer) -> None:
    @app.command("attach")
    def attach(
        media_id: Annotated[str, typer.Argument(help="The media item the documents belong to.")],
        files: Annotated[
            list[Path],
            typer.Argument(
                help="PDF, DOCX, Markdown or text files.",
                exists=True,
                dir_okay=False,
                readable=True,
            ),
        ],  # fmt: skip
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    ) -> None:
        """Attach documents to a media item; a bad one attaches nothing (exit 2)."""
        from app.documents import NotAttachable
        from app.documents import attach as attach_documents
        from ingestion.documents import DocumentError

        err = Console(stderr=True)
        container = Container(Settings())
        try:
            done = attach_documents(container, media_id, [(f, f.name) for f in files])
        except (DocumentError, NotAttachable) as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        finally:
            container.close()
        if as_json:
            rows = [{"media_id": media_id, **dataclasses.asdict(d)} for d in done]
            sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
            return
        for d in done:
            pages = f"{d.pages} pages, " if d.pages else ""
            Console().print(f"{d.name}: {pages}{d.chunks} chunks attached to {media_id}")
