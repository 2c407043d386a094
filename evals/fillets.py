"""A real human two-speaker recording: Fish Fillets NG's Dutch voice acting, joined in script order.

Debian ``fillets-ng-data-nl`` (GPL-2) ships each spoken line of a level as
``sound/<level>/nl/<id>.ogg``; the game's ``script/<level>/dialogs_en.lua`` gives each id
its English text and its font, which names the speaker (``font_small``: the small fish,
``font_big``: the big fish; line ids with ``-m-``/``-v-`` say the same). Lines of
:data:`LEVELS` are laid end to end with short silences into one M4A with a manifest like the
meetings' one (the speech is Dutch, the turn texts English).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from evals.meeting_speech import encode_m4a, speak_turns

GAME_ROOT = Path("/usr/share/games/fillets-ng")
LEVELS = ("start", "briefcase")
NAME = "fillets-nl"
FILLETS_SPLIT = "dev"
SPEAKERS = {"font_small": "small fish", "font_big": "big fish"}
BUILD_VERSION = "1"

_DIALOG = re.compile(r'dialogId\(\s*"([^"]+)"\s*,\s*"([^"]+)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')


def script_lines(level: str, root: Path = GAME_ROOT) -> list[tuple[str, str, str]]:
    """(line id, speaker, English text) of a level's spoken lines, in script order."""
    script = root / "script" / level / "dialogs_en.lua"
    sounds = root / "sound" / level / "nl"
    if not script.is_file() or not sounds.is_dir():
        raise FileNotFoundError(
            f"{script} or {sounds} missing: install the Debian package fillets-ng-data-nl"
        )
    out = []
    for line_id, font, text in _DIALOG.findall(script.read_text(encoding="utf-8")):
        if font in SPEAKERS and (sounds / f"{line_id}.ogg").is_file():
            out.append((line_id, SPEAKERS[font], text.replace("’", "'")))
    return out


def _decoded(paths: list[Path]) -> Iterator[tuple[bytes, int]]:
    from speech.audio import decode_audio

    for path in paths:
        audio = decode_audio(path.read_bytes())
        yield audio.samples.tobytes(), audio.sample_rate


def build_fillets(out_dir: Path, root: Path = GAME_ROOT) -> Path:
    """Write ``OUT/fillets-nl/{fillets-nl.m4a, manifest.json}``; returns the manifest path."""
    lines = [(level, *row) for level in LEVELS for row in script_lines(level, root)]
    key = json.dumps([BUILD_VERSION, lines])
    folder = out_dir / NAME
    manifest = folder / "manifest.json"
    if manifest.is_file():
        old = json.loads(manifest.read_text(encoding="utf-8"))
        if old.get("build_text") == key and (folder / old["audio"]).is_file():
            return manifest
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / f".{NAME}.wav"
    oggs = [root / "sound" / level / "nl" / f"{line_id}.ogg" for level, line_id, _, _ in lines]
    spans = speak_turns([], wav, seed=NAME, pool_results=_decoded(oggs))
    audio = encode_m4a(wav, folder / f"{NAME}.m4a")
    wav.unlink(missing_ok=True)
    turns = [
        {"index": n, "id": line_id, "level": level, "speaker": speaker, "text": text,
         "start_s": sp.start_s, "end_s": sp.end_s}
        for n, ((level, line_id, speaker, text), sp) in enumerate(zip(lines, spans, strict=True))
    ]
    topics = []
    for level in LEVELS:
        mine = [t for t in turns if t["level"] == level]
        topics.append({"topic": f"level {level}",
                       "windows": [[mine[0]["start_s"], mine[-1]["end_s"]]]})
    payload = {
        "meeting": NAME, "split": FILLETS_SPLIT, "group": "fillets-nl", "audio": audio.name,
        "build_text": key, "duration_s": round(spans[-1].end_s + 0.5, 3),
        "speech_language": "nl", "turns": turns, "topics": topics, "queries": [],
        "summary": None,
        "source": "Debian fillets-ng-data-nl (GPL-2): Fish Fillets NG Dutch voices, "
                  f"levels {', '.join(LEVELS)}",
    }
    tmp = manifest.with_name(".manifest.json.part")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(manifest)
    return manifest
