"""Search as people call it: a query that names a speaker searches that speaker's lines.

"What did the marketing expert draw?" is about who speaks, not what is said. The answer
("A sheep.") rarely says the role; self-introductions do, so searched as typed the role
pulls in "I'm the marketing expert" instead. The API, the CLI, MCP, the retrievers and the
web page therefore read the query with the agent's speaker rules
(:func:`graphs.speakers.speaker_query`):

- a speaker it names unambiguously — by the label the index carries, a proposed name or
  role, "speaker 2", a Hindi or Tamil role — becomes the speaker filter, and the words
  that named them leave the query. Words that only qualify a role ("the project
  deadline", "the marketing budget") name no one;
- a role it names leaves the query even when no speaker is known to hold it;
- a request that sets ``speaker`` itself is searched exactly as given.

Speakers are read only when the search is limited to one ready recording: its labels mean
one person each, while ``S1`` of two meetings are two people. Otherwise only role words
leave the query. Unlike the agent, search does not fall back to everyone's lines when the
speaker's lines do not match (the caller asked for that speaker; the reply's ``speaker``
says whose lines these are). Both go by :func:`graphs.speakers.named_speaker`. The
long-meeting eval measured it (pointed questions, clear voices, seek en/hi/ta: dev
0.375/0.312/0.250 → 0.562/0.375/0.375).
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
        media = list(dict.fromkeys(req.media_ids or ()))
        # one recording: its speaker labels mean one person each (S1 of two meetings do not)
        one = len(media) == 1 and self.search.registry.is_ready(media[0])
        known = list(self.speakers.speakers(media[0])) if one else []
        asked = speaker_query(req.query, known, STOP_WORDS)
        read = req.model_copy(update={"query": asked.query, "speaker": asked.speaker})
        return Found(self.search.search(read), asked.query, asked.speaker, asked.mention)
