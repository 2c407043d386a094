"""A TEST DOUBLE of a Qdrant server, for tests that need one index shared by processes.

No Qdrant server can run on these machines (no Docker, no server binary on PyPI), and
the embedded engines (qdrant-edge, qdrant-client local mode) are owned by one process.
This serves the slice of Qdrant's REST API that ``vectorstore.qdrant_index`` uses
(collections, payload indexes, upsert, delete by filter, query with prefetch + RRF,
scroll, count) over qdrant-client's own local mode, so the real ``QdrantClient`` in
every worker and replica talks HTTP to one shared index. Requests are parsed with the
client's REST models, so a request the real server would refuse fails here too;
sharding, replication and consistency parameters are accepted and ignored (local mode
has one shard). It is a stand-in, not evidence about a real Qdrant cluster.

Run: ``python -m tests.qdrant_double --port 6333 --path DIR``; or ``QdrantDouble``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from qdrant_client import QdrantClient, models

VERSION = "1.20.0"  # what qdrant-client==1.20.0 expects of a server


def build_app(path: Path) -> FastAPI:
    local = QdrantClient(path=str(path))
    lock = threading.Lock()  # local mode is not thread-safe
    app = FastAPI()
    done = {"operation_id": 0, "status": "completed"}

    def ok(result: Any) -> JSONResponse:
        if hasattr(result, "model_dump"):
            result = result.model_dump(mode="json", exclude_none=True)
        return JSONResponse({"result": result, "status": "ok", "time": 0.0})

    @app.get("/")
    def root() -> dict[str, Any]:
        return {"title": "qdrant - vector search engine (test double)", "version": VERSION}

    @app.get("/readyz")
    @app.get("/healthz")
    def ready() -> str:
        return "all shards are ready"

    @app.get("/collections/{name}/exists")
    def exists(name: str) -> JSONResponse:
        with lock:
            return ok({"exists": local.collection_exists(name)})

    @app.get("/collections/{name}")
    def info(name: str) -> JSONResponse:
        with lock:
            return ok(local.get_collection(name))

    @app.put("/collections/{name}")
    async def create(name: str, request: Request) -> JSONResponse:
        body = models.CreateCollection.model_validate(await request.json())
        with lock:
            local.create_collection(
                name,
                vectors_config=body.vectors,
                sparse_vectors_config=body.sparse_vectors,
                metadata=body.metadata,
            )
        return ok(True)

    @app.put("/collections/{name}/index")
    async def index(name: str, request: Request) -> JSONResponse:
        body = models.CreateFieldIndex.model_validate(await request.json())
        with lock:
            local.create_payload_index(name, body.field_name, field_schema=body.field_schema)
        return ok(done)

    @app.put("/collections/{name}/points")
    async def upsert(name: str, request: Request) -> JSONResponse:
        body = models.PointsList.model_validate(await request.json())
        with lock:
            local.upsert(name, points=body.points)
        return ok(done)

    @app.post("/collections/{name}/points/delete")
    async def delete(name: str, request: Request) -> JSONResponse:
        body = models.FilterSelector.model_validate(await request.json())
        with lock:
            local.delete(name, points_selector=models.FilterSelector(filter=body.filter))
        return ok(done)

    @app.post("/collections/{name}/points/query")
    async def query(name: str, request: Request) -> JSONResponse:
        body = models.QueryRequest.model_validate(await request.json())
        with lock:
            found = local.query_points(
                name,
                query=body.query,
                using=body.using,
                prefetch=body.prefetch,
                query_filter=body.filter,
                limit=body.limit or 10,
                with_payload=body.with_payload if body.with_payload is not None else True,
            )
        return ok(found)

    @app.post("/collections/{name}/points/scroll")
    async def scroll(name: str, request: Request) -> JSONResponse:
        body = models.ScrollRequest.model_validate(await request.json())
        with lock:
            records, offset = local.scroll(
                name,
                scroll_filter=body.filter,
                limit=body.limit or 10,
                offset=body.offset,
                with_payload=body.with_payload if body.with_payload is not None else True,
                with_vectors=False,
            )
        points = [r.model_dump(mode="json", exclude_none=True) for r in records]
        return ok({"points": points, "next_page_offset": offset})

    @app.post("/collections/{name}/points/count")
    async def count(name: str, request: Request) -> JSONResponse:
        body = models.CountRequest.model_validate(await request.json())
        with lock:
            return ok(local.count(name, count_filter=body.filter, exact=True))

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QdrantDouble:
    """The double as its own process on a free port: ``start()``, ``url``, ``stop()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> QdrantDouble:
        root = Path(__file__).resolve().parents[1]
        cmd = [sys.executable, "-m", "tests.qdrant_double", "--port", str(self.port),
               "--path", str(self.path)]  # fmt: skip
        self._proc = subprocess.Popen(cmd, cwd=root, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the Qdrant double exited ({self._proc.returncode})")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the Qdrant double did not start within 60 s")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=30)
            self._proc = None


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", type=Path, required=True)
    args = parser.parse_args()
    args.path.mkdir(parents=True, exist_ok=True)
    uvicorn.run(build_app(args.path), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
