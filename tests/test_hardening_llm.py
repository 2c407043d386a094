"""Length limits of the real embedded llama.cpp server (Qwen2.5 0.5B GGUF) surface as
``LengthLimitError``, other model failures as plain ``LLMError`` — so callers can retry
with less context on exactly the first kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.assets import llm_gguf
from app.config import Settings
from graphs.llm import LengthLimitError, LLMError, chat_model, json_call
from graphs.llm_server import LlamaServer
from tests.live_server import free_port

pytestmark = pytest.mark.slow

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}
CTX = 512


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    models = Settings().models_dir
    with LlamaServer(llm_gguf("qwen2.5-0.5b", models), threads=2, ctx=CTX) as srv:
        yield srv


def _summarize(base_url: str, text: str, max_tokens: int) -> dict:
    model = chat_model(base_url, "qwen2.5-0.5b", timeout=120, max_retries=0)
    messages = [("system", "Summarise the text. Reply with JSON."), ("user", text)]
    return json_call(model, messages, SCHEMA, name="summary", max_tokens=max_tokens)


def test_a_reply_cut_at_max_tokens_is_a_length_limit(server: LlamaServer) -> None:
    with pytest.raises(LengthLimitError, match="summary: the reply reached the length limit"):
        _summarize(server.base_url, "The board met on Monday and approved the budget.", 3)


def test_a_prompt_longer_than_the_context_is_a_length_limit(server: LlamaServer) -> None:
    text = "The board discussed the budget again at length. " * 200  # ~2000 tokens > 512
    with pytest.raises(LengthLimitError, match="does not fit the model's context"):
        _summarize(server.base_url, text, 32)


def test_an_unreachable_server_is_an_llm_error_but_no_length_limit() -> None:
    with pytest.raises(LLMError, match="chat model call failed") as failure:
        _summarize(f"http://127.0.0.1:{free_port()}/v1", "anything", 32)
    assert not isinstance(failure.value, LengthLimitError)


def test_a_reply_that_fits_is_parsed(server: LlamaServer) -> None:
    reply = _summarize(server.base_url, "The board met on Monday and approved the budget.", 64)
    assert isinstance(reply["summary"], str)
