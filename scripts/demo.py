"""`make demo`: build a sample meeting from real public-domain speech, index it, search, ask.

Runs the real ``chronorag`` command for each step (printed before it runs), so
what you see is exactly what you would type. Data goes to ``CHRONORAG_HOME``
(default ``./.chronorag``), so you can keep exploring with the CLI afterwards.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.media import build_media  # noqa: E402  (the same builder the tests use)

CLI = str(Path(sys.executable).with_name("chronorag"))


def run(*args: str, capture: bool = False) -> str:
    print(f"\n$ chronorag {shlex.join(args)}", flush=True)
    proc = subprocess.run([CLI, *args], text=True, capture_output=capture, check=False)
    if proc.returncode != 0:
        if capture:
            sys.stderr.write(proc.stderr)
        raise SystemExit(f"demo step failed: chronorag {shlex.join(args)}")
    return proc.stdout if capture else ""


def main() -> None:
    home = Path(os.environ.setdefault("CHRONORAG_HOME", str(ROOT / ".chronorag")))
    sample_dir = home / "demo-media"
    video = sample_dir / "talk.mp4"
    if not video.exists():
        print(f"Building a sample meeting in {sample_dir} (LibriVox speech + slides)…")
        build_media(sample_dir)
    truth = json.loads((sample_dir / "truth.json").read_text())
    print("\nWhat the sample contains (ground truth):")
    for slide in truth["slides"]:
        print(f"  slide {slide['start_s']:5.1f}–{slide['end_s']:5.1f} s: {slide['text']}")
    for clip in truth["clips"]:
        print(f"  said  {clip['start_s']:5.1f}–{clip['end_s']:5.1f} s: {' '.join(clip['words'])}")

    out = run(
        "ingest", str(video), "--title", "Weekly sync",
        "--recorded-at", "2026-11-24T10:00:00+05:30", "--json", capture=True,
    )  # fmt: skip
    print(out.strip())
    media_id = json.loads(out.splitlines()[-1])["media_id"]

    run("search", "a young man who was not badly disposed")
    run("search", "a selfish and cold hearted person", "--start", "0:10", "--end", "0:30")
    run("search", "budget", "--source", "screen")
    run("search", "कठोर और स्वार्थी होना")  # Hindi: "being harsh and selfish"
    run("media", "list")
    run("ask", "Who had leisure to consider what was in his power to do for them?",
        "--media-id", media_id)  # fmt: skip
    run("ask", "What might have made him more respectable?", "--media-id", media_id)
    # Hindi, about English speech: "What kind of young man was not selfish?"
    run("ask", "किस तरह का युवक स्वार्थी नहीं था?", "--media-id", media_id)
    run("summarize", media_id, "--style", "chapters")
    print("\nDone. Try your own: .venv/bin/chronorag ask \"…\"  (data in", home, ")")


if __name__ == "__main__":
    main()
