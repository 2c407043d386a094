"""eSpeak NG TTS through the Debian ``espeak-ng`` command line.

It has voices for Hindi, Tamil, Telugu, Bengali, Marathi, Gujarati, Kannada,
Malayalam, Punjabi, Urdu, Nepali, Odia, Assamese and ~100 more; the list is read
from ``espeak-ng --voices`` so whatever the installed data holds is available.
The Debian CLI is used rather than the PyPI ``espeakng-loader`` library: it is
already a system dependency here (ffmpeg's neighbour) and needs no ctypes glue.
Text goes in on stdin (never as an argument), audio comes back as a WAV file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from functools import cached_property
from pathlib import Path

from speech.audio import Audio, read_wav
from speech.tts import TTSError, UnsupportedLanguageError, base_language

_OTHER_LANG = re.compile(r"\(([\w-]+) (\d+)\)")


def list_voices(binary: str = "espeak-ng") -> dict[str, str]:
    """Map base language code → eSpeak voice name (``-v`` argument), from ``--voices``.

    A voice named exactly after the language wins ("hi"); otherwise the one eSpeak
    itself ranks best for it in the "Other Languages" column ("en-gb" for "en").
    """
    out = _run([binary, "--voices"], timeout=30).stdout.decode("utf-8", "replace")
    best: dict[str, tuple[int, str]] = {}
    for order, line in enumerate(out.splitlines()[1:]):
        fields = line.split()
        if len(fields) < 5:
            continue
        voice = fields[1]
        ranked = [(voice, 0 if "-" not in voice else 1000 + order)]
        ranked += [(code, int(rank)) for code, rank in _OTHER_LANG.findall(" ".join(fields[5:]))]
        for code, rank in ranked:
            base = code.lower().split("-")[0]
            if base.isalpha() and (base not in best or rank < best[base][0]):
                best[base] = (rank, voice)
    return {base: voice for base, (_, voice) in best.items()}


def _run(cmd: list[str], *, timeout: float, stdin: bytes | None = None):
    try:
        return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, check=True)
    except FileNotFoundError as exc:
        raise TTSError(f"{cmd[0]} is not installed (Debian package espeak-ng)") from exc
    except subprocess.CalledProcessError as exc:
        reason = exc.stderr.decode("utf-8", "replace").strip()
        raise TTSError(f"{cmd[0]} failed ({exc.returncode}): {reason}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TTSError(f"{cmd[0]} timed out after {timeout} s") from exc


class EspeakTTS:
    """Formant synthesis in any language eSpeak NG has a voice for."""

    name = "espeak"

    def __init__(
        self, *, binary: str = "espeak-ng", words_per_minute: int = 150, timeout_s: float = 120
    ) -> None:
        path = shutil.which(binary)
        if path is None:
            raise TTSError(f"{binary} is not installed (Debian package espeak-ng)")
        self.binary = path
        self.words_per_minute = words_per_minute
        self.timeout_s = timeout_s

    @cached_property
    def voices(self) -> dict[str, str]:
        voices = list_voices(self.binary)
        if not voices:
            raise TTSError(f"{self.binary} --voices listed no voices")
        return voices

    def languages(self) -> set[str]:
        return set(self.voices)

    def supports(self, language: str) -> bool:
        return base_language(language) in self.voices

    def synthesize(self, text: str, language: str) -> Audio:
        voice = self.voices.get(base_language(language))
        if voice is None:
            raise UnsupportedLanguageError(language, list(self.voices))
        with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
            wav_path = Path(tmp) / "out.wav"
            cmd = [
                self.binary,
                "-v",
                voice,
                "-b",
                "1",
                "-s",
                str(self.words_per_minute),
                "-w",
                str(wav_path),
            ]
            _run(cmd, timeout=self.timeout_s, stdin=text.encode("utf-8"))
            audio = read_wav(wav_path)
        if len(audio.samples) == 0:
            raise TTSError(f"espeak-ng produced no audio for {text[:60]!r}")
        return audio
