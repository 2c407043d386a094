"""The ingestion pipeline: one media file in, time-stamped chunks in the index.

``probe → (picture ∥ speech) → chunks → index``. The picture work (scenes,
keyframes, OCR) runs in a thread while Whisper transcribes, so on a video the
wall time is close to the transcription alone. The registry records the item as
``running`` with stage/progress, then ``ready`` — or ``failed`` with the error,
in which case the item's points and keyframes are removed: a failed or killed
ingestion leaves nothing searchable behind. The same file (same sha256 prefix)
is a no-op once ready and restarts cleanly otherwise.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from ingestion.chunking import ChunkParams, speech_chunks
from ingestion.errors import MediaError
from ingestion.ocr import OCR
from ingestion.picture import PictureResult, analyse_picture
from ingestion.probe import MediaInfo, probe
from ingestion.scenes import SceneParams
from ingestion.transcribe import Transcriber, Transcript
from vectorstore.index import ChunkIndex
from vectorstore.registry import MediaRecord, Registry

ProgressFn = Callable[[str, float], None]
STAGES = ("probe", "speech", "picture", "index")
_PROGRESS_STEP = 0.01


@dataclass(frozen=True)
class IngestOutcome:
    media_id: str
    title: str
    status: Literal["ready", "failed"]
    duration_s: float | None
    language: str | None
    chunks: int
    error: str | None = None

    @classmethod
    def from_record(cls, record: MediaRecord) -> IngestOutcome:
        return cls(
            media_id=record.media_id,
            title=record.title,
            status="ready" if record.status == "ready" else "failed",
            duration_s=record.duration_s,
            language=record.language,
            chunks=record.chunks,
            error=record.error,
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Progress:
    """Fans stage progress out to the caller and (throttled) to the registry; thread-safe."""

    def __init__(self, registry: Registry, media_id: str, callback: ProgressFn | None) -> None:
        self._registry = registry
        self._media_id = media_id
        self._callback = callback
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        fraction = max(0.0, min(1.0, fraction))
        with self._lock:
            last = self._last.get(stage)
            if last is not None and fraction - last < _PROGRESS_STEP and fraction < 1.0:
                return
            self._last[stage] = fraction
            self._registry.update_media(self._media_id, stage=stage, progress=fraction)
        if self._callback:
            self._callback(stage, fraction)

    def stage(self, name: str) -> Callable[[float], None]:
        return lambda fraction: self(name, fraction)


class Ingestor:
    """Turns media files into indexed chunks; one instance per process (holds the models).

    Thread-safe: different files ingest in parallel, the same file once at a time."""

    def __init__(
        self,
        transcriber: Transcriber,
        ocr: OCR | None,
        index: ChunkIndex,
        registry: Registry,
        keyframes_dir: Path,
        *,
        chunk_max_s: float = 20.0,
        chunk_max_words: int = 60,
        chunk_pause_s: float = 2.0,
        chunk_overlap_words: int = 3,
        scene_threshold: float = 27.0,
        max_keyframe_gap_s: float = 30.0,
        min_scene_s: float = 1.0,
        sample_fps: float = 3.0,
        language: str | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.ocr = ocr
        self.index = index
        self.registry = registry
        self.keyframes_dir = Path(keyframes_dir)
        self.language = language
        self.chunk_params = ChunkParams(
            max_s=chunk_max_s,
            max_words=chunk_max_words,
            pause_s=chunk_pause_s,
            overlap_words=chunk_overlap_words,
        )
        self.scene_params = SceneParams(
            threshold=scene_threshold,
            min_scene_s=min_scene_s,
            max_keyframe_gap_s=max_keyframe_gap_s,
            sample_fps=sample_fps,
        )
        # one ingestion per media item at a time (the worker runs jobs in several threads)
        self._media_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # --- public -----------------------------------------------------------------------
    def ingest(
        self,
        path: Path,
        *,
        title: str | None = None,
        recorded_at: datetime | None = None,
        progress: ProgressFn | None = None,
        raise_errors: bool = True,
    ) -> IngestOutcome:
        """Index ``path``. On failure the item is cleaned up and recorded as ``failed``;
        the error is raised (``MediaError`` for bad input) unless ``raise_errors=False``,
        which returns a ``failed`` outcome instead."""
        path = Path(path)
        if not path.is_file():
            raise MediaError(path, "file not found")
        sha = file_sha256(path)
        media_id = sha[:16]
        with self._locks_guard:
            lock = self._media_locks.setdefault(media_id, threading.Lock())
        with lock:  # a second caller waits, then finds the item ready (or retries it)
            return self._ingest_locked(
                path, sha, title or path.stem, recorded_at, progress, raise_errors
            )

    def _ingest_locked(
        self,
        path: Path,
        sha: str,
        title: str,
        recorded_at: datetime | None,
        progress: ProgressFn | None,
        raise_errors: bool,
    ) -> IngestOutcome:
        media_id = sha[:16]
        existing = self.registry.get_media(media_id)
        if existing is not None and existing.status == "ready":
            return IngestOutcome.from_record(existing)
        self.discard(media_id)  # leftovers of an earlier failed or killed attempt
        self.registry.upsert_media(
            media_id,
            title=title,
            path=str(path.resolve()),
            sha256=sha,
            recorded_at=recorded_at,
            status="running",
        )
        try:
            return self._run(
                path, media_id, title, recorded_at, _Progress(self.registry, media_id, progress)
            )
        except BaseException as exc:
            error = str(exc) or type(exc).__name__
            try:
                self.discard(media_id)
            except Exception as cleanup:
                # Keep the first error. Leftovers stay unsearchable (the item is not ready)
                # and the next attempt at this file discards them before it starts.
                error += f" (cleanup failed too: {cleanup})"
                exc.add_note(f"cleanup of {media_id} failed too: {cleanup}")
            self.registry.update_media(media_id, status="failed", error=error, chunks=0)
            if raise_errors or not isinstance(exc, Exception):
                raise
            record = self.registry.get_media(media_id)
            assert record is not None
            return IngestOutcome.from_record(record)

    def discard(self, media_id: str) -> None:
        """Remove a media item's points and keyframes (registry record untouched)."""
        self.index.delete_media(media_id)
        shutil.rmtree(self.keyframes_dir / media_id, ignore_errors=True)

    def cleanup_interrupted(self, *, requeue: bool = False) -> list[str]:
        """Media left ``running`` by a killed process: remove their points and keyframes,
        then mark them ``failed`` (or ``queued`` with ``requeue=True``). Call at startup,
        before any ingestion runs in this data dir. Returns the ids cleaned."""
        cleaned = []
        # a failed item keeps the stage it died in; a requeued one starts over
        after: dict[str, object] = (
            {"status": "queued", "stage": None, "progress": 0.0}
            if requeue
            else {"status": "failed", "error": "ingestion was interrupted"}
        )
        for record in self.registry.list_media("running"):
            self.discard(record.media_id)
            self.registry.update_media(record.media_id, chunks=0, **after)
            cleaned.append(record.media_id)
        return cleaned

    # --- stages -----------------------------------------------------------------------
    def _run(
        self,
        path: Path,
        media_id: str,
        title: str,
        recorded_at: datetime | None,
        progress: _Progress,
    ) -> IngestOutcome:
        progress("probe", 0.0)
        info = probe(path)
        self.registry.update_media(media_id, kind=info.kind, duration_s=info.duration_s)
        progress("probe", 1.0)

        picture = _PictureThread(self, path, media_id, info, recorded_at, progress)
        picture.start()
        try:
            transcript = self._speech(path, info, progress, picture)
            # Speech chunks go in while the picture work may still run (their embedding
            # overlaps it); the item stays out of search until it is marked ready.
            progress("index", 0.0)
            speech = speech_chunks(
                transcript.words,
                media_id=media_id,
                language=transcript.language,
                recorded_at=recorded_at,
                params=self.chunk_params,
            )
            count = self.index.upsert(speech) if speech else 0
            screen = picture.result().chunks
        except BaseException:
            picture.cancel()
            raise
        count += self.index.upsert(screen) if screen else 0
        progress("index", 1.0)

        duration = info.duration_s or transcript.duration_s
        self.registry.update_media(
            media_id,
            status="ready",
            stage=None,
            progress=1.0,
            error=None,
            duration_s=duration,
            language=transcript.language if transcript.words else None,
            chunks=count,
        )
        return IngestOutcome(
            media_id=media_id,
            title=title,
            status="ready",
            duration_s=duration,
            language=transcript.language if transcript.words else None,
            chunks=count,
        )

    def _speech(
        self, path: Path, info: MediaInfo, progress: _Progress, picture: _PictureThread
    ) -> Transcript:
        if not info.has_audio:
            return Transcript("und", 0.0, info.duration_s or 0.0, [])

        def report(fraction: float) -> None:
            picture.check()  # a failed picture stage stops the transcription early
            progress("speech", fraction)

        report(0.0)
        return self.transcriber.transcribe(path, language=self.language, progress=report)


class _PictureThread:
    """Runs the picture stage beside speech; errors surface in ``result()``."""

    def __init__(
        self,
        ingestor: Ingestor,
        path: Path,
        media_id: str,
        info: MediaInfo,
        recorded_at: datetime | None,
        progress: _Progress,
    ) -> None:
        self._stop = threading.Event()
        self._result: PictureResult = PictureResult([], [], 0)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._args = (ingestor, path, media_id, info, recorded_at, progress)

    def start(self) -> None:
        ingestor, path, media_id, info, recorded_at, progress = self._args
        if not info.has_video:
            return

        def work() -> None:
            try:
                progress("picture", 0.0)
                self._result = analyse_picture(
                    path,
                    media_id=media_id,
                    keyframes_dir=ingestor.keyframes_dir,
                    ocr=ingestor.ocr,
                    params=ingestor.scene_params,
                    duration_s=info.duration_s,
                    recorded_at=recorded_at,
                    stop=self._stop,
                    progress=progress.stage("picture"),
                )
                progress("picture", 1.0)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc

        self._thread = threading.Thread(target=work, name=f"picture-{media_id}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def check(self) -> None:
        """Raise the picture stage's error now if it has already failed."""
        if self._error is not None:
            raise self._error

    def result(self) -> PictureResult:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result
