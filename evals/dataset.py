"""Evaluation dataset files: one JSON object per line, validated into ``EvalItem``s.

A line: ``{"media": "path", "question": "...", "windows": [[start_s, end_s], ...],
"keywords": [...]?, "lang": "en"?, "source": "speech|screen"?}``. Media paths are
relative to the dataset file. Blank lines and lines starting with ``#`` are skipped.

The long-meeting set (:mod:`evals.meetings`) adds optional fields: ``group`` (pointed,
qmsum, fillets-nl), ``split`` (dev/test), ``meeting``, ``kind``, ``turns`` (answering turn
refs), ``manifest`` (the recording's manifest, relative like ``media``), ``reference`` (a
people-written answer) and ``scoring`` ("seek": exact moment, "span": a broad span,
"refuse": a question the recording does not answer — no windows; the right answer is the
agent's refusal).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator


class DatasetError(ValueError):
    """A dataset file that cannot be evaluated; the message names file and line."""


class EvalItem(BaseModel):
    """One question with its true time windows on one media file."""

    media: Path
    question: str = Field(min_length=1)
    windows: list[tuple[float, float]] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    lang: str = "en"
    source: Literal["speech", "screen", "caption"] = "speech"
    group: str | None = None
    split: str | None = None
    meeting: str | None = None
    kind: str | None = None
    turns: list[int | str] = Field(default_factory=list)
    manifest: Path | None = None
    reference: str | None = None
    scoring: Literal["seek", "span", "refuse"] = "seek"

    @field_validator("windows")
    @classmethod
    def _windows_ordered(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for start, end in value:
            if start < 0 or end < start:
                raise ValueError(f"window [{start}, {end}] must have 0 <= start <= end")
        return value

    @model_validator(mode="after")
    def _windows_match_scoring(self) -> EvalItem:
        if self.scoring == "refuse" and self.windows:
            raise ValueError("a question scored by refusal has no true windows")
        if self.scoring != "refuse" and not self.windows:
            raise ValueError("windows: at least one true window is needed")
        return self

    @field_validator("question")
    @classmethod
    def _question_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is blank")
        return value.strip()


def read_jsonl(path: Path, error: type[Exception] = ValueError) -> list[dict]:
    """One JSON object a line; blank lines and ``#`` comments skipped; a bad line raises
    ``error`` naming the file and the line."""
    rows = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{lineno}: not JSON ({exc.msg})") from None
    return rows


def load_dataset(path: Path) -> list[EvalItem]:
    """Read and validate a dataset; media paths come back absolute and must exist."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: dataset file not found")
    items: list[EvalItem] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            item = EvalItem.model_validate(json.loads(text))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}"
                for e in exc.errors()
            )
            raise DatasetError(f"{path}:{lineno}: {problems}") from None
        media = item.media if item.media.is_absolute() else path.parent / item.media
        if not media.is_file():
            raise DatasetError(f"{path}:{lineno}: media file not found: {media}")
        update: dict[str, Path] = {"media": media.resolve()}
        if item.manifest is not None:
            manifest = item.manifest if item.manifest.is_absolute() else path.parent / item.manifest
            if not manifest.is_file():
                raise DatasetError(f"{path}:{lineno}: manifest not found: {manifest}")
            update["manifest"] = manifest.resolve()
        items.append(item.model_copy(update=update))
    if not items:
        raise DatasetError(f"{path}: no questions in the dataset")
    return items
