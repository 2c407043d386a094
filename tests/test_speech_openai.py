"""OpenAI ``/v1/audio/speech`` client against a local test double of a speech server.

The double (``SpeechServerDouble``) stands in for vLLM-Omni or another remote TTS
server we cannot run here: it checks the request like the real API would and answers
with real speech synthesised by eSpeak NG.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import numpy as np
import pytest

from speech.audio import read_wav
from speech.openai_tts import OpenAITTS
from speech.router import TTSRouter
from speech.speaker import Speaker
from speech.tts import TTSError, UnsupportedLanguageError
from tests.doubles import DoubleHandler, serving


class SpeechServerDouble(DoubleHandler):
    """Test double of an OpenAI-compatible speech server."""

    requests: list[dict] = []
    fail_with: int | None = None

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), **body}
        )
        if self.path != "/v1/audio/speech":
            return self._reply(404, b'{"error": "not found"}', "application/json")
        if type(self).fail_with:
            return self._reply(type(self).fail_with, b'{"error": "overloaded"}', "application/json")
        if not body.get("input") or not body.get("model") or not body.get("voice"):
            return self._reply(
                400, b'{"error": "input, model and voice are required"}', "application/json"
            )
        wav = subprocess.run(
            ["espeak-ng", "-v", "en-us", "--stdout"],
            input=body["input"].encode(),
            capture_output=True,
            check=True,
        ).stdout
        if body.get("response_format") == "pcm":
            return self._reply(200, wav[44:], "audio/pcm")  # raw s16le after the header
        if body.get("response_format") == "flac":
            flac = subprocess.run(
                ["ffmpeg", "-loglevel", "error", "-i", "pipe:0", "-f", "flac", "pipe:1"],
                input=wav,
                capture_output=True,
                check=True,
            ).stdout
            return self._reply(200, flac, "audio/flac")
        if body.get("response_format") == "mp3":
            return self._reply(200, b"<html>not audio</html>", "text/html")
        # espeak's --stdout header has placeholder sizes: rewrite them as a real server would.
        data = wav[44:]
        header = bytearray(wav[:44])
        header[4:8] = (36 + len(data)).to_bytes(4, "little")
        header[40:44] = len(data).to_bytes(4, "little")
        return self._reply(200, bytes(header) + data, "audio/wav")


@pytest.fixture()
def server() -> Iterator[str]:
    SpeechServerDouble.requests = []
    SpeechServerDouble.fail_with = None
    with serving(SpeechServerDouble) as base:
        yield base + "/v1"


def test_wav_speech_from_server(server, tmp_path):
    tts = OpenAITTS(server, model="tts-1", voice="alloy", api_key="secret", languages=["en"])
    result = Speaker(tts).speak(
        "Hello from the speech server. It has two sentences.", "en", tmp_path
    )
    audio = read_wav(result.audio_path)
    assert audio.sample_rate == 22050 and 2.0 < audio.duration_s < 8.0
    assert np.abs(audio.samples).max() > 3000
    sent = SpeechServerDouble.requests
    assert [r["input"] for r in sent] == ["Hello from the speech server.", "It has two sentences."]
    assert sent[0]["response_format"] == "wav" and sent[0]["auth"] == "Bearer secret"
    assert sent[0]["model"] == "tts-1" and sent[0]["voice"] == "alloy"


def test_pcm_response_format(server):
    tts = OpenAITTS(server, response_format="pcm", pcm_sample_rate=22050)
    audio = tts.synthesize("Raw samples.", "en")
    assert audio.sample_rate == 22050 and audio.duration_s > 0.5
    assert np.abs(audio.samples).max() > 3000


def test_compressed_response_is_decoded(server):
    audio = OpenAITTS(server, response_format="flac").synthesize("Compressed speech.", "en")
    assert audio.sample_rate == 22050 and audio.duration_s > 0.5
    assert np.abs(audio.samples).max() > 3000
    with pytest.raises(TTSError, match="no usable audio"):
        OpenAITTS(server, response_format="mp3").synthesize("Broken.", "en")


def test_server_errors_and_language_limits_are_clear(server):
    SpeechServerDouble.fail_with = 503
    tts = OpenAITTS(server, languages=["en", "hi"])
    with pytest.raises(TTSError, match="speech server .* failed"):
        tts.synthesize("Hello.", "en")
    with pytest.raises(UnsupportedLanguageError):
        tts.synthesize("வணக்கம்", "ta")
    assert TTSRouter([tts]).languages() == {"en", "hi"}


def test_unreachable_server_is_a_clear_error():
    tts = OpenAITTS("http://127.0.0.1:9/v1", timeout_s=2)
    with pytest.raises(TTSError, match="127.0.0.1:9"):
        tts.synthesize("Hello.", "en")


def test_m4a_with_its_index_at_the_end_decodes(tmp_path):
    """ffmpeg writes an M4A's index after the samples; from a pipe it decoded to a bare WAV
    header (zero samples, exit 0) once the file outgrew ffmpeg's probe buffer (a 5 s file
    decoded, a 20 s one did not). Real bytes of the eval's own encoder, 20 s of tone."""
    import shutil

    from evals.meeting_speech import encode_m4a
    from speech.audio import Audio, AudioError, decode_audio, write_wav

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed")
    t = np.arange(20 * 22_050) / 22_050
    tone = Audio((8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16), 22_050)
    m4a = encode_m4a(write_wav(tone, tmp_path / "tone.wav"), tmp_path / "tone.m4a")
    audio = decode_audio(m4a.read_bytes())
    assert audio.sample_rate == 16_000
    assert audio.duration_s == pytest.approx(20, abs=0.1)
    assert np.abs(audio.samples).max() > 4000
    with pytest.raises(AudioError):
        decode_audio(m4a.read_bytes()[:200])  # cut off: ffmpeg finds no index and fails


def test_decoding_to_nothing_is_an_error(tmp_path):
    """A decoder that exits 0 with a bare WAV header (what the pipe gave) is an error, not
    zero seconds of audio."""
    import wave

    from speech.audio import AudioError, decode_audio

    header = tmp_path / "empty.wav"
    with wave.open(str(header), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
    fake = tmp_path / "ffmpeg-double"
    fake.write_text(f"#!/bin/sh\ncat {header}\n")
    fake.chmod(0o755)
    with pytest.raises(AudioError, match="no audio samples"):
        decode_audio(b"ID3 not really mp3", ffmpeg=str(fake))
