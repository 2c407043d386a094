"""The agent's speaker directory: who speaks in a media item, from its stored transcript.

The one source of speaker names is the stored transcript (:mod:`app.transcripts`): the
names the user set, and the names and roles proposed from self-introductions. Each
speaker is offered to the agent's matcher (:mod:`graphs.speakers`) under the label the
index carries (the name, else the id) with the other ways to call them as aliases. Reads
are cached per file version, so a question does not parse every transcript again, and a
rename (which rewrites the file) is seen at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from app.transcripts import speakers
from graphs.speakers import KnownSpeaker
from ingestion.transcript_store import TranscriptStore


class TranscriptSpeakers:
    """:class:`graphs.speakers.SpeakerDirectory` over the stored transcripts."""

    def __init__(self, store: TranscriptStore, *, cache_size: int = 64) -> None:
        self.store = store
        self._cache: OrderedDict[str, tuple[int, tuple[KnownSpeaker, ...]]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # the API's search threads and the agent share it

    def speakers(self, media_id: str) -> tuple[KnownSpeaker, ...]:
        path = self.store.path(media_id)
        try:
            version = path.stat().st_mtime_ns
        except OSError:  # no transcript stored (not speech, or indexed before they were kept)
            return ()
        with self._lock:
            cached = self._cache.get(media_id)
            if cached is not None and cached[0] == version:
                self._cache.move_to_end(media_id)
                return cached[1]
        doc = self.store.load(media_id)  # read outside the lock: no one waits on the disk
        known = tuple(known_speakers(speakers(doc))) if doc is not None else ()
        with self._lock:
            self._cache[media_id] = (version, known)
            self._cache.move_to_end(media_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return known


def known_speakers(rows: list[dict[str, object]]) -> list[KnownSpeaker]:
    """``app.transcripts.speakers`` rows as matcher entries (label = what the index says)."""
    out = []
    for row in rows:
        sp = str(row["speaker"])
        label = str(row["name"] or sp)
        aliases = [sp]
        if sp[1:].isdigit():
            aliases.append(f"speaker {sp[1:]}")
        aliases += [str(row[k]) for k in ("proposed_name", "proposed_role") if row.get(k)]
        out.append(KnownSpeaker(label, tuple(dict.fromkeys(a for a in aliases if a != label))))
    return out
