"""What the lifecycle stores about a media item and its jobs (plain data, no behaviour).

A media item moves ``queued → running(stage, progress) → ready | failed(error)``;
a job is one queued ingestion of it. While ``running`` the item carries a
:class:`Lease`: which process holds it and when that process last reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Status = Literal["queued", "running", "ready", "failed"]


class MediaState(BaseModel):
    """What may be shown about a media item (the service returns exactly this, plus links)."""

    media_id: str
    title: str
    kind: str | None = None
    duration_s: float | None = None
    language: str | None = None
    recorded_at: datetime | None = None
    status: Status
    stage: str | None = None
    progress: float = 0.0
    error: str | None = None
    chunks: int = 0
    created_at: datetime
    updated_at: datetime


class MediaRecord(MediaState):
    """The registry row: the public state plus where the file is and its checksum."""

    path: str
    sha256: str


class JobState(BaseModel):
    """What a job's public view shows (``GET /v1/jobs/{id}``)."""

    job_id: str
    media_id: str
    status: Status
    stage: str | None = None
    progress: float = 0.0
    error: str | None = None


class JobRecord(JobState):
    created_at: datetime
    updated_at: datetime
    attempts: int = 0  # how many times a worker claimed it (a re-claim after a lost lease)
    owner: str | None = None  # "host:pid" of the worker that claimed it last
    speakers: int | None = None  # the speaker count the uploader gave (None: found by diarizing)


@dataclass(frozen=True)
class Lease:
    """Who is indexing an item: a process (``host``, ``pid``) and one run in it (``token``).

    ``heartbeat_at`` is when the holder last reported progress (set by the store)."""

    host: str
    pid: int
    token: str
    heartbeat_at: datetime | None = None

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}"


@dataclass(frozen=True)
class Leased:
    """A ``running`` item as recovery sees it: its lease (``None`` on rows written before
    leases existed) and the job it runs for (``None`` for a CLI ingest)."""

    media_id: str
    lease: Lease | None
    job_id: str | None
