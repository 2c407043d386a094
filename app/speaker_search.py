"""Search as people call it: a query that names a speaker searches that speaker's lines.

"What did the marketing expert draw?" is about who speaks, not what is said. The answer
("A sheep.") rarely says the role; self-introductions do, so searched as typed the role
pulls in "I'm the marketing expert" instead. The API, the CLI, MCP and the retrievers
therefore read the query the way the agent's first search does
(:func:`graphs.speakers.speaker_query`):

- a speaker it names unambiguously — by the label the index carries, a proposed name or
  role, "speaker 2" — among the speakers of the media searched becomes the speaker filter,
  and the words that named them leave the query;
- a role it names leaves the query even when no speaker is known to hold it;
- a request that sets ``speaker`` itself is searched exactly as given.

Speakers are per recording (``S2`` of one meeting is not ``S2`` of another), so a name
or role is matched only when the search is limited to media (``media_ids``); a search
over the whole library drops role words only. The long-meeting eval measured it (pointed
questions, clear voices, seek en/hi/ta: dev 0.375/0.312/0.250 → 0.562/0.375/0.375).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphs.speakers import SpeakerDirectory, speaker_query
from graphs.words import STOP_WORDS
from vectorstore.schema import Hit, SearchRequest
from vectorstore.search import MediaSearch


@dataclass(frozen=True)
class Found:
    """A search's hits, and how the query was read."""

    hits: list[Hit]
    query: str  # what was searched
    speaker: str | None  # whose lines these are: the request's filter, or the one named
    mention: str = ""  # the query's words that named that speaker ("the marketing expert")


class SpeakerSearch:
    """:class:`vectorstore.search.MediaSearch` behind the reading of speakers in queries."""

    def __init__(self, search: MediaSearch, speakers: SpeakerDirectory) -> None:
        self.search = search
        self.speakers = speakers

    def find(self, req: SearchRequest) -> Found:
        if req.speaker is not None:
            return Found(self.search.search(req), req.query, req.speaker)
        ready = [m for m in dict.fromkeys(req.media_ids or ()) if self.search.registry.is_ready(m)]
        known = [sp for m in ready for sp in self.speakers.speakers(m)]
        asked = speaker_query(req.query, known, STOP_WORDS)
        read = req.model_copy(update={"query": asked.query, "speaker": asked.speaker})
        return Found(self.search.search(read), asked.query, asked.speaker, asked.mention)
