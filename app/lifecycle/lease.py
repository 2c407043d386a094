"""Leases: which process is indexing an item, and whether that process is gone.

A lease names a host, a pid and a run token. On the same host the holder is gone when
its pid no longer runs (or is a zombie); when the pid is this very process the run is
alive only while it is in this process's set of held tokens (so a restarted container
whose service is pid 1 again, or a worker stopped mid-job, is recovered). Another
host's lease is abandoned when it has not reported progress for ``stale_s``.
A reused pid looks alive: such an item waits for the other host rule (never here).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app.lifecycle.records import Lease

_held: set[str] = set()
_held_lock = threading.Lock()


@contextmanager
def held() -> Iterator[Lease]:
    """A new lease for one run in this process, known to be alive while the block runs."""
    lease = Lease(socket.gethostname(), os.getpid(), uuid.uuid4().hex)
    with _held_lock:
        _held.add(lease.token)
    try:
        yield lease
    finally:
        with _held_lock:
            _held.discard(lease.token)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    try:  # a killed child its parent has not reaped yet still answers signal 0
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def abandoned(lease: Lease | None, *, stale_s: float, now: datetime | None = None) -> bool:
    """True when nobody is working on an item under ``lease`` any more."""
    if lease is None:
        return True  # a row from before leases: its writer is long gone
    if lease.host == socket.gethostname():
        if lease.pid == os.getpid():
            with _held_lock:
                return lease.token not in _held
        return not _pid_alive(lease.pid)
    if lease.heartbeat_at is None:
        return True
    age = (now or datetime.now(UTC)) - lease.heartbeat_at
    return age.total_seconds() > stale_s
