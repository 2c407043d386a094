"""Dataset files: validation, clear errors naming file and line, relative media paths."""

from __future__ import annotations

import json

import pytest

from evals.dataset import DatasetError, load_dataset


def _write(tmp_path, rows):
    (tmp_path / "clip.mp4").write_bytes(b"not really a video")
    path = tmp_path / "set.jsonl"
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
        encoding="utf-8",
    )
    return path


def test_loads_relative_media_and_defaults(tmp_path):
    path = _write(tmp_path, [
        "# a comment",
        {"media": "clip.mp4", "question": " When? ", "windows": [[1, 2.5]]},
        "",
        {"media": "clip.mp4", "question": "कब?", "windows": [[0, 1], [3, 4]],
         "keywords": ["x"], "lang": "hi", "source": "screen"},
    ])
    items = load_dataset(path)
    assert len(items) == 2
    assert items[0].media == (tmp_path / "clip.mp4").resolve()
    assert (items[0].question, items[0].lang, items[0].source) == ("When?", "en", "speech")
    assert items[0].windows == [(1.0, 2.5)]
    assert items[1].windows == [(0.0, 1.0), (3.0, 4.0)]
    assert (items[1].lang, items[1].source, items[1].keywords) == ("hi", "screen", ["x"])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{"media": "clip.mp4", "question": "q", "windows": [[1, 2]]', "not JSON"),
        ({"media": "clip.mp4", "question": "q", "windows": [[3, 2]]}, "0 <= start <= end"),
        ({"media": "clip.mp4", "question": "q", "windows": []}, "windows"),
        ({"media": "clip.mp4", "question": "   ", "windows": [[0, 1]]}, "blank"),
        ({"media": "gone.mp4", "question": "q", "windows": [[0, 1]]}, "media file not found"),
        ({"media": "clip.mp4", "question": "q", "windows": [[0, 1]], "source": "smell"},
         "source"),
        ({"question": "q", "windows": [[0, 1]]}, "media"),
        ({"media": "clip.mp4", "question": "q", "windows": [[0, 1]], "scoring": "refuse"},
         "no true windows"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, row, message):
    good = {"media": "clip.mp4", "question": "q", "windows": [[0, 1]]}
    path = _write(tmp_path, [good, row])
    with pytest.raises(DatasetError, match=message) as info:
        load_dataset(path)
    assert f"{path}:2" in str(info.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n# nothing\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no questions"):
        load_dataset(empty)


def test_a_question_scored_by_refusal_has_no_windows(tmp_path):
    path = _write(tmp_path, [{"media": "clip.mp4", "question": "Who won the cricket match?",
                              "scoring": "refuse", "group": "unanswerable"}])
    (item,) = load_dataset(path)
    assert (item.scoring, item.windows, item.group) == ("refuse", [], "unanswerable")
