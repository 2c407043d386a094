"""Where callers find ``open_index`` (the backend choice lives in ``vectorstore.index``)."""

from vectorstore.index import open_index

__all__ = ["open_index"]
