"""The long-meeting set: nine AMI meetings (QMSum) spoken turn by turn, plus real Dutch dialogue.

Each meeting's turns are spoken with one voice per speaker (see :mod:`evals.meeting_speech`)
into ``OUT/<meeting>/<meeting>.m4a`` with a ``manifest.json`` holding every turn's exact
start/end, QMSum's topics and specific queries as time windows, the whole-meeting summary
reference and the duration, and a ``transcript.json`` made by the project's own Whisper
transcriber (:mod:`evals.meeting_transcripts`). The real human recording is built by
:mod:`evals.fillets`. Everything is cached by content hash: a second run only checks.

Questions: ``evals/meetings_questions.jsonl`` (pointed, with exact answering turns, in
English, Hindi and Tamil; and ``unanswerable`` ones no meeting answers — a hotel, a
salary, a cricket match — which the agent should refuse) and QMSum's own specific queries
(broad spans). All become ``OUT/dataset-{dev,test,all}.jsonl`` lines for ``chronorag eval``.

Split: DEV meetings are for tuning, TEST meetings for reporting (never tune on them).

    python -m evals.meetings OUT_DIR [--split dev|test|all] [--voices espeak|clear]
        [--no-transcribe]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.dataset import read_jsonl
from evals.meeting_speech import (
    FESTIVAL,
    PIPER,
    encode_m4a,
    missing_festival_voices,
    speak_turns,
)

SOURCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "qmsum-ami"
QUESTIONS = Path(__file__).with_name("meetings_questions.jsonl")
# the kind (and group) of a question the meeting does not answer: the agent should refuse
UNANSWERABLE = "unanswerable"
DEV = ("ES2008a", "IS1001a", "TS3003a", "ES2013a")
TEST = ("ES2010a", "IS1004a", "IS1008a", "IS1008c", "TS3012a")
VOICE_SETS = {
    # the dataset README's recipe: one Piper voice, three eSpeak NG variants
    "espeak": {
        "Project Manager": PIPER,
        "Marketing": "en-gb+f2",
        "Industrial Designer": "en-us+m4",
        "User Interface": "en-gb-scotland+f4",
    },
    # clearer voices, closer to people: Whisper mishears eSpeak's formant voices ("panzer",
    # "Okina" for panther, Nokia) and GE2E gives en-gb+f2 and en-us+m4 a similarity of 0.93
    "clear": {
        "Project Manager": PIPER,
        "Marketing": FESTIVAL + "cmu_us_slt_arctic_hts",
        "Industrial Designer": PIPER + "@0.82,0.74",
        "User Interface": FESTIVAL + "ked_diphone",
    },
}
VOICES = VOICE_SETS["espeak"]
# bump a set's version when its audio recipe changes: clear 2, one sample rate, the pitched
# voice at its tempo; espeak 2 / clear 3, Piper without sampled noise (before, each build of
# the same set was different audio: Piper's noise is random, figures moved from one machine
# to the next by up to 0.17 of a split's seek accuracy)
RECIPE_VERSIONS = {"espeak": "2", "clear": "3"}
SPEECH_RATE = 22_050  # Piper's and eSpeak's own rate: every turn is written at it

_MARKER = re.compile(r"\{[^{}]*\}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.?!;:])")
_REPEATED_PUNCT = re.compile(r"([,.?!;:])(?:\s*[,.;:])+")


def clean_text(content: str) -> str:
    """AMI turn text for the voice: markers ({vocalsound}, {disfmarker}, …) dropped,
    "word ." spacing fixed, "T_V_" written "TV"; "" when nothing speakable is left."""
    text = _MARKER.sub(" ", content).replace("_", "")  # AMI spells letters "T_V_"
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = text.lstrip(",.;:?! ")
    return text if re.search(r"[A-Za-z0-9]", text) else ""


def split_of(meeting: str) -> str:
    if meeting in DEV:
        return "dev"
    if meeting in TEST:
        return "test"
    raise ValueError(f"unknown meeting {meeting!r}")


def _turn_range(span: Sequence[str]) -> tuple[int, int]:
    return int(span[0]), int(span[1])


def span_windows(
    spans: Sequence[Sequence[str]], turns: dict[int, dict[str, Any]]
) -> list[list[float]]:
    """QMSum inclusive turn ranges -> time windows over the turns that were spoken."""
    windows = []
    for span in spans:
        lo, hi = _turn_range(span)
        spoken = [turns[i] for i in range(lo, hi + 1) if i in turns]
        if spoken:
            windows.append([spoken[0]["start_s"], spoken[-1]["end_s"]])
    return windows


def build_key(source: bytes, voice_set: str = "espeak") -> str:
    """The cache key of one meeting's audio: its source, the set's voices and recipe."""
    digest = hashlib.sha256(source)
    recipe = [VOICE_SETS[voice_set], RECIPE_VERSIONS[voice_set]]
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _cached(manifest: Path, key: str) -> bool:
    if not manifest.is_file():
        return False
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return data.get("build_key") == key and (manifest.parent / data["audio"]).is_file()


def build_meeting(meeting: str, out_dir: Path, *, source_dir: Path = SOURCE_DIR,
                  workers: int = 2, turn_limit: int | None = None,
                  voice_set: str = "espeak") -> Path:
    """Speak one meeting (its first ``turn_limit`` turns if given) with the voices of
    ``voice_set`` (see ``VOICE_SETS``) and write its manifest; returns the manifest path.
    Cached by content hash."""
    source = (source_dir / f"{meeting}.json").read_bytes()
    key = build_key(source + str(turn_limit).encode(), voice_set)
    voices = VOICE_SETS[voice_set]
    folder = out_dir / meeting
    manifest = folder / "manifest.json"
    if _cached(manifest, key):
        return manifest
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads(source)
    raw = data["meeting_transcripts"][:turn_limit]
    kept = [(i, t["speaker"], clean_text(t["content"])) for i, t in enumerate(raw)]
    kept = [k for k in kept if k[2]]
    wav = folder / f".{meeting}.wav"
    spans = speak_turns([(voices[s], text) for _, s, text in kept], wav,
                        seed=meeting, workers=workers, sample_rate=SPEECH_RATE)
    audio = encode_m4a(wav, folder / f"{meeting}.m4a")
    wav.unlink(missing_ok=True)
    turns = [
        {"index": i, "speaker": s, "text": text, "start_s": sp.start_s, "end_s": sp.end_s}
        for (i, s, text), sp in zip(kept, spans, strict=True)
    ]
    by_index = {t["index"]: t for t in turns}
    payload = {
        "meeting": meeting,
        "split": split_of(meeting),
        "audio": audio.name,
        "build_key": key,
        "duration_s": round(spans[-1].end_s + 0.5, 3),
        "speech_language": "en",
        "voice_set": voice_set,
        "voices": voices,
        "turns": turns,
        "topics": [
            {"topic": t["topic"], "spans": t["relevant_text_span"],
             "windows": span_windows(t["relevant_text_span"], by_index)}
            for t in data["topic_list"]
        ],
        "queries": [
            {"query": q["query"], "answer": q["answer"], "spans": q["relevant_text_span"],
             "windows": span_windows(q["relevant_text_span"], by_index)}
            for q in data["specific_query_list"]
        ],
        "summary": next(
            ({"query": q["query"], "answer": q["answer"]} for q in data["general_query_list"]
             if q["query"].lower().startswith("summarize the whole meeting")),
            None,
        ),
        "source": f"QMSum (Yale-LILY, MIT) / AMI Meeting Corpus (CC BY 4.0): {meeting}",
    }
    _write_json(manifest, payload)
    return manifest


def _write_json(path: Path, payload: Any) -> None:
    tmp = path.with_name("." + path.name + ".part")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    """The pointed questions (one JSON object a line)."""
    return read_jsonl(path)


def turn_windows(manifest: dict[str, Any], refs: Sequence[int | str]) -> list[list[float]]:
    """Answering turns (QMSum turn index, or a line id for the fillets recording) -> windows."""
    by_ref: dict[int | str, dict[str, Any]] = {}
    for t in manifest["turns"]:
        by_ref[t["index"]] = t
        if "id" in t:
            by_ref[t["id"]] = t
    missing = [r for r in refs if r not in by_ref]
    if missing:
        raise ValueError(f"{manifest['meeting']}: no spoken turn {missing}")
    return [[by_ref[r]["start_s"], by_ref[r]["end_s"]] for r in refs]


def dataset_lines(manifests: dict[str, Path], out_dir: Path,
                  questions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eval dataset lines (``evals.dataset.EvalItem`` fields) for the built media."""
    loaded = {m: json.loads(p.read_text(encoding="utf-8")) for m, p in manifests.items()}
    lines: list[dict[str, Any]] = []

    def rel(meeting: str, name: str) -> str:
        return str((manifests[meeting].parent / name).relative_to(out_dir))

    for q in questions:
        meeting = q["meeting"]
        if meeting not in loaded:
            continue
        man = loaded[meeting]
        unanswerable = q.get("kind") == UNANSWERABLE
        lines.append({
            "media": rel(meeting, man["audio"]), "question": q["question"],
            "windows": turn_windows(man, q["turns"]), "keywords": q.get("keywords", []),
            "lang": q["lang"], "split": man["split"],
            "group": UNANSWERABLE if unanswerable else man.get("group", "pointed"),
            "meeting": meeting, "kind": q.get("kind"), "turns": q["turns"],
            "manifest": rel(meeting, "manifest.json"),
            "scoring": "refuse" if unanswerable else "seek",
        })
    for meeting, man in loaded.items():
        for q in man.get("queries", []):
            if not q["windows"]:
                continue
            lines.append({
                "media": rel(meeting, man["audio"]), "question": q["query"],
                "windows": q["windows"], "lang": "en", "group": "qmsum",
                "split": man["split"], "meeting": meeting, "kind": "qmsum",
                "manifest": rel(meeting, "manifest.json"), "reference": q["answer"],
                "scoring": "span",
            })
    return lines


def write_datasets(out_dir: Path, manifests: dict[str, Path]) -> dict[str, Path]:
    """``dataset-dev.jsonl``, ``dataset-test.jsonl`` and ``dataset-all.jsonl`` in ``out_dir``."""
    lines = dataset_lines(manifests, out_dir, load_questions())
    paths = {}
    for split in ("dev", "test", "all"):
        chosen = [row for row in lines if split == "all" or row["split"] == split]
        if not chosen:
            continue
        path = out_dir / f"dataset-{split}.jsonl"
        tmp = path.with_name("." + path.name + ".part")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen),
                       encoding="utf-8")
        tmp.replace(path)
        paths[split] = path
    return paths


def existing_manifests(out_dir: Path) -> dict[str, Path]:
    return {p.parent.name: p for p in sorted(out_dir.glob("*/manifest.json"))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.meetings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--no-transcribe", action="store_true",
                        help="skip the cached Whisper transcripts")
    parser.add_argument("--workers", type=int, default=2, help="TTS processes")
    parser.add_argument("--source", type=Path, default=SOURCE_DIR, help="QMSum AMI folder")
    parser.add_argument("--voices", choices=sorted(VOICE_SETS), default="espeak",
                        help="espeak: the dataset README's recipe; clear: Piper (two pitches) "
                             "and Festival voices, which Whisper hears better")
    args = parser.parse_args(argv)
    missing = missing_festival_voices(VOICE_SETS[args.voices].values())
    if missing:
        print(f"error: --voices {args.voices} needs the Festival voices {', '.join(missing)} "
              "(Debian festival, festvox-us-slt-hts, festvox-kdlpc16k; `make setup` installs "
              "them)", file=sys.stderr)
        return 1
    out_dir: Path = args.out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    from evals.fillets import FILLETS_SPLIT, build_fillets

    order = {"dev": [DEV], "test": [TEST], "all": [DEV, TEST]}[args.split]
    container = None
    for meetings in order:
        split = "dev" if meetings is DEV else "test"
        built = [build_meeting(m, out_dir, source_dir=args.source, workers=args.workers,
                               voice_set=args.voices)
                 for m in meetings]
        if split == FILLETS_SPLIT:
            built.append(build_fillets(out_dir))
        print(f"{split}: {len(built)} recordings ready", file=sys.stderr)
        write_datasets(out_dir, existing_manifests(out_dir))
        if not args.no_transcribe:
            from app.config import Settings
            from app.container import Container
            from evals.meeting_transcripts import transcribe_cached

            container = container or Container(Settings())
            for manifest in built:
                data = json.loads(manifest.read_text(encoding="utf-8"))
                transcribe_cached(container, manifest.parent / data["audio"],
                                  manifest.parent / "transcript.json")
                print(f"transcript: {manifest.parent / 'transcript.json'}", file=sys.stderr)
    if container is not None:
        container.close()
    paths = write_datasets(out_dir, existing_manifests(out_dir))
    for split, path in paths.items():
        print(f"{split}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
