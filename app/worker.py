"""The ingestion worker: threads that take jobs from the persistent queue and run them.

By default it runs as threads inside the service (the embedded index can be opened
by one process only). At start it recovers (``Lifecycle.recover``): every job whose
process is gone has its half-written points removed and goes back to the queue, so
nothing is lost and nothing half-indexed is ever searchable. Concurrency is bounded:
uploads beyond it wait in the queue. ``chronorag worker`` runs the same loop as its
own process, which only makes sense when the index is a Qdrant server shared by all
processes. While it runs it recovers again every ``recover_every_s``: a worker on
another machine that died mid-job stops renewing its lease, the lease expires
(``lease_stale_s``) and its job is cleaned and requeued for a live worker.
Claiming, progress and the end of a job belong to ``app/lifecycle``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.lifecycle import lease as leases
from app.lifecycle.ingest import Interrupted
from app.lifecycle.keeper import LeaseLost

if TYPE_CHECKING:
    from app.container import Container
    from app.lifecycle.records import JobRecord, Leased

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


class IngestWorker:
    """A bounded pool of threads that drain the persistent job queue."""

    def __init__(
        self,
        container: Container,
        *,
        concurrency: int | None = None,
        poll_s: float = 1.0,
        on_finished: Callable[[JobResult], None] | None = None,
    ) -> None:
        self.container = container
        self.concurrency = max(1, concurrency or container.settings.worker_concurrency)
        self.poll_s = poll_s
        self.on_finished = on_finished
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._pending_wakes = 0
        self._threads: list[threading.Thread] = []
        self._sweeper: threading.Thread | None = None
        self._busy = 0
        self._done = 0
        self._lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------
    def recover(self) -> list[Leased]:
        """Clean and requeue what dead processes left running (see ``Lifecycle.recover``)."""
        return self.container.lifecycle.recover()

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
        self._sweeper = threading.Thread(target=self._sweep, name="chronorag-recover", daemon=True)
        self._sweeper.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the threads to finish; a job still running is requeued at the next start."""
        self._stop.set()
        self.wake(len(self._threads) or 1)
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        if self._sweeper is not None:
            self._sweeper.join(timeout)
            self._sweeper = None

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
    def _sweep(self) -> None:
        every = self.container.settings.recover_every_s
        while not self._stop.wait(every):
            try:
                if self.recover():
                    self.wake(self.concurrency)  # requeued jobs: claim them now
            except Exception:
                log.exception("recovery failed; retried in %.0f s", every)

    def _loop(self) -> None:
        try:  # models first: a job claimed before they load would sit on an idle lease
            _ = self.container.ingestor
        except Exception:
            log.exception("could not load the ingestion pipeline")
        while not self._stop.is_set():
            with leases.held() as lease:  # held before the claim: never seen as abandoned
                try:
                    job = self.container.lifecycle.claim(lease)
                except Exception:
                    log.exception("could not claim a job")
                    job = None
                if job is not None:
                    self._run(job, lease)
                    continue
            with self._wake:
                if self._pending_wakes == 0:
                    self._wake.wait(self.poll_s)
                self._pending_wakes = max(0, self._pending_wakes - 1)

    def _run(self, job: JobRecord, lease: leases.Lease) -> None:
        with self._lock:
            self._busy += 1
        started = time.monotonic()
        try:
            outcome = self.container.ingestor.run_job(job, lease, self._stop.is_set)
            status, duration, error = outcome.status, outcome.duration_s, outcome.error
        except LeaseLost as exc:  # expired while it ran: the job is another worker's now
            log.warning("job %s: lease lost; left to its new holder", job.job_id)
            status, duration, error = "lost", None, str(exc)
        except Interrupted as exc:
            log.warning("job %s interrupted by shutdown; requeued at next start", job.job_id)
            status, duration, error = "interrupted", None, str(exc)
        except Exception as exc:  # the store failed under the job: keep the thread alive
            log.exception("job %s could not be recorded; recovered at next start", job.job_id)
            status, duration, error = "interrupted", None, str(exc)
        finally:
            with self._lock:
                self._busy -= 1
                self._done += 1
        self._finish(JobResult(job.job_id, job.media_id, status, time.monotonic() - started,
                               duration, error))  # fmt: skip

    def _finish(self, result: JobResult) -> None:
        if self.on_finished:
            try:
                self.on_finished(result)
            except Exception:
                log.exception("job observer failed")
