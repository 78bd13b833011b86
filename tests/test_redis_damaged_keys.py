"""RedisStore when Redis stalls mid-script, or its keys hold what kefu never wrote there.

Against a real redis-server (the ``url`` fixture of conftest.py), like test_redis_store.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from redis_support import Clock, ended_recorder

from kefu import RedisStore, Session, SessionDamagedError, StoreError


def answer_lost(store: RedisStore, script: str) -> None:
    """Make ``script`` run in Redis once but its answer time out, as when Redis stalls
    past ``socket_timeout`` and runs the queued script when it wakes up."""
    original = store._scripts[script]

    def run_then_time_out(**kwargs: Any) -> Any:
        store._scripts[script] = original
        original(**kwargs)
        raise redis.TimeoutError("Timeout reading from socket")

    store._scripts[script] = run_then_time_out  # type: ignore[assignment]


def test_a_lock_taken_by_a_script_whose_answer_timed_out_does_not_block_the_next_message(url: str) -> None:
    # The next message waited lock_timeout (10 s by default) for a lock that nobody held.
    store = RedisStore(url, lock_timeout=60, lock_wait=0.5)
    answer_lost(store, "lock_and_open")
    with pytest.raises(StoreError, match="failed to lock a session: Timeout reading"), store.transaction("u"):
        pass
    assert store.client.exists("kefu:session:lock:u") == 1  # the script did run
    started = time.monotonic()
    with store.transaction("u") as session:
        session.turns = 1
    assert time.monotonic() - started < 0.5
    stored = store.get("u")
    assert stored is not None and stored.turns == 1
    assert store.client.exists("kefu:session:lock:u") == 0


def test_a_lock_whose_release_failed_is_not_taken_over_by_the_next_message(url: str) -> None:
    # Taking its token up again let a release that ran late free the next message's lock
    # mid-reply: another worker got in, and that message's save was refused.
    store = RedisStore(url, lock_timeout=60, lock_wait=0.3)
    original = store._scripts["release"]
    token = []

    def lost(**kwargs: Any) -> Any:  # the release is sent but answers nothing, for now
        store._scripts["release"] = original
        token.append(kwargs["args"][0])
        raise redis.ConnectionError("Connection reset by peer")

    store._scripts["release"] = lost  # type: ignore[assignment]
    with pytest.raises(RuntimeError), store.transaction("u"):
        raise RuntimeError("a hook failed")
    with pytest.raises(StoreError, match="stayed locked"), store.transaction("u"):
        pass
    original(keys=[b"kefu:session:lock:u"], args=token)  # the late release frees the stale lock
    with store.transaction("u") as session:
        session.turns = 1
        original(keys=[b"kefu:session:lock:u"], args=token)  # run again: frees nothing now
        assert store.client.exists("kefu:session:lock:u") == 1


def test_another_process_still_waits_for_a_lock_given_up_here(url: str) -> None:
    # Only the process that gave the token up may take it back.
    store, other = RedisStore(url, lock_timeout=60, lock_wait=0.3), RedisStore(url, lock_wait=0.3)
    answer_lost(store, "lock_and_open")
    with pytest.raises(StoreError), store.transaction("u"):
        pass
    with pytest.raises(StoreError, match=r"session 'u' stayed locked for 0\.3s"), other.transaction("u"):
        pass


@pytest.mark.parametrize("kind", ["hash", "list", "set"])
def test_a_session_key_of_another_redis_type_is_damaged_and_left_unlocked(url: str, kind: str) -> None:
    # Redis's own "WRONGTYPE Operation against a key..." named no key, and the lock
    # script had taken the lock before failing, so the next message said "stayed locked".
    store = RedisStore(url, lock_wait=0.3)
    {"hash": lambda: store.client.hset("kefu:session:s:u", "a", "1"),
     "list": lambda: store.client.rpush("kefu:session:s:u", "a"),
     "set": lambda: store.client.sadd("kefu:session:s:u", "a")}[kind]()  # fmt: skip
    expected = (
        f"Redis at {url}: session 'u' ('kefu:session:s:u') is damaged: it holds a Redis {kind}, "
        "not kefu's JSON, delete the key to start it afresh"
    )
    for _ in range(2):
        with pytest.raises(SessionDamagedError) as failed, store.transaction("u"):  # the store works
            pass
        assert str(failed.value) == expected
    assert store.client.exists("kefu:session:lock:u") == 0
    with pytest.raises(
        SessionDamagedError, match=f"'kefu:session:s:u' holds a Redis {kind}, not what kefu keeps there"
    ):
        store.get("u")
    store.delete("u")  # what the message says to do, through kefu
    with store.transaction("u") as session:
        assert session.turns == 0


def test_an_idle_session_key_of_another_type_does_not_fail_the_sweep(url: str) -> None:
    # The sweep runs inside some other conversation's reply: it raised WRONGTYPE there,
    # and the index entry was gone, so that conversation's end was never reported.
    clock = Clock()
    store = RedisStore(url, idle_ttl=60, clock=clock)
    ended = ended_recorder(store)
    for session_id in ("damaged", "fine"):
        with store.transaction(session_id) as session:
            session.turns = 1
    store.client.delete("kefu:session:s:damaged")
    store.client.hset("kefu:session:s:damaged", "a", "1")
    clock.now += 61
    assert sorted(s.id for s in store.expire()) == ["damaged", "fine"]
    assert sorted(ended) == [("damaged", "expired", 0), ("fine", "expired", 1)]
    assert store.client.exists("kefu:session:s:damaged") == 0


def test_an_index_of_another_type_is_named(url: str) -> None:
    store = RedisStore(url)
    store.client.set("kefu:session:idle", "x")
    with pytest.raises(StoreError) as failed, store.transaction("u"):
        pass
    assert str(failed.value).endswith(
        "failed to lock a session: 'kefu:session:idle' holds a Redis string, "
        "not what kefu keeps there; delete it"
    )


def test_an_empty_stored_value_is_damaged_for_a_message_too(url: str) -> None:
    # session() said damaged, but a message silently started a new conversation over it.
    store = RedisStore(url, lock_wait=0.3)
    store.client.set("kefu:session:s:u", b"")
    damaged = r"session 'u' \('kefu:session:s:u'\) is damaged"
    with pytest.raises(StoreError, match=damaged):
        store.get("u")
    with pytest.raises(StoreError, match=damaged), store.transaction("u"):
        pass
    assert store.client.exists("kefu:session:lock:u") == 0


def test_ids_leave_out_index_members_that_are_not_kefus(url: str) -> None:
    # A member that is not UTF-8 and not due yet made ids() raise UnicodeDecodeError.
    clock = Clock()
    store = RedisStore(url, idle_ttl=60, clock=clock)
    with store.transaction("a"):
        pass
    store.client.zadd("kefu:session:idle", {b"\xff\xfe": clock.now + 30})
    assert list(store.ids()) == ["a"]


def test_a_session_id_holding_a_surrogate_pair_as_two_code_points_keeps_its_conversation(url: str) -> None:
    # JSON read the pair's escapes back as one emoji, so the second message found "another
    # session" under the key and the conversation was lost.
    session_id = "\ud83d\ude00"
    store = RedisStore(url)
    for turn in (1, 2, 3):
        with store.transaction(session_id) as session:
            assert session.turns == turn - 1
            session.turns = turn
    stored = store.get(session_id)
    assert stored is not None and stored.id == session_id and stored.turns == 3
    assert store.get("😀") is None  # the one-character id is another conversation
    with pytest.raises(StoreError, match="it holds session"):
        store._load(Session("😀", 1.0).to_json(), "other")
