"""Runner helpers that need no models: media ids as the ingestor assigns them, and the
model's raw citations parsed back to spans."""

from __future__ import annotations

import pytest

from evals.metrics import Span
from evals.runner import media_id_for, raw_citations


def test_media_id_matches_the_ingestor(tmp_path):
    pipeline = pytest.importorskip("ingestion.pipeline")
    path = tmp_path / "a.bin"
    path.write_bytes(b"some bytes" * 1000)
    assert media_id_for(path) == pipeline.file_sha256(path)[:16]
    other = tmp_path / "b.bin"
    other.write_bytes(b"other bytes")
    assert media_id_for(other) != media_id_for(path)


def test_raw_citations_map_titles_and_flag_unknown_ones():
    text = (
        "He was not unkind [Austen_Reading @ 00:12–00:15]. Later [Unknown talk @ 1:00-1:05] "
        "and [austen_reading @ 1:02:03 – 1:02:09]. Not a citation: [00:12]."
    )
    spans = raw_citations(text, {"austen_reading": "m1"})
    assert spans == [
        Span("m1", 12.0, 15.0),
        Span("", 60.0, 65.0),
        Span("m1", 3723.0, 3729.0),
    ]
