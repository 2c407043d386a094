"""Companion documents for the tests, made with libraries the project already pins:
a real multi-page PDF (matplotlib's PDF backend, TrueType text), an encrypted copy
(pypdf), a DOCX (the OOXML parts Word writes, zipped) and Markdown."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

# one fact per page, in words the talk never says
DECK_PAGES = (
    "Quarterly roadmap. The harbour bridge repaint starts in April.",
    "Budget. The lighthouse museum receives forty thousand rupees.",
    "Risks. Monsoon flooding may delay the ferry terminal by six weeks.",
)
AGENDA = ("Agenda for the weekly sync. Item one: the orchard irrigation pilot. "
          "Item two: hiring a second beekeeper before the mango season.")  # fmt: skip
NOTES_MD = """# Notes

## Decisions

- The choir rehearsal moves to Thursday evenings.
- Volunteers paint the community library mural in pastel green.
"""


def make_pdf(path: Path, pages: tuple[str, ...] = DECK_PAGES, *, filler: int = 0) -> Path:
    """A PDF with one text page per entry (``filler`` extra image pages add bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.backends.backend_pdf import PdfPages

    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for text in pages:
            fig = plt.figure(figsize=(8.27, 5.8))
            fig.text(0.05, 0.5, text, fontsize=14)
            pdf.savefig(fig)
            plt.close(fig)
        rng = np.random.default_rng(3)
        for _ in range(filler):  # incompressible noise: size without text
            fig = plt.figure(figsize=(8, 8))
            fig.figimage(rng.integers(0, 255, (800, 800, 3), dtype=np.uint8))
            pdf.savefig(fig)
            plt.close(fig)
    return path


def encrypt_pdf(src: Path, dest: Path, password: str = "s3cret") -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    with dest.open("wb") as fh:
        writer.write(fh)
    return dest


def make_docx(path: Path, paragraphs: tuple[str, ...] = (AGENDA,)) -> Path:
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            archive.writestr(name, xml)
    return path
