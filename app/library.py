"""Operations on the media library that the faces share (the CLI's ``media delete``)."""

from __future__ import annotations

from app.container import Container


def delete_media(container: Container, media_id: str) -> bool:
    """Remove a media item's points, keyframes, stored upload and registry rows.

    Returns False when no such media exists; raises ``app.lifecycle.Busy`` while it is
    still being indexed (an interrupted ingestion is cleaned up and deleted).
    """
    return container.lifecycle.delete(media_id)
