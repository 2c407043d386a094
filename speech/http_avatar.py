"""Talking head from an external lip-sync service (MuseTalk / Wav2Lip-style GPU servers).

Wire format (one request per answer)::

    POST <url>                       e.g. http://lipsync:8000/v1/lipsync
    Content-Type: multipart/form-data
      audio  — the speech, WAV (audio/wav), filename "speech.wav"
      image  — the portrait, PNG (image/png), filename "portrait.png"
      fps    — text, frames per second wanted (default "25")
    Authorization: Bearer <api_key>   (only when an api_key is configured)

    200 OK
    Content-Type: video/mp4
    body — the MP4 (H.264 video; with the audio muxed in, or video only)

Any other status, or a body that is not an MP4 with a video stream, raises
:class:`speech.avatar.AvatarError` quoting the status and the start of the body.
A video-only answer gets the WAV muxed in locally with ffmpeg (video copied as is).
Without a configured portrait the built-in drawn face is sent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import httpx

from speech.avatar import AvatarError, stream_durations
from speech.face import Portrait


class HttpAvatar:
    """Client for a lip-sync HTTP service (see the module docstring for the protocol)."""

    name = "http"

    def __init__(
        self,
        url: str,
        portrait: Path | None = None,
        *,
        fps: int = 25,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        ffmpeg: str = "ffmpeg",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"lip-sync service URL must be http(s)://…, got {url!r}")
        self.url = url
        if portrait is not None:
            if not Path(portrait).is_file():
                raise AvatarError(f"portrait image not found: {portrait}")
            self.portrait_bytes = Path(portrait).read_bytes()
            self.portrait_type = (
                "image/jpeg" if Path(portrait).suffix.lower() in (".jpg", ".jpeg") else "image/png"
            )
            self.portrait_name = "portrait" + (Path(portrait).suffix.lower() or ".png")
        else:
            ok, png = cv2.imencode(".png", Portrait.default().image)
            if not ok:
                raise AvatarError("could not encode the default portrait")
            self.portrait_bytes = png.tobytes()
            self.portrait_type, self.portrait_name = "image/png", "portrait.png"
        self.fps = fps
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout_s = timeout_s
        self.ffmpeg = shutil.which(ffmpeg) or ffmpeg

    def _post(self, audio_path: Path) -> bytes:
        files = {
            "audio": ("speech.wav", Path(audio_path).read_bytes(), "audio/wav"),
            "image": (self.portrait_name, self.portrait_bytes, self.portrait_type),
        }
        try:
            response = httpx.post(
                self.url,
                files=files,
                data={"fps": str(self.fps)},
                headers=self.headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise AvatarError(f"lip-sync service {self.url} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise AvatarError(
                f"lip-sync service {self.url} answered {response.status_code}: "
                f"{response.text[:200]!r}"
            )
        body = response.content
        if body[4:8] != b"ftyp":
            kind = response.headers.get("content-type", "?")
            raise AvatarError(f"lip-sync service {self.url} sent {kind}, not an MP4: {body[:80]!r}")
        return body

    def render(self, audio_path: Path, out_path: Path) -> Path:
        if not Path(audio_path).is_file():
            raise AvatarError(f"speech audio not found: {audio_path}")
        body = self._post(Path(audio_path))
        out_path = Path(out_path)
        with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".lipsync-") as tmp:
            got = Path(tmp) / "service.mp4"
            got.write_bytes(body)
            streams = stream_durations(got)
            if "video" not in streams:
                raise AvatarError(f"lip-sync service {self.url} sent an MP4 without video")
            final = got
            if "audio" not in streams:
                final = Path(tmp) / "muxed.mp4"
                cmd = [
                    self.ffmpeg,
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-y",
                    "-i",
                    str(got),
                    "-i",
                    str(audio_path),
                    "-map",
                    "0:v:0",
                    "-map",
                    "1:a:0",
                    "-c:v",
                    "copy",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "96k",
                    "-movflags",
                    "+faststart",
                    str(final),
                ]
                done = subprocess.run(cmd, capture_output=True, timeout=600)
                if done.returncode != 0:
                    raise AvatarError(f"ffmpeg could not add audio: {done.stderr.decode()[:300]}")
            os.replace(final, out_path)
        return out_path
