"""The service's pure helpers: transcript cues and formats, upload names, file types,
OpenAI message text and conversation → thread mapping (no server, no models)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.api.media_files import extension_for, inside
from app.api.openai_compat import message_text
from app.api.schemas import AskOut
from app.api.threads import ThreadMap
from app.api.transcripts import MAX_CUE_WORDS, segments_from_chunks, to_srt, to_vtt
from app.api.uploads import display_name
from vectorstore.schema import Chunk


def speech(start: float, end: float, text: str) -> Chunk:
    return Chunk(media_id="m", source="speech", start_s=start, end_s=end, text=text, language="en")


def test_overlap_words_between_chunks_are_not_repeated() -> None:
    chunks = [
        speech(10.0, 14.0, "the board approved the budget for next year"),
        speech(0.0, 4.0, "good morning everyone and welcome"),
        speech(13.0, 16.0, "for next year and then we discussed hiring"),
    ]
    segments = segments_from_chunks(chunks)
    text = " ".join(s.text for s in segments)
    assert text == (
        "good morning everyone and welcome the board approved the budget for next year"
        " and then we discussed hiring"
    )
    assert [s.start_s for s in segments] == sorted(s.start_s for s in segments)
    for a, b in zip(segments, segments[1:], strict=False):
        assert a.end_s <= b.start_s


def test_long_chunks_become_short_cues_with_interpolated_times() -> None:
    words = [f"w{i}" for i in range(30)]
    segments = segments_from_chunks([speech(100.0, 130.0, " ".join(words))])
    assert [len(s.text.split()) for s in segments] == [MAX_CUE_WORDS, MAX_CUE_WORDS, 6]
    assert segments[0].start_s == 100.0 and segments[-1].end_s == 130.0
    assert segments[1].start_s == pytest.approx(100.0 + 30.0 * MAX_CUE_WORDS / 30)


def test_srt_and_vtt_formats() -> None:
    segments = segments_from_chunks(
        [speech(3661.5, 3663.25, "a <b> & c"), speech(0.0, 1.0, "नमस्ते दुनिया")]
    )
    srt = to_srt(segments)
    assert srt == (
        "1\n00:00:00,000 --> 00:00:01,000\nनमस्ते दुनिया\n\n"
        "2\n01:01:01,500 --> 01:01:03,250\na <b> & c\n"
    )
    vtt = to_vtt(segments)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nनमस्ते दुनिया\n")
    assert "a &lt;b&gt; &amp; c" in vtt
    assert len(re.findall(" --> ", vtt)) == 2


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
