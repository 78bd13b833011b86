"""Shared fixtures: a quiet, isolated environment and the demo bot."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

import kefu

if TYPE_CHECKING:
    from redis_support import RedisServer

# The chat server example is a folder, not an installed package: import it the way its
# README runs it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
# What the Redis tests share (redis_support) is imported by name, by them and by the engine
# processes they spawn; appended, so no module here hides an installed one.
sys.path.append(str(Path(__file__).resolve().parent))

DEMO_BOT = Path(str(resources.files("kefu.intents")))
HELDOUT = DEMO_BOT / "tests" / "heldout.jsonl"
DIALOGUES = DEMO_BOT / "tests" / "dialogues.yaml"


@pytest.fixture(autouse=True)
def no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins installed on this machine must not change test results."""
    monkeypatch.setenv("KEFU_LOAD_PLUGINS", "")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Trained models and jieba's cache go to a folder of this test run, not ~/.cache."""
    folder = tmp_path_factory.mktemp("kefu-cache")
    old = os.environ.get("KEFU_CACHE_DIR")
    os.environ["KEFU_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("KEFU_CACHE_DIR", None)
    else:
        os.environ["KEFU_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def redis_binary() -> str:
    """The redis-server binary; skip (locally) or fail (under CI, which must not pass by
    skipping) without one."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server); these tests need one"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def redis_server(redis_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private redis-server for the tests in this module."""
    from redis_support import RedisServer  # here: most tests run without the redis package

    server = RedisServer(redis_binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def url(redis_server: RedisServer) -> str:
    """The shared server's URL, emptied before each test."""
    redis_server.client().flushall()
    return redis_server.url


@pytest.fixture
def private_server(redis_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A password-protected redis-server of this test's own, for tests that kill it.

    It keeps an append-only file synced before every answer, so a ``kill -9`` loses
    nothing Redis acknowledged and a restart shows exactly what was saved.
    """
    from redis_support import RedisServer

    folder = tmp_path / "redis"
    folder.mkdir()
    options = ("--appendonly", "yes", "--appendfsync", "always")
    server = RedisServer(redis_binary, folder, *options, password="secret")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slot_bot(write_bot: Callable[..., Path]) -> Path:
    """A small bot whose one task intent needs an order number (the Redis tests' bot)."""
    from redis_support import SLOT_BOT

    return write_bot(**{"bot.yaml": SLOT_BOT})


@pytest.fixture(scope="session")
def demo_engine() -> kefu.Engine:
    """The bundled demo bot, trained once per test run (tests must not change its sessions)."""
    return kefu.Engine.from_path(DEMO_BOT, seed=0)


@pytest.fixture
def write_bot(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML files into a fresh folder: ``write_bot(**{"bot.yaml": "..."})`` -> folder."""

    def write(**files: str) -> Path:
        folder = tmp_path / "bot"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return folder

    return write


@pytest.fixture
def small_bot(write_bot: Callable[..., Path]) -> Path:
    """A two-intent bot (refund, shipping) of the test's own, in a fresh folder."""
    return write_bot(
        **{
            "bot.yaml": """
            version: 1
            bot: {name: 测试, threshold: 0.3}
            intents:
              - name: refund
                examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款]
                responses: [好的，这就为您办理退款]
              - name: shipping
                examples: [什么时候发货, 几天发货, 发货时间]
                responses: [一般48小时内发货]
            """
        }
    )


@pytest.fixture(scope="module")
def engine() -> kefu.Engine:
    """The demo bot for the chat server tests, one per module (tests use fresh session ids)."""
    return kefu.Engine.from_path(DEMO_BOT, seed=0, load_entry_points=False)


@pytest.fixture
def make_client(engine: kefu.Engine) -> Iterator[Callable[..., Any]]:
    """``make_client(**settings)``: a running chat server (its own hub) over ``engine``."""
    from chat_server.app import create_app
    from chat_server.settings import Settings
    from fastapi.testclient import TestClient

    clients: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        client = TestClient(create_app(Settings(**settings), engine))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    """A chat server with the default settings."""
    return make_client()


class InProcessParallel:
    """``joblib.Parallel`` run in this process, recording how many workers each call asked for."""

    asked: ClassVar[list[int]] = []

    def __init__(self, n_jobs: int) -> None:
        self.asked.append(n_jobs)

    def __call__(self, tasks: Any) -> list[Any]:
        return [function(*args, **kwargs) for function, args, kwargs in tasks]


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """joblib.Parallel runs in this process; the list collects the workers each call asked for."""
    import joblib

    monkeypatch.setattr(joblib, "Parallel", InProcessParallel)
    monkeypatch.setattr(InProcessParallel, "asked", [])
    return InProcessParallel.asked


@contextmanager
def _hang_guard(seconds: float = 10.0) -> Iterator[None]:
    """Fail the test if the block runs longer than ``seconds``: a quadratic pattern or
    parser on 100 KB runs for hours, a linear one takes milliseconds (re checks signals)."""

    def give_up(signum: int, frame: FrameType | None) -> None:
        pytest.fail(f"no answer within {seconds} s: the work is not linear or time-bounded")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def hang_guard() -> Callable[..., AbstractContextManager[None]]:
    """``with hang_guard():`` fails the test instead of hanging the suite."""
    return _hang_guard
