"""Request and response bodies of the REST API (the OpenAPI schema is built from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.lifecycle.records import MediaState
from vectorstore.schema import Hit, Source

JobStatus = Literal["queued", "running", "ready", "failed"]
Speak = Literal["none", "audio", "avatar"]
MAX_QUESTION_CHARS = 4000


class UploadAccepted(BaseModel):
    media_id: str
    job_id: str


class JobOut(BaseModel):
    job_id: str
    media_id: str
    status: JobStatus
    stage: str | None = None
    progress: float = 0.0
    error: str | None = None


class MediaOut(MediaState):
    file_url: str
    job_id: str | None = None


class MediaList(BaseModel):
    media: list[MediaOut]


class Deleted(BaseModel):
    media_id: str
    deleted: bool = True


class TranscriptSegment(BaseModel):
    start_s: float
    end_s: float
    text: str
    language: str | None = None


class TranscriptOut(BaseModel):
    media_id: str
    title: str
    language: str | None = None
    segments: list[TranscriptSegment]


class SearchIn(BaseModel):
    # json.loads accepts NaN and Infinity: not times
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    query: str = Field(min_length=1, max_length=2000)
    media_ids: list[str] | None = Field(default=None, max_length=1000)
    start_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, ge=0)
    source: Source | None = None
    limit: int = Field(default=5, ge=1, le=100)


class SearchOut(BaseModel):
    hits: list[Hit]


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    media_ids: list[str] | None = Field(default=None, max_length=1000)
    thread_id: str | None = Field(default=None, min_length=1, max_length=200)
    speak: Speak = "none"


class CitationOut(BaseModel):
    media_id: str
    title: str
    start_s: float
    end_s: float
    quote: str = ""


class AskOut(BaseModel):
    answer: str
    language: str
    citations: list[CitationOut]
    thread_id: str
    audio_path: str | None = None
    video_path: str | None = None
    spoken_text: str | None = None
    audio_url: str | None = None
    video_url: str | None = None
    speech_error: str | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    components: dict[str, str]
    worker: dict[str, Any] = Field(default_factory=dict)
