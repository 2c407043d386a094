"""The project's import graph: every module imports, and no import cycle hides anywhere.

``grimp`` (import-linter's graph engine) reads every import statement of the packages,
function-level ones included, so an import tucked inside a function to dodge a cycle
still counts. ``TYPE_CHECKING`` imports never run and are left out. With no cycle, import
order cannot matter, so importing every module once in a fresh interpreter shows that
each one loads.
"""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import grimp

PACKAGES = ("app", "graphs", "ingestion", "vectorstore", "speech", "evals")
ROOT = Path(__file__).resolve().parents[1]


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)


def _where(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    lines = graph.get_import_details(importer=importer, imported=imported)
    return "; ".join(f"{d['importer']}:{d['line_number']} {d['line_contents']}" for d in lines)


def test_no_import_cycle() -> None:
    graph = _graph()
    assert "vectorstore.index" in graph.modules  # the graph holds the project's modules
    cycles, seen = [], set()
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back and frozenset(back) not in seen:
                seen.add(frozenset(back))
                steps = [module, *back]
                where = " | ".join(_where(graph, a, b) for a, b in pairwise(steps))
                cycles.append(f"{' -> '.join(steps)}  ({where})")
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    modules = sorted(_graph().modules)
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    done = subprocess.run(
        [sys.executable, "-c", code, *modules], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
