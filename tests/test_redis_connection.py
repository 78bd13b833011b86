"""RedisStore's URL and its Redis: passwords, databases, Redis Cluster, and a Redis that
is down, killed or restarted. Every error names the URL and never shows the password.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis_support import RedisServer, conversation_messages, free_port, order_number

import kefu
from kefu import RedisStore, Session, StoreError
from kefu.redis_errors import explain, redact

# -- passwords, databases, Redis Cluster ---------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        # no password: Redis's own words were "HELLO must be called with the client already
        # authenticated, otherwise the HELLO AUTH <user> <pass> option can be used ..."
        (
            "",
            "the server wants a password and the URL gives none: put it in the URL, as in "
            "redis://:<password>@127.0.0.1:{port}/0 (redis://<user>:<password>@... for an ACL user; "
            "percent-encode any @ : / % ? # in it)",
        ),
        # a wrong password: the bare "invalid username-password pair or user is disabled."
        (
            ":hunter2@",
            "the server refused the password in the URL (invalid username-password pair or user is "
            "disabled.); check it, and percent-encode any @ : / % ? # in it",
        ),
        # the right password for a user that does not exist
        (
            "bob:secret@",
            "the server refused the user name and password in the URL (invalid username-password "
            "pair or user is disabled.); check them, and percent-encode any @ : / % ? # in them",
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


def test_the_password_hint_keeps_a_tls_urls_scheme() -> None:
    # rediss:// (TLS) was shown as redis:// in the ACL-user example, which would drop TLS
    problem = explain(
        redis.AuthenticationError("Authentication required."), "rediss://cache.example:6380/0", {}
    )
    assert problem == (
        "the server wants a password and the URL gives none: put it in the URL, as in "
        "rediss://:<password>@cache.example:6380/0 (rediss://<user>:<password>@... for an ACL user; "
        "percent-encode any @ : / % ? # in it)"
    )


# Every character a password= option reads otherwise (+ as a space, & and # as its end, % as
# an escape), and some that need no escaping there.
AGENT_PASSWORD = "p+w&d#1%2=@:/"


@pytest.fixture
def unix_socket(redis_binary: str, tmp_path: Path) -> Iterator[str]:
    """The socket of a redis-server of this test's own that wants the password "secret",
    with an ACL user ``agent`` whose password is ``AGENT_PASSWORD``."""
    folder = tmp_path / "redis"
    folder.mkdir()
    # In a short folder: a socket's path holds at most about 100 bytes, tmp_path may not.
    with tempfile.TemporaryDirectory(prefix="kefu-") as short:
        path = f"{short}/redis.sock"
        options = ("--unixsocket", path, "--unixsocketperm", "700")
        server = RedisServer(redis_binary, folder, *options, password="secret")
        server.start()
        try:
            server.client().acl_setuser(
                "agent", enabled=True, passwords=[f"+{AGENT_PASSWORD}"], keys=["*"], categories=["+@all"]
            )
            yield path
        finally:
            server.stop()


def test_a_unix_socket_url_without_a_password_says_how_to_give_one_there(unix_socket: str) -> None:
    url = f"unix://{unix_socket}?db=0"
    with pytest.raises(StoreError) as caught:
        RedisStore(url).get("x")
    # The ACL example was redis://<user>:<password>@..., which a socket URL cannot follow,
    # and the escaping advice was the user part's (@ : / %), not an option's.
    assert str(caught.value) == (
        f"Redis at {url} failed to read a session: the server wants a password and the URL gives "
        f"none: put it in the URL, as in {url}&password=<password> (add &username=<user> for an ACL "
        "user; percent-encode any % & # + in it)"
    )
    # Doing what it says works, escaping just those characters.
    escaped = "".join(f"%{ord(c):02X}" if c in "%&#+" else c for c in AGENT_PASSWORD)
    for fixed in (f"{url}&password=secret", f"{url}&password={escaped}&username=agent"):
        with RedisStore(fixed).transaction("u1") as session:
            session.turns += 1
    assert getattr(RedisStore(f"{url}&password=secret").get("u1"), "turns", None) == 2


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        # a wrong password: the escaping advice was the user part's (@ : / %)
        (
            "?password=hunter2",
            "the server refused the password in the URL (invalid username-password pair or user is "
            "disabled.); check it, and percent-encode any % & # + in it",
        ),
        # the agent's password with + unescaped: redis-py reads it as a space
        (
            "?username=agent&password=p+w",
            "the server refused the user name and password in the URL (invalid username-password "
            "pair or user is disabled.); check them, and percent-encode any % & # + in them",
        ),
    ],
)
def test_a_refused_password_option_says_how_to_escape_it(unix_socket: str, query: str, problem: str) -> None:
    url = f"unix://{unix_socket}{query}"
    with pytest.raises(StoreError) as caught:
        RedisStore(url).get("x")
    shown = url.rpartition("password=")[0] + "password=***"
    assert str(caught.value) == f"Redis at {shown} failed to read a session: {problem}"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        # redis-py took each of these silently as some other database than the one meant
        ("/abc", "the path after the host must be a database number such as /0, not '/abc'"),  # db 0
        ("/1/2", "the path after the host must be a database number such as /0, not '/1/2'"),  # db 12
        ("/1.5", "the path after the host must be a database number such as /0, not '/1.5'"),  # db 0
        ("/１", "the path after the host must be a database number such as /0, not '/１'"),  # db 1
        # ?db= overrode the path: a URL that read as database 0 shared database 2's sessions
        ("/0?db=2", "give the database once, in the path after the host (/2) or as ?db=, not both"),
        ("/3?DB=99", "give the database once, in the path after the host (/2) or as ?db=, not both"),
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


def test_a_database_the_server_does_not_have_is_a_store_error_naming_it(redis_server: RedisServer) -> None:
    url, number = f"redis://127.0.0.1:{redis_server.port}/16", 16  # one past a default Redis's 16
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
        # an unescaped & or # in a password= option: what followed it was shown
        (
            "unix:///tmp/kefu-no-such.sock?password=sec&ret&db=0",
            "unix:///tmp/kefu-no-such.sock?password=***&db=0",
        ),
        (
            "unix:///tmp/kefu-no-such.sock?db=0&password=" + AGENT_PASSWORD,
            "unix:///tmp/kefu-no-such.sock?db=0&password=***",
        ),
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


@pytest.mark.parametrize("password", ["zq8k/w3x", "zq8k?w3x", "zq8k#w3x", "1234/5678"])
def test_an_unescaped_delimiter_in_a_password_is_never_shown(password: str) -> None:
    # redis-py read "zq8k" as the port and quoted it ("... as 'zq8k'"), and the URL shown
    # ran the password on after its / ("redis://user:zq8k/w3x@localhost:6379/0").
    with pytest.raises(StoreError) as caught:
        RedisStore(f"redis://user:{password}@localhost:6379/0")
    message = str(caught.value)
    assert message.startswith("invalid Redis URL 'redis://user:***@localhost:6379/0': ")
    assert "percent-encoded" in message
    assert not any(part in message for part in re.split("[/?#]", password))


def test_an_at_sign_in_an_option_is_not_taken_for_a_password() -> None:
    shown = redact("redis://localhost:6379/0?username=me@corp.com&password=p@ss")
    assert shown == "redis://localhost:6379/0?username=me@corp.com&password=***"


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


def test_a_database_given_only_as_db_query_is_used(redis_server: RedisServer) -> None:
    # redis-py's own from_url documents ?db=; with no database path it overrides nothing.
    store = RedisStore(f"redis://127.0.0.1:{redis_server.port}?db=3")
    with store.transaction("u") as session:
        session.turns = 1
    assert redis.Redis(port=redis_server.port, db=3).exists("kefu:session:s:u") == 1
