"""Keyframes at scene changes, from frames sampled cheaply with PyAV.

Frames are decoded once (B-frames skipped: sampling does not need them), and only a
few per second (``sample_fps``) are converted — to a small image for PySceneDetect's
``ContentDetector``. A scene also ends when it reaches ``max_keyframe_gap_s``, so keyframes
are never further apart. Each scene's keyframe is taken shortly after the cut
(``settle_s``), once a transition has settled, at a resolution good enough for OCR.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scenedetect import FrameTimecode
from scenedetect.detector import FlashFilter
from scenedetect.detectors import ContentDetector

from ingestion.decode import decoded_frames

DETECT_WIDTH = 320
KEYFRAME_MAX_WIDTH = 1280


@dataclass(frozen=True)
class SceneParams:
    """How scenes are found: ``threshold`` of PySceneDetect's ``ContentDetector``, shortest
    scene, longest gap between keyframes, frames looked at per second, and how long after
    a cut the keyframe is taken (once a transition has settled)."""

    threshold: float = 27.0
    min_scene_s: float = 1.0
    max_keyframe_gap_s: float = 30.0
    sample_fps: float = 3.0
    settle_s: float = 0.5


@dataclass
class Scene:
    """A span of similar-looking video and its keyframe (BGR)."""

    start_s: float
    end_s: float
    keyframe_s: float
    image: np.ndarray


def _resize(frame, max_width: int) -> np.ndarray:  # frame: av.VideoFrame
    width = min(max_width, frame.width)
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    return frame.reformat(width=width, height=height, format="bgr24").to_ndarray()


def iter_scenes(
    path: Path,
    params: SceneParams | None = None,
    *,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
) -> Iterator[Scene]:
    """Scenes of the first video stream, in order, each with a keyframe."""
    params = params or SceneParams()
    detector = ContentDetector(
        threshold=params.threshold,
        min_scene_len=float(params.min_scene_s),
        filter_mode=FlashFilter.Mode.SUPPRESS,
    )
    sample_fps, max_gap_s, settle_s = params.sample_fps, params.max_keyframe_gap_s, params.settle_s
    step = 1.0 / sample_fps
    next_t: float | None = None
    start: float | None = None
    key: np.ndarray | None = None
    key_t = 0.0
    last_t = 0.0
    # closed on a stop or an error: the container is released now, not at garbage collection
    with closing(decoded_frames(path, "video", skip_nonref=True)) as frames:
        for t, frame in frames:
            if stop is not None and stop.is_set():
                return
            if t is None:
                continue
            t = max(0.0, t)  # edit lists can put the first frames slightly before zero
            if next_t is not None and t < next_t:
                continue
            next_t = t + step
            last_t = t
            if start is None:
                start = t
            small = _resize(frame, DETECT_WIDTH)
            cuts = detector.process_frame(FrameTimecode(t, fps=sample_fps), small)
            if key is not None and (cuts or t - start >= max_gap_s):
                yield Scene(start, t, key_t, key)
                start, key = t, None
            if key is None or (key_t < start + settle_s <= t):
                key, key_t = _resize(frame, KEYFRAME_MAX_WIDTH), t
            if progress and duration_s:
                progress(min(1.0, t / duration_s))
    if start is not None and key is not None:
        end = max(last_t + step, duration_s or 0.0)
        yield Scene(start, end, key_t, key)
