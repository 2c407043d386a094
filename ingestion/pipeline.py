"""The ingestion pipeline: one media file in, time-stamped chunks in the index.

``probe → (picture ∥ speech) → chunks → index``. The picture work (scenes,
keyframes, OCR) runs in a thread while Whisper transcribes, so on a video the
wall time is close to the transcription alone. The pipeline knows nothing of media
states: it reports what it learns and how far it is to the :class:`IngestReport` it is
given (``app.lifecycle`` passes its run, which records state, progress and the lease,
and removes the points and keyframes of a run that fails or is killed).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ingestion.chunking import ChunkParams, MomentParams, moment_chunks, speech_chunks
from ingestion.diarize import Diarizer, SpeakerTurn
from ingestion.ocr import OCR
from ingestion.picture import PictureResult, analyse_picture
from ingestion.probe import MediaInfo, probe
from ingestion.scenes import SceneParams
from ingestion.speakers import assign_speakers
from ingestion.transcribe import Transcriber, Transcript
from ingestion.transcript_store import TranscriptStore, build_transcript
from vectorstore.index import ChunkIndex

STAGES = ("probe", "speech", "picture", "index")


class IngestReport(Protocol):
    """Where a run reports (thread-safe: speech and picture report from two threads).
    An exception raised here stops the run."""

    def probed(self, kind: str, duration_s: float | None) -> None: ...

    def progress(self, stage: str, fraction: float) -> None: ...


@dataclass(frozen=True)
class IngestResult:
    """What one successful run indexed."""

    kind: str
    duration_s: float | None
    language: str | None
    chunks: int


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def media_id_of(sha256: str) -> str:
    """A media item's id: the first 16 hex of its file's sha256 (same file, same id)."""
    return sha256[:16]


class Ingestor:
    """Turns media files into indexed chunks; one instance per process (holds the models).

    Thread-safe: runs of different files may go in parallel (the caller serialises runs
    of one item)."""

    def __init__(
        self,
        transcriber: Transcriber,
        ocr: OCR | None,
        index: ChunkIndex,
        keyframes_dir: Path,
        *,
        chunk_max_s: float = 20.0,
        chunk_max_words: int = 60,
        chunk_pause_s: float = 2.0,
        chunk_overlap_words: int = 3,
        moments: MomentParams | None = None,
        scene_threshold: float = 27.0,
        max_keyframe_gap_s: float = 30.0,
        min_scene_s: float = 1.0,
        sample_fps: float = 3.0,
        language: str | None = None,
        diarizer: Diarizer | None = None,
        transcripts: TranscriptStore | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.diarizer = diarizer  # None: no speakers
        self.transcripts = transcripts  # None: words are not stored
        self.ocr = ocr
        self.index = index
        self.keyframes_dir = Path(keyframes_dir)
        self.language = language
        self.chunk_params = ChunkParams(
            max_s=chunk_max_s,
            max_words=chunk_max_words,
            pause_s=chunk_pause_s,
            overlap_words=chunk_overlap_words,
        )
        self.moment_params = moments  # None: the windows of ``chunk_params``
        self.scene_params = SceneParams(
            threshold=scene_threshold,
            min_scene_s=min_scene_s,
            max_keyframe_gap_s=max_keyframe_gap_s,
            sample_fps=sample_fps,
        )

    # --- public -----------------------------------------------------------------------
    def run(
        self,
        path: Path,
        media_id: str,
        report: IngestReport,
        *,
        recorded_at: datetime | None = None,
        speakers: int | None = None,
    ) -> IngestResult:
        """Index ``path`` as ``media_id``. On an error (``MediaError`` for bad input) the
        picture thread is stopped and the error raised; what was written stays for the
        caller to discard. ``speakers``: the number of speakers when known (diarization
        finds it otherwise)."""
        report.progress("probe", 0.0)
        info = probe(Path(path))
        report.probed(info.kind, info.duration_s)
        report.progress("probe", 1.0)

        picture = _PictureThread(self, Path(path), media_id, info, recorded_at, report)
        picture.start()
        voices = _DiarizeThread(self.diarizer, Path(path), speakers, info.has_audio)
        voices.start()
        try:
            transcript = self._speech(Path(path), info, report, picture)
            transcript.words = assign_speakers(transcript.words, voices.result())
            if self.transcripts is not None:
                self.transcripts.save(build_transcript(media_id, transcript))
            # Speech chunks go in while the picture work may still run (their embedding
            # overlaps it); the item stays out of search until it is marked ready.
            report.progress("index", 0.0)
            speech = (
                moment_chunks(
                    transcript.words,
                    media_id=media_id,
                    language=transcript.language,
                    recorded_at=recorded_at,
                    params=self.moment_params,
                )
                if self.moment_params is not None
                else speech_chunks(
                    transcript.words,
                    media_id=media_id,
                    language=transcript.language,
                    recorded_at=recorded_at,
                    params=self.chunk_params,
                )
            )
            count = self.index.upsert(speech) if speech else 0
            screen = picture.result().chunks
        except BaseException:
            picture.cancel()  # a running diarizer finishes on its own (it writes nothing)
            raise
        count += self.index.upsert(screen) if screen else 0
        report.progress("index", 1.0)
        return IngestResult(
            kind=info.kind,
            duration_s=info.duration_s or transcript.duration_s,
            language=transcript.language if transcript.words else None,
            chunks=count,
        )

    # --- stages -----------------------------------------------------------------------
    def _speech(
        self, path: Path, info: MediaInfo, report: IngestReport, picture: _PictureThread
    ) -> Transcript:
        if not info.has_audio:
            return Transcript("und", 0.0, info.duration_s or 0.0, [])

        def on_speech(fraction: float) -> None:
            picture.check()  # a failed picture stage stops the transcription early
            report.progress("speech", fraction)

        on_speech(0.0)
        return self.transcriber.transcribe(path, language=self.language, progress=on_speech)


class _DiarizeThread:
    """Runs the diarizer beside the transcriber (both read the file's audio); errors
    surface in ``result()``."""

    def __init__(
        self, diarizer: Diarizer | None, path: Path, speakers: int | None, has_audio: bool
    ) -> None:
        self._turns: list[SpeakerTurn] = []
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if diarizer is None or not has_audio:
            return

        def work() -> None:
            try:
                self._turns = diarizer.diarize(path, speakers=speakers)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc

        self._thread = threading.Thread(target=work, name=f"diarize-{path.name}", daemon=True)

    def start(self) -> None:
        if self._thread is not None:
            self._thread.start()

    def join(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._thread.join()

    def result(self) -> list[SpeakerTurn]:
        self.join()
        if self._error is not None:
            raise self._error
        return self._turns


class _PictureThread:
    """Runs the picture stage beside speech; errors surface in ``result()``."""

    def __init__(
        self,
        ingestor: Ingestor,
        path: Path,
        media_id: str,
        info: MediaInfo,
        recorded_at: datetime | None,
        report: IngestReport,
    ) -> None:
        self._stop = threading.Event()
        self._result: PictureResult = PictureResult([], [], 0)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._args = (ingestor, path, media_id, info, recorded_at, report)

    def start(self) -> None:
        ingestor, path, media_id, info, recorded_at, report = self._args
        if not info.has_video:
            return

        def work() -> None:
            try:
                report.progress("picture", 0.0)
                self._result = analyse_picture(
                    path,
                    media_id=media_id,
                    keyframes_dir=ingestor.keyframes_dir,
                    ocr=ingestor.ocr,
                    params=ingestor.scene_params,
                    duration_s=info.duration_s,
                    recorded_at=recorded_at,
                    stop=self._stop,
                    progress=lambda fraction: report.progress("picture", fraction),
                )
                report.progress("picture", 1.0)
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
