"""``chronorag serve`` (the REST service and web page) and ``chronorag worker`` (ingestion)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

WORKER_NEEDS_SERVER = (
    "`chronorag worker` runs ingestion in its own process, but the embedded index can be "
    "opened by one process only, and `chronorag serve` already runs the worker inside the "
    "service. Set CHRONORAG_QDRANT_URL to a Qdrant server to run separate workers "
    "(and start the service with `chronorag serve --no-worker`)."
)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run ingestion inside the service.")
    ] = True,
    warm: Annotated[
        bool, typer.Option("--warm/--lazy", help="Load models at start (else on first use).")
    ] = True,
) -> None:
    """Run the REST API and the web page (http://HOST:PORT/)."""
    import uvicorn

    from app.api import create_app
    from app.config import Settings

    settings = Settings()
    if not _is_loopback(host) and not (settings.api_key and settings.api_key.get_secret_value()):
        typer.echo(
            f"warning: listening on {host} without CHRONORAG_API_KEY: anyone who can reach "
            "this port can upload, read and delete media",
            err=True,
        )
    if not worker and not settings.qdrant_url:
        typer.echo(
            "warning: --no-worker with the embedded index: nothing will ingest uploads",
            err=True,
        )
    app = create_app(
        settings,
        run_worker=worker,
        warm=("index", "ingestor", "agent") if warm else ("index",),
    )
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=10)


def worker(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per finished job.")
    ] = False,
) -> None:
    """Run the ingestion worker alone (needs a Qdrant server shared with the service; with
    CHRONORAG_DATABASE_URL any number of workers on any machines share one queue)."""
    import dataclasses
    import json
    import logging

    from app.config import Settings
    from app.container import Container
    from app.worker import IngestWorker, JobResult

    settings = Settings()
    if not settings.qdrant_url:
        typer.echo(f"error: {WORKER_NEEDS_SERVER}", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per index request
    queue = "PostgreSQL" if settings.database_url else str(settings.db_path)

    def finished(result: JobResult) -> None:
        if as_json:
            typer.echo(json.dumps(dataclasses.asdict(result)))
        else:
            typer.echo(f"job {result.job_id} ({result.media_id}): {result.status}"
                       + (f" — {result.error}" if result.error else ""))  # fmt: skip

    container = Container(settings)
    try:
        typer.echo(f"worker: {settings.worker_concurrency} thread(s), queue {queue}", err=True)
        IngestWorker(container, on_finished=finished).run_forever()
    finally:
        container.close()


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``worker`` to the ``chronorag`` command."""
    app.command("serve")(serve)
    app.command("worker")(worker)
