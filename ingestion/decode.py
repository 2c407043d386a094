"""Tolerant PyAV decoding: frames of one stream, skipping damaged packets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import av

_MAX_DEMUX_ERRORS = 50


def decoded_frames(
    path: Path, kind: Literal["audio", "video"], *, threads: int = 1, skip_nonref: bool = False
) -> Iterator[tuple[float | None, av.AudioFrame | av.VideoFrame]]:
    """``(media time, frame)`` of the first ``kind`` stream; a damaged packet is skipped, the
    rest kept. Media time counts from the container's start (MPEG-TS starts at 1.4 s, say);
    it is ``None`` for a frame without a timestamp. ``skip_nonref`` leaves out frames no other
    frame depends on (B-frames): about half the decoding, for callers that only sample."""
    with av.open(str(path)) as container:
        origin = container.start_time / av.time_base if container.start_time else 0.0
        streams = [
            s
            for s in getattr(container.streams, kind)
            if not (s.disposition & av.stream.Disposition.attached_pic)
        ]
        if not streams:
            return
        stream = streams[0]
        stream.codec_context.thread_count = threads
        if skip_nonref:
            stream.codec_context.skip_frame = "NONREF"
        errors = 0
        while True:
            try:
                for packet in container.demux(stream):
                    try:
                        for frame in packet.decode():
                            yield _media_time(frame, origin), frame
                    except av.error.FFmpegError:
                        continue  # a damaged packet: keep the rest
                return
            except av.error.EOFError:
                return
            except av.error.FFmpegError:
                # The demuxer hit garbage; reading resumes after it.
                errors += 1
                if errors > _MAX_DEMUX_ERRORS:
                    return


def _media_time(frame: av.AudioFrame | av.VideoFrame, origin: float) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base) - origin
