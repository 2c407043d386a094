"""Built-in CPU talking head: OpenCV draws each frame, ffmpeg encodes and muxes.

The mouth follows the speech envelope (:mod:`speech.mouth`), the eyes blink every
2–5 s and the head sways and nods slightly. Frames are written straight into
ffmpeg's stdin as raw BGR (never held in memory all at once), encoded with libx264
and muxed with the WAV as AAC. The frame count is ``round(duration × fps)``, so the
video and audio streams end within half a frame of each other.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from speech.audio import Audio, AudioError, read_wav
from speech.avatar import AvatarError
from speech.face import Portrait
from speech.mouth import MouthTrack, mouth_track


def blink_track(n_frames: int, fps: float, seed: int = 0) -> np.ndarray:
    """Eyelid closure per frame: a ~0.2 s blink every 2–5 s (reproducible for a seed)."""
    rng = np.random.default_rng(seed)
    closure = np.zeros(n_frames, dtype=np.float32)
    shape = np.array([0.5, 1.0, 1.0, 0.6, 0.2], dtype=np.float32)
    t = rng.uniform(1.0, 3.0)
    while (start := int(t * fps)) < n_frames:
        end = min(n_frames, start + len(shape))
        closure[start:end] = shape[: end - start]
        t += rng.uniform(2.0, 5.0)
    return closure


class CvAvatar:
    """Render a talking head at ``size``×``size`` pixels, ``fps`` frames per second."""

    name = "builtin"

    def __init__(
        self,
        portrait: Path | None = None,
        *,
        size: int = 256,
        fps: int = 25,
        ffmpeg: str = "ffmpeg",
        threads: int = 2,
        crf: int = 23,
    ) -> None:
        if size < 64 or size % 2:
            raise ValueError("avatar size must be an even number ≥ 64")
        self.portrait = Portrait.from_image(portrait, size) if portrait else Portrait.default(size)
        self.size = size
        self.fps = fps
        resolved = shutil.which(ffmpeg)
        if resolved is None:
            raise AvatarError(f"{ffmpeg} is not installed (Debian package ffmpeg)")
        self.ffmpeg = resolved
        self.threads = threads
        self.crf = crf

    def frames(self, track: MouthTrack, seed: int = 0) -> Iterator[np.ndarray]:
        """The BGR frames for a mouth track, one at a time."""
        blinks = blink_track(len(track), self.fps, seed)
        amp = self.size / 256.0
        for i in range(len(track)):
            t = i / self.fps
            angle = 1.6 * math.sin(2 * math.pi * t / 4.3) + 0.6 * math.sin(2 * math.pi * t / 1.9)
            dx = amp * 2.0 * math.sin(2 * math.pi * t / 5.1 + 0.7)
            dy = amp * (1.2 * math.sin(2 * math.pi * t / 3.7) + 1.5 * float(track.open[i]))
            yield self.portrait.frame(
                float(track.open[i]), float(track.round[i]), float(blinks[i]), angle, (dx, dy)
            )

    def _command(self, audio_path: Path, out: Path) -> list[str]:
        return [
            self.ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "-s",
            f"{self.size}x{self.size}",
            "-r",
            str(self.fps),
            "-i",
            "pipe:0",
            "-i",
            str(audio_path),
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            str(self.crf),
            "-pix_fmt",
            "yuv420p",
            "-threads",
            str(self.threads),
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(out),
        ]

    def render(self, audio_path: Path, out_path: Path) -> Path:
        try:
            audio: Audio = read_wav(Path(audio_path))
        except (AudioError, OSError) as exc:
            raise AvatarError(f"cannot read speech audio {audio_path}: {exc}") from exc
        if len(audio.samples) == 0:
            raise AvatarError(f"speech audio {audio_path} is empty")
        track = mouth_track(audio, self.fps)
        out_path = Path(out_path)
        fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=".", suffix=".mp4.part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(
                    self._command(Path(audio_path), tmp),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
                assert proc.stdin is not None
                try:
                    for frame in self.frames(track, seed=len(audio.samples)):
                        proc.stdin.write(frame.tobytes())
                except BrokenPipeError:
                    pass  # ffmpeg died; its exit code and stderr say why
                finally:
                    proc.stdin.close()
                code = proc.wait()
                errors.seek(0)
                reason = errors.read().decode("utf-8", "replace").strip()
            if code != 0:
                raise AvatarError(f"ffmpeg failed ({code}) rendering the avatar: {reason}")
            tmp.replace(out_path)
        finally:
            tmp.unlink(missing_ok=True)
        return out_path
