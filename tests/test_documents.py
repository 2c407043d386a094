"""Companion documents: ``chronorag attach`` and ``POST /v1/media/{id}/documents`` read a
real PDF (pages), a DOCX and Markdown with LlamaIndex; answers cite ``[Deck.pdf p. 2]``.
Encrypted, oversized, over-long, disguised or unknown-media attachments fail clearly and
leave nothing behind. Runs on a copy of the small ingested library."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.container import Container
from tests import documents as docs
from tests.cli_runner import cli_env, run
from tests.library import Library
from tests.live_server import LiveServer, service_settings

pytestmark = pytest.mark.slow
MUSEUM = "How much money does the lighthouse museum receive?"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("documents")
    deck = docs.make_pdf(root / "Deck.pdf")
    notes = root / "notes.md"
    notes.write_text(docs.NOTES_MD)
    disguised = root / "Scan.pdf"
    shutil.copyfile(docs.make_docx(root / "Agenda.docx"), disguised)
    return {
        "deck": deck,
        "agenda": root / "Agenda.docx",
        "notes": notes,
        "locked": docs.encrypt_pdf(deck, root / "Locked.pdf"),
        "big": docs.make_pdf(root / "Big.pdf", filler=2),  # ~4 MB of pictures
        "roadmap": docs.make_pdf(root / "Roadmap.pdf", ("The zeppelin hangar opens in May.",)),
        "disguised": disguised,
    }


def copy_library(library: Library, dest: Path) -> Library:
    shutil.copytree(library.home, dest)
    return Library(home=dest, media_id=library.media_id, duration_s=library.duration_s)


@pytest.fixture(scope="module")
def cli_library(small_library: Library, tmp_path_factory: pytest.TempPathFactory) -> Library:
    return copy_library(small_library, tmp_path_factory.mktemp("cli-docs") / "home")


def document_hits(library: Library, query: str, name: str) -> list[dict]:
    hits = json.loads(run(cli_env(library.home), "search", query, "--source", "document",
                          "--limit", "20", "--json").stdout)  # fmt: skip
    return [h for h in hits if h["document"] == name]


def leftovers(home: Path) -> list[Path]:
    """Temporary files a document attach may have left in the data dir."""
    return [p for p in home.rglob("*") if p.name.startswith((".upload-", "doc-"))]


def test_cli_attaches_pdf_docx_and_markdown(cli_library: Library, files: dict[str, Path]) -> None:
    env = cli_env(cli_library.home)
    proc = run(env, "attach", cli_library.media_id, str(files["deck"]), str(files["agenda"]),
               str(files["notes"]), "--json")  # fmt: skip
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["Deck.pdf"]["pages"] == 3 and rows["Deck.pdf"]["chunks"] == 3
    assert rows["Agenda.docx"]["pages"] is None and rows["Agenda.docx"]["chunks"] >= 1
    assert rows["notes.md"]["chunks"] >= 1
    (museum,) = document_hits(cli_library, "lighthouse museum funding", "Deck.pdf")[:1]
    assert museum["page"] == 2 and "forty thousand" in museum["text"]
    assert museum["media_id"] == cli_library.media_id and museum["title"] == "Weekly sync"
    (agenda,) = document_hits(cli_library, "hiring a beekeeper", "Agenda.docx")
    assert agenda["page"] is None and "beekeeper" in agenda["text"]
    assert document_hits(cli_library, "choir rehearsal day", "notes.md")
    # the same document again replaces its pieces rather than adding copies
    run(env, "attach", cli_library.media_id, str(files["deck"]))
    assert len(document_hits(cli_library, "lighthouse museum", "Deck.pdf")) == 3
    assert leftovers(cli_library.home) == []


@pytest.mark.parametrize(
    ("key", "extra_env", "reason"),
    [
        ("locked", {}, "Locked.pdf: is encrypted (password-protected)"),
        ("big", {"CHRONORAG_MAX_DOCUMENT_MB": "1"}, "the limit is 1 MB"),
        ("deck", {"CHRONORAG_MAX_DOCUMENT_PAGES": "2"}, "Deck.pdf: has 3 pages; the limit is 2"),
        ("disguised", {}, "Scan.pdf: is not a PDF"),
    ],
)
def test_cli_refuses_bad_documents_and_attaches_nothing(
    cli_library: Library, files: dict[str, Path], key: str, extra_env: dict, reason: str
) -> None:
    env = {**cli_env(cli_library.home), **extra_env}
    # a good document in the same call is not attached either
    proc = run(env, "attach", cli_library.media_id, str(files["roadmap"]), str(files[key]),
               ok=False)  # fmt: skip
    assert proc.returncode == 2
    assert reason in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert document_hits(cli_library, "zeppelin hangar", "Roadmap.pdf") == []
    assert leftovers(cli_library.home) == []


def test_cli_attach_to_unknown_media(cli_library: Library, files: dict[str, Path]) -> None:
    proc = run(cli_env(cli_library.home), "attach", "nope", str(files["deck"]), ok=False)
    assert proc.returncode == 2 and "no media with id 'nope'" in proc.stderr


def test_answer_cites_the_page_next_to_the_time(
    cli_library: Library, files: dict[str, Path]
) -> None:
    run(cli_env(cli_library.home), "attach", cli_library.media_id, str(files["deck"]))
    answer = json.loads(run(cli_env(cli_library.home), "ask", MUSEUM, "--json").stdout)
    cited = [c for c in answer["citations"] if c["document"]]
    assert cited, answer
    assert {(c["title"], c["page"]) for c in cited} == {("Deck.pdf", 2)}
    assert "[Deck.pdf p. 2]" in answer["answer"]
    assert "forty thousand" in cited[0]["quote"]


# --- the service --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(
    small_library: Library, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    library = copy_library(small_library, tmp_path_factory.mktemp("api-docs") / "home")
    server = LiveServer(
        service_settings(library.home, max_upload_mb=8, max_document_mb=1), run_worker=False
    ).start()
    yield server
    server.stop()


def post_document(server: LiveServer, media_id: str, path: Path, key: str | None = "default"):  # noqa: ANN201
    client = server.client() if key == "default" else server.client(key)
    with client:
        return client.post(
            f"/v1/media/{media_id}/documents",
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
        )


def test_api_attaches_a_pdf_and_search_finds_its_page(
    served: LiveServer, small_library: Library, files: dict[str, Path]
) -> None:
    response = post_document(served, small_library.media_id, files["deck"])
    assert response.status_code == 201, response.text
    assert response.json() == {
        "media_id": small_library.media_id, "name": "Deck.pdf", "pages": 3, "chunks": 3
    }  # fmt: skip
    with served.client() as client:
        hits = client.post(
            "/v1/search", json={"query": "ferry terminal delay", "source": "document"}
        ).json()["hits"]
    assert hits[0]["document"] == "Deck.pdf" and hits[0]["page"] == 3


@pytest.mark.parametrize(
    ("key", "status", "reason"),
    [
        ("locked", 422, "is encrypted"),
        ("big", 413, "limit of 1 MB"),  # the documents' limit, not the media's
        ("disguised", 422, "is not a PDF"),
    ],
)
def test_api_refuses_bad_documents_cleanly(
    served: LiveServer, small_library: Library, files: dict[str, Path],
    key: str, status: int, reason: str,
) -> None:  # fmt: skip
    response = post_document(served, small_library.media_id, files[key])
    assert response.status_code == status, response.text
    detail = response.json()["detail"]  # 422: FastAPI's validation-error shape, on "file"
    if status == 422:
        (error,) = detail
        assert error["loc"] == ["body", "file"] and files[key].name in error["msg"]
        detail = error["msg"]
    assert reason in detail
    assert leftovers(served.settings.data_dir) == []
    container = served.state.container
    names = {c.document for c in container.index.window(small_library.media_id, None, None,
                                                          sources=["document"])}  # fmt: skip
    assert files[key].name not in names


def test_api_documents_need_the_key_and_a_ready_media(
    served: LiveServer, files: dict[str, Path], small_library: Library
) -> None:
    assert post_document(served, small_library.media_id, files["deck"], key=None).status_code == 401
    response = post_document(served, "0123456789abcdef", files["deck"])
    assert response.status_code == 404 and "no media" in response.json()["detail"]


def test_deleting_the_media_deletes_its_documents(
    small_library: Library, files: dict[str, Path], tmp_path: Path
) -> None:
    library = copy_library(small_library, tmp_path / "home")
    container = Container(Settings(home=library.home, asr_model="tiny.en"))
    try:
        from app.documents import attach

        attach(container, library.media_id, [(files["notes"], "notes.md")])
        assert container.index.window(library.media_id, None, None, sources=["document"])
        assert container.lifecycle.delete(library.media_id)
        assert container.index.count(library.media_id) == 0
    finally:
        container.close()


def test_retrievers_return_document_pieces_with_name_and_page(
    served: LiveServer, small_library: Library, files: dict[str, Path]
) -> None:
    from app.integrations.langchain import ChronoRAGRetriever

    assert post_document(served, small_library.media_id, files["deck"]).status_code == 201
    retriever = ChronoRAGRetriever(container=served.state.container, source="document")
    (top, *_) = retriever.invoke("monsoon flooding delays the ferry terminal")
    assert top.metadata["document"] == "Deck.pdf" and top.metadata["page"] == 3
    assert top.metadata["media_id"] == small_library.media_id
    assert top.metadata["url"] is None  # nothing to play: the name and page say where
