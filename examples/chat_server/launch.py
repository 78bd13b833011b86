"""``running_server``: the chat server in a child process on a free loopback port.

For the browser test and the load script, which need a real uvicorn with real sockets.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["free_port", "running_server"]

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(
    env: Mapping[str, str] | None = None, *, startup: float = 120.0, log: Path | None = None
) -> Iterator[str]:
    """Start ``python examples/chat_server`` on 127.0.0.1 and yield its base URL; stop it after.

    ``env`` adds environment variables (``KEFU_CHAT_*`` settings). Raises ``RuntimeError``
    with the server's output if it does not answer ``/healthz`` within ``startup`` seconds.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = log.open("wb") if log else subprocess.DEVNULL
    command = [
        sys.executable,
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=out, stderr=out)
    try:
        _wait_ready(process, url, startup, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log and not isinstance(out, int):
            out.close()


def _wait_ready(process: subprocess.Popen[bytes], url: str, startup: float, log: Path | None) -> None:
    deadline = time.monotonic() + startup
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    output = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log else "(no log)"
    raise RuntimeError(f"chat server at {url} did not start (exit code {process.poll()}):\n{output}")
