"""The media lifecycle: one owner for a media item's state, jobs, leases and cleanup.

``records`` (the data), ``store`` (the persistence Protocol) and ``registry`` (its
SQLite implementation), ``lease`` (who holds a running item, and is it gone),
``progress`` (the one throttle), ``lifecycle`` (the transitions: queue, claim, begin,
run, delete, recover) and ``ingest`` (the pipeline run under a lease).
"""

from app.lifecycle.lifecycle import Busy, Lifecycle, Run

__all__ = ["Busy", "Lifecycle", "Run"]
