"""The LlamaIndex and LangChain retrievers: the README's examples run as written against a
small ingested library, and the filters and metadata hold in-process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.container import Container
from app.integrations import langchain as lc
from app.integrations import llamaindex as li
from app.integrations.library import BadArgument
from tests.cli_runner import cli_env
from tests.library import LIBRARY_TITLE, Library
from tests.media import MediaFixture

ROOT = Path(__file__).resolve().parents[1]
METADATA = {"media_id", "title", "start_s", "end_s", "speaker", "source", "time", "url",
            "document", "page"}  # fmt: skip


def readme_examples() -> dict[str, str]:
    """The README's retriever examples, keyed by the module each one imports."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## In your own tools", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    out = {}
    for block in blocks:
        found = re.search(r"from app\.integrations\.(\w+) import", block)
        if found:
            out[found.group(1)] = block
    return out


def run_example(code: str, library: Library) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=cli_env(library.home),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()


def overlaps(start: float, end: float, lo: float, hi: float) -> bool:
    return start < hi and end > lo


def test_readme_has_both_examples() -> None:
    assert set(readme_examples()) == {"llamaindex", "langchain"}


def test_llamaindex_readme_example_finds_the_moment(
    small_library: Library, media: MediaFixture
) -> None:
    lines = run_example(readme_examples()["llamaindex"], small_library)
    assert 1 <= len(lines) <= 3
    clip = next(c for c in media.truth.clips if c.clip_id.endswith("0880"))
    found = re.match(r"\[(.+) @ (\S+)\] (\S+) (\S+) (\S+)$", lines[0])
    assert found, lines[0]
    title, _span, start, end, url = found.groups()
    assert title == LIBRARY_TITLE
    assert overlaps(float(start), float(end), clip.start_s, clip.end_s)
    assert url == (
        f"http://127.0.0.1:8000/v1/media/{small_library.media_id}/file"
        f"#t={float(start):.2f},{float(end):.2f}"
    )


def test_langchain_readme_example_keeps_to_the_window(
    small_library: Library, media: MediaFixture
) -> None:
    lines = run_example(readme_examples()["langchain"], small_library)
    assert lines
    for line in lines:
        media_id, start, end, _text = line.split(" ", 3)
        assert media_id == small_library.media_id
        assert overlaps(float(start), float(end), 25, 40), line
    # the paraphrase's moment: "had he married a more amiable woman…"
    clip = next(c for c in media.truth.clips if "woman" in c.words)
    _, start, end, text = lines[0].split(" ", 3)
    assert overlaps(float(start), float(end), clip.start_s, clip.end_s), lines[0]
    assert "amiable" in text.lower()


@pytest.fixture(scope="module")
def container(small_library: Library):  # noqa: ANN201
    c = Container(small_library.settings())
    yield c
    c.close()


def test_llamaindex_nodes_carry_the_metadata(container: Container, small_library: Library) -> None:
    retriever = li.ChronoRAGRetriever(container=container, source="screen", limit=2)
    nodes = retriever.retrieve("volcano safety")
    assert nodes and all(set(n.node.metadata) == METADATA for n in nodes)
    assert all(n.node.metadata["source"] == "screen" for n in nodes)
    assert "VOLCANO" in nodes[0].node.get_content().upper()
    assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)
    # the LLM reads title, time and speaker with the text, not ids and URLs
    llm_view = nodes[0].node.get_content(metadata_mode="llm")
    assert LIBRARY_TITLE in llm_view and small_library.media_id not in llm_view


def test_langchain_filters_by_media_and_speaker(
    container: Container, small_library: Library
) -> None:
    mine = lc.ChronoRAGRetriever(container=container, media_ids=[small_library.media_id])
    docs = mine.invoke("selfish")
    assert docs and all(set(d.metadata) == METADATA | {"score"} for d in docs)
    assert {d.metadata["media_id"] for d in docs} == {small_library.media_id}
    # nothing is diarised in this library, so no hit belongs to a named speaker
    assert lc.ChronoRAGRetriever(container=container, speaker="Alice").invoke("selfish") == []


def test_bad_filters_are_clear(container: Container) -> None:
    with pytest.raises(BadArgument, match="end_s must be after start_s"):
        li.ChronoRAGRetriever(container=container, start_s=30, end_s=10).retrieve("selfish")
    with pytest.raises(BadArgument, match="no media with id 'nope'"):
        lc.ChronoRAGRetriever(container=container, media_ids=["nope"]).invoke("selfish")
    with pytest.raises(BadArgument, match="source"):
        lc.ChronoRAGRetriever(container=container, source="radio").invoke("selfish")
    with pytest.raises(BadArgument, match="query must not be blank"):
        li.ChronoRAGRetriever(container=container).retrieve("   ")
