"""Keeping a run's lease alive while it works, however long a stage reports nothing.

Progress renews the lease too, but a stage may be silent for longer than the lease
lasts (a long transcription chunk, a slow model load). ``renewing(run, every_s)`` runs a
daemon thread that renews the lease every ``every_s``; when a renewal finds the lease
gone (it expired and another worker re-claimed the job, or the item was deleted) the
run is marked lost: its next progress report raises :class:`LeaseLost`, and it neither
cleans up nor finishes what now belongs to someone else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.lifecycle.lifecycle import Run

log = logging.getLogger("chronorag.lifecycle")


class LeaseLost(Exception):
    """This run no longer holds its item (expired and taken over, or deleted)."""


@contextmanager
def renewing(run: Run, every_s: float) -> Iterator[None]:
    """Renew ``run``'s lease every ``every_s`` while the block runs."""
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(every_s):
            try:
                held = run.store.renew(run.media_id, run.lease.token)
            except Exception:  # the database is away: try again at the next tick
                log.warning("could not renew the lease of %s", run.media_id, exc_info=True)
                continue
            if not held:
                log.warning("lost the lease of %s (expired or deleted)", run.media_id)
                run.lost.set()
                return

    thread = threading.Thread(target=keep, name=f"lease-{run.media_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
