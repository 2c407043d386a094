"""A LangChain retriever over ChronoRAG's time-aware search.

``ChronoRAGRetriever()`` reads the same settings as the CLI (``CHRONORAG_*``, the data
dir in ``CHRONORAG_HOME``); keyword arguments filter like ``chronorag search``. Each
hit becomes a ``Document`` whose metadata carries ``media_id``, ``title``, ``start_s``,
``end_s``, ``speaker``, ``source`` (and ``time``, ``url``, ``score``).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from app.config import Settings
from app.container import Container
from app.integrations.library import SearchFilters, hit_record, search_hits


class ChronoRAGRetriever(BaseRetriever):
    """Documents for the moments that answer a query."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    media_ids: list[str] | None = None
    start_s: float | None = None
    end_s: float | None = None
    source: str | None = None
    speaker: str | None = None
    limit: int = 5
    container: Container | None = None

    _owned: Container | None = PrivateAttr(default=None)

    def _library(self) -> Container:
        if self.container is not None:
            return self.container
        if self._owned is None:
            self._owned = Container(Settings())
        return self._owned

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        container = self._library()
        filters = SearchFilters(
            media_ids=self.media_ids, start_s=self.start_s, end_s=self.end_s,
            source=self.source, speaker=self.speaker, limit=self.limit,
        )  # fmt: skip
        hits = search_hits(container, query, filters)
        docs = []
        for hit in hits:
            meta: dict[str, Any] = hit_record(hit, container.settings.public_url)
            docs.append(Document(page_content=meta.pop("text"), metadata=meta))
        return docs

    def close(self) -> None:
        """Release the index and models (only those this retriever opened)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None
