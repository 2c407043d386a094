"""Backend failures as clear HTTP answers instead of a bare 500.

Each family of errors the models, the index, speech or the disk can raise maps to one
status and a sentence saying which part failed; the exception text is the reason. The
503s carry ``Retry-After``: a model server that is down or overloaded may come back.
"""

from __future__ import annotations

import errno
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.api.limits import RETRY_AFTER_S

log = logging.getLogger("chronorag.api")


def _families() -> list[tuple[type[BaseException], int, str]]:
    """(error type, status, what failed); the first matching entry wins."""
    from graphs.llm import LengthLimitError, LLMError
    from graphs.llm_server import LlamaServerError
    from graphs.vlm import VLMError
    from speech.audio import AudioError
    from speech.avatar import AvatarError
    from speech.tts import TTSError, UnsupportedLanguageError
    from vectorstore.embedders import EmbedderError
    from vectorstore.index import IndexInUseError, IndexMismatchError

    return [
        (LengthLimitError, 503, "the request is too long for the chat model"),
        (LLMError, 503, "the chat model failed"),
        (LlamaServerError, 503, "the chat model server failed"),
        (VLMError, 503, "the vision model failed"),
        (EmbedderError, 503, "the embedding model failed"),
        (IndexMismatchError, 503, "the index does not match the configured embedder"),
        (IndexInUseError, 503, "the index is held by another process"),
        (UnsupportedLanguageError, 422, "no voice for that language"),
        (TTSError, 503, "speech synthesis failed"),
        (AvatarError, 503, "the avatar renderer failed"),
        (AudioError, 503, "speech audio failed"),
    ]


def describe(exc: BaseException) -> tuple[int, str] | None:
    """The status and message for a known failure, or None."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return 507, "the server's disk is full"
    for kind, status, what in _families():
        if isinstance(exc, kind):
            return status, f"{what}: {exc}" if str(exc) else what
    return None


def install(app: FastAPI) -> None:
    """Register one handler per failure family on ``app``."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        known = describe(exc)
        if known is None:  # an OSError that is not a full disk: a real 500
            raise exc
        status, message = known
        log.warning("%s %s: %s", request.method, request.url.path, message)
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        return JSONResponse({"detail": message}, status_code=status, headers=headers)

    for kind, _, _ in _families():
        app.add_exception_handler(kind, handle)
    app.add_exception_handler(OSError, handle)
