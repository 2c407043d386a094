"""Request and response bodies of the REST API (the OpenAPI schema is built from these)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.answering import Answer, Speak, Speech
from app.lifecycle.records import JobState, MediaState
from graphs.agent import AskResult
from ingestion.transcript_store import TranscriptSegment
from vectorstore.schema import Hit, Source

MAX_QUESTION_CHARS = 4000


class UploadAccepted(BaseModel):
    media_id: str
    job_id: str


class JobOut(JobState):
    """A job as the API shows it (no internal timestamps)."""


class MediaOut(MediaState):
    file_url: str
    job_id: str | None = None


class MediaList(BaseModel):
    media: list[MediaOut]


class Deleted(BaseModel):
    media_id: str
    deleted: bool = True


class TranscriptOut(BaseModel):
    """The stored transcript: segments with speakers, each with Whisper's timed words."""

    media_id: str
    title: str
    language: str | None = None
    segments: list[TranscriptSegment]


class SpeakerOut(BaseModel):
    speaker: str = Field(description="The diarizer's id (S1, S2…).")
    name: str | None = Field(description="The name a user gave, if any.")
    proposed_name: str | None = Field(description="A name the speaker gave for themself.")
    proposed_role: str | None = Field(
        default=None, description='The role they gave themself ("the marketing expert").'
    )
    speech_s: float
    segments: int


class SpeakersOut(BaseModel):
    media_id: str
    speakers: list[SpeakerOut]


class SpeakersIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    names: dict[str, str] = Field(
        min_length=1,
        max_length=50,
        description="Speaker id or current name → new name, e.g. {\"S2\": \"Chiara\"}.",
    )


class SearchIn(BaseModel):
    # json.loads accepts NaN and Infinity: not times
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    query: str = Field(min_length=1, max_length=2000)
    media_ids: list[str] | None = Field(default=None, max_length=1000)
    start_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, ge=0)
    source: Source | None = None
    speaker: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=5, ge=1, le=100)


class SearchOut(BaseModel):
    hits: list[Hit]
    query: str = Field(
        description="What was searched: the query minus the roles and the speaker it names"
    )
    speaker: str | None = Field(
        default=None,
        description="Whose lines these are: the request's speaker, or the one its query named",
    )


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    media_ids: list[str] | None = Field(default=None, max_length=1000)
    thread_id: str | None = Field(default=None, min_length=1, max_length=200)
    speak: Speak = "none"


class AskOut(AskResult, Speech):
    """An answer as the API returns it: :class:`app.answering.Answer` with its files as
    URLs under ``/v1/answers/`` (never server paths)."""

    audio_url: str | None = None
    video_url: str | None = None

    @classmethod
    def of(cls, answer: Answer, url: Callable[[str | None], str | None]) -> AskOut:
        """``answer`` with ``url`` (a file path → its URL) applied to its audio and video."""
        return cls(
            **answer.model_dump(exclude={"audio_path", "video_path"}),
            audio_url=url(answer.audio_path),
            video_url=url(answer.video_path),
        )


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    components: dict[str, str]
    worker: dict[str, Any] = Field(default_factory=dict)
