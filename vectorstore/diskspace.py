"""A free-space floor for writes that must never meet a full disk.

The embedded Qdrant edge shard writes through memory-mapped files: when the disk fills
mid-write the kernel answers with SIGBUS and the whole process dies, instead of the
``ENOSPC`` error any other write gets. So writes check the floor first and fail as an
ordinary ``OSError(ENOSPC)`` — a clear, catchable error — while there is still room.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing parent)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def ensure_free(path: Path, min_free_bytes: int, what: str, need: int = 0) -> None:
    """Raise ``OSError(ENOSPC)`` unless ``need`` bytes fit above the ``min_free_bytes`` floor."""
    if min_free_bytes <= 0 and need <= 0:
        return
    free = free_bytes(path)
    if free - need < min_free_bytes:
        raise OSError(
            errno.ENOSPC,
            f"not enough free disk space for {what}: {free // 2**20} MB free, "
            f"{(min_free_bytes + need) // 2**20} MB needed ({os.fspath(path)})",
        )
