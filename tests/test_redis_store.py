"""RedisStore against a real redis-server: the SessionStore contract, idle ends and sweeps.

Every test talks to a private ``redis-server`` (the ``url`` fixture of conftest.py)
started on a free loopback port in a temporary folder. Without the binary the tests skip
with a message; under CI (``CI=true``) a missing binary fails them instead, so CI cannot
pass by skipping.
"""

from __future__ import annotations

import threading
import time

import pytest
from redis_support import Clock, ended_recorder

from kefu import RedisStore, Session, SessionStore, StoreError
from kefu.sessions import ActiveContext, PendingSlot


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


@pytest.mark.parametrize(
    "stored",
    [
        # "turns": 1e999 is infinity: OverflowError, not a StoreError, out of the sweep
        b'{"id": "b", "created": 1, "last_active": 1, "turns": 1e999}',
        b'{"id": "b", "created": 1, "last_active": 1, "turns": 1, "fallback_streak": Infinity}',
    ],
)
def test_a_session_with_numbers_no_int_holds_neither_fails_the_sweep_nor_another_reply(
    url: str, stored: bytes
) -> None:
    clock = Clock()
    store = RedisStore(url, idle_ttl=60, clock=clock)
    ended = ended_recorder(store)
    store.client.set("kefu:session:s:b", stored)
    store.client.zadd("kefu:session:idle", {"b": clock.now + 60})
    with pytest.raises(StoreError, match=r"session 'b' .* is damaged, delete the key"):
        store.get("b")
    clock.now += 61
    assert [s.id for s in store.expire()] == ["b"] and ended == [("b", "expired", 0)]


def test_an_idle_entry_that_is_no_session_id_is_removed_not_failing_every_sweep(url: str) -> None:
    # Bytes kefu never writes (not UTF-8) made each sweep, in some other reply, a UnicodeDecodeError.
    clock = Clock()
    store = RedisStore(url, idle_ttl=60, clock=clock)
    with store.transaction("a") as session:
        session.turns = 1
    store.client.zadd("kefu:session:idle", {b"\xff\xfe": clock.now})
    clock.now += 61
    assert [s.id for s in store.expire()] == ["a"]
    assert store.client.zcard("kefu:session:idle") == 0


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        # fields of the wrong type failed every later reply (a TypeError in the dialog code)
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": 1, '
         b'"contexts": [{"name": "c", "turns_left": "x", "expires_at": null, "params": null}]}',
         "'contexts.turns_left' must be a whole number of 0 or more, not str 'x'"),
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": 1, '
         b'"pending": {"intent": "order_status", "slot": "order_id", "retries": "x"}}',
         "'pending.retries' must be a whole number of 0 or more, not str 'x'"),
        # values that converted to the wrong thing: "false" was a hand-off (the bot went
        # silent), null history texts became "None", and a last_active far in the future
        # failed every later reply that filled a date slot (OverflowError, OSError)
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": 1, "handoff": "false"}',
         "'handoff' must be true or false, not str 'false'"),
        (b'{"id": "u", "created": 1, "last_active": 1e300, "turns": 1}',
         "'last_active' must be a time in seconds since 1970, not float 1e+300"),
        (b'{"id": "u", "created": 1, "last_active": Infinity, "turns": 1}',
         "'last_active' must be a time in seconds since 1970, not float inf"),
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": -5}',
         "'turns' must be a whole number of 0 or more, not int -5"),
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": true}',
         "'turns' must be a whole number of 0 or more, not bool True"),
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": 1, "history": [null]}',
         "a 'history' entry must be [time, text, text, text], not NoneType None"),
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": 1, "history": [[1, "hi", null, "greet"]]}',
         "a 'history' entry must be [time, text, text, text], not list [1, 'hi', None, 'greet']"),
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": 1, "slots": {"order_id": null}}',
         "'slots': 'order_id' must be text, not NoneType None"),
        (b'{"id": "u", "created": 1, "last_active": 1, "turns": 1, "data": [["a", 1]]}',
         "'data' must be an object, not list [['a', 1]]"),
        # another session's data under this key: saving it wrote to that session's keys
        (b'{"id": "other", "created": 1, "last_active": 1, "turns": 1}', "it holds session 'other'"),
    ],
)  # fmt: skip
def test_a_session_stored_with_fields_of_the_wrong_kind_is_damaged_when_read(
    url: str, stored: bytes, why: str
) -> None:
    store = RedisStore(url)
    store.client.set("kefu:session:s:u", stored)
    with pytest.raises(StoreError, match=r"session 'u' .* is damaged, delete the key") as read:
        store.get("u")
    assert why in str(read.value)


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
