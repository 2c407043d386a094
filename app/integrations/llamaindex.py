"""A LlamaIndex retriever over ChronoRAG's time-aware search.

``ChronoRAGRetriever()`` reads the same settings as the CLI (``CHRONORAG_*``, the data
dir in ``CHRONORAG_HOME``); keyword arguments filter like ``chronorag search``. Each
hit becomes a ``TextNode`` whose metadata carries ``media_id``, ``title``, ``start_s``,
``end_s``, ``speaker``, ``source`` (and ``time``, ``url``), scored by the hybrid search.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from app.config import Settings
from app.container import Container
from app.integrations.library import SearchFilters, hit_record, search_hits

# what the LLM sees of a node besides its text (the rest stays for the application)
_LLM_METADATA = ("title", "time", "speaker")


class ChronoRAGRetriever(BaseRetriever):
    """Nodes for the moments that answer a query, newest settings from the environment."""

    def __init__(
        self,
        *,
        container: Container | None = None,
        callback_manager: CallbackManager | None = None,
        **filters: Any,
    ) -> None:
        """``filters``: ``media_ids``, ``start_s``, ``end_s``, ``source``, ``speaker``,
        ``limit`` (``SearchFilters``; an unknown name is a ``TypeError``)."""
        super().__init__(callback_manager=callback_manager)
        self.filters = SearchFilters(**filters)
        self._owns = container is None
        self._container = container

    @property
    def container(self) -> Container:
        if self._container is None:
            self._container = Container(Settings())
        return self._container

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = search_hits(self.container, query_bundle.query_str, self.filters)
        url = self.container.settings.public_url
        nodes = []
        for hit in hits:
            meta = hit_record(hit, url)
            text, score = meta.pop("text"), meta.pop("score")
            node = TextNode(
                text=text,
                metadata=meta,
                excluded_llm_metadata_keys=[k for k in meta if k not in _LLM_METADATA],
                excluded_embed_metadata_keys=list(meta),
            )
            nodes.append(NodeWithScore(node=node, score=score))
        return nodes

    def close(self) -> None:
        """Release the index and models (only those this retriever opened)."""
        if self._owns and self._container is not None:
            self._container.close()
            self._container = None
