"""The MCP server through the SDK's own client: a real ``chronorag mcp`` subprocess on
stdio, and the service's ``/mcp`` streamable-HTTP mount behind the API key. Each face
gets a bad argument (a tool error naming it) and must keep serving afterwards."""

from __future__ import annotations

import json
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.cli_runner import CLI, cli_env
from tests.library import LIBRARY_TITLE, Library
from tests.live_server import API_KEY, LiveServer, service_settings
from tests.media import MediaFixture

TOOLS = {"search", "ask", "transcript", "list_media", "summarize"}
Session = Callable[[Client], Awaitable[dict[str, Any]]]


def text(result: Any) -> str:
    assert len(result.content) == 1
    return result.content[0].text


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, text(result)
    return json.loads(text(result))


def overlaps(row: dict[str, Any], lo: float, hi: float) -> bool:
    return row["start_s"] < hi and row["end_s"] > lo


async def stdio_session(client: Client, media_id: str) -> dict[str, Any]:
    """Every tool once over one stdio connection, errors in the middle."""
    out: dict[str, Any] = {"tools": {t.name: t for t in (await client.list_tools()).tools}}
    out["search"] = await client.call_tool(
        "search", {"query": "a young man who was not badly disposed", "source": "speech"}
    )
    out["reversed"] = await client.call_tool(
        "search", {"query": "volcano", "start": "0:30", "end": "0:10"}
    )
    out["bad_type"] = await client.call_tool("search", {"query": "volcano", "limit": "many"})
    out["unknown_media"] = await client.call_tool("transcript", {"media_id": "nope"})
    out["after_errors"] = await client.call_tool(
        "search", {"query": "volcano safety", "source": "screen", "limit": 1}
    )
    out["transcript"] = await client.call_tool(
        "transcript", {"media_id": media_id, "start": 20, "end": "0:40"}
    )
    out["list_media"] = await client.call_tool("list_media", {})
    out["summarize_bad"] = await client.call_tool(
        "summarize", {"media_id": media_id, "start": "9:00"}
    )
    out["ask"] = await client.call_tool(
        "ask", {"question": "What kind of young man was he?", "media_ids": [media_id]}
    )
    return out


@pytest.fixture(scope="module")
def over_stdio(small_library: Library) -> dict[str, Any]:
    params = StdioServerParameters(command=CLI, args=["mcp"], env=cli_env(small_library.home))

    async def main() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=600) as client:
            return await stdio_session(client, small_library.media_id)

    return anyio.run(main)


def test_stdio_lists_the_five_tools_with_their_filters(over_stdio: dict[str, Any]) -> None:
    tools = over_stdio["tools"]
    assert set(tools) == TOOLS
    props = tools["search"].input_schema["properties"]
    assert {"query", "media_ids", "start", "end", "source", "speaker", "limit"} <= set(props)
    assert tools["search"].input_schema["required"] == ["query"]


def test_stdio_search_finds_the_moment_with_a_playable_url(
    over_stdio: dict[str, Any], small_library: Library, media: MediaFixture
) -> None:
    hits = ok(over_stdio["search"])["hits"]
    clip = next(c for c in media.truth.clips if c.clip_id.endswith("0880"))
    top = hits[0]
    assert top["media_id"] == small_library.media_id and top["title"] == LIBRARY_TITLE
    assert top["source"] == "speech" and overlaps(top, clip.start_s, clip.end_s)
    assert top["url"] == (
        f"http://127.0.0.1:8000/v1/media/{small_library.media_id}/file"
        f"#t={top['start_s']:.2f},{top['end_s']:.2f}"
    )
    assert set(top) >= {"time", "speaker", "text", "score"}


def test_stdio_bad_arguments_are_tool_errors_and_the_server_keeps_serving(
    over_stdio: dict[str, Any], media: MediaFixture
) -> None:
    assert over_stdio["reversed"].is_error
    assert text(over_stdio["reversed"]).endswith("end must be after start")
    assert over_stdio["bad_type"].is_error and "limit" in text(over_stdio["bad_type"])
    assert over_stdio["unknown_media"].is_error
    assert "no media with id 'nope'" in text(over_stdio["unknown_media"])
    assert over_stdio["summarize_bad"].is_error
    assert "only 38 s long" in text(over_stdio["summarize_bad"])
    screen = ok(over_stdio["after_errors"])["hits"]
    slide = next(s for s in media.truth.slides if s.text == "VOLCANO SAFETY")
    assert len(screen) == 1 and screen[0]["source"] == "screen"
    assert overlaps(screen[0], slide.start_s, slide.end_s)


def test_stdio_transcript_of_a_span(over_stdio: dict[str, Any], small_library: Library) -> None:
    body = ok(over_stdio["transcript"])
    assert body["media_id"] == small_library.media_id and body["title"] == LIBRARY_TITLE
    segments = body["segments"]
    assert segments and all(overlaps(s, 20, 40) for s in segments)
    assert [s["start_s"] for s in segments] == sorted(s["start_s"] for s in segments)
    said = " ".join(s["text"] for s in segments).lower()
    assert "amiable" in said
    assert all(s["url"].startswith("http://127.0.0.1:8000/v1/media/") for s in segments)


def test_stdio_list_media(over_stdio: dict[str, Any], small_library: Library) -> None:
    (item,) = ok(over_stdio["list_media"])["media"]
    assert item["media_id"] == small_library.media_id and item["status"] == "ready"
    assert "path" not in item and "sha256" not in item  # no server paths
    assert item["url"].endswith(f"#t=0.00,{small_library.duration_s:.2f}")


def test_stdio_ask_answers_with_checked_citations(
    over_stdio: dict[str, Any], small_library: Library
) -> None:
    body = ok(over_stdio["ask"])
    assert body["answer"].strip() and body["thread_id"]
    for cite in body["citations"]:  # the agent may refuse; what it cites must be real
        assert cite["media_id"] == small_library.media_id
        assert 0 <= cite["start_s"] < cite["end_s"] <= small_library.duration_s + 0.5
        assert cite["citation"] == f"[{LIBRARY_TITLE} @ {cite['time']}]"


# --- the service's /mcp mount ------------------------------------------------------------
@pytest.fixture(scope="module")
def served(small_library: Library) -> Iterator[LiveServer]:
    server = LiveServer(service_settings(small_library.home), run_worker=False).start()
    yield server
    server.stop()


def over_http(server: LiveServer, session: Session, key: str | None = API_KEY) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx2.AsyncClient(headers=headers, timeout=300) as http:
            transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
            async with Client(transport) as client:
                return await session(client)

    return anyio.run(main)


def test_http_mount_needs_the_key(served: LiveServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    for key in (None, "wrong"):
        with served.client(key) as client:
            response = client.post("/mcp", json=body, headers=headers)
        assert response.status_code == 401, response.text
        assert "API key" in response.json()["detail"]
    with httpx.Client(base_url=served.url) as client:
        assert client.get("/healthz").status_code == 200


def test_http_mount_serves_the_tools_and_survives_a_bad_argument(
    served: LiveServer, small_library: Library
) -> None:
    async def session(client: Client) -> dict[str, Any]:
        return {
            "tools": {t.name for t in (await client.list_tools()).tools},
            "bad": await client.call_tool("search", {"query": "  "}),
            "good": await client.call_tool(
                "search", {"query": "selfish", "media_ids": [small_library.media_id]}
            ),
        }

    out = over_http(served, session)
    assert out["tools"] == TOOLS
    assert out["bad"].is_error and text(out["bad"]).endswith("query must not be blank")
    hits = ok(out["good"])["hits"]
    assert hits and {h["media_id"] for h in hits} == {small_library.media_id}


def test_http_mount_without_a_key_accepts_only_local_hosts(
    small_library: Library, tmp_path: Path
) -> None:
    """No API key: the SDK's DNS-rebinding guard is the protection (a page on another
    host name cannot reach the tools through the browser)."""
    home = tmp_path / "home"
    shutil.copytree(small_library.home, home)
    server = LiveServer(service_settings(home, api_key=None), run_worker=False).start()
    try:

        async def session(client: Client) -> dict[str, Any]:
            return {"tools": {t.name for t in (await client.list_tools()).tools}}

        assert over_http(server, session, key=None)["tools"] == TOOLS
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Accept": "application/json, text/event-stream", "Host": "evil.example"}
        with httpx.Client(base_url=server.url) as client:
            response = client.post("/mcp", json=body, headers=headers)
        assert response.status_code == 421, response.text
    finally:
        server.stop()
