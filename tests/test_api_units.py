"""The service's pure helpers: upload names, file types,
OpenAI message text and conversation → thread mapping (no server, no models)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api.media_files import extension_for, inside
from app.api.openai_compat import message_text
from app.api.schemas import AskOut
from app.api.threads import ThreadMap
from app.api.uploads import display_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\talk.mp4", "talk.mp4"),
        ("a\x00b\x1f.mp4", "ab.mp4"),
        ("/", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("மீட்டிங்.mp4", "மீட்டிங்.mp4"),
    ],
)
def test_display_name_keeps_only_a_safe_last_part(raw: str | None, expected: str) -> None:
    assert display_name(raw) == expected


def test_extension_follows_the_probed_container() -> None:
    assert extension_for("mov,mp4,m4a,3gp,3g2,mj2", True) == ".mp4"
    assert extension_for("mov,mp4,m4a,3gp,3g2,mj2", False) == ".m4a"
    assert extension_for("matroska,webm", True) == ".mkv"
    assert extension_for("wav", False) == ".wav"
    assert extension_for("something-new", True) == ".bin"
    assert extension_for(None, False) == ".bin"


def test_inside_refuses_traversal_and_symlink_escape(tmp_path: Path) -> None:
    root = tmp_path / "answers"
    root.mkdir()
    (root / "a.wav").write_bytes(b"x")
    (root / "link").symlink_to(tmp_path)
    assert inside(root / "a.wav", root)
    assert not inside(root / ".." / "secret", root)
    assert not inside(root / "link" / "secret", root)


def test_citations_are_in_the_message_text() -> None:
    cited = {"media_id": "m1", "title": "Talk", "start_s": 65.2, "end_s": 70.9, "quote": "q"}
    inline = AskOut(
        answer="They met. [Talk @ 01:05–01:10]", language="en", citations=[cited], thread_id="t"
    )
    assert message_text(inline) == inline.answer
    bare = inline.model_copy(update={"answer": "They met."})
    assert message_text(bare) == "They met.\n\nSources: [Talk @ 01:05–01:10]"


def test_thread_map_follows_a_conversation_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "threads.sqlite3"
    threads = ThreadMap(path)
    first = threads.thread_for([])
    assert first != threads.thread_for([])  # every new conversation gets its own thread
    turn = [("user", "What was decided?"), ("assistant", "The budget. [Talk @ 00:10–00:20]")]
    threads.remember(turn, first)
    threads.close()
    reopened = ThreadMap(path)
    # whitespace differences from a client do not lose the thread
    assert reopened.thread_for([("user", " What was decided? "), turn[1]]) == first
    assert reopened.thread_for([("user", "Something else"), turn[1]]) != first
    reopened.close()
