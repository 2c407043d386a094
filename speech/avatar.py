"""The ``Avatar`` Protocol: speech audio in, talking-head MP4 (H.264 + AAC) out.

Backends: :class:`speech.cv_avatar.CvAvatar` (built-in, CPU, OpenCV + ffmpeg) and
:class:`speech.http_avatar.HttpAvatar` (an external lip-sync service).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Protocol, runtime_checkable


class AvatarError(RuntimeError):
    """Rendering failed (bad audio, ffmpeg error, lip-sync service error)."""


@runtime_checkable
class Avatar(Protocol):
    """Renders a talking head for a WAV file."""

    name: str

    def render(self, audio_path: Path, out_path: Path) -> Path:
        """Write an MP4 with video + the given audio to ``out_path`` (atomically); return it."""
        ...


def stream_durations(path: Path, ffprobe: str = "ffprobe") -> dict[str, float]:
    """Duration in seconds of each stream kind ('video', 'audio') in a media file."""
    cmd = [
        ffprobe,
        "-v",
        "error",
        "-show_entries",
        "stream=codec_type,duration",
        "-of",
        "json",
        str(path),
    ]
    try:
        out = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise AvatarError(f"ffprobe could not read {path}: {exc}") from exc
    durations: dict[str, float] = {}
    for stream in json.loads(out).get("streams", []):
        kind, duration = stream.get("codec_type"), stream.get("duration")
        if kind in ("video", "audio") and duration not in (None, "N/A"):
            durations.setdefault(kind, float(duration))
    return durations
