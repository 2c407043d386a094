"""Companion documents (slides, agenda, notes) read with LlamaIndex and cut into chunks.

``document_chunks`` checks a file by its content (a PDF starts ``%PDF-``, a DOCX is a
zip holding ``word/document.xml``, Markdown and text are UTF-8 without NUL bytes; the
extension must agree), refuses encrypted or over-long PDFs, reads it with LlamaIndex's
``SimpleDirectoryReader`` (pypdf per page for PDF, docx2txt for DOCX, the Markdown
reader) and splits it with LlamaIndex's ``SentenceSplitter`` into ``source="document"``
chunks of the media item, each with the document's name and its page (PDF only). They
have no media time: their span is 0–0. Every refusal is a ``DocumentError`` naming the
file and the reason; nothing here writes anywhere.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from vectorstore.schema import Chunk

SUFFIXES = {".pdf": "pdf", ".docx": "docx", ".md": "markdown", ".markdown": "markdown",
            ".txt": "text"}  # fmt: skip
CHUNK_WORDS = 120  # multilingual-e5-small reads 512 tokens; 120 words stay well inside
OVERLAP_WORDS = 20


class DocumentError(ValueError):
    """A document that cannot be attached; ``str()`` names it and says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Page:
    number: int | None  # 1-based; None for a document without pages
    text: str


def kind_of(path: Path, name: str) -> str:
    """The document's type from its name, confirmed by its bytes."""
    kind = SUFFIXES.get(Path(name).suffix.lower())
    if kind is None:
        raise DocumentError(name, "unsupported type: attach a PDF, DOCX, Markdown or text file")
    with path.open("rb") as fh:
        head = fh.read(1024)
    if not head:
        raise DocumentError(name, "the file is empty")
    if kind == "pdf" and not head.startswith(b"%PDF-"):
        raise DocumentError(name, "is not a PDF (its content does not start with %PDF-)")
    if kind == "docx" and not _is_docx(path):
        raise DocumentError(name, "is not a DOCX document (no word/document.xml inside)")
    if kind in ("markdown", "text"):
        data = path.read_bytes()
        if b"\x00" in data:
            raise DocumentError(name, "is not a text file (it holds binary data)")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError(name, f"is not UTF-8 text (byte {exc.start})") from None
    return kind


def _is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _check_pdf(path: Path, name: str, max_pages: int) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise DocumentError(
                name, "is encrypted (password-protected): remove the protection and attach it"
            )
        pages = len(reader.pages)
    except PyPdfError as exc:
        raise DocumentError(name, f"is not a readable PDF ({exc})") from None
    if pages > max_pages:
        raise DocumentError(name, f"has {pages} pages; the limit is {max_pages}")


def read_pages(path: Path, name: str, *, max_pages: int) -> list[Page]:
    """The document's text with LlamaIndex's readers: one ``Page`` per PDF page, one for
    any other document. ``path`` must carry the type's suffix (the reader goes by it)."""
    from llama_index.core import SimpleDirectoryReader

    kind = kind_of(path, name)
    if kind == "pdf":
        _check_pdf(path, name, max_pages)
    try:
        docs = SimpleDirectoryReader(input_files=[path], raise_on_error=True).load_data()
    except DocumentError:
        raise
    except Exception as exc:  # the readers raise whatever their parser raised
        raise DocumentError(
            name, f"cannot be read as {kind} ({type(exc).__name__}: {exc})"
        ) from None
    if kind == "pdf":
        return [Page(i, d.text) for i, d in enumerate(docs, start=1)]
    return [Page(None, "\n\n".join(d.text for d in docs))]


def document_chunks(path: Path, *, name: str, media_id: str, max_pages: int = 500) -> list[Chunk]:
    """``source="document"`` chunks of ``path`` for ``media_id``, split by LlamaIndex."""
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(
        chunk_size=CHUNK_WORDS,
        chunk_overlap=OVERLAP_WORDS,
        tokenizer=str.split,  # word counts: tiktoken's encodings would be a download
        include_metadata=False,
    )
    chunks: list[Chunk] = []
    for page in read_pages(path, name, max_pages=max_pages):
        if not page.text.strip():
            continue
        for node in splitter.get_nodes_from_documents([Document(text=page.text)]):
            text = " ".join(node.get_content().split())
            if text:
                chunks.append(
                    Chunk(media_id=media_id, source="document", start_s=0.0, end_s=0.0,
                          text=text, document=name, page=page.number)
                )  # fmt: skip
    if not chunks:
        raise DocumentError(name, "has no text to index (a scanned PDF needs OCR first)")
    return chunks
