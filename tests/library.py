"""A small ingested library on disk (the talk video, tiny.en Whisper) for the integration
tests: the retrievers, the MCP server and companion documents open it by its home."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.container import Container
from tests.media import MediaFixture

LIBRARY_TITLE = "Weekly sync"


@dataclass(frozen=True)
class Library:
    home: Path
    media_id: str
    duration_s: float

    def settings(self, **overrides: object) -> Settings:
        return Settings(home=self.home, asr_model="tiny.en", **overrides)  # type: ignore[arg-type]


def build_library(home: Path, media: MediaFixture) -> Library:
    """Ingest the talk video into ``home`` and close everything (the index is free again)."""
    container = Container(Settings(home=home, asr_model="tiny.en"))
    try:
        out = container.ingestor.ingest(
            media.video, title=LIBRARY_TITLE, recorded_at=datetime(2026, 11, 24, 10, tzinfo=UTC)
        )
    finally:
        container.close()
    assert out.status == "ready", out.error
    assert out.duration_s is not None
    return Library(home=home, media_id=out.media_id, duration_s=out.duration_s)
