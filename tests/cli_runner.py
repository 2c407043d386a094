"""Runs the installed ``chronorag`` command as a user does, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("chronorag"))


def cli_env(home: Path) -> dict[str, str]:
    """The environment of a CLI run with its own data dir and tiny.en Whisper."""
    return {
        **os.environ,
        "CHRONORAG_HOME": str(home),
        "CHRONORAG_ASR_MODEL": "tiny.en",
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
    }


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """``chronorag ARGS``; with ``ok`` it must succeed."""
    proc = subprocess.run([CLI, *args], env=env, text=True, capture_output=True, timeout=600)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc
