"""What the Redis tests share: a private redis-server, a clock moved by hand, an end
recorder, and the order bot whose conversations they send.

Not a test module: the tests import it by name (conftest.py puts this folder on
``sys.path``), and a spawned engine process imports it the same way.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from kefu import RedisStore

SLOT_BOT = """
version: 1
bot: {name: 测试, threshold: 0.2, handoff_after_fallbacks: 0}
intents:
  - name: order_status
    examples: [我的订单到哪了, 查订单, 订单物流, 查一下我的订单, 订单状态, 订单号多少]
    patterns: ['订单号\\d+']
    responses: ['订单 {order_id} 在路上']
    slots:
      order_id: {entity: order_id, required: true, prompt: 请给我订单号}
  - name: hello
    examples: [你好, 在吗, 哈喽, 您好]
    responses: [您好]
"""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` of our own on a free loopback port, in its own folder.

    ``extra`` adds command-line options (e.g. ``--requirepass``); the defaults keep
    nothing on disk. ``kill`` and ``start`` again reuse the port, so URLs stay valid.
    """

    def __init__(self, binary: str, folder: Path, *extra: str, password: str | None = None) -> None:
        self.binary = binary
        self.folder = folder
        self.extra = extra
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_once = False

    @property
    def url(self) -> str:
        """The URL clients use, with the password if there is one."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def redacted_url(self) -> str:
        """The URL as error messages must show it: the password replaced by ``***``."""
        return self.url.replace(f":{self.password}@", ":***@") if self.password else self.url

    def client(self) -> redis.Redis:
        """A plain redis-py client, for looking at what the store wrote."""
        return redis.Redis.from_url(self.url)

    def start(self) -> None:
        """Start the server (again) and wait until it answers PING."""
        for attempt in range(3):
            if self._started():
                return
            taken = "Address already in use" in self.log()
            if taken and not self.started_once and attempt < 2:
                self.port = free_port()  # someone took the port meanwhile: take another
                continue
            break
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{self.log()}")

    def _started(self) -> bool:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        options += ["--save", "", "--appendonly", "no", "--logfile", "redis.log", *self.extra]
        if self.password:
            options += ["--requirepass", self.password]
        self.process = subprocess.Popen([self.binary, *options], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if self.client().ping():
                    self.started_once = True
                    return True
            except redis.ConnectionError:
                time.sleep(0.02)
        self.stop()
        return False

    def log(self) -> str:
        """The end of the server's log file."""
        path = self.folder / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash or an OOM kill would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ended_recorder(store: RedisStore) -> list[tuple[str, str, int]]:
    """Record (session id, reason, turns) for every end ``store`` reports."""
    ended: list[tuple[str, str, int]] = []
    store.add_end_listener(lambda session, reason: ended.append((session.id, reason, session.turns)))
    return ended


def order_number(session: int) -> str:
    """The order number session ``session`` talks about (12 digits)."""
    return f"{100_000_000_000 + session}"


def conversation_messages(sessions: int, per_session: int) -> list[tuple[str, str]]:
    """(session id, text) in rounds: every session's n-th message, then every (n+1)-th."""
    return [
        (f"s{k}", f"查订单 订单号{order_number(k)} 第{n}条")
        for n in range(per_session)
        for k in range(sessions)
    ]
