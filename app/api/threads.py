"""Maps OpenAI-style conversations (the full message history) onto agent threads.

OpenAI clients resend the whole history each turn; the agent keeps its memory per
``thread_id``. After each answer, the history *including* that answer is hashed and
remembered with its thread, so the next turn — same history plus one new user
message — finds the thread again. An unknown history (edited, or from elsewhere)
starts a new thread. Stored in a small SQLite file so it survives restarts.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path


def history_key(messages: Sequence[tuple[str, str]]) -> str:
    """A stable key for a list of (role, text) messages; whitespace-insensitive at the ends."""
    norm = [
        [role, " ".join(text.split())]
        for role, text in messages
        if role in ("user", "assistant")
    ]
    return hashlib.sha256(json.dumps(norm, ensure_ascii=False).encode()).hexdigest()


class ThreadMap:
    """history key → thread id, persisted."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS threads (key TEXT PRIMARY KEY, thread_id TEXT NOT NULL)"
        )

    def thread_for(self, history: Sequence[tuple[str, str]]) -> str:
        """The thread that produced ``history`` (a new id if none did, or it is empty)."""
        if history:
            with self._lock:
                row = self._conn.execute(
                    "SELECT thread_id FROM threads WHERE key=?", (history_key(history),)
                ).fetchone()
            if row:
                return row[0]
        return f"oai-{uuid.uuid4().hex}"

    def remember(self, history: Sequence[tuple[str, str]], thread_id: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO threads (key, thread_id) VALUES (?, ?)",
                (history_key(history), thread_id),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
