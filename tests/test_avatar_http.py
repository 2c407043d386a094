"""Lip-sync HTTP avatar backend against a local test double of a MuseTalk/Wav2Lip-style
service (a GPU server we cannot run here). The double checks the documented request shape
and answers with a real MP4 made by ffmpeg from the posted portrait and audio."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import cv2
import numpy as np
import pytest

from speech.audio import read_wav
from speech.avatar import Avatar, AvatarError, stream_durations
from speech.espeak_tts import EspeakTTS
from speech.factory import build_avatar
from speech.http_avatar import HttpAvatar
from speech.speaker import Speaker
from tests.doubles import DoubleHandler, serving

pytestmark = pytest.mark.timeout(120)


class LipSyncServiceDouble(DoubleHandler):
    """Test double of a lip-sync service: multipart audio + image in, MP4 out."""

    mode = "mp4"  # "mp4" (video + audio), "video-only", "error", "html"
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + raw)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        type(self).received.append(
            {name: (p.get_content_type(), p.get_payload(decode=True)) for name, p in parts.items()}
            | {"auth": self.headers.get("Authorization")}
        )
        if self.mode == "error":
            return self._reply(500, b"CUDA out of memory", "text/plain")
        if self.mode == "html":
            return self._reply(200, b"<html>busy</html>", "text/html")
        if not {"audio", "image", "fps"} <= parts.keys():
            return self._reply(422, b"audio, image and fps are required", "text/plain")
        with tempfile.TemporaryDirectory() as tmp:
            image, audio, video = Path(tmp, "face.png"), Path(tmp, "a.wav"), Path(tmp, "v.mp4")
            image.write_bytes(parts["image"].get_payload(decode=True))
            audio.write_bytes(parts["audio"].get_payload(decode=True))
            fps = parts["fps"].get_payload(decode=True).decode()
            seconds = f"{read_wav(audio).duration_s:.3f}"  # a looped still never ends by itself
            cmd = [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-loop",
                "1",
                "-framerate",
                fps,
                "-t",
                seconds,
                "-i",
                str(image),
                "-i",
                str(audio),
                "-map",
                "0:v",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-vf",
                "scale=256:256",
            ]
            if self.mode == "mp4":
                cmd += ["-map", "1:a", "-c:a", "aac"]
            subprocess.run([*cmd, str(video)], check=True, capture_output=True, timeout=60)
            return self._reply(200, video.read_bytes(), "video/mp4")


@pytest.fixture()
def service() -> Iterator[str]:
    LipSyncServiceDouble.mode = "mp4"
    LipSyncServiceDouble.received = []
    with serving(LipSyncServiceDouble) as base:
        yield base + "/v1/lipsync"


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("speech")
    return Speaker(EspeakTTS()).speak("Hello from the lip sync test.", "en", folder).audio_path


def test_posts_documented_request_and_saves_mp4(service, speech_wav, tmp_path):
    avatar = build_avatar("http", url=service, api_key="k")
    assert isinstance(avatar, Avatar) and avatar.name == "http"
    out = avatar.render(speech_wav, tmp_path / "answer.mp4")
    request = LipSyncServiceDouble.received[0]
    assert request["audio"] == ("audio/wav", speech_wav.read_bytes())
    assert request["image"][0] == "image/png" and request["fps"][1] == b"25"
    assert request["auth"] == "Bearer k"
    portrait = cv2.imdecode(np.frombuffer(request["image"][1], np.uint8), cv2.IMREAD_COLOR)
    assert portrait.shape == (256, 256, 3)  # the built-in drawn face was sent
    assert set(stream_durations(out)) == {"video", "audio"}


def test_video_only_answer_gets_the_audio_muxed_in(service, speech_wav, tmp_path):
    LipSyncServiceDouble.mode = "video-only"
    jpg = tmp_path / "me.jpg"
    cv2.imwrite(str(jpg), np.full((300, 240, 3), 180, np.uint8))
    out = HttpAvatar(service, jpg).render(speech_wav, tmp_path / "answer.mp4")
    assert LipSyncServiceDouble.received[0]["image"][0] == "image/jpeg"
    durations = stream_durations(out)
    assert set(durations) == {"video", "audio"}
    assert abs(durations["video"] - durations["audio"]) <= 0.2


@pytest.mark.parametrize(("mode", "message"), [("error", "answered 500"), ("html", "not an MP4")])
def test_service_failures_are_clear_and_leave_nothing(service, speech_wav, tmp_path, mode, message):
    LipSyncServiceDouble.mode = mode
    with pytest.raises(AvatarError, match=message):
        HttpAvatar(service).render(speech_wav, tmp_path / "answer.mp4")
    assert list(tmp_path.iterdir()) == []


def test_unreachable_service_and_bad_config(speech_wav, tmp_path):
    with pytest.raises(AvatarError, match="unreachable"):
        HttpAvatar("http://127.0.0.1:9/lipsync", timeout_s=2).render(speech_wav, tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="http"):
        HttpAvatar("ftp://host/lipsync")
    with pytest.raises(ValueError, match="needs the lip-sync service URL"):
        build_avatar("http")
