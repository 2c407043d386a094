"""``MediaStore``: the persistence the lifecycle needs, as one small Protocol.

:class:`app.lifecycle.registry.Registry` (SQLite) and
:class:`app.lifecycle.postgres_store.PostgresStore` implement it; ``app/container.py``
chooses. Each method is one transaction; ``heartbeat``/``renew``/``finish``/``requeue``/
``interrupt`` act only while the given lease token still holds the item (compare-and-set),
``claim_job`` takes a job and leases its item at once (no two claimers get the same job),
and ``upsert_media`` never overwrites a ``running`` item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.lifecycle.records import JobRecord, Lease, Leased, MediaRecord, Status


class MediaStore(Protocol):
    # --- reads ---
    def get_media(self, media_id: str) -> MediaRecord | None: ...

    def list_media(self, status: Status | None = None) -> list[MediaRecord]: ...

    def not_ready_ids(self) -> list[str]: ...

    def is_ready(self, media_id: str) -> bool: ...

    def titles(self, media_ids: list[str]) -> dict[str, str]: ...

    def get_job(self, job_id: str) -> JobRecord | None: ...

    def latest_job_id(self, media_id: str) -> str | None: ...

    def latest_job_ids(self) -> dict[str, str]: ...

    def job_counts(self) -> dict[str, int]: ...

    def running(self) -> list[Leased]: ...

    def clock(self) -> datetime: ...

    # --- transitions ---
    def upsert_media(
        self,
        media_id: str,
        *,
        title: str,
        path: str,
        sha256: str,
        recorded_at: datetime | None,
        status: Status = "queued",
        lease: Lease | None = None,
    ) -> MediaRecord: ...

    def update_media(self, media_id: str, **fields: object) -> None: ...

    def delete_media(self, media_id: str) -> None: ...

    def create_job(
        self, media_id: str, status: Status = "queued", *, speakers: int | None = None
    ) -> JobRecord: ...

    def update_job(self, job_id: str, **fields: object) -> None: ...

    def claim_job(self, lease: Lease) -> JobRecord | None: ...

    def heartbeat(
        self, media_id: str, token: str, job_id: str | None, stage: str, progress: float
    ) -> None: ...

    def renew(self, media_id: str, token: str) -> bool: ...

    def take_over(self, media_id: str, token: str | None, lease: Lease) -> bool: ...

    def finish(
        self,
        media_id: str,
        token: str,
        job_id: str | None,
        status: Status,
        *,
        error: str | None = None,
        **fields: object,
    ) -> bool: ...

    def requeue(self, media_id: str, token: str | None, job_id: str) -> bool: ...

    def interrupt(self, media_id: str, token: str | None, error: str) -> bool: ...

    def close(self) -> None: ...
