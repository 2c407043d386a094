"""Pick a TTS backend for each answer's language.

Backends are tried in the order given (the composition root puts the configured one
first, then the offline fallbacks: Piper for English, eSpeak NG for everything it
has). A language no backend speaks raises :class:`UnsupportedLanguageError` naming
the languages that do have a voice — never silent audio.
"""

from __future__ import annotations

from collections.abc import Sequence

from speech.audio import Audio
from speech.tts import TTS, UnsupportedLanguageError, base_language


class TTSRouter:
    """A TTS that delegates to the first backend supporting the language."""

    name = "router"

    def __init__(self, backends: Sequence[TTS]) -> None:
        if not backends:
            raise ValueError("TTSRouter needs at least one backend")
        self.backends = list(backends)

    def languages(self) -> set[str]:
        found: set[str] = set()
        for backend in self.backends:
            found |= backend.languages()
        return found

    def supports(self, language: str) -> bool:
        return any(b.supports(language) for b in self.backends)

    def backend_for(self, language: str) -> TTS:
        for backend in self.backends:
            if backend.supports(language):
                return backend
        raise UnsupportedLanguageError(base_language(language), list(self.languages()))

    def synthesize(self, text: str, language: str) -> Audio:
        return self.backend_for(language).synthesize(text, language)
