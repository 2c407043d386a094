"""Transcripts for the faces (CLI and API): load, export, name speakers.

A transcript is the one stored at ingest (:mod:`ingestion.transcript_store`), with the
speakers' current names applied. Exports: JSON (the stored model), SRT (``srt``; the
speaker leads each cue, ``Chiara: …``), WebVTT (``webvtt-py``; voice tags
``<v Chiara>``) and plain text (one line per segment with its time and speaker).
Renaming writes the names into the stored transcript and relabels the item's indexed
chunks (payload only: nothing is transcribed or embedded again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from graphs.mediatime import format_time
from ingestion.speaker_names import propose_names, propose_roles
from ingestion.transcript_store import MediaTranscript

if TYPE_CHECKING:
    from app.container import Container

Format = Literal["json", "srt", "vtt", "txt"]
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "txt": "text/plain",
}
MAX_NAME = 60


class TranscriptMissing(LookupError):
    """The item has no stored transcript (not ready, or indexed before transcripts were kept)."""


class BadRename(ValueError):
    """A rename that cannot apply (unknown speaker, empty or clashing name)."""


def load(container: Container, media_id: str) -> MediaTranscript:
    doc = container.transcripts.load(media_id)
    if doc is None:
        raise TranscriptMissing(
            f"media {media_id!r} has no stored transcript: it was indexed before transcripts "
            "were kept (index it again: `chronorag ingest FILE --reindex`)"
        )
    return doc


def export(doc: MediaTranscript, fmt: Format) -> str:
    """``doc`` (already named and cut to a window) in ``fmt``."""
    if fmt == "json":
        return doc.model_dump_json(exclude={"names"})
    if fmt == "srt":
        return to_srt(doc)
    if fmt == "vtt":
        return to_vtt(doc)
    return to_txt(doc)


def to_srt(doc: MediaTranscript) -> str:
    import srt

    subs = [
        srt.Subtitle(
            index=i,
            start=dt.timedelta(seconds=seg.start_s),
            end=dt.timedelta(seconds=max(seg.end_s, seg.start_s)),
            content=f"{seg.speaker}: {seg.text}" if seg.speaker else seg.text,
        )
        for i, seg in enumerate(doc.segments, start=1)
    ]
    return srt.compose(subs, reindex=False)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_clock(seconds: float) -> str:
    ms = round(max(seconds, 0.0) * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(doc: MediaTranscript) -> str:
    from webvtt import Caption, WebVTT

    vtt = WebVTT()
    for seg in doc.segments:
        text = _vtt_escape(seg.text)
        if seg.speaker:
            text = f"<v {_vtt_escape(seg.speaker)}>{text}</v>"
        vtt.captions.append(
            Caption(_vtt_clock(seg.start_s), _vtt_clock(max(seg.end_s, seg.start_s)), text)
        )
    return vtt.content


def to_txt(doc: MediaTranscript) -> str:
    lines = []
    for seg in doc.segments:
        who = f" {seg.speaker}:" if seg.speaker else ""
        lines.append(f"[{format_time(seg.start_s)}]{who} {seg.text}")
    return "\n".join(lines) + ("\n" if lines else "")


# --- speakers ------------------------------------------------------------------------
def speakers(doc: MediaTranscript) -> list[dict[str, object]]:
    """Each speaker: id, current name, proposed name and role, speaking time, segments."""
    lines = [(seg.speaker, seg.text) for seg in doc.segments]
    proposals, roles = propose_names(lines), propose_roles(lines)
    out = []
    for sp in doc.speakers():
        segs = [s for s in doc.segments if s.speaker == sp]
        out.append(
            {
                "speaker": sp,
                "name": doc.names.get(sp),
                "proposed_name": proposals.get(sp),
                "proposed_role": roles.get(sp),
                "speech_s": round(sum(s.end_s - s.start_s for s in segs), 1),
                "segments": len(segs),
            }
        )
    return out


def rename(container: Container, media_id: str, renames: Mapping[str, str]) -> MediaTranscript:
    """Apply ``{speaker id or current name: new name}``; returns the updated transcript.
    Raises ``BadRename`` before changing anything when one of them cannot apply."""
    doc = load(container, media_id)
    ids = doc.speakers()
    by_label = {doc.label(sp): sp for sp in ids}
    names = dict(doc.names)
    moves: list[tuple[str, str]] = []  # (old label, new label) for the index
    for key, new in renames.items():
        sp = key if key in ids else by_label.get(key)
        if sp is None:
            raise BadRename(f"media {media_id!r} has no speaker {key!r} (speakers: {ids})")
        name = " ".join(new.split())
        if not name or len(name) > MAX_NAME:
            raise BadRename(f"a speaker name must be 1-{MAX_NAME} characters: {new!r}")
        old = doc.label(sp)
        assert old is not None
        names[sp] = name
        moves.append((old, name))
    labels = [names.get(sp, sp) for sp in ids]
    clash = {x for x in labels if labels.count(x) > 1}
    if clash:
        raise BadRename(f"two speakers would both be called {sorted(clash)[0]!r}")
    updated = doc.model_copy(update={"names": names})
    container.transcripts.save(updated)
    try:
        for old, new in _ordered(moves):
            if old != new:
                container.index.rename_speaker(media_id, old, new)
    except BaseException:
        container.transcripts.save(doc)
        raise
    return updated


def _ordered(moves: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Index relabels in an order that never merges two speakers' chunks: a swap
    (S1→S2, S2→S1) goes through a temporary label."""
    olds = {o for o, _ in moves}
    safe = [(o, n) for o, n in moves if n not in olds]
    rest = [(o, n) for o, n in moves if n in olds]
    tmp = [(o, f"\x00{o}") for o, _ in rest]
    back = [(f"\x00{o}", n) for o, n in rest]
    return safe + tmp + back
