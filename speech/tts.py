"""The ``TTS`` Protocol every text-to-speech backend implements, and its errors.

A backend says which languages it can speak (``supports``) and turns one piece
of text into :class:`speech.audio.Audio`. Callers pass text already written for
the ear (see :mod:`speech.spoken`), usually one sentence at a time.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from speech.audio import Audio


class TTSError(RuntimeError):
    """Synthesis failed (backend missing, server error, empty result)."""


class UnsupportedLanguageError(TTSError):
    """No configured voice speaks ``language``; the message lists those that exist."""

    def __init__(self, language: str, available: list[str]) -> None:
        self.language = language
        self.available = sorted(available)
        shown = ", ".join(self.available) if self.available else "none"
        super().__init__(f"no voice for language {language!r}; voices exist for: {shown}")


def base_language(language: str) -> str:
    """'hi-IN' / 'en_US' / 'EN' → 'hi' / 'en' / 'en'. Raises on an empty code."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if not code.isalpha():
        raise UnsupportedLanguageError(language, [])
    return code


@runtime_checkable
class TTS(Protocol):
    """Text-to-speech backend."""

    name: str

    def languages(self) -> set[str]:
        """Base language codes this backend speaks; an empty set means 'any'."""
        ...

    def supports(self, language: str) -> bool: ...

    def synthesize(self, text: str, language: str) -> Audio:
        """Speak ``text`` in ``language``; raises TTSError / UnsupportedLanguageError."""
        ...
