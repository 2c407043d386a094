"""The long-meeting set's word error tool: normalisation, turn attribution, totals."""

from __future__ import annotations

import json

from evals.meeting_wer import main, score_meeting, score_split, turn_of_words, words_of


def test_words_drop_fillers_and_punctuation():
    assert words_of("Um, so the T-V remote... uh, it's fine!") == [
        "so", "the", "t-v", "remote", "it's", "fine"]


MANIFEST = {
    "meeting": "ES2008a", "split": "dev", "audio": "ES2008a.m4a",
    "turns": [
        {"index": 0, "speaker": "Project Manager", "text": "Um, hello everybody.",
         "start_s": 0.5, "end_s": 2.0},
        {"index": 1, "speaker": "Marketing", "text": "I like the panther.",
         "start_s": 2.4, "end_s": 4.0},
        {"index": 2, "speaker": "Marketing", "text": "Uh.", "start_s": 4.5, "end_s": 5.0},
        {"index": 3, "speaker": "Project Manager", "text": "Twenty five euros.",
         "start_s": 5.5, "end_s": 7.0},
    ],
}
TRANSCRIPT = {"segments": [
    {"words": [[0.6, 1.0, " Hello", 0.9], [1.1, 1.8, " everybody.", 0.9]]},
    # "I" starts 0.1 s before its turn (still its turn: the gap's first half is the turn
    # before's, the second half this one's); "panzer" for panther; "So" in the silence after
    # the turn (4.1 s, before the gap's middle at 4.25 s) is an insertion; "Uh" in the
    # filler-only turn is not scored
    {"words": [[2.3, 2.6, " I", 0.9], [2.7, 3.0, " like", 0.9], [3.1, 3.3, " the", 0.9],
               [3.4, 3.9, " panzer.", 0.5], [4.1, 4.2, " So", 0.4], [4.6, 4.8, " Uh.", 0.4]]},
]}


def test_a_turn_owns_the_time_to_the_middle_of_each_silence():
    turns = [{"start_s": 0.5, "end_s": 2.0}, {"start_s": 3.0, "end_s": 4.0},
             {"start_s": 4.4, "end_s": 6.0}]
    # middles of the silences: 2.5 and 4.2; before the first / after the last: the edge turns
    assert turn_of_words(turns, [0.0, 2.4, 2.6, 4.1, 4.3, 9.0]) == [0, 0, 1, 1, 2, 2]


def test_turn_errors_are_summed_per_speaker():
    tallies: dict = {}
    score_meeting(MANIFEST, TRANSCRIPT, tallies)
    # PM: "hello everybody" right, "twenty five euros" not heard at all (3 deletions)
    assert (tallies["Project Manager"].errors, tallies["Project Manager"].words) == (3, 5)
    # Marketing: one substitution and one insertion on four words; the filler turn unscored
    assert (tallies["Marketing"].errors, tallies["Marketing"].words,
            tallies["Marketing"].turns) == (2, 4, 1)


def test_split_totals_and_json(tmp_path, capsys):
    folder = tmp_path / "ES2008a"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(MANIFEST))
    (folder / "transcript.json").write_text(json.dumps(TRANSCRIPT))
    tallies = score_split(tmp_path, "all")
    assert (tallies["all"].errors, tallies["all"].words) == (5, 9)
    assert score_split(tmp_path, "test")["all"].words == 0
    assert main([str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["all"]["wer"] == round(5 / 9, 3)
    assert main([str(tmp_path), "--split", "test"]) == 1  # nothing to score: an error
    assert main([str(tmp_path / "missing")]) == 1
