"""Where uploaded media live on disk and how they are served (names, types, containment)."""

from __future__ import annotations

from pathlib import Path

# container format (as PyAV/ffmpeg name it) → (video extension, audio extension)
_EXTENSIONS: dict[str, tuple[str, str]] = {
    "mp4": (".mp4", ".m4a"),
    "mov": (".mp4", ".m4a"),
    "matroska": (".mkv", ".mka"),
    "webm": (".webm", ".webm"),
    "avi": (".avi", ".avi"),
    "mpegts": (".ts", ".ts"),
    "mpeg": (".mpg", ".mpg"),
    "flv": (".flv", ".flv"),
    "ogg": (".ogv", ".ogg"),
    "wav": (".wav", ".wav"),
    "mp3": (".mp3", ".mp3"),
    "flac": (".flac", ".flac"),
    "aac": (".aac", ".aac"),
    "opus": (".opus", ".opus"),
}

MEDIA_TYPES: dict[str, str] = {
    ".mp4": "video/mp4", ".m4a": "audio/mp4", ".mkv": "video/x-matroska",
    ".mka": "audio/x-matroska", ".webm": "video/webm", ".avi": "video/x-msvideo",
    ".ts": "video/mp2t", ".mpg": "video/mpeg", ".flv": "video/x-flv", ".ogv": "video/ogg",
    ".ogg": "audio/ogg", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac",
    ".aac": "audio/aac", ".opus": "audio/ogg", ".jpg": "image/jpeg",
}


def extension_for(format_name: str | None, has_video: bool) -> str:
    """A file extension matching the probed container (``.bin`` when unknown)."""
    for name in (format_name or "").split(","):
        if name.strip() in _EXTENSIONS:
            video, audio = _EXTENSIONS[name.strip()]
            return video if has_video else audio
    return ".bin"


def media_type_for(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def inside(path: Path, root: Path) -> bool:
    """True when ``path`` resolves to somewhere under ``root`` (no traversal or symlink escape)."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True
