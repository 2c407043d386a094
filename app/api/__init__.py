"""The REST service (FastAPI): media, jobs, search, ask, OpenAI-compatible chat, web page."""

from app.api.factory import create_app

__all__ = ["create_app"]
