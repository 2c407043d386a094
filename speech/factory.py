"""Build the speech backends from plain parameters (the composition root passes settings).

TTS order (first backend that speaks the answer's language wins — the stated fallback):

* ``auto`` / ``piper``: Piper (English voice) → eSpeak NG (every other language)
* ``espeak``: eSpeak NG only
* ``transformers``: the local checkpoint (its ``languages``) → Piper → eSpeak NG
* ``openai``: the speech server (its ``languages``, empty = all) → Piper → eSpeak NG

A language none of them speaks raises ``UnsupportedLanguageError`` listing those that exist.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Literal

from speech.avatar import Avatar
from speech.tts import TTS

TTSBackend = Literal["auto", "piper", "espeak", "transformers", "openai"]


def build_tts(
    backend: TTSBackend = "auto",
    *,
    piper_voice: tuple[Path, Path] | None = None,
    url: str | None = None,
    model: str = "tts-1",
    voice: str = "alloy",
    api_key: str = "EMPTY",
    transformers_path: Path | None = None,
    languages: Collection[str] = (),
    threads: int = 2,
) -> TTS:
    """A :class:`speech.router.TTSRouter` over the chosen backend plus the offline fallbacks."""
    from speech.espeak_tts import EspeakTTS
    from speech.router import TTSRouter

    chain: list[TTS] = []
    if backend == "openai":
        if not url:
            raise ValueError("tts backend 'openai' needs a server URL (…/v1)")
        from speech.openai_tts import OpenAITTS

        chain.append(OpenAITTS(url, model=model, voice=voice, api_key=api_key, languages=languages))
    elif backend == "transformers":
        if transformers_path is None:
            raise ValueError("tts backend 'transformers' needs a local checkpoint folder")
        from speech.transformers_tts import TransformersTTS

        chain.append(TransformersTTS(transformers_path, languages=languages))
    elif backend not in ("auto", "piper", "espeak"):
        raise ValueError(f"unknown TTS backend {backend!r}")
    if backend != "espeak" and piper_voice is not None:
        from speech.piper_tts import PiperTTS

        chain.append(PiperTTS(piper_voice[0], piper_voice[1], threads=threads))
    elif backend == "piper":
        raise ValueError("tts backend 'piper' needs the voice files (app.assets.piper_voice())")
    chain.append(EspeakTTS())
    return TTSRouter(chain)


def build_avatar(
    backend: Literal["builtin", "http"] = "builtin",
    *,
    url: str | None = None,
    portrait: Path | None = None,
    api_key: str | None = None,
    threads: int = 2,
) -> Avatar:
    if backend == "builtin":
        from speech.cv_avatar import CvAvatar

        return CvAvatar(portrait, threads=threads)
    if backend == "http":
        if not url:
            raise ValueError("avatar backend 'http' needs the lip-sync service URL")
        from speech.http_avatar import HttpAvatar

        return HttpAvatar(url, portrait, api_key=api_key)
    raise ValueError(f"unknown avatar backend {backend!r}")
