"""The benchmarks run as scripts (``python bench/x.py``), which puts ``bench/`` first on
``sys.path``: a benchmark named like a standard-library module (``queue.py`` once) would
replace that module for every library the script imports."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_no_benchmark_shadows_a_standard_library_module() -> None:
    names = {p.stem for p in BENCH.glob("*.py")}
    assert names, "no benchmarks found"
    assert not names & set(sys.stdlib_module_names)
