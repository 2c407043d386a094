"""The naive baseline every meetings report shows beside the system: a sliding window of
:data:`WINDOW` consecutive Whisper segments per chunk (stride 1), embedded with the project's
embedder (multilingual e5), dense cosine search only — no keywords, no reranking, no snapping.

It reads the cached ``transcript.json`` files (:mod:`evals.meeting_transcripts`), so it
sees exactly the speech recognition the system saw. Chunk vectors are cached in
``cache_dir`` by transcript content and embedder name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.metrics import Span

WINDOW = 3
STRIDE = 1


@dataclass(frozen=True)
class NaiveChunk:
    media_id: str
    start_s: float
    end_s: float
    text: str


def window_chunks(media_id: str, segments: Sequence[dict]) -> list[NaiveChunk]:
    """Chunks of ``WINDOW`` consecutive segments (fewer only when the media has fewer)."""
    last = max(len(segments) - WINDOW, 0)
    chunks = []
    for i in range(0, last + 1, STRIDE):
        group = segments[i:i + WINDOW]
        if group:
            chunks.append(NaiveChunk(media_id, float(group[0]["start"]), float(group[-1]["end"]),
                                     " ".join(s["text"] for s in group)))
    return chunks


class NaiveIndex:
    """Dense-only search over the window chunks of a set of transcripts."""

    def __init__(self, embedder, transcripts: Sequence[Path], cache_dir: Path) -> None:
        self.embedder = embedder
        self.chunks: list[NaiveChunk] = []
        blocks: list[np.ndarray] = []
        cache_dir.mkdir(parents=True, exist_ok=True)
        for path in transcripts:
            raw = Path(path).read_bytes()
            data = json.loads(raw)
            chunks = window_chunks(data["audio_sha256"][:16], data["segments"])
            if not chunks:
                continue
            key = hashlib.sha256(raw + f"{embedder.name}/{WINDOW}/{STRIDE}".encode()).hexdigest()
            cached = cache_dir / f"naive-{key[:20]}.npy"
            if cached.is_file():
                vectors = np.load(cached)
            else:
                vectors = np.asarray(embedder.embed_passages([c.text for c in chunks]),
                                     dtype=np.float32)
                tmp = cached.with_name(cached.stem + ".part.npy")
                np.save(tmp, vectors)
                tmp.replace(cached)
            self.chunks.extend(chunks)
            blocks.append(vectors)
        if not blocks:
            raise ValueError("naive baseline: no transcript segments to index")
        self.vectors = np.concatenate(blocks)

    def search(self, query: str, limit: int = 10, media_id: str | None = None) -> list[Span]:
        """Top ``limit`` chunks by cosine similarity (only ``media_id``'s when given)."""
        scores = self.vectors @ np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        if media_id is not None:
            scores = np.where([c.media_id == media_id for c in self.chunks], scores, -np.inf)
        top = [i for i in np.argsort(-scores, kind="stable")[:limit] if np.isfinite(scores[i])]
        return [Span(self.chunks[i].media_id, self.chunks[i].start_s, self.chunks[i].end_s)
                for i in top]
