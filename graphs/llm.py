"""The chat model: one OpenAI-compatible client for llama.cpp's server and vLLM.

Planner and summary decisions are JSON constrained by a JSON schema through
``response_format`` (llama.cpp turns it into a grammar, vLLM into guided decoding),
because small local models do not emit reliable native tool calls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI


class LLMError(RuntimeError):
    """The chat model failed or answered something unusable."""


class LengthLimitError(LLMError):
    """The model hit a length limit: the reply was cut at ``max_tokens``, or the prompt did
    not fit the context window. Callers retry with less context."""


# how servers word "the prompt does not fit" (llama.cpp, vLLM / OpenAI)
_CONTEXT_PHRASES = (
    "context size", "context length", "context window", "context_length_exceeded",
    "too many tokens", "maximum context",
)  # fmt: skip


def llm_error(name: str, exc: BaseException) -> LLMError:
    """The :class:`LLMError` (or :class:`LengthLimitError`) for a failed model call."""
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.LengthFinishReasonError):
        return LengthLimitError(f"{name}: the reply reached the length limit (max_tokens)")
    if isinstance(exc, openai.BadRequestError):
        text = str(exc).lower()
        if any(phrase in text for phrase in _CONTEXT_PHRASES):
            return LengthLimitError(f"{name}: the prompt does not fit the model's context: {exc}")
    return LLMError(f"{name}: chat model call failed: {exc}")


def check_finished(name: str, reply: BaseMessage) -> None:
    """Raise :class:`LengthLimitError` when the server says the reply was cut short."""
    metadata = getattr(reply, "response_metadata", None) or {}
    if metadata.get("finish_reason") == "length":
        raise LengthLimitError(f"{name}: the reply reached the length limit (max_tokens)")


def chat_model(
    base_url: str,
    model: str,
    *,
    api_key: str = "EMPTY",
    timeout: float = 120.0,
    temperature: float = 0.0,
    max_retries: int = 1,
) -> ChatOpenAI:
    """A ``ChatOpenAI`` talking to any OpenAI-compatible server at ``base_url`` (…/v1)."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"chat model base_url must be an http(s) URL, got {base_url!r}")
    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key,
        timeout=timeout,
        temperature=temperature,
        max_retries=max_retries,
    )


def json_schema_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``response_format`` that constrains output to ``schema``."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def json_call(
    model: BaseChatModel,
    messages: Sequence[tuple[str, str]],
    schema: dict[str, Any],
    *,
    name: str,
    max_tokens: int,
) -> dict[str, Any]:
    """Ask ``model`` for one JSON object matching ``schema`` and parse it."""
    bound = model.bind(response_format=json_schema_format(name, schema), max_tokens=max_tokens)
    try:
        reply = bound.invoke(list(messages))
    except Exception as exc:  # network, timeout, server error: one clear error type
        raise llm_error(name, exc) from exc
    check_finished(name, reply)
    content = reply.content if isinstance(reply.content, str) else str(reply.content)
    try:
        value = json.loads(content)
    except json.JSONDecodeError as exc:
        raise LLMError(f"{name}: model did not return JSON: {content[:200]!r}") from exc
    if not isinstance(value, dict):
        raise LLMError(f"{name}: expected a JSON object, got {type(value).__name__}")
    return value
