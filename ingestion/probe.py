"""Probe a media file by its content (PyAV), never by its extension.

Accepts video (mp4, mkv, avi, webm, mov, ts, ...) and audio-only files (wav, mp3,
m4a, ogg, flac, ...). Anything else — empty, truncated, undecodable, a still image
or text renamed to a media extension — raises :class:`MediaError`. When the
container does not declare a duration, it is estimated by demuxing the packets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av

from ingestion.errors import MediaError

# Demuxers that read single images or text, not media streams.
_NOT_MEDIA_FORMATS = {"image2", "tty", "lavfi", "concat", "bin", "txt", "srt", "ass", "webvtt"}
_DECODE_CHECK_PACKETS = 200


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds."""

    kind: Literal["video", "audio"]
    duration_s: float | None
    has_audio: bool
    has_video: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    format_name: str = ""
    codecs: list[str] = field(default_factory=list)


def _declared_duration(container: av.container.InputContainer) -> float | None:
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    durations = [
        float(s.duration * s.time_base)
        for s in container.streams
        if s.duration and s.time_base and s.type in ("audio", "video")
    ]
    return max(durations) if durations else None


def estimate_duration(path: Path) -> float | None:
    """Duration from the packets' timestamps (demux only, no decoding)."""
    end = 0.0
    try:
        with av.open(str(path)) as container:
            streams = [s for s in container.streams if s.type in ("audio", "video")]
            for packet in container.demux(streams):
                if packet.pts is None or packet.time_base is None:
                    continue
                t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                end = max(end, t)
    except av.error.FFmpegError:
        pass  # a damaged tail: keep what was read
    return end or None


def _decodes(container: av.container.InputContainer, stream: av.stream.Stream) -> bool:
    """True when at least one frame of ``stream`` decodes (tolerating bad packets)."""
    seen = 0
    try:
        for packet in container.demux(stream):
            seen += 1
            try:
                if packet.decode():
                    return True
            except av.error.FFmpegError:
                pass
            if seen >= _DECODE_CHECK_PACKETS:
                return False
    except av.error.FFmpegError:
        return False
    return False


def probe(path: Path) -> MediaInfo:
    """Inspect ``path``; raise :class:`MediaError` unless it holds decodable audio or video."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "file not found")
    if path.stat().st_size == 0:
        raise MediaError(path, "file is empty")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(path, f"not a readable audio/video file ({reason})") from exc
    with container:
        fmt = container.format.name or ""
        if set(fmt.split(",")) & _NOT_MEDIA_FORMATS or fmt.endswith("_pipe"):
            raise MediaError(path, f"not an audio/video file (detected format {fmt!r})")
        audio = next(iter(container.streams.audio), None)
        video = next(
            (
                v
                for v in container.streams.video
                # attached cover art is a still picture, not video
                if not (v.disposition & av.stream.Disposition.attached_pic)
            ),
            None,
        )
        if audio is None and video is None:
            raise MediaError(path, f"no audio or video stream (format {fmt!r})")
        codecs = [s.codec_context.name for s in (audio, video) if s is not None]
        declared = _declared_duration(container)
        width = video.codec_context.width if video else None
        height = video.codec_context.height if video else None
        rate = video.average_rate or video.guessed_rate if video else None
        fps = float(rate) if rate else None

    has_audio = audio is not None and _check_stream(path, "audio")
    has_video = video is not None and _check_stream(path, "video")
    if not (has_audio or has_video):
        raise MediaError(path, f"no decodable audio or video (format {fmt!r}, codecs {codecs})")
    duration = declared if declared else estimate_duration(path)
    if not duration or duration <= 0:
        raise MediaError(path, "could not determine a positive duration")
    return MediaInfo(
        kind="video" if has_video else "audio",
        duration_s=duration,
        has_audio=has_audio,
        has_video=has_video,
        width=width if has_video else None,
        height=height if has_video else None,
        fps=fps if has_video else None,
        format_name=fmt,
        codecs=codecs,
    )


def _check_stream(path: Path, kind: str) -> bool:
    try:
        with av.open(str(path)) as container:
            streams = getattr(container.streams, kind)
            stream = next(
                (s for s in streams if not (s.disposition & av.stream.Disposition.attached_pic)),
                None,
            )
            return stream is not None and _decodes(container, stream)
    except av.error.FFmpegError:
        return False
