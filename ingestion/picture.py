"""The picture side of ingestion: keyframes saved as JPEG, their text read as ``screen`` chunks.

A keyframe near-identical to the previous one is not read again; consecutive
scenes that show the same text become one chunk spanning them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from ingestion.ocr import OCR
from ingestion.scenes import Scene, SceneParams, iter_scenes
from vectorstore.schema import Chunk

_SAME_FRAME_MEAN_DIFF = 3.0  # mean abs difference (0–255) of 64×36 grey thumbnails


@dataclass
class PictureResult:
    keyframes: list[Path]
    chunks: list[Chunk]
    ocr_calls: int


def _thumb(image: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (64, 36)).astype(np.int16)


def analyse_picture(
    path: Path,
    *,
    media_id: str,
    keyframes_dir: Path,
    ocr: OCR | None,
    params: SceneParams,
    duration_s: float | None,
    recorded_at: datetime | None,
    stop: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
) -> PictureResult:
    out_dir = keyframes_dir / media_id
    out_dir.mkdir(parents=True, exist_ok=True)
    result = PictureResult([], [], 0)
    prev_thumb: np.ndarray | None = None
    prev_text = ""
    scenes = iter_scenes(path, params, duration_s=duration_s, stop=stop, progress=progress)
    with closing(scenes):  # an error below releases the video file at once
        for scene in scenes:
            jpeg = out_dir / f"{round(scene.keyframe_s * 1000):09d}.jpg"
            if not cv2.imwrite(str(jpeg), scene.image, [cv2.IMWRITE_JPEG_QUALITY, 85]):
                raise OSError(f"could not write keyframe {jpeg}")
            result.keyframes.append(jpeg)
            if ocr is None:
                continue
            thumb = _thumb(scene.image)
            same = (
                prev_thumb is not None and np.abs(thumb - prev_thumb).mean() < _SAME_FRAME_MEAN_DIFF
            )
            prev_thumb = thumb
            if not same:
                prev_text = ocr.read(scene.image).strip()
                result.ocr_calls += 1
            _add_screen_chunk(result.chunks, scene, prev_text, jpeg, media_id, recorded_at)
    return result


def _add_screen_chunk(
    chunks: list[Chunk],
    scene: Scene,
    text: str,
    jpeg: Path,
    media_id: str,
    recorded_at: datetime | None,
) -> None:
    if not text:
        return
    last = chunks[-1] if chunks else None
    if last is not None and last.text == text and abs(last.end_s - scene.start_s) < 1e-3:
        last.end_s = scene.end_s
        return
    chunks.append(
        Chunk(
            media_id=media_id,
            source="screen",
            start_s=scene.start_s,
            end_s=scene.end_s,
            text=text,
            recorded_at=recorded_at,
            keyframe=str(jpeg),
        )
    )
