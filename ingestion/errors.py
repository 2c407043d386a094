"""The one error type for media that cannot be ingested (bad, empty, truncated, unsupported)."""

from __future__ import annotations

from pathlib import Path


class MediaError(ValueError):
    """A media file that cannot be ingested; ``str()`` names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
