"""``OpenAITranscriber`` against a local OpenAI-compatible *test double* of
``/v1/audio/transcriptions`` (what vLLM serves for Whisper; no such server runs here).

The double checks each request's shape (multipart fields, WAV format, piece limits) and
answers ``verbose_json`` whose "words" are the loud stretches of the piece it received,
timed in piece time. The test then checks the transcriber's offsets: back in media time,
those stretches must line up with the fixture's known speech times.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import default as email_policy

import numpy as np
import pytest

from ingestion.transcribe_openai import MAX_UPLOAD_BYTES, OpenAITranscriber, language_code
from tests.doubles import DoubleHandler, serving
from tests.media import MediaFixture

MAX_PIECE_S = 12.0
TOLERANCE_S = 0.5


def loud_stretches(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    hop = rate // 50
    n = len(samples) // hop
    if n == 0:
        return []
    rms = np.sqrt((samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    if rms.max() < 1e-3:
        return []
    loud = rms > 0.1 * rms.max()
    spans: list[list[float]] = []
    for i in np.flatnonzero(loud):
        t0, t1 = i * hop / rate, (i + 1) * hop / rate
        if spans and t0 - spans[-1][1] < 0.3:
            spans[-1][1] = t1
        else:
            spans.append([t0, t1])
    return [(a, b) for a, b in spans if b - a >= 0.1]


class TranscriptionServerDouble(DoubleHandler):
    """Test double of an OpenAI-compatible transcription server."""

    requests: list[dict] = []

    def _fail(self, message: str) -> None:
        body = json.dumps({"error": {"message": message}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/audio/transcriptions":
            return self._fail(f"unexpected path {self.path}")
        ctype = self.headers["Content-Type"]
        if not ctype.startswith("multipart/form-data"):
            return self._fail(f"expected multipart/form-data, got {ctype}")
        msg = BytesParser(policy=email_policy).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + raw
        )
        fields: dict[str, list] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields.setdefault(name, []).append(part.get_payload(decode=True))
        audio = fields.get("file", [b""])[0]
        if len(audio) > MAX_UPLOAD_BYTES:
            return self._fail("file too large")
        with wave.open(io.BytesIO(audio), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        samples = pcm.astype(np.float32) / 32768
        record = {
            "model": fields.get("model", [b""])[0].decode(),
            "response_format": fields.get("response_format", [b""])[0].decode(),
            "granularities": sorted(
                v.decode() for v in fields.get("timestamp_granularities[]", [])
            ),
            "language": fields.get("language", [b""])[0].decode() or None,
            "wav": (rate, channels, width),
            "duration": len(samples) / rate,
            "bytes": len(audio),
        }
        type(self).requests.append(record)
        if record["response_format"] != "verbose_json":
            return self._fail("this double only speaks verbose_json")
        if record["granularities"] != ["segment", "word"] or not record["model"]:
            return self._fail(f"bad request fields {record}")
        spans = loud_stretches(samples, rate)
        words = [{"word": f"w{i}", "start": a, "end": b} for i, (a, b) in enumerate(spans)]
        body = json.dumps(
            {
                "task": "transcribe",
                "language": "english",
                "duration": record["duration"],
                "text": " ".join(w["word"] for w in words),
                "words": words,
                "segments": [
                    {"id": i, "start": w["start"], "end": w["end"], "text": w["word"]}
                    for i, w in enumerate(words)
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    TranscriptionServerDouble.requests = []
    with serving(TranscriptionServerDouble) as base:
        yield base + "/v1"


def test_pieces_offsets_and_request_shape(server: str, media: MediaFixture) -> None:
    transcriber = OpenAITranscriber(server, "openai/whisper-large-v3", max_piece_s=MAX_PIECE_S)
    fractions: list[float] = []
    transcript = transcriber.transcribe(media.video, progress=fractions.append)

    requests = TranscriptionServerDouble.requests
    assert len(requests) >= 3  # 38 s in pieces of ≤ 12 s
    assert all(r["model"] == "openai/whisper-large-v3" for r in requests)
    assert all(r["wav"] == (16_000, 1, 2) for r in requests)
    assert all(r["duration"] <= MAX_PIECE_S and r["bytes"] <= MAX_UPLOAD_BYTES for r in requests)
    assert sum(r["duration"] for r in requests) == pytest.approx(media.truth.duration_s, abs=0.2)
    # language detected on the first piece, then sent with every later piece
    assert requests[0]["language"] is None
    assert {r["language"] for r in requests[1:]} == {"en"}
    assert transcript.language == "en"
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)

    words = transcript.words
    assert [w.start for w in words] == sorted(w.start for w in words)
    for clip in media.truth.clips:
        near = [
            w
            for w in words
            if w.end >= clip.start_s - TOLERANCE_S and w.start <= clip.end_s + TOLERANCE_S
        ]
        assert near, clip
        assert abs(near[0].start - clip.start_s) <= TOLERANCE_S, (clip, near[0])
        assert abs(near[-1].end - clip.end_s) <= TOLERANCE_S, (clip, near[-1])
    silence = media.truth.long_silence
    assert not [w for w in words if w.end > silence[0] + 0.3 and w.start < silence[1] - 0.3]


def test_piece_limit_is_the_protocols() -> None:
    with pytest.raises(ValueError):
        OpenAITranscriber("http://127.0.0.1:9/v1", "whisper", max_piece_s=601)


def test_server_error_surfaces(server: str, media: MediaFixture) -> None:
    import openai

    transcriber = OpenAITranscriber(server, "", max_piece_s=MAX_PIECE_S)  # no model: refused
    with pytest.raises(openai.BadRequestError):
        transcriber.transcribe(media.audio)


@pytest.mark.parametrize(("given", "code"), [("english", "en"), ("Hindi", "hi"), ("ta", "ta")])
def test_language_names_become_codes(given: str, code: str) -> None:
    assert language_code(given) == code
