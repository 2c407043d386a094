"""Benchmark ingestion against faster-whisper alone, on the same audio, in one process.

Builds (or takes) a several-minute talk — the LibriVox clips repeated with slides,
~3 min by default — and ingests it through ``Ingestor`` (whisper-base, RapidOCR,
multilingual-e5-small, the embedded index), then transcribes the same file with
faster-whisper alone (same model object, same threads, VAD + word timestamps).
Prints both walls, their ratio (goal ≤ 1.1: the picture work hides behind Whisper)
and the real-time factor (goal ≥ 6× on 2 cores). Then it ingests the file again with the
default diarizer (resemblyzer, beside Whisper; goal ≤ 1.2× faster-whisper alone) and
prints that wall's ratio to faster-whisper alone and to the undiarized ingest, all three
in the same run; ``--no-diarize`` skips that run. The talk has one voice and slides (the
picture work costs too); a meeting's audio (``--media``) is the diarizer's real case.
``--overlap`` also times the transcriber alone and with the diarizer beside it.

    .venv/bin/python bench/ingest.py [--repeats 5] [--media FILE] [--model whisper-base]

The last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from app.assets import whisper_model_dir  # noqa: E402
from app.lifecycle import Lifecycle  # noqa: E402
from app.lifecycle.ingest import Ingestion  # noqa: E402
from app.lifecycle.registry import Registry  # noqa: E402
from ingestion.diarize import ResemblyzerDiarizer  # noqa: E402
from ingestion.ocr import RapidOCRReader  # noqa: E402
from ingestion.pipeline import Ingestor  # noqa: E402
from ingestion.probe import probe  # noqa: E402
from ingestion.transcribe import FasterWhisperTranscriber  # noqa: E402
from vectorstore.edge_index import EdgeChunkIndex  # noqa: E402
from vectorstore.embedders import E5Embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the clip sequence")
    parser.add_argument("--media", type=Path, help="ingest this file instead of building one")
    parser.add_argument("--model", default="whisper-base")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, default=Path(".chronorag/models"))
    parser.add_argument("--no-diarize", action="store_true", help="skip the diarized run")
    parser.add_argument("--diarize-threads", type=int, default=1)
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="also time the transcriber alone and with the diarizer beside it (its cost alone)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        if args.media:
            path = args.media
        else:
            from tests.media import build_media

            path = build_media(root / "media", repeats=args.repeats).video
        duration = probe(path).duration_s or 0.0
        print(f"media: {path.name}, {duration:.1f} s")

        transcriber = FasterWhisperTranscriber(
            whisper_model_dir(args.model, args.models_dir),
            name=args.model,
            threads=args.threads,
        )
        embedder = E5Embedder(threads=args.threads)
        index = EdgeChunkIndex(root / "index" / "chronorag", embedder)
        registry = Registry(root / "db.sqlite3")
        keyframes = root / "keyframes"
        lifecycle = Lifecycle(registry, lambda: index, keyframes_dir=keyframes, media_dir=root)
        ingestor = Ingestion(lifecycle, Ingestor(transcriber, RapidOCRReader(), index, keyframes))

        # baseline: faster-whisper alone on the same file, same model object and threads
        t0, c0 = time.perf_counter(), time.process_time()
        segments, info = transcriber._whisper.transcribe(
            str(path), beam_size=1, vad_filter=True, word_timestamps=True,
            vad_parameters={"min_silence_duration_ms": 500},
            condition_on_previous_text=False,
        )  # fmt: skip
        base_words = sum(len(s.words or ()) for s in segments)
        base_wall = time.perf_counter() - t0
        base_cpu = time.process_time() - c0
        print(
            f"faster-whisper alone: {base_wall:.2f} s wall, {base_cpu:.1f} s CPU, "
            f"{base_words} words, language {info.language}"
        )

        stages: dict[str, float] = {}
        t0, c0 = time.perf_counter(), time.process_time()

        def progress(stage: str, fraction: float) -> None:
            if fraction >= 1.0:
                stages.setdefault(stage, round(time.perf_counter() - t0, 2))

        outcome = ingestor.ingest(path, progress=progress)
        ingest_wall = time.perf_counter() - t0
        ingest_cpu = time.process_time() - c0
        screens = index.window(outcome.media_id, sources=["screen"])
        print(
            f"ingest: {ingest_wall:.2f} s wall, {ingest_cpu:.1f} s CPU, "
            f"{outcome.chunks} chunks ({len(screens)} screen), "
            f"language {outcome.language}, stages done at {stages}"
        )
        ratio = ingest_wall / base_wall
        rtf = duration / ingest_wall
        print(f"ratio ingest/faster-whisper: {ratio:.3f} (goal ≤ 1.1)")
        print(f"speed: {rtf:.2f}× real time (goal ≥ 6× on 2 cores); cpus={os.cpu_count()}")
        load = os.getloadavg()[0]
        print(f"CPU ratio ingest/faster-whisper: {ingest_cpu / base_cpu:.3f}; load {load:.1f}")
        index.close()
        registry.close()
        diarized: dict[str, object] = {}
        if not args.no_diarize:
            diarized = _diarized_run(
                root / "diarized", path, transcriber, embedder, args.diarize_threads, base_wall
            )
            if args.overlap:
                diarized.update(_overlap_run(path, transcriber, args.diarize_threads))
            plain = float(diarized["diarized_ingest_wall_s"]) / ingest_wall  # type: ignore[arg-type]
            diarized["diarized_to_plain_ratio"] = round(plain, 3)
            print(f"ratio diarized/undiarized ingest: {plain:.3f}; load {os.getloadavg()[0]:.1f}")
        print(
            json.dumps(
                {
                    "media_s": round(duration, 2),
                    "model": args.model,
                    "threads": args.threads,
                    "faster_whisper_wall_s": round(base_wall, 3),
                    "ingest_wall_s": round(ingest_wall, 3),
                    "ratio": round(ratio, 3),
                    "faster_whisper_cpu_s": round(base_cpu, 2),
                    "ingest_cpu_s": round(ingest_cpu, 2),
                    "cpu_ratio": round(ingest_cpu / base_cpu, 3),
                    "load_avg_1m": round(load, 2),
                    "x_real_time": round(rtf, 2),
                    "chunks": outcome.chunks,
                    "screen_chunks": len(screens),
                    "stages_done_s": stages,
                    **diarized,
                }
            )
        )


def _diarized_run(
    root: Path,
    path: Path,
    transcriber: FasterWhisperTranscriber,
    embedder: E5Embedder,
    threads: int,
    base_wall: float,
) -> dict[str, object]:
    """The same ingest with the diarizer beside Whisper, in a fresh index and registry."""
    root.mkdir(parents=True)
    index = EdgeChunkIndex(root / "index" / "chronorag", embedder)
    registry = Registry(root / "db.sqlite3")
    keyframes = root / "keyframes"
    lifecycle = Lifecycle(registry, lambda: index, keyframes_dir=keyframes, media_dir=root)
    diarizer = ResemblyzerDiarizer(threads=threads)
    pipeline = Ingestor(transcriber, RapidOCRReader(), index, keyframes, diarizer=diarizer)
    t0 = time.perf_counter()
    outcome = Ingestion(lifecycle, pipeline).ingest(path)
    wall = time.perf_counter() - t0
    speakers = {c.speaker for c in index.window(outcome.media_id, sources=["speech"])}
    index.close()
    registry.close()
    ratio = wall / base_wall
    print(
        f"ingest with diarization: {wall:.2f} s wall, speakers {sorted(map(str, speakers))}; "
        f"ratio to faster-whisper alone {ratio:.3f} (goal ≤ 1.2)"
    )
    return {"diarized_ingest_wall_s": round(wall, 3), "diarized_ratio": round(ratio, 3),
            "diarized_speakers": len(speakers)}  # fmt: skip


def _overlap_run(
    path: Path, transcriber: FasterWhisperTranscriber, threads: int
) -> dict[str, object]:
    """The transcriber alone, then with the diarizer in a thread beside it (as the pipeline
    runs them): the diarizer's own cost, without chunking and indexing."""
    import threading

    t0 = time.perf_counter()
    transcriber.transcribe(path)
    alone = time.perf_counter() - t0
    diarizer = ResemblyzerDiarizer(threads=threads)
    beside = threading.Thread(target=diarizer.diarize, args=(path,))
    t0 = time.perf_counter()
    beside.start()
    transcriber.transcribe(path)
    beside.join()
    both = time.perf_counter() - t0
    print(
        f"transcriber alone {alone:.2f} s, with the diarizer beside it {both:.2f} s: "
        f"ratio {both / alone:.3f}; load {os.getloadavg()[0]:.1f}"
    )
    return {"transcribe_wall_s": round(alone, 3), "transcribe_diarized_wall_s": round(both, 3),
            "transcribe_diarized_ratio": round(both / alone, 3)}  # fmt: skip


if __name__ == "__main__":
    main()
