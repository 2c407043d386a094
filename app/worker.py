"""The ingestion worker: takes jobs from the registry's persistent queue and runs them.

By default it runs as threads inside the service (the embedded index can be opened
by one process only). At start it recovers from a crash: every job left ``running``
has its half-written points removed and goes back to the queue, so nothing is lost
and nothing half-indexed is ever searchable. Concurrency is bounded: uploads beyond
it wait in the queue. ``chronorag worker`` runs the same loop as its own process,
which only makes sense when the index is a Qdrant server shared by all processes.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.container import Container
    from vectorstore.registry import JobRecord, Registry

log = logging.getLogger("chronorag.worker")


@dataclass(frozen=True)
class JobResult:
    """What one finished job reports to observers (metrics)."""

    job_id: str
    media_id: str
    status: str
    seconds: float
    duration_s: float | None
    error: str | None = None


# --- read-only queries the registry does not offer (over its SQLite file) -------------
def _read(registry: Registry, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{registry.path}?mode=ro", uri=True, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def latest_job_id(registry: Registry, media_id: str) -> str | None:
    """The newest job of a media item (``None`` if it has none)."""
    rows = _read(
        registry,
        "SELECT job_id FROM jobs WHERE media_id=? ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (media_id,),
    )
    return rows[0]["job_id"] if rows else None


def latest_job_ids(registry: Registry) -> dict[str, str]:
    """media id → its newest job id, for every media item that has jobs (one query)."""
    rows = _read(registry, "SELECT media_id, job_id FROM jobs ORDER BY created_at, rowid")
    return {row["media_id"]: row["job_id"] for row in rows}


def job_counts(registry: Registry) -> dict[str, int]:
    """Number of jobs per status (all four statuses always present)."""
    counts = {"queued": 0, "running": 0, "ready": 0, "failed": 0}
    for row in _read(registry, "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"):
        counts[row["status"]] = row["n"]
    return counts


class _Progress:
    """Writes stage/progress to the job, at most twice a second per stage."""

    def __init__(self, registry: Registry, job_id: str) -> None:
        self.registry, self.job_id = registry, job_id
        self._stage: str | None = None
        self._last = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._last < 0.5 and fraction < 1.0:
            return
        self._stage, self._last = stage, now
        fraction = min(max(float(fraction), 0.0), 1.0)
        try:  # the ingestor records the media's own stage/progress
            self.registry.update_job(self.job_id, stage=stage, progress=fraction)
        except Exception:  # progress is advisory: never let it break an ingestion
            log.exception("could not record progress of job %s", self.job_id)


class IngestWorker:
    """A bounded pool of threads that drain the persistent job queue."""

    def __init__(
        self,
        container: Container,
        *,
        concurrency: int | None = None,
        poll_s: float = 1.0,
        stale_s: float = 900.0,
        on_finished: Callable[[JobResult], None] | None = None,
    ) -> None:
        self.container = container
        self.concurrency = max(1, concurrency or container.settings.worker_concurrency)
        self.poll_s = poll_s
        self.stale_s = stale_s
        self.on_finished = on_finished
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._pending_wakes = 0
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._done = 0
        self._lock = threading.Lock()

    @property
    def registry(self) -> Registry:
        return self.container.registry

    # --- lifecycle --------------------------------------------------------------------
    def recover(self) -> list[JobRecord]:
        """Clean the points of jobs a dead worker left ``running`` and queue them again.

        A job is abandoned when its owner was a process on this host that no longer runs
        (or had this process's pid: a restarted container), or, for another host's worker,
        when it has not reported progress for ``stale_s``. Live workers' jobs are left alone.
        """
        rows = _read(
            self.registry, "SELECT job_id, owner, updated_at FROM jobs WHERE status='running'"
        )
        requeued = []
        for row in rows:
            if not self._abandoned(row["owner"], row["updated_at"]):
                continue
            job = self.registry.get_job(row["job_id"])
            if job is None:
                continue
            self._clean(job.media_id)
            if self.registry.get_media(job.media_id) is not None:
                self.registry.update_media(
                    job.media_id, status="queued", stage=None, progress=0.0, error=None
                )
            self.registry.update_job(job.job_id, status="queued", stage=None, progress=0.0)
            requeued.append(job)
        if requeued:
            log.info("requeued %d interrupted job(s)", len(requeued))
        return requeued

    def _abandoned(self, owner: str | None, updated_at: str) -> bool:
        host, _, pid = (owner or "").rpartition(":")
        if host == socket.gethostname() and pid.isdigit():
            if int(pid) == os.getpid():
                return True  # same pid, new process (e.g. pid 1 in a restarted container)
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False  # alive, someone else's
            return False
        try:
            age = datetime.now(UTC) - datetime.fromisoformat(updated_at)
        except ValueError:
            return True
        return age.total_seconds() > self.stale_s

    def start(self) -> None:
        """Recover, then start the worker threads (idempotent)."""
        if self._threads:
            return
        self.recover()
        self._stop.clear()
        for i in range(self.concurrency):
            t = threading.Thread(target=self._loop, name=f"chronorag-ingest-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the threads to finish; a job still running is requeued at the next start."""
        self._stop.set()
        self.wake(len(self._threads) or 1)
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def wake(self, n: int = 1) -> None:
        """A job was queued: let an idle thread look now rather than at its next poll."""
        with self._wake:
            self._pending_wakes += n
            self._wake.notify(n)

    def run_forever(self) -> None:
        """Run until interrupted (the standalone ``chronorag worker``)."""
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop(timeout=None)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "threads": len(self._threads),
                "busy": self._busy,
                "finished": self._done,
                "concurrency": self.concurrency,
            }

    # --- the loop ---------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.registry.claim_job(self.owner)
            except Exception:
                log.exception("could not claim a job")
                job = None
            if job is None:
                with self._wake:
                    if self._pending_wakes == 0:
                        self._wake.wait(self.poll_s)
                    self._pending_wakes = max(0, self._pending_wakes - 1)
                continue
            with self._lock:
                self._busy += 1
            try:
                self.run_job(job)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._done += 1

    def run_job(self, job: JobRecord) -> JobResult:
        """Ingest one claimed job; every failure ends as a ``failed`` job with its reason."""
        registry = self.registry
        started = time.monotonic()
        media = registry.get_media(job.media_id)
        if media is None:
            registry.update_job(job.job_id, status="failed", error="the media was deleted")
            return self._finish(job, "failed", started, None, "the media was deleted")
        registry.update_media(job.media_id, status="running", stage="starting", progress=0.0)
        registry.update_job(job.job_id, stage="starting", progress=0.0)
        progress = _Progress(registry, job.job_id)
        try:
            outcome = self.container.ingestor.ingest(
                Path(media.path),
                title=media.title,
                recorded_at=media.recorded_at,
                progress=progress,
            )
            status, error, duration = outcome.status, outcome.error, outcome.duration_s
            if outcome.media_id != job.media_id:  # the file changed under us
                status, error = "failed", "the stored file no longer matches its id"
            elif status == "ready" and registry.get_media(job.media_id) is None:
                # deleted while indexing: the points just written must not outlive it
                status, error = "failed", "the media was deleted while it was being indexed"
        except Exception as exc:  # a bad file must fail its job, never the worker
            if self._stop.is_set():
                # shutting down under a running job (its index may be closed already):
                # leave it ``running`` so the next start cleans and requeues it
                log.warning("job %s interrupted by shutdown; requeued at next start", job.job_id)
                return self._finish(job, "interrupted", started, None, str(exc))
            log.exception("ingestion of %s failed", job.media_id)
            status, error, duration = "failed", str(exc) or type(exc).__name__, None
        if status != "ready":
            self._clean(job.media_id)
            if registry.get_media(job.media_id) is not None:
                registry.update_media(job.media_id, status="failed", error=error)
            registry.update_job(job.job_id, status="failed", error=error)
        else:
            registry.update_job(job.job_id, status="ready", stage="done", progress=1.0)
        return self._finish(job, status, started, duration, error)

    def _finish(
        self, job: JobRecord, status: str, started: float, duration: float | None, error: str | None
    ) -> JobResult:
        result = JobResult(
            job.job_id, job.media_id, status, time.monotonic() - started, duration, error
        )
        if self.on_finished:
            try:
                self.on_finished(result)
            except Exception:
                log.exception("job observer failed")
        return result

    def _clean(self, media_id: str) -> None:
        """Remove whatever an unfinished ingestion of ``media_id`` left (points, keyframes)."""
        try:
            self.container.ingestor.discard(media_id)
        except Exception:
            log.exception("could not clean the points of %s", media_id)
