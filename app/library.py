"""Operations on the media library that span several stores (index, files, registry)."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.container import Container


def delete_media(container: Container, media_id: str) -> bool:
    """Remove a media item's points, keyframes, stored upload and registry rows.

    Returns False when no such media exists. Points go first so that a crash
    part-way never leaves searchable text for media the registry has forgotten.
    """
    record = container.registry.get_media(media_id)
    if record is None:
        return False
    container.index.delete_media(media_id)
    shutil.rmtree(container.settings.keyframes_dir / media_id, ignore_errors=True)
    stored = Path(record.path)
    media_dir = container.settings.media_dir.resolve()
    # Only files we stored ourselves (uploads) are ours to delete; a file the user
    # ingested from their own disk stays where it is.
    if stored.resolve().is_relative_to(media_dir):
        stored.unlink(missing_ok=True)
    container.registry.delete_media(media_id)
    return True
