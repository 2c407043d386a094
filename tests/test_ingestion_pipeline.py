"""End-to-end ingestion on real media with real models: faster-whisper tiny.en, RapidOCR,
multilingual-e5-small and the real embedded index (``vectorstore.edge_index``), run the way
every entry point runs it: the pipeline under the lifecycle (``app.lifecycle.ingest``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.assets import whisper_model_dir
from app.lifecycle import Lifecycle
from app.lifecycle.ingest import Ingestion, IngestOutcome
from app.lifecycle.records import Lease
from app.lifecycle.registry import Registry
from ingestion.errors import MediaError
from ingestion.ocr import RapidOCRReader
from ingestion.pipeline import Ingestor
from ingestion.transcribe import FasterWhisperTranscriber, Transcript
from tests.media import MediaFixture, assert_words_at_clip_times
from vectorstore.edge_index import EdgeChunkIndex
from vectorstore.embedders import E5Embedder
from vectorstore.index import ChunkIndex
from vectorstore.schema import SearchRequest

pytestmark = pytest.mark.slow


class RecordingTranscriber:
    """The real transcriber, remembering the last transcript so tests can inspect words."""

    def __init__(self, inner: FasterWhisperTranscriber) -> None:
        self.inner = inner
        self.name, self.model = inner.name, inner.model
        self.last: Transcript | None = None

    def transcribe(self, path: Path, **kwargs) -> Transcript:
        self.last = self.inner.transcribe(path, **kwargs)
        return self.last


@dataclass
class Env:
    ingestor: Ingestion
    index: ChunkIndex
    registry: Registry
    keyframes: Path
    transcriber: RecordingTranscriber


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    # max_piece_s=20 makes the 38 s talk go through Whisper in two pieces (offsets tested)
    whisper = FasterWhisperTranscriber(
        whisper_model_dir("tiny.en", tmp_path_factory.mktemp("models")),
        name="tiny.en",
        threads=2,
        max_piece_s=20.0,
    )
    return RecordingTranscriber(whisper), RapidOCRReader(), E5Embedder(threads=2)


def _env(root: Path, models) -> Env:
    transcriber, ocr, embedder = models
    index = EdgeChunkIndex(root / "index" / "chronorag", embedder)
    registry = Registry(root / "db.sqlite3")
    keyframes = root / "keyframes"
    pipeline = Ingestor(transcriber, ocr, index, keyframes, chunk_max_s=12.0)
    return Env(_ingestion(registry, index, keyframes, pipeline), index, registry, keyframes,
               transcriber)  # fmt: skip


def _ingestion(registry: Registry, index: ChunkIndex, keyframes: Path, pipeline: Ingestor):
    lifecycle = Lifecycle(
        registry, lambda: index, keyframes_dir=keyframes, media_dir=keyframes.parent / "media"
    )
    return Ingestion(lifecycle, pipeline)


@pytest.fixture(scope="module")
def shared(models, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    env = _env(tmp_path_factory.mktemp("shared"), models)
    yield env
    env.index.close()
    env.registry.close()


@pytest.fixture
def fresh(models, tmp_path: Path) -> Iterator[Env]:
    env = _env(tmp_path, models)
    yield env
    env.index.close()
    env.registry.close()


@dataclass
class VideoRun:
    outcome: IngestOutcome
    transcript: Transcript
    progress: list[tuple[str, float]]


@pytest.fixture(scope="module")
def video_run(shared: Env, media: MediaFixture) -> VideoRun:
    seen: list[tuple[str, float]] = []
    outcome = shared.ingestor.ingest(
        media.video, title="LibriVox talk", progress=lambda s, f: seen.append((s, f))
    )
    assert shared.transcriber.last is not None
    return VideoRun(outcome, shared.transcriber.last, seen)


# --- the happy path -----------------------------------------------------------------------
def test_video_words_at_the_right_times(video_run: VideoRun, media: MediaFixture) -> None:
    assert video_run.outcome.status == "ready"
    assert video_run.transcript.language == media.truth.language
    assert_words_at_clip_times(video_run.transcript.words, media.truth.clips)
    silence = media.truth.long_silence
    words = video_run.transcript.words
    assert not [w for w in words if silence[0] + 0.5 < w.start < silence[1] - 0.5]


def test_video_outcome_and_registry(video_run: VideoRun, shared: Env, media: MediaFixture) -> None:
    out = video_run.outcome
    assert out.language == "en"
    assert out.duration_s == pytest.approx(media.truth.duration_s, abs=0.5)
    assert out.chunks == shared.index.count(out.media_id) > 0
    record = shared.registry.get_media(out.media_id)
    assert record is not None and record.status == "ready" and record.kind == "video"
    assert record.chunks == out.chunks and record.language == "en" and record.error is None
    stages = {stage for stage, _ in video_run.progress}
    assert {"probe", "speech", "picture", "index"} <= stages
    for stage in stages:
        fractions = [f for s, f in video_run.progress if s == stage]
        assert fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_speech_chunks_follow_words(video_run: VideoRun, shared: Env, media: MediaFixture) -> None:
    chunks = shared.index.window(video_run.outcome.media_id, sources=["speech"])
    assert len(chunks) >= 4
    starts = {round(w.start, 3) for w in video_run.transcript.words}
    ends = {round(w.end, 3) for w in video_run.transcript.words}
    silence = media.truth.long_silence
    for chunk in chunks:
        assert round(chunk.start_s, 3) in starts and round(chunk.end_s, 3) in ends
        assert chunk.end_s - chunk.start_s <= 12.0 + 1e-6
        assert not (chunk.start_s < silence[0] and chunk.end_s > silence[1]), chunk
        assert chunk.language == "en"
    spoken = " ".join(c.text for c in chunks).lower()
    assert "dashwood" in spoken and "respectable" in spoken


def test_screen_text_in_the_right_scene(
    video_run: VideoRun, shared: Env, media: MediaFixture
) -> None:
    media_id = video_run.outcome.media_id
    screens = shared.index.window(media_id, sources=["screen"])
    for slide in media.truth.slides:
        found = [c for c in screens if all(word in c.text for word in slide.text.split())]
        assert found, (slide, [c.text for c in screens])
        chunk = found[0]
        assert abs(chunk.start_s - slide.start_s) <= 1.0, (slide, chunk)
        assert abs(chunk.end_s - slide.end_s) <= 1.0, (slide, chunk)
        assert chunk.keyframe and Path(chunk.keyframe).is_file()
        assert Path(chunk.keyframe).parent == shared.keyframes / media_id


def test_search_finds_speech_and_screen(video_run: VideoRun, shared: Env, media: MediaFixture):
    media_id = video_run.outcome.media_id
    hits = shared.index.search(SearchRequest(query="volcano safety", media_ids=[media_id]))
    assert hits and hits[0][0].source == "screen" and "VOLCANO" in hits[0][0].text
    clip = media.truth.clips[1]  # "he was not an ill disposed young man"
    req = SearchRequest(
        query="not an ill disposed young man", media_ids=[media_id], source="speech"
    )
    top = shared.index.search(req)[0][0]
    assert top.start_s <= clip.end_s and top.end_s >= clip.start_s


def test_reingest_ready_file_is_a_noop(video_run: VideoRun, shared: Env, media: MediaFixture):
    before = shared.index.count(video_run.outcome.media_id)
    seen: list[tuple[str, float]] = []
    again = shared.ingestor.ingest(media.video, progress=lambda s, f: seen.append((s, f)))
    assert again == video_run.outcome
    assert seen == []  # nothing ran
    assert shared.index.count(video_run.outcome.media_id) == before


def test_audio_only_file(shared: Env, media: MediaFixture) -> None:
    out = shared.ingestor.ingest(media.audio)
    assert out.status == "ready" and out.language == "en"
    record = shared.registry.get_media(out.media_id)
    assert record is not None and record.kind == "audio"
    assert shared.transcriber.last is not None
    assert_words_at_clip_times(shared.transcriber.last.words, media.truth.clips)
    chunks = shared.index.window(out.media_id)
    assert chunks and {c.source for c in chunks} == {"speech"}
    assert not (shared.keyframes / out.media_id).exists()


def _ffmpeg(*args: str) -> None:
    import subprocess

    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", *args], check=True)


def test_audio_without_speech_is_ready_with_nothing_said(fresh: Env, tmp_path: Path) -> None:
    noise = tmp_path / "room-noise.ogg"
    _ffmpeg("-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.02:seed=3", "-t", "6",
            "-c:a", "libvorbis", str(noise))  # fmt: skip
    out = fresh.ingestor.ingest(noise)
    assert out.status == "ready" and out.chunks == 0 and out.language is None
    assert out.duration_s == pytest.approx(6.0, abs=0.1)
    last = fresh.transcriber.last
    assert last is not None and last.words == [] and last.language == "und"
    assert fresh.index.count() == 0


def test_very_short_speech_file(fresh: Env, media: MediaFixture, tmp_path: Path) -> None:
    first = media.truth.clips[0]
    short = tmp_path / "blip.wav"
    _ffmpeg("-i", str(media.audio), "-ss", f"{first.start_s + 0.2:.2f}", "-t", "0.4", str(short))
    out = fresh.ingestor.ingest(short)
    assert out.status == "ready" and out.duration_s == pytest.approx(0.4, abs=0.05)
    assert fresh.index.count(out.media_id) == out.chunks
    assert all(c.end_s <= 0.45 for c in fresh.index.window(out.media_id))


class CountingTranscriber:
    """The real transcriber, counting its calls (thread-safe)."""

    def __init__(self, inner: RecordingTranscriber) -> None:
        import threading

        self.inner, self.calls, self._lock = inner, 0, threading.Lock()
        self.name, self.model = inner.name, inner.model

    def transcribe(self, path: Path, **kwargs) -> Transcript:
        with self._lock:
            self.calls += 1
        return self.inner.transcribe(path, **kwargs)


def test_the_same_file_from_two_threads_is_ingested_once(fresh: Env, media: MediaFixture) -> None:
    from concurrent.futures import ThreadPoolExecutor

    counting = CountingTranscriber(fresh.transcriber)
    pipeline = Ingestor(counting, None, fresh.index, fresh.keyframes)
    ingestor = _ingestion(fresh.registry, fresh.index, fresh.keyframes, pipeline)
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: ingestor.ingest(media.audio), range(2)))
    assert [o.status for o in outcomes] == ["ready", "ready"]
    assert outcomes[0].chunks == outcomes[1].chunks == fresh.index.count() > 0
    assert counting.calls == 1


# --- bad and damaged input ----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["truncated", "random", "text", "empty"])
def test_bad_input_fails_naming_the_file(kind: str, bad_media: dict[str, Path], fresh: Env):
    path = bad_media[kind]
    with pytest.raises(MediaError) as err:
        fresh.ingestor.ingest(path)
    assert str(path) in str(err.value) and err.value.reason
    assert fresh.index.count() == 0
    (record,) = fresh.registry.list_media()
    assert record.status == "failed" and str(path) in (record.error or "")
    assert not any(fresh.keyframes.glob("*/*.jpg"))


def test_damaged_packets_keep_the_rest(bad_media: dict[str, Path], fresh: Env, media):
    out = fresh.ingestor.ingest(bad_media["damaged"])
    assert out.status == "ready"
    transcript = fresh.transcriber.last
    assert transcript is not None
    # the noise sits mid-file: speech before and after it is still there, at its true time
    first, last = media.truth.clips[0], media.truth.clips[-1]
    assert_words_at_clip_times(transcript.words, (first, last))
    screens = fresh.index.window(out.media_id, sources=["screen"])
    assert any("WHALES" in c.text for c in screens) and any("PIANO" in c.text for c in screens)


def test_media_without_declared_duration(bad_media: dict[str, Path], fresh: Env, media):
    out = fresh.ingestor.ingest(bad_media["no_duration"])
    assert out.status == "ready"
    assert out.duration_s == pytest.approx(media.truth.duration_s, abs=0.5)


# --- failures and interrupted runs --------------------------------------------------------
class Crash(RuntimeError):
    pass


@pytest.mark.parametrize(("stage", "at"), [("speech", 0.3), ("picture", 0.3), ("index", 1.0)])
def test_failure_mid_way_leaves_nothing(stage: str, at: float, fresh: Env, media) -> None:
    def crash(s: str, fraction: float) -> None:
        if s == stage and fraction >= at:
            raise Crash(f"simulated crash in {stage}")

    with pytest.raises(Crash):
        fresh.ingestor.ingest(media.video, progress=crash)
    (record,) = fresh.registry.list_media()
    assert record.status == "failed" and "simulated crash" in (record.error or "")
    assert fresh.index.count() == 0
    assert not (fresh.keyframes / record.media_id).exists()
    if stage == "index":  # points were written before the crash; the same file restarts cleanly
        out = fresh.ingestor.ingest(media.video)
        assert out.status == "ready" and fresh.index.count(out.media_id) == out.chunks > 0


def test_failed_outcome_without_raising(bad_media: dict[str, Path], fresh: Env) -> None:
    out = fresh.ingestor.ingest(bad_media["random"], raise_errors=False)
    assert out.status == "failed" and str(bad_media["random"]) in (out.error or "")


def test_cleanup_of_a_killed_run(fresh: Env, media: MediaFixture, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = fresh.ingestor.ingest(media.video)
    record = fresh.registry.get_media(out.media_id)
    assert fresh.index.count(out.media_id) > 0
    assert any((fresh.keyframes / out.media_id).iterdir())
    # a killed process leaves its item 'running' under its lease, points and keyframes written
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    fresh.registry.delete_media(out.media_id)
    lease = Lease(socket.gethostname(), dead.pid, "killed-run")
    fresh.registry.upsert_media(
        out.media_id, title=record.title, path=record.path, sha256=record.sha256,
        recorded_at=None, status="running", lease=lease,
    )  # fmt: skip
    # the next ingest of any file recovers it first
    assert fresh.ingestor.ingest(media.audio).status == "ready"
    assert fresh.index.count(out.media_id) == 0
    assert not (fresh.keyframes / out.media_id).exists()
    record = fresh.registry.get_media(out.media_id)
    assert record is not None and record.status == "failed"
    assert "interrupted" in (record.error or "") and str(dead.pid) in (record.error or "")
    assert fresh.ingestor.ingest(media.video).status == "ready"


def test_real_video_we_did_not_make(bigbuckbunny: Path, fresh: Env) -> None:
    out = fresh.ingestor.ingest(bigbuckbunny)
    assert out.status == "ready" and out.duration_s and out.duration_s > 1
    assert any((fresh.keyframes / out.media_id).glob("*.jpg"))


class CountingOCR:
    """The real OCR, counting how often it is asked to read."""

    def __init__(self, inner: RapidOCRReader) -> None:
        self.inner, self.calls = inner, 0

    def read(self, image):
        self.calls += 1
        return self.inner.read(image)


def test_silent_video_keyframe_gap_and_ocr_reuse(models, media: MediaFixture, tmp_path: Path):
    import subprocess

    silent = tmp_path / "silent.mp4"
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(media.video), "-an", "-c", "copy"]
    subprocess.run([*cmd, str(silent)], check=True)
    transcriber, ocr, embedder = models
    counting = CountingOCR(ocr)
    index = EdgeChunkIndex(tmp_path / "index" / "chronorag", embedder)
    registry = Registry(tmp_path / "db.sqlite3")
    pipeline = Ingestor(transcriber, counting, index, tmp_path / "kf", max_keyframe_gap_s=5.0)
    ingestor = _ingestion(registry, index, tmp_path / "kf", pipeline)
    try:
        out = ingestor.ingest(silent)
        assert out.status == "ready" and out.language is None
        assert registry.get_media(out.media_id).kind == "video"
        times = sorted(int(p.stem) / 1000 for p in (tmp_path / "kf" / out.media_id).glob("*.jpg"))
        assert times[0] < 1.0 and len(times) >= 8
        # a keyframe at least every 5 s (+ one sampling step and the settle delay)
        assert max(b - a for a, b in zip(times, times[1:], strict=False)) <= 5.0 + 1.0
        # repeated keyframes of a static slide are not read again, and merge into one chunk
        slides = media.truth.slides
        assert counting.calls == len(slides)
        screens = index.window(out.media_id)
        assert [c.source for c in screens] == ["screen"] * len(slides)
        for chunk, slide in zip(screens, slides, strict=True):
            assert slide.text.split()[0] in chunk.text
            assert abs(chunk.start_s - slide.start_s) <= 1.0
            assert abs(chunk.end_s - slide.end_s) <= 1.0
    finally:
        index.close()
        registry.close()
