"""The embedded chat server: llama.cpp's own OpenAI-compatible HTTP server (``xllamacpp``).

ChronoRAG starts it as a child process (``python -m graphs.llm_server``) listening on
127.0.0.1 at a free port, waits until ``/health`` answers, and stops it on exit. A
child process keeps llama.cpp's threads and memory out of the app process, gets
``OMP_WAIT_POLICY=PASSIVE`` (busy-waiting OpenMP threads make 2-core machines 10×
slower) before its runtime loads, and exits by itself when its parent dies (it
watches its stdin pipe).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

_READY = "CHRONORAG_LLM_LISTENING "


class LlamaServerError(RuntimeError):
    """The llama.cpp server could not start or is not healthy."""


class LlamaServer:
    """Start/stop llama.cpp's HTTP server for one GGUF model; a context manager.

    ``parallel`` slots share ``ctx``. Two by default: the planner's and the answer's
    prompts then each stay in their own slot, so their constant system prompts are
    reused from the KV cache instead of being re-read on every call.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int = 2,
        ctx: int = 8192,
        parallel: int = 2,
        alias: str | None = None,
        startup_timeout_s: float = 120.0,
    ) -> None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise LlamaServerError(f"GGUF model not found: {model_path}")
        if threads < 1 or ctx < 256 or parallel < 1:
            raise ValueError("threads ≥ 1, ctx ≥ 256 and parallel ≥ 1 are required")
        self.model_path = model_path
        self.threads = threads
        self.ctx = ctx
        self.parallel = parallel
        self.alias = alias or model_path.stem
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[str] | None = None
        self._address: str | None = None
        self._log: IO[bytes] | None = None

    # --- lifecycle --------------------------------------------------------------------
    def start(self) -> LlamaServer:
        if self._proc is not None:
            return self
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
            prefix="chronorag-llama-", suffix=".log", delete=False
        )
        cmd = [
            sys.executable,
            "-m",
            "graphs.llm_server",
            "--model",
            str(self.model_path),
            "--threads",
            str(self.threads),
            "--ctx",
            str(self.ctx),
            "--parallel",
            str(self.parallel),
            "--alias",
            self.alias,
        ]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        atexit.register(self.stop)  # never outlive the app, even without stop()
        try:
            self._address = self._wait_listening()
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        proc, self._proc, self._address = self._proc, None, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        if proc.stdin:
            proc.stdin.close()  # the child exits on EOF
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses --------------------------------------------------------------------
    @property
    def address(self) -> str:
        if self._address is None:
            raise LlamaServerError("llama.cpp server is not running")
        return self._address

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``)."""
        return self.address + "/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.address + "/health", timeout=2) as resp:
                return resp.status == 200 and json.load(resp).get("status") == "ok"
        except (urllib.error.URLError, OSError, ValueError, LlamaServerError):
            return False

    # --- internals --------------------------------------------------------------------
    def _log_tail(self, lines: int = 15) -> str:
        if self._log is None:
            return ""
        try:
            text = Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def _wait_listening(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._proc.stdout], [], [], 0.5)
            if ready:
                line = self._proc.stdout.readline()
                if line.startswith(_READY):
                    return line[len(_READY) :].strip()
                if not line and self._proc.poll() is not None:
                    break
            elif self._proc.poll() is not None:
                break
        raise LlamaServerError(
            f"llama.cpp server did not start for {self.model_path.name} "
            f"(exit code {self._proc.poll()}):\n{self._log_tail()}"
        )

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.healthy():
                return
            time.sleep(0.2)
        raise LlamaServerError(f"llama.cpp server at {self._address} never became healthy")


def _serve(args: argparse.Namespace) -> int:
    import xllamacpp  # imported here: the parent process never loads llama.cpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = args.alias
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the OS picks a free port; llama.cpp reports it
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.verbosity = 0
    server = xllamacpp.Server(params)

    def _stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    print(_READY + server.listening_address, flush=True)
    try:
        sys.stdin.read()  # returns at EOF: the parent stopped us or died
    finally:
        del server
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run llama.cpp's server for ChronoRAG.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--alias", default="local")
    return _serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
