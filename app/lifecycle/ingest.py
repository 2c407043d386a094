"""``Ingestion``: the pipeline run under the lifecycle, for a file or a queued job.

``ingest(path)`` is the direct path (``chronorag ingest``, evals): the same file (same
sha256 prefix) is a no-op once ready and restarts cleanly otherwise. With ``reindex`` a
ready item is run again through :meth:`Lifecycle.begin`: back to ``running`` (out of
search), its points and per-item folder (keyframes, transcript, chapters) removed, then
indexed anew — search sees the whole old item or the whole new one, never half of either.
``run_job`` is the service's path (``app/worker.py``) for a job :meth:`Lifecycle.claim`
took, diarized with the speaker count stored on the job. Both lease the
item, let :class:`ingestion.pipeline.Ingestor` report into the run, then end it
``ready`` or ``failed`` (points and keyframes removed). Runs of one item are serialised
within the process; across processes the lease refuses a second run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from app.lifecycle import lease as leases
from app.lifecycle.keeper import LeaseLost, renewing
from app.lifecycle.lifecycle import Lifecycle, ProgressFn, Run
from app.lifecycle.records import JobRecord, MediaRecord
from ingestion.errors import MediaError
from ingestion.pipeline import Ingestor, file_sha256, media_id_of

log = logging.getLogger("chronorag.ingest")


@dataclass(frozen=True)
class IngestOutcome:
    media_id: str
    title: str
    status: Literal["ready", "failed"]
    duration_s: float | None
    language: str | None
    chunks: int
    error: str | None = None

    @classmethod
    def from_record(cls, record: MediaRecord) -> IngestOutcome:
        return cls(
            media_id=record.media_id,
            title=record.title,
            status="ready" if record.status == "ready" else "failed",
            duration_s=record.duration_s,
            language=record.language,
            chunks=record.chunks,
            error=record.error,
        )


class Interrupted(Exception):
    """The run stopped because its process is shutting down; it stays ``running`` and is
    recovered (requeued) at the next start."""


class Ingestion:
    """Lifecycle-managed ingestion; one per process (the pipeline holds the models)."""

    def __init__(self, lifecycle: Lifecycle, pipeline: Ingestor) -> None:
        self.lifecycle = lifecycle
        self.pipeline = pipeline
        self._media_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, media_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._media_locks.setdefault(media_id, threading.Lock())

    # --- a file -----------------------------------------------------------------------
    def ingest(
        self,
        path: Path,
        *,
        title: str | None = None,
        recorded_at: datetime | None = None,
        progress: ProgressFn | None = None,
        raise_errors: bool = True,
        speakers: int | None = None,
        reindex: bool = False,
    ) -> IngestOutcome:
        """Index ``path``. On failure the item is cleaned up and recorded as ``failed``;
        the error is raised (``MediaError`` for bad input) unless ``raise_errors=False``,
        which returns a ``failed`` outcome instead. A ready item is returned as it is,
        or with ``reindex`` indexed again (its title, recording time and stored file kept
        unless given)."""
        path = Path(path)
        if not path.is_file():
            raise MediaError(path, "file not found")
        sha = file_sha256(path)
        media_id = media_id_of(sha)
        store = self.lifecycle.store
        with self._lock(media_id):  # a second caller waits, then finds the item ready
            existing = store.get_media(media_id)
            stored = path
            if existing is not None and existing.status == "ready":
                if not reindex:
                    return IngestOutcome.from_record(existing)
                title = title or existing.title
                recorded_at = recorded_at or existing.recorded_at
                if Path(existing.path).is_file():  # an upload's stored copy stays its file
                    stored = Path(existing.path)
            with leases.held() as lease:
                run = self.lifecycle.begin(
                    media_id,
                    lease,
                    title=title or path.stem,
                    path=stored,
                    sha256=sha,
                    recorded_at=recorded_at,
                    progress=progress,
                )
                try:
                    self._run(run, path, recorded_at, speakers)
                except BaseException as exc:
                    run.fail(str(exc) or type(exc).__name__)
                    if raise_errors or not isinstance(exc, Exception):
                        raise
            record = store.get_media(media_id)
            assert record is not None
            return IngestOutcome.from_record(record)

    # --- a queued job -----------------------------------------------------------------
    def run_job(
        self, job: JobRecord, lease: leases.Lease, stopping: Callable[[], bool]
    ) -> IngestOutcome:
        """Ingest the stored file of a job claimed under ``lease`` (held by the caller).
        Every failure ends as a ``failed`` job with its reason; an error while
        ``stopping()`` raises :class:`Interrupted` instead, and a run whose lease expired
        and was taken over raises :class:`LeaseLost` (the job is the new holder's)."""
        store = self.lifecycle.store
        run = self.lifecycle.run_for(job, lease)
        media = store.get_media(job.media_id)
        if media is None:
            return self._job_failed(job, "the media was deleted")
        with self._lock(job.media_id):
            try:
                if job.attempts > 1:  # re-claimed: start from a clean item, whatever was left
                    self.lifecycle.discard(job.media_id)
                path = Path(media.path)
                if media_id_of(file_sha256(path)) != job.media_id:
                    run.fail("the stored file no longer matches its id")
                else:
                    self._run(run, path, media.recorded_at, job.speakers)
            except Exception as exc:  # a bad file must fail its job, never the worker
                if stopping():
                    # shutting down under a running job (its index may be closed already):
                    # leave it ``running``; the next start cleans and requeues it
                    raise Interrupted(str(exc)) from exc
                if not isinstance(exc, LeaseLost):
                    log.exception("ingestion of %s failed", job.media_id)
                run.fail(str(exc) or type(exc).__name__)
        if run.lost.is_set():
            raise LeaseLost(f"job {job.job_id}: another worker holds {job.media_id} now")
        record = store.get_media(job.media_id)
        if record is None:
            return self._job_failed(job, "the media was deleted while it was being indexed")
        return IngestOutcome.from_record(record)

    def _job_failed(self, job: JobRecord, error: str) -> IngestOutcome:
        self.lifecycle.store.update_job(job.job_id, status="failed", error=error)
        return IngestOutcome(job.media_id, "", "failed", None, None, 0, error)

    def _run(
        self, run: Run, path: Path, recorded_at: datetime | None, speakers: int | None = None
    ) -> None:
        with renewing(run, self.lifecycle.renew_s):
            result = self.pipeline.run(
                path, run.media_id, run, recorded_at=recorded_at, speakers=speakers
            )
        run.ready(
            kind=result.kind,
            duration_s=result.duration_s,
            language=result.language,
            chunks=result.chunks,
        )
