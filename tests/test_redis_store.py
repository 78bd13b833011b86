"""RedisStore against a real redis-server: round trips, expiry, locking, outages, scale-out.

Every test talks to a private ``redis-server`` started on a free loopback port in a
temporary folder. Without the binary the tests skip with a message; under CI
(``CI=true``) a missing binary fails them instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import kefu
from kefu import RedisStore, Session, SessionStore, StoreError
from kefu.sessions import ActiveContext, PendingSlot

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


# -- a private redis-server ----------------------------------------------------------------


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


@pytest.fixture(scope="module")
def redis_server(redis_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private redis-server for the tests in this module."""
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
    folder = tmp_path / "redis"
    folder.mkdir()
    options = ("--appendonly", "yes", "--appendfsync", "always")
    server = RedisServer(redis_binary, folder, *options, password="secret")
    server.start()
    yield server
    server.stop()


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


def rich_session(session_id: str, now: float) -> Session:
    """A session with every field set, Chinese and emoji included."""
    session = Session(session_id, now)
    session.turns, session.fallback_streak = 3, 1
    session.handoff, session.handoff_reason = True, "intent:human"
    session.pending = PendingSlot("order_status", "order_id", 1)
    session.record((now + 1, "我的订单到哪了😅", "请给我订单号", "order_status"), limit=50)
    session.contexts["order"] = ActiveContext("order", 2, now + 40, {"order_id": "123456789012"})
    session.slots["order_id"] = "123456789012"
    session.data["plugin"] = {"count": 2, "note": "客户很着急"}
    return session


# -- the SessionStore contract -------------------------------------------------------------


def test_redis_store_is_a_session_store_importable_from_kefu(url: str) -> None:
    from kefu.redis_store import RedisStore as Direct

    store = RedisStore(url)
    assert RedisStore is Direct
    assert isinstance(store, SessionStore)


def test_sessions_round_trip_exactly_between_two_stores(url: str) -> None:
    writer, reader = RedisStore(url, clock=Clock()), RedisStore(url, clock=Clock())
    with writer.transaction("tx") as session:
        assert session.turns == 0  # a new session
        expected = rich_session("tx", session.created)
        for name in Session.__slots__:
            setattr(session, name, getattr(expected, name))
    writer.put(rich_session("put", 1_000_000.0))
    for session_id in ("tx", "put"):
        stored = reader.get(session_id)
        assert stored is not None
        assert stored.to_dict() == rich_session(session_id, 1_000_000.0).to_dict()
    assert sorted(reader.ids()) == ["put", "tx"]
    assert reader.get("never-seen") is None


def test_any_text_is_a_session_id_even_half_a_character(url: str) -> None:
    # Ids come from the application (a platform's user id, a header): one holding a lone
    # surrogate works as it does in the memory store, instead of failing to encode.
    store = RedisStore(url, key_prefix="odd:", clock=Clock())
    ended = ended_recorder(store)
    odd = ["\ud800会话", "a b\udfff", "😀", ""]
    for session_id in odd:
        with store.transaction(session_id) as session:
            session.turns = 1
            session.data["raw"] = "半个\udc80字"
    for session_id in odd:
        stored = store.get(session_id)
        assert stored is not None
        assert (stored.id, stored.data["raw"]) == (session_id, "半个\udc80字")
    assert sorted(store.ids()) == sorted(odd)
    store.delete(odd[0])
    assert ended == [(odd[0], "deleted", 1)]
    assert sorted(store.ids()) == sorted(odd[1:])


@pytest.mark.parametrize(
    ("idle_ttl", "end_grace"),
    [
        (1800.0, 3600.0),  # defaults: the data outlives the idle TTL by the grace, for the sweep
        (60.0, 0.0),  # no grace: the key's expiry is exactly the idle TTL
        (0.5, 2.0),  # fractional seconds are kept in milliseconds
    ],
)
def test_key_expiry_is_the_idle_ttl_plus_the_end_grace(url: str, idle_ttl: float, end_grace: float) -> None:
    store = RedisStore(url, idle_ttl=idle_ttl, end_grace=end_grace, key_prefix="p:")
    with store.transaction("s"):
        pass
    expected_ms = (idle_ttl + end_grace) * 1000
    assert expected_ms - 1000 < store.client.pttl("p:s:s") <= expected_ms
    assert store.client.zscore("p:idle", "s") == pytest.approx(time.time() + idle_ttl, abs=1)


def test_an_idle_session_is_never_returned(url: str) -> None:
    clock = Clock()
    store = RedisStore(url, idle_ttl=60, clock=clock)
    ended = ended_recorder(store)
    with store.transaction("s") as session:
        session.turns = 7
    clock.now += 59
    assert store.get("s") is not None
    clock.now += 1  # exactly 60 s idle
    assert store.client.exists("kefu:session:s:s") == 1  # still in Redis, for the sweep...
    assert store.get("s") is None  # ...but never handed out
    assert list(store.ids()) == []
    with store.transaction("s") as session:
        assert session.turns == 0  # a new conversation, not the idle one
        session.turns = 1
    assert ended == [("s", "expired", 7)]  # the old one's end is reported, once
    assert store.expire() == []
    assert ended == [("s", "expired", 7)]


def test_an_idle_session_missing_from_the_idle_index_is_not_continued(url: str) -> None:
    # Under maxmemory-policy allkeys-lru Redis may evict the idle index (it has no TTL, the
    # sessions do): the next message took the idle conversation up again, and its end
    # was never reported.
    clock = Clock()
    store, other = RedisStore(url, idle_ttl=60, clock=clock), RedisStore(url, idle_ttl=60, clock=clock)
    ended, other_ended = ended_recorder(store), ended_recorder(other)
    with store.transaction("s") as session:
        session.turns = 7
    store.client.delete("kefu:session:idle")  # what an eviction does
    clock.now += 61
    with store.transaction("s") as session:
        assert session.turns == 0  # a new conversation
        session.turns = 1
    with other.transaction("s") as session:
        assert session.turns == 1  # the new one goes on
    assert store.expire() == [] and other.expire() == []
    assert (ended, other_ended) == ([("s", "expired", 7)], [])


def test_redis_drops_the_key_at_its_expiry_and_the_end_is_still_reported(url: str) -> None:
    store = RedisStore(url, idle_ttl=0.2, end_grace=0.0)
    ended = ended_recorder(store)
    with store.transaction("s") as session:
        session.turns = 4
    time.sleep(0.35)
    assert store.client.exists("kefu:session:s:s") == 0  # Redis removed it by itself
    assert store.get("s") is None
    assert [s.id for s in store.expire()] == ["s"]
    assert ended == [("s", "expired", 0)]  # the data is gone: only the id is left to report
    assert store.expire() == []


def test_a_damaged_session_neither_fails_the_sweep_nor_loses_its_end(url: str) -> None:
    # The sweep runs inside some other user's reply: a session whose JSON another program
    # or a broken write damaged failed that reply, and its end was never reported.
    clock = Clock()
    store = RedisStore(url, idle_ttl=60, clock=clock)
    ended = ended_recorder(store)
    for session_id in ("a", "c"):
        with store.transaction(session_id) as session:
            session.turns = 3
    store.client.set("kefu:session:s:b", b'{"id": "b", "turns": ')  # cut short
    store.client.zadd("kefu:session:idle", {"b": clock.now + 60})
    clock.now += 61
    assert sorted(s.id for s in store.expire()) == ["a", "b", "c"]
    assert sorted(ended) == [("a", "expired", 3), ("b", "expired", 0), ("c", "expired", 3)]


def test_a_damaged_live_session_is_a_store_error_naming_it_and_its_key(url: str) -> None:
    store = RedisStore(url)
    store.client.set("kefu:session:s:用户1", b"[1, 2")
    expected = (
        f"Redis at {url}: session '用户1' ('kefu:session:s:用户1') is damaged, delete the key to "
        "start it afresh: stored session is damaged: JSONDecodeError: "
    )
    with pytest.raises(StoreError) as read:
        store.get("用户1")
    with pytest.raises(StoreError) as locked, store.transaction("用户1"):
        pass
    assert str(read.value).startswith(expected) and str(locked.value).startswith(expected)
    assert store.client.exists("kefu:session:lock:用户1") == 0  # not left locked


def test_expire_reports_each_session_once_across_two_racing_stores(url: str) -> None:
    clock = Clock()
    stores = [RedisStore(url, idle_ttl=60, clock=clock) for _ in range(2)]
    ended = [ended_recorder(store) for store in stores]
    for round_ in range(5):
        ids = [f"r{round_}-{n}" for n in range(200)]
        for n, session_id in enumerate(ids):
            with stores[n % 2].transaction(session_id) as session:
                session.turns = n
        clock.now += 61
        start = threading.Barrier(4)

        def sweep(store: RedisStore, start: threading.Barrier = start) -> None:
            start.wait()
            for _ in range(3):
                store.expire()

        threads = [threading.Thread(target=sweep, args=(store,)) for store in stores * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        reported = [entry for log in ended for entry in log if entry[0].startswith(f"r{round_}-")]
        assert sorted(reported) == sorted((sid, "expired", n) for n, sid in enumerate(ids))
    assert all(ended), "both stores should have won some sessions"


def test_sweeps_racing_with_replies_lose_nothing_and_report_each_end_once(url: str) -> None:
    clock = Clock()
    replier, *sweepers = (RedisStore(url, idle_ttl=60, clock=clock) for _ in range(3))
    ended = [ended_recorder(store) for store in (replier, *sweepers)]
    ids = [f"s{n}" for n in range(300)]
    for session_id in ids:
        with replier.transaction(session_id) as session:
            session.turns = 5
    clock.now += 61  # every session is idle; replies and sweeps now race for each one
    done = threading.Event()

    def reply_three_times(offset: int) -> None:
        for _ in range(3):
            for session_id in ids[offset::4]:
                with replier.transaction(session_id) as session:
                    session.turns += 1

    def sweep(store: RedisStore) -> None:
        while not done.is_set():
            store.expire()

    sweeping = [threading.Thread(target=sweep, args=(store,)) for store in sweepers]
    replying = [threading.Thread(target=reply_three_times, args=(n,)) for n in range(4)]
    for thread in sweeping + replying:
        thread.start()
    for thread in replying:
        thread.join()
    done.set()
    for thread in sweeping:
        thread.join()
    # Each old conversation ended exactly once, whoever noticed; each new one has all 3 turns.
    assert sorted(entry for log in ended for entry in log) == sorted((sid, "expired", 5) for sid in ids)
    assert {sid: getattr(replier.get(sid), "turns", None) for sid in ids} == dict.fromkeys(ids, 3)


def test_a_deleted_session_is_reported_as_deleted_once(url: str) -> None:
    clock = Clock()
    store, other = RedisStore(url, idle_ttl=60, clock=clock), RedisStore(url, idle_ttl=60, clock=clock)
    ended, other_ended = ended_recorder(store), ended_recorder(other)
    with store.transaction("s") as session:
        session.turns = 2
    store.delete("s")
    other.delete("s")  # already gone: nothing to report
    clock.now += 61
    assert store.expire() == [] and other.expire() == []
    assert store.get("s") is None
    assert ended == [("s", "deleted", 2)]
    assert other_ended == []


# -- configuration -------------------------------------------------------------------------


@pytest.fixture
def slot_bot(write_bot: Callable[..., Path]) -> Path:
    """A small bot whose one task intent needs an order number."""
    return write_bot(**{"bot.yaml": SLOT_BOT})


def test_configured_in_code_two_engines_share_the_conversation(url: str, slot_bot: Path) -> None:
    store = RedisStore(url, key_prefix="shop:")
    worker_a = kefu.Engine.from_path(slot_bot, store=store, seed=0)
    worker_b = kefu.Engine.from_path(slot_bot, store=RedisStore(url, key_prefix="shop:"), seed=0)
    assert worker_a.store is store
    assert worker_a.reply("我的订单到哪了", session_id="u1").text == "请给我订单号"
    assert worker_b.reply("123456789012", session_id="u1").text == "订单 123456789012 在路上"
    session = store.get("u1")
    assert isinstance(session, Session)
    assert session.turns == 2
    assert session.slots == {"order_id": "123456789012"}
    assert [turn[1] for turn in session.history] == ["我的订单到哪了", "123456789012"]


def test_configured_in_bot_yaml(url: str, write_bot: Callable[..., Path]) -> None:
    sessions = f"sessions: {{store: redis, url: '{url}', key_prefix: 'yaml:', idle_ttl: 90}}\n"
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": SLOT_BOT + sessions}), seed=0)
    assert isinstance(engine.store, RedisStore)
    assert (engine.store.url, engine.store.prefix, engine.store.idle_ttl) == (url, "yaml:", 90.0)
    engine.reply("查订单 订单号123456789012", session_id="u1")
    raw = redis.Redis.from_url(url).get("yaml:s:u1")
    assert raw is not None
    assert Session.from_json(raw).slots == {"order_id": "123456789012"}


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        # no password: Redis's own words were "HELLO must be called with the client already
        # authenticated, otherwise the HELLO AUTH <user> <pass> option can be used ..."
        (
            "",
            "the server wants a password and the URL gives none: put it in the URL, as in "
            "redis://:<password>@127.0.0.1:{port}/0 (redis://<user>:<password>@... for an ACL user; "
            "percent-encode any @ : / % in it)",
        ),
        # a wrong password: the bare "invalid username-password pair or user is disabled."
        (
            ":hunter2@",
            "the server refused the password in the URL (invalid username-password pair or user is "
            "disabled.); check it, and percent-encode any @ : / % in it",
        ),
        # the right password for a user that does not exist
        (
            "bob:secret@",
            "the server refused the user name and password in the URL (invalid username-password "
            "pair or user is disabled.); check them, and percent-encode any @ : / % in them",
        ),
    ],
)
def test_a_missing_or_wrong_password_says_how_to_give_it(
    private_server: RedisServer, auth: str, problem: str
) -> None:
    port = private_server.port
    url = f"redis://{auth}127.0.0.1:{port}/0"
    with pytest.raises(StoreError) as caught:
        RedisStore(url).get("x")
    shown = url.replace(":hunter2@", ":***@").replace(":secret@", ":***@")
    assert str(caught.value) == f"Redis at {shown} failed to read a session: {problem.format(port=port)}"
    assert "hunter2" not in str(caught.value) and "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        # redis-py took each of these silently as some other database than the one meant
        ("/abc", "the path after the host must be a database number such as /0, not '/abc'"),  # db 0
        ("/1/2", "the path after the host must be a database number such as /0, not '/1/2'"),  # db 12
        ("/1.5", "the path after the host must be a database number such as /0, not '/1.5'"),  # db 0
        ("/１", "the path after the host must be a database number such as /0, not '/１'"),  # db 1
        # no Redis has this database (SELECT takes a 32-bit number): it failed on first use
        (
            "/99999999999",
            "there is no database 99999999999 (a Redis has databases 0 to 15 unless its "
            "`databases` setting gives more)",
        ),
    ],
)
def test_a_database_that_is_not_a_number_is_refused_naming_the_url(path: str, problem: str) -> None:
    url = f"redis://:secret@redis.internal:6379{path}"
    with pytest.raises(StoreError) as caught:
        RedisStore(url)
    assert str(caught.value) == f"invalid Redis URL 'redis://:***@redis.internal:6379{path}': {problem}"


@pytest.mark.parametrize(
    "database",
    [
        "/16",  # one past the 16 databases of a default Redis
        "?db=-1",  # the query form; redis-py checks only that it is a number
    ],
)
def test_a_database_the_server_does_not_have_is_a_store_error_naming_it(
    redis_server: RedisServer, database: str
) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/{database.lstrip('/')}"
    number = database.rpartition("=")[2].lstrip("/")
    with pytest.raises(StoreError) as caught, RedisStore(url).transaction("x"):
        pass
    assert str(caught.value) == (
        f"Redis at {url} failed to lock a session: there is no database {number} on this server (a Redis "
        "has databases 0 to 15 unless its `databases` setting gives more); name another in the URL"
    )


def cluster_node(binary: str, folder: Path) -> RedisServer:
    """A one-node Redis Cluster serving every hash slot, as a cluster's own clients see it."""
    options = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
    server = RedisServer(binary, folder, *options, "--cluster-port", str(free_port()))
    server.start()
    client = server.client()
    client.cluster("ADDSLOTSRANGE", 0, 16383)
    deadline = time.monotonic() + 30
    while client.cluster("INFO")["cluster_state"] != "ok":
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the one-node cluster did not come up:\n{server.log()}")
        time.sleep(0.02)
    return server


def test_redis_cluster_is_refused_with_a_store_error_saying_so(redis_binary: str, tmp_path: Path) -> None:
    server = cluster_node(redis_binary, tmp_path)
    try:
        store, other_db = RedisStore(server.url), RedisStore(server.url.replace("/0", "/1"))
        with pytest.raises(StoreError) as locked, store.transaction("u1"):
            pass
        with pytest.raises(StoreError) as saved:
            store.put(Session("u1", 0.0))
        with pytest.raises(StoreError) as selected:
            other_db.get("u1")
    finally:
        server.stop()
    unsupported = (
        "Redis Cluster is not supported: a session, its lock and the idle index are used together, "
        "and a cluster keeps them in different hash slots; use a standalone Redis"
    )
    crossslot = "(Keys in request don't hash to the same slot)"
    assert str(locked.value) == f"Redis at {server.url} failed to lock a session: {unsupported} {crossslot}"
    assert str(saved.value) == f"Redis at {server.url} failed to save a session: {unsupported} {crossslot}"
    assert str(selected.value) == (
        f"Redis at {other_db.url} failed to read a session: {unsupported} "
        "(SELECT is not allowed in cluster mode)"
    )


# -- concurrency ---------------------------------------------------------------------------


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


def reply_all(engine: kefu.Engine, messages: list[tuple[str, str]], threads: int) -> list[str]:
    """Send ``messages`` from ``threads`` threads (round-robin); return unexpected replies."""
    wrong: list[str] = []

    def worker(offset: int) -> None:
        for session_id, text in messages[offset::threads]:
            number = order_number(int(session_id[1:]))
            reply = engine.reply(text, session_id=session_id)
            if reply.text != f"订单 {number} 在路上":
                wrong.append(f"{session_id}: {text!r} -> {reply.text!r}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return wrong


def assert_conversations_exact(store: RedisStore, messages: list[tuple[str, str]]) -> None:
    """Every session holds exactly the messages sent to it, and its own order number."""
    sent: dict[str, list[str]] = {}
    for session_id, text in messages:
        sent.setdefault(session_id, []).append(text)
    assert sorted(store.ids()) == sorted(sent)
    for session_id, texts in sent.items():
        session = store.get(session_id)
        assert session is not None, session_id
        assert session.turns == len(texts), session_id
        assert sorted(turn[1] for turn in session.history) == sorted(texts), session_id
        assert session.slots == {"order_id": order_number(int(session_id[1:]))}, session_id
        assert session.pending is None


def engine_process(
    bot: str, url: str, messages: list[tuple[str, str]], threads: int, start: Any, results: Any
) -> None:
    """One worker process: its own engine and RedisStore, ``threads`` threads replying."""
    try:
        engine = kefu.Engine.from_path(bot, store=RedisStore(url), seed=0)
        start.wait(60)
        results.put(("ok", reply_all(engine, messages, threads)))
    except BaseException as exc:  # report anything, or the parent waits for nothing
        results.put(("error", repr(exc)))


def importable_root() -> str:
    """The folder from which this module imports under its own name (spawned children need it)."""
    return str(Path(__file__).resolve().parents[len(__name__.split(".")) - 1])


def collect(results: Any, processes: list[Any], timeout: float = 300) -> list[tuple[str, Any]]:
    """One result per process; a process that died without one fails the test at once."""
    outcomes: list[tuple[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(outcomes) < len(processes) and time.monotonic() < deadline:
        try:
            outcomes.append(results.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            assert not dead, f"an engine process died with exit code {dead[0]}"
    for process in processes:
        process.join(30)
    return outcomes


def test_two_engine_processes_lose_no_update(
    url: str, slot_bot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kefu.Engine.from_path(slot_bot)  # train once; the children load the cached model
    monkeypatch.syspath_prepend(importable_root())
    messages = conversation_messages(sessions=200, per_session=20)  # 4,000 messages
    # Round n of every session goes to process n % 2: each conversation alternates processes.
    shares = [[m for i, m in enumerate(messages) if (i // 200) % 2 == p] for p in range(2)]
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(target=engine_process, args=(str(slot_bot), url, share, 4, start, results))
        for share in shares
    ]
    for process in processes:
        process.start()
    outcomes = collect(results, processes)
    assert outcomes == [("ok", []), ("ok", [])]
    assert_conversations_exact(RedisStore(url), messages)


def test_many_threads_lose_no_update(url: str, slot_bot: Path) -> None:
    engine = kefu.Engine.from_path(slot_bot, store=RedisStore(url), seed=0)
    messages = conversation_messages(sessions=100, per_session=20)
    assert reply_all(engine, messages, threads=8) == []
    assert_conversations_exact(RedisStore(url), messages)


def test_areply_from_many_asyncio_tasks(url: str, slot_bot: Path) -> None:
    engine = kefu.Engine.from_path(slot_bot, store=RedisStore(url), seed=0)
    messages = conversation_messages(sessions=50, per_session=10)

    async def main() -> list[kefu.Reply]:
        return await asyncio.gather(*(engine.areply(text, session_id=sid) for sid, text in messages))

    replies = asyncio.run(main())
    assert [r.text for r in replies] == [f"订单 {order_number(int(sid[1:]))} 在路上" for sid, _ in messages]
    assert_conversations_exact(RedisStore(url), messages)


TAKEN = (
    "Redis at {url}: session 's' was not saved: another worker holds its lock now (ours expired after "
    "lock_timeout=10.0s, or Redis lost it in a restart or an eviction), and its save would silently "
    "overwrite this update, so the update was not written. If replies can take longer than lock_timeout, "
    "raise it"
)
CHANGED = (
    "Redis at {url}: session 's' was not saved: its lock was gone (expired after lock_timeout=10.0s, "
    "or lost in a Redis restart or an eviction) and the stored session changed or disappeared since it "
    "was read; the update was not written, so no other writer's update is overwritten. If replies can "
    "take longer than lock_timeout, raise it"
)


def lose_lock(store: RedisStore, session_id: str) -> None:
    """What a ``lock_timeout`` running out, a Redis restart without persistence or an
    eviction does to a worker's lock: the key is gone."""
    assert store.client.delete(f"kefu:session:lock:{session_id}") == 1


def failed_reply(other: RedisStore) -> None:
    """Another worker took the lock, its reply failed, and it let the lock go."""
    with contextlib.suppress(RuntimeError), other.transaction("s") as session:
        session.turns = 99
        raise RuntimeError("the order service is down")


def newer_reply(other: RedisStore) -> None:
    with other.transaction("s") as session:
        session.turns = 99


def slow_update(slow: RedisStore, other: RedisStore, meanwhile: Callable[[RedisStore], object]) -> None:
    """Add 10 turns to session "s" in a transaction whose lock is lost half-way."""
    with slow.transaction("s") as session:
        session.turns += 10
        lose_lock(slow, "s")
        meanwhile(other)


@pytest.mark.parametrize(
    ("existing", "meanwhile", "error", "stored_turns"),
    [
        # nobody touched the session: the slow worker's update is the only one, so it is saved
        (True, lambda other: None, None, 11),
        (False, lambda other: None, None, 10),  # likewise for a conversation's first message
        (True, failed_reply, None, 11),  # taken and let go unchanged: nothing to overwrite
        # another worker wrote the session and let its lock go: its update stays
        (True, newer_reply, CHANGED, 99),
        (False, newer_reply, CHANGED, 99),  # the slow worker read no session, the other made one
        (True, lambda other: other.delete("s"), CHANGED, None),  # ended meanwhile: not brought back
        # another worker is in the middle of a reply: its save would overwrite ours
        (True, lambda other: other.client.set("kefu:session:lock:s", "their-token"), TAKEN, 1),
    ],
)
def test_a_save_after_the_lock_is_lost_goes_ahead_only_if_nobody_else_wrote(
    url: str,
    existing: bool,
    meanwhile: Callable[[RedisStore], object],
    error: str | None,
    stored_turns: int | None,
) -> None:
    slow, other = RedisStore(url), RedisStore(url)
    if existing:
        with slow.transaction("s") as session:
            session.turns = 1
    if error is None:
        slow_update(slow, other, meanwhile)
    else:
        with pytest.raises(StoreError) as caught:
            slow_update(slow, other, meanwhile)
        assert str(caught.value) == error.format(url=url)
    assert getattr(other.get("s"), "turns", None) == stored_turns


def test_a_worker_whose_lock_was_lost_does_not_bring_back_a_session_swept_meanwhile(url: str) -> None:
    clock = Clock()
    slow, sweeper = RedisStore(url, idle_ttl=60, clock=clock), RedisStore(url, idle_ttl=60, clock=clock)
    ended = ended_recorder(sweeper)
    with slow.transaction("s") as session:
        session.turns = 1
    clock.now += 59

    def outlast_the_idle_ttl(sweeper: RedisStore) -> None:
        clock.now += 2  # the slow reply outlasted the idle TTL, unlocked: a sweep ends it
        assert [s.id for s in sweeper.expire()] == ["s"]

    with pytest.raises(StoreError) as caught:
        slow_update(slow, sweeper, outlast_the_idle_ttl)
    assert str(caught.value) == CHANGED.format(url=url)
    assert ended == [("s", "expired", 1)]  # reported once, with its last saved state
    assert slow.get("s") is None and slow.expire() == []


class SlowLookup:
    """A plugin whose order look-up outlasts the store's ``lock_timeout``; ``meanwhile``
    runs once the lock has expired, in a thread of its own (another worker's request)."""

    def __init__(self, store: RedisStore, meanwhile: Callable[[], object] = lambda: None) -> None:
        self.store = store
        self.meanwhile = meanwhile

    @kefu.hookimpl
    def response_built(self, reply: kefu.Reply, session: Session) -> None:
        if reply.intent != "order_status":
            return
        lock = f"kefu:session:lock:{session.id}"
        deadline = time.monotonic() + 30
        while self.store.client.exists(lock) and time.monotonic() < deadline:
            time.sleep(0.01)  # wait for Redis to expire the lock: this look-up is that slow
        worker = threading.Thread(target=self.meanwhile)
        worker.start()
        worker.join()


def test_a_reply_slower_than_lock_timeout_is_saved_when_nobody_else_wrote(url: str, slot_bot: Path) -> None:
    # It failed with "lock on session 'u1' expired before the update was saved".
    store = RedisStore(url, lock_timeout=0.05)
    engine = kefu.Engine.from_path(slot_bot, store=store, seed=0)
    engine.register_plugin(SlowLookup(store))
    assert engine.reply("查订单 订单号123456789012", session_id="u1").text == "订单 123456789012 在路上"
    session = store.get("u1")
    assert session is not None
    assert (session.turns, session.slots) == (1, {"order_id": "123456789012"})


def test_a_reply_slower_than_lock_timeout_keeps_another_workers_update(url: str, slot_bot: Path) -> None:
    store = RedisStore(url, lock_timeout=0.05)
    engine = kefu.Engine.from_path(slot_bot, store=store, seed=0)
    other = kefu.Engine.from_path(slot_bot, store=RedisStore(url), seed=0)
    engine.register_plugin(SlowLookup(store, lambda: other.reply("你好", session_id="u1")))
    with pytest.raises(StoreError) as caught:
        engine.reply("查订单 订单号123456789012", session_id="u1")
    assert str(caught.value) == CHANGED.format(url=url).replace("'s'", "'u1'").replace("10.0s", "0.05s")
    session = store.get("u1")
    assert session is not None
    assert [turn[1] for turn in session.history] == ["你好"]  # the other worker's message, kept


def test_a_waiting_worker_gives_up_with_a_store_error(url: str) -> None:
    holder, waiter = RedisStore(url), RedisStore(url, lock_wait=0.1)
    with holder.transaction("s"), pytest.raises(StoreError) as caught, waiter.transaction("s"):
        pass
    assert str(caught.value) == f"Redis at {url}: session 's' stayed locked for 0.1s"


# -- Redis down, or gone mid-run -----------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("read a session", lambda s: s.get("x")),  # engine.session(...)
        ("save a session", lambda s: s.put(Session("x", 0.0))),  # a lock-free save
        ("delete a session", lambda s: s.delete("x")),  # engine.end_session(...)
        ("list sessions", lambda s: list(s.ids())),
        ("find idle sessions", lambda s: s.expire()),  # the engine's sweep, before every reply
        ("lock a session", lambda s: s.transaction("x").__enter__()),  # every reply
    ],
)
def test_redis_down_at_start_is_a_store_error_naming_the_url(
    what: str, call: Callable[[RedisStore], object]
) -> None:
    port = free_port()
    store = RedisStore(f"redis://:secret@127.0.0.1:{port}/0")
    with pytest.raises(StoreError) as caught:
        call(store)
    message = str(caught.value)
    assert message.startswith(f"Redis at redis://:***@127.0.0.1:{port}/0")
    assert f" failed to {what}: " in message and "Connection refused" in message
    assert "secret" not in message
    assert isinstance(caught.value, ConnectionError)  # what a caller would naturally catch


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # redis-py also takes the password as a query option: it leaked into every error
        ("redis://127.0.0.1:{port}/0?password=secret", "redis://127.0.0.1:{port}/0?password=***"),
        (
            "unix:///tmp/kefu-no-such.sock?db=0&password=secret",
            "unix:///tmp/kefu-no-such.sock?db=0&password=***",
        ),
        # an IPv6 host keeps its brackets (the redacted URL read redis://:***@::1:port/0)
        ("redis://:secret@[::1]:{port}/0", "redis://:***@[::1]:{port}/0"),
    ],
)
def test_no_way_of_giving_the_password_shows_it_in_errors(url: str, shown: str) -> None:
    port = free_port()
    store = RedisStore(url.format(port=port))
    with pytest.raises(StoreError) as caught:
        store.get("x")
    assert str(caught.value).startswith(f"Redis at {shown.format(port=port)} failed to read a session: ")
    assert "secret" not in str(caught.value) + repr(store)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://:secret@[::1:6379/0", "Invalid IPv6 URL"),  # was a bare ValueError from urlsplit
        ("redis://:secret@redis.internal:99999/0", "Port out of range 0-65535"),  # likewise
    ],
)
def test_a_url_that_does_not_parse_is_a_store_error_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as caught:
        RedisStore(url)
    assert str(caught.value).startswith(f"invalid Redis URL {url.replace(':secret@', ':***@')!r}: {problem}")


def test_an_engine_on_a_redis_that_is_down_fails_on_first_use(slot_bot: Path) -> None:
    port = free_port()
    engine = kefu.Engine.from_path(slot_bot, store=RedisStore(f"redis://:secret@127.0.0.1:{port}/0"))
    with pytest.raises(StoreError, match=rf"^Redis at redis://:\*\*\*@127\.0\.0\.1:{port}/0 failed to "):
        engine.reply("你好", session_id="u1")


def test_kill_and_restart_between_messages(private_server: RedisServer, slot_bot: Path) -> None:
    engine = kefu.Engine.from_path(slot_bot, store=RedisStore(private_server.url), seed=0)
    messages = conversation_messages(sessions=20, per_session=10)
    redacted = private_server.redacted_url
    delivered: dict[str, list[str]] = {}
    failures = []
    for i, (session_id, text) in enumerate(messages):
        if i == 60:
            private_server.kill()
        if i == 100:
            private_server.start()  # the same port and data folder (append-only file)
        try:
            engine.reply(text, session_id=session_id)
        except StoreError as exc:
            failures.append((i, str(exc)))
        else:
            delivered.setdefault(session_id, []).append(text)
    assert [i for i, _ in failures] == list(range(60, 100))  # exactly the calls while it was down
    assert all(m.startswith(f"Redis at {redacted} failed to ") and "secret" not in m for _, m in failures)
    store = RedisStore(private_server.url)
    for session_id, texts in delivered.items():
        session = store.get(session_id)
        assert session is not None
        assert (session.turns, [t[1] for t in session.history]) == (len(texts), texts)


def test_kill_and_restart_under_load(private_server: RedisServer, slot_bot: Path) -> None:
    store = RedisStore(private_server.url, lock_timeout=1.0)
    engine = kefu.Engine.from_path(slot_bot, store=store, seed=0)
    messages = conversation_messages(sessions=40, per_session=40)
    delivered: Counter[tuple[str, str]] = Counter()
    failed: Counter[tuple[str, str]] = Counter()
    errors: list[str] = []
    record = threading.Lock()
    quarter_done, outage_over = threading.Event(), threading.Event()

    def worker(offset: int) -> None:
        for session_id, text in messages[offset::8]:
            try:
                engine.reply(text, session_id=session_id)
            except StoreError as exc:
                with record:
                    failed[session_id, text] += 1
                    errors.append(str(exc))
                outage_over.wait(10)  # do not burn through the messages while Redis is down
            else:
                with record:
                    delivered[session_id, text] += 1
                    if delivered.total() >= len(messages) // 4:
                        quarter_done.set()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in pool:
        thread.start()
    assert quarter_done.wait(60)
    private_server.kill()  # mid-run: eight threads are replying
    time.sleep(0.5)
    private_server.start()
    outage_over.set()
    for thread in pool:
        thread.join()
    assert errors
    assert all(e.startswith(f"Redis at {private_server.redacted_url} failed to ") for e in errors)
    assert not any("secret" in e for e in errors)
    assert delivered.total() + failed.total() == len(messages)
    assert delivered.total() > len(messages) // 2  # it served again after the restart
    for k in range(40):
        session = store.get(f"s{k}")
        assert session is not None
        texts = Counter(turn[1] for turn in session.history)
        ok = Counter({t: n for (sid, t), n in delivered.items() if sid == f"s{k}"})
        maybe = Counter({t: n for (sid, t), n in failed.items() if sid == f"s{k}"})
        # Every reply that succeeded is saved; a failed one may have been saved just
        # before the connection broke (Redis ran it, the answer never arrived).
        assert ok <= texts <= ok + maybe
        assert session.turns == len(session.history)
        assert session.slots == {"order_id": order_number(k)}


# -- session ends reach plugins ------------------------------------------------------------


def test_redis_expiry_reaches_the_session_ended_hook(url: str, slot_bot: Path) -> None:
    clock = Clock()
    engines = [
        kefu.Engine.from_path(slot_bot, store=RedisStore(url, idle_ttl=60, clock=clock), clock=clock, seed=0)
        for _ in range(2)
    ]
    ended: list[tuple[str, str, int, dict[str, str]]] = []

    class Recorder:
        @kefu.hookimpl
        def session_ended(self, session: Session, reason: str) -> None:
            ended.append((session.id, reason, session.turns, dict(session.slots)))

    for engine in engines:
        engine.register_plugin(Recorder(), "recorder")
    engines[0].reply("查订单 订单号123456789012", session_id="idle")
    engines[1].reply("你好", session_id="idle")
    clock.now += 61  # idle past the 60 s TTL
    for engine in engines:  # both engines sweep; one of them reports the end
        engine.reply("你好", session_id="other")
    assert ended == [("idle", "expired", 2, {"order_id": "123456789012"})]
    engines[1].end_session("other")
    assert ended[1:] == [("other", "deleted", 2, {})]


def test_a_hook_ending_its_own_conversation_ends_it_once_the_reply_is_saved(url: str, slot_bot: Path) -> None:
    """delete waited for the reply's own lock until lock_wait ran out: a StoreError counted
    against the plugin, and the conversation went on."""
    store = RedisStore(url, key_prefix="bye:", lock_wait=0.5)
    engine = kefu.Engine.from_path(slot_bot, store=store, seed=0)
    ended: list[tuple[str, str, int]] = []

    class Goodbye:
        @kefu.hookimpl
        def response_built(self, reply: kefu.Reply, session: Session) -> None:
            if reply.intent == "order_status":
                engine.end_session(session.id)

        @kefu.hookimpl
        def session_ended(self, session: Session, reason: str) -> None:
            ended.append((session.id, reason, session.turns))

    engine.register_plugin(Goodbye())
    engine.reply("你好", session_id="u1")
    assert engine.reply("查订单 订单号123456789012", session_id="u1").text == "订单 123456789012 在路上"
    assert engine.plugin_errors == {}
    assert store.get("u1") is None
    assert ended == [("u1", "deleted", 2)]
