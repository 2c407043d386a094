"""Two app replicas (``chronorag serve`` processes) serving one library: one PostgreSQL
database (registry, job queue, chat memory — a real server), one index (the Qdrant test
double), one shared media store path, one real llama.cpp server for both.

An upload to one replica is indexed by the workers and is listed, searchable, streamed
and deletable on the other; a conversation started on one replica continues on the other
(the LangGraph Postgres checkpointer holds both turns).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.assets import llm_gguf
from graphs.llm_server import LlamaServer
from graphs.memory import open_checkpointer
from tests.live_server import wait_for_job
from tests.qdrant_double import QdrantDouble
from tests.scaleout import Replica, scaleout_env, small_media

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def library(tmp_path: Path, pg_url: str) -> Iterator[tuple[Replica, Replica, str]]:
    double = QdrantDouble(tmp_path / "qdrant").start()
    llm = LlamaServer(llm_gguf("qwen2.5-0.5b", ROOT / ".chronorag" / "models"), threads=2,
                      ctx=4096)  # fmt: skip
    llm.start()
    env = scaleout_env(tmp_path / "shared-home", pg_url, double.url,
                       CHRONORAG_LLM_URL=llm.base_url)  # fmt: skip
    replicas = [Replica(env, tmp_path / f"replica-{i}.log") for i in range(2)]
    try:
        yield replicas[0].wait_ready(), replicas[1].wait_ready(), pg_url
    finally:
        for replica in replicas:
            replica.stop()
        llm.stop()
        double.stop()


def _client(replica: Replica) -> httpx.Client:
    return httpx.Client(base_url=replica.url, timeout=600)


@pytest.mark.slow
def test_two_replicas_serve_one_library_and_one_conversation(
    library: tuple[Replica, Replica, str], tmp_path: Path
) -> None:
    a, b, db = library
    (clip,) = small_media(tmp_path / "clips", 1)  # Sense and Sensibility, read aloud
    with _client(a) as on_a, _client(b) as on_b:
        accepted = on_a.post(
            "/v1/media", files={"file": ("reading.wav", clip.read_bytes(), "audio/wav")},
            data={"title": "Reading"},
        )  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        media_id, job_id = accepted.json()["media_id"], accepted.json()["job_id"]
        job = wait_for_job(on_b, job_id)  # the other replica sees the shared queue
        assert job["status"] == "ready", job
        (listed,) = on_b.get("/v1/media").json()["media"]
        assert (listed["media_id"], listed["status"], listed["title"]) == (
            media_id, "ready", "Reading",
        )  # fmt: skip
        assert on_b.get(f"/v1/media/{media_id}/file").content == clip.read_bytes()
        query = {"query": "what John Dashwood had leisure to consider"}
        hits = on_b.post("/v1/search", json=query).json()["hits"]
        assert hits and {h["media_id"] for h in hits} == {media_id}

        first = on_a.post("/v1/ask", json={"question": "What did John Dashwood consider?"})
        assert first.status_code == 200, first.text
        thread = first.json()["thread_id"]
        follow = on_b.post(
            "/v1/ask", json={"question": "And what did they say after that?", "thread_id": thread}
        )
        assert follow.status_code == 200, follow.text
        assert follow.json()["thread_id"] == thread

        memory = open_checkpointer(db)
        try:
            saved = memory.saver.get_tuple({"configurable": {"thread_id": thread}})
        finally:
            memory.close()
        history = saved.checkpoint["channel_values"]["history"]
        assert [t["question"] for t in history] == [
            "What did John Dashwood consider?",
            "And what did they say after that?",
        ]
        assert all(t["answer"].strip() for t in history)

        assert on_b.delete(f"/v1/media/{media_id}").status_code == 200
        assert on_a.get(f"/v1/media/{media_id}").status_code == 404
        assert on_a.post("/v1/search", json={"query": "Dashwood"}).json()["hits"] == []
