"""``Lifecycle``: the one owner of a media item's state, from upload to delete.

``queued → running(stage, progress) → ready | failed(error)``. Every entry point
(the API's upload and delete, the service's worker, ``chronorag ingest``,
``chronorag worker``, ``chronorag media delete``) goes through here:

- ``queue`` registers an upload and its job; ``claim`` takes the oldest job and
  leases its item; ``begin`` leases an item for a direct (CLI) ingest. Each returns a
  :class:`Run`, which records progress (one throttle; it renews the lease) and ends
  ``ready`` or ``failed`` — a failed run's points and keyframes are removed.
- ``recover`` finds running items whose lease holder is gone (killed, crashed, the
  container restarted), removes their half-written points and keyframes, and puts a
  service job back in the queue or marks a direct ingest ``failed: interrupted``.
  It runs when a worker starts (and every ``recover_every_s`` while it runs), before a
  direct ingest, and on ``list_media``/``delete``. A lease held on another machine expires
  when it was not renewed for ``stale_s`` (on the store's clock); a run renews it every
  ``renew_s`` (``keeper.renewing``) and, once it finds it lost, touches nothing more.
- ``delete`` refuses an item a live run holds, hides it (not searchable), then removes
  its points, keyframes and stored upload, then its rows.

The store is any :class:`~app.lifecycle.store.MediaStore`; the index is reached
through ``points`` only when something must be removed (listing opens no index).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from app.lifecycle import lease as leases
from app.lifecycle.keeper import LeaseLost
from app.lifecycle.progress import Throttle
from app.lifecycle.records import JobRecord, Lease, Leased, MediaRecord, Status
from app.lifecycle.store import MediaStore

log = logging.getLogger("chronorag.lifecycle")

ProgressFn = Callable[[str, float], None]
INTERRUPTED = "ingestion was interrupted"


class PointStore(Protocol):
    """The part of the index the lifecycle needs: dropping an item's points."""

    def delete_media(self, media_id: str) -> None: ...


class Busy(Exception):
    """The item is being indexed by a live run (refused: delete it once that ends)."""


class Run:
    """One ingestion of one item, holding its lease; report progress, then end it once."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        media_id: str,
        lease: Lease,
        job_id: str | None,
        callback: ProgressFn | None = None,
    ) -> None:
        self.lifecycle, self.media_id, self.lease, self.job_id = lifecycle, media_id, lease, job_id
        self._callback = callback
        self._throttle = Throttle()
        self.lost = threading.Event()  # set when the lease was found taken over or gone

    @property
    def store(self) -> MediaStore:
        return self.lifecycle.store

    def probed(self, kind: str, duration_s: float | None) -> None:
        """What the file is, known after the probe (shown while it is indexed)."""
        self.store.update_media(self.media_id, kind=kind, duration_s=duration_s)

    def progress(self, stage: str, fraction: float) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"{self.media_id} is no longer leased to this run")
        fraction = min(max(float(fraction), 0.0), 1.0)
        if not self._throttle.admit(stage, fraction):
            return
        try:
            self.store.heartbeat(self.media_id, self.lease.token, self.job_id, stage, fraction)
        except Exception:  # progress is advisory: never let it break an ingestion
            log.exception("could not record progress of %s", self.media_id)
        if self._callback:
            self._callback(stage, fraction)

    def ready(self, **fields: object) -> bool:
        """Mark the item ready with its ``fields`` (chunks, language, duration_s). False
        when it was deleted (its points are removed then) or taken over meanwhile."""
        done = self.store.finish(
            self.media_id,
            self.lease.token,
            self.job_id,
            "ready",
            stage=None,
            progress=1.0,
            **fields,
        )
        if not done:
            self._lost("the media was deleted while it was being indexed")
        return done

    def fail(self, error: str) -> None:
        """Remove what the run wrote, then mark the item (and its job) failed. A run that
        lost its lease leaves the item to its new holder."""
        if not self._holds():
            self._lost(error)
            return
        try:
            self.lifecycle.discard(self.media_id)
        except Exception as cleanup:
            # leftovers stay unsearchable (not ready); the next run discards them first
            error += f" (cleanup failed too: {cleanup})"
        if not self.store.finish(
            self.media_id, self.lease.token, self.job_id, "failed", error=error, chunks=0
        ):
            self._lost(error)

    def _holds(self) -> bool:
        if self.lost.is_set():
            return False
        try:
            return self.store.renew(self.media_id, self.lease.token)
        except Exception:  # cannot tell: clean up as before (finish decides)
            log.exception("could not check the lease of %s", self.media_id)
            return True

    def _lost(self, error: str) -> None:
        if self.store.get_media(self.media_id) is None:  # deleted: drop what we wrote
            self.lifecycle.discard(self.media_id)
            if self.job_id is not None:
                self.store.update_job(self.job_id, status="failed", error=error)
        else:
            self.lost.set()
            log.warning("%s was taken over by another run; leaving it alone", self.media_id)


class Lifecycle:
    """State transitions of media items over a store, an index and the data folders."""

    def __init__(
        self,
        store: MediaStore,
        points: Callable[[], PointStore],
        *,
        keyframes_dir: Path,
        media_dir: Path,
        stale_s: float = 900.0,
        renew_s: float = 20.0,
    ) -> None:
        self.store = store
        self._points = points
        self.keyframes_dir = Path(keyframes_dir)
        self.media_dir = Path(media_dir)
        self.stale_s = stale_s
        self.renew_s = renew_s

    # --- reads that recover first -----------------------------------------------------
    def list_media(self, status: Status | None = None) -> list[MediaRecord]:
        self.recover()
        return self.store.list_media(status)

    # --- the queue (service) ----------------------------------------------------------
    def queue(
        self,
        media_id: str,
        *,
        title: str,
        path: Path,
        sha256: str,
        recorded_at: datetime | None,
        kind: str,
        duration_s: float | None,
        speakers: int | None = None,
    ) -> JobRecord:
        """Register an uploaded file as ``queued`` and create its job (``speakers``: the
        speaker count to diarize with, when the uploader knows it)."""
        record = self.store.upsert_media(
            media_id,
            title=title,
            path=str(path),
            sha256=sha256,
            recorded_at=recorded_at,
            status="queued",
        )
        if record.status == "running":
            raise Busy(f"media {media_id} is being indexed")
        self.store.update_media(media_id, kind=kind, duration_s=duration_s)
        return self.store.create_job(media_id, speakers=speakers)

    def current_job(self, record: MediaRecord) -> str | None:
        """The job an upload of an already known item answers with (``None``: queue anew).
        An item indexed by the CLI has no job: it gets a finished one."""
        if record.status == "failed" or not Path(record.path).exists():
            return None
        job_id = self.store.latest_job_id(record.media_id)
        if job_id is None and record.status == "ready":
            job_id = self.store.create_job(record.media_id, status="ready").job_id
        return job_id

    def claim(self, lease: Lease) -> JobRecord | None:
        """Take the oldest queued job for ``lease`` (from :func:`lease.held`)."""
        return self.store.claim_job(lease)

    def run_for(self, job: JobRecord, lease: Lease, progress: ProgressFn | None = None) -> Run:
        return Run(self, job.media_id, lease, job.job_id, progress)

    # --- direct ingests (CLI, evals) --------------------------------------------------
    def begin(
        self,
        media_id: str,
        lease: Lease,
        *,
        title: str,
        path: Path,
        sha256: str,
        recorded_at: datetime | None,
        progress: ProgressFn | None = None,
    ) -> Run:
        """Lease an item for a direct ingest (leftovers of an earlier attempt removed).
        Raises :class:`Busy` while another live run holds it."""
        self.recover()
        self.store.upsert_media(
            media_id,
            title=title,
            path=str(Path(path).resolve()),
            sha256=sha256,
            recorded_at=recorded_at,
            status="running",
            lease=lease,
        )
        holder = next((r.lease for r in self.store.running() if r.media_id == media_id), None)
        if holder is None or holder.token != lease.token:
            raise Busy(f"{path} is being indexed by another process ({holder})")
        self.discard(media_id)  # leftovers of an earlier failed or killed attempt
        return Run(self, media_id, lease, None, progress)

    # --- delete -----------------------------------------------------------------------
    def delete(self, media_id: str) -> bool:
        """Remove an item everywhere; False when there is none. Raises :class:`Busy` while a
        live run indexes it. Hidden first, then points, keyframes and stored upload, then
        rows: a failure half-way never leaves searchable points of a forgotten item."""
        record = self.store.get_media(media_id)
        if record is None:
            return False
        if record.status == "running":
            self.recover(only=media_id)
            record = self.store.get_media(media_id)
            if record is None:
                return False
            if record.status == "running":
                raise Busy("the media is being indexed; delete it once the job finishes")
        self.store.update_media(media_id, status="failed", error="being deleted")
        self.discard(media_id)
        stored = Path(record.path)
        # only files we stored (uploads) are ours; a file ingested from the user's disk stays
        if stored.resolve().is_relative_to(self.media_dir.resolve()):
            stored.unlink(missing_ok=True)
        self.store.delete_media(media_id)
        return True

    def discard(self, media_id: str) -> None:
        """Remove an item's points and keyframes (its rows untouched)."""
        self._points().delete_media(media_id)
        shutil.rmtree(self.keyframes_dir / media_id, ignore_errors=True)

    # --- recovery ---------------------------------------------------------------------
    def recover(self, *, only: str | None = None) -> list[Leased]:
        """Clean every running item whose lease holder is gone: service jobs go back to the
        queue, direct ingests become ``failed: ingestion was interrupted``. Live runs (here
        or in other processes) are left alone. Returns what was recovered."""
        recovered = []
        now = self.store.clock()  # heartbeats are on the store's clock
        for item in self.store.running():
            if only is not None and item.media_id != only:
                continue
            if not leases.abandoned(item.lease, stale_s=self.stale_s, now=now):
                continue
            if self._recover_one(item):
                recovered.append(item)
        if recovered:
            log.info("recovered %d interrupted ingestion(s)", len(recovered))
        return recovered

    def _recover_one(self, item: Leased) -> bool:
        """Take the abandoned lease over (one recoverer wins; the job stays ``running`` so
        nobody claims it meanwhile), remove what the dead run wrote, then requeue or fail."""
        token = item.lease.token if item.lease else None
        with leases.held() as mine:
            if not self.store.take_over(item.media_id, token, mine):
                return False  # another process recovered it (or it ended) meanwhile
            try:
                self.discard(item.media_id)
            except Exception:  # still ours, abandoned once ``mine`` ends: retried later
                log.exception("could not clean %s; retried at the next recovery", item.media_id)
                return False
            if item.job_id is not None:
                return self.store.requeue(item.media_id, mine.token, item.job_id)
            return self.store.interrupt(item.media_id, mine.token, _interrupted(item.lease))


def _interrupted(holder: Lease | None) -> str:
    return f"{INTERRUPTED} (process {holder} is gone)" if holder else INTERRUPTED
