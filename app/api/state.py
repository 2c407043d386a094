"""What every route needs, held on ``app.state.chronorag`` for the life of the service."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from app.api.metrics import Metrics
    from app.api.threads import ThreadMap
    from app.config import Settings
    from app.container import Container
    from app.worker import IngestWorker


@dataclass
class ServiceState:
    container: Container
    metrics: Metrics
    threads: ThreadMap
    worker: IngestWorker | None = None
    upload_idle_timeout_s: float = 30.0
    warm_status: dict[str, str] = field(default_factory=dict)
    warm_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def settings(self) -> Settings:
        return self.container.settings


def service(request: Request) -> ServiceState:
    """FastAPI dependency: the running service's state."""
    return request.app.state.chronorag


State = Annotated[ServiceState, Depends(service)]
