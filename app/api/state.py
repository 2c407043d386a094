"""What every route needs, held on ``app.state.chronorag`` for the life of the service."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import Depends, Request

from app.api.limits import Admission

if TYPE_CHECKING:
    from app.api.metrics import Metrics
    from app.api.threads import ThreadMap
    from app.config import Settings
    from app.container import Container
    from app.worker import IngestWorker


@dataclass
class ServiceState:
    """The container, metrics, thread map, worker and request limits of one service."""

    container: Container
    metrics: Metrics
    threads: ThreadMap
    worker: IngestWorker | None = None
    upload_idle_timeout_s: float = 30.0
    warm_status: dict[str, str] = field(default_factory=dict)
    warm_lock: threading.Lock = field(default_factory=threading.Lock)
    # clip encodes: two at once, a few more waiting, the rest refused (503)
    clip_slots: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(2))
    clip_admission: Admission = field(default_factory=lambda: Admission("clip encodes", 8))
    upload_admission: Admission = field(default_factory=lambda: Admission("uploads", 8))
    # chapter lists not yet stored each take an LLM pass: a few at once, the rest refused
    chapter_admission: Admission = field(default_factory=lambda: Admission("chapter lists", 4))

    @property
    def settings(self) -> Settings:
        return self.container.settings

    @property
    def clips_dir(self) -> Path:
        """Where clips are encoded; each is deleted once sent (the folder is emptied at start)."""
        return self.settings.data_dir / "clips"


async def service(request: Request) -> ServiceState:
    """FastAPI dependency: the running service's state."""
    return request.app.state.chronorag


State = Annotated[ServiceState, Depends(service)]
