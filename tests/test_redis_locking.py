"""RedisStore's locks: many workers on the same conversations lose no update, a save
after a lost lock overwrites nobody, and a worker waits for a lock at most ``lock_wait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from redis_support import Clock, conversation_messages, ended_recorder, order_number

import kefu
from kefu import RedisStore, Session, StoreError

# -- concurrency ---------------------------------------------------------------------------


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


# -- a lost lock ---------------------------------------------------------------------------

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


class LockLostOnRead(Clock):
    """A clock standing for what happens to session "s"'s lock between a worker's lock-and-read
    and its next step: once ``armed``, the first reading while the lock is held replaces it
    with ``then`` (None: drops it, as a ``lock_timeout`` running out or a Redis restart does)."""

    def __init__(self, client: redis.Redis, then: str | None) -> None:
        super().__init__()
        self.client, self.then, self.armed = client, then, False

    def __call__(self) -> float:
        if self.armed and self.client.exists("kefu:session:lock:s"):
            self.armed = False
            if self.then is None:
                self.client.delete("kefu:session:lock:s")
            else:
                self.client.set("kefu:session:lock:s", self.then)
        return self.now


@pytest.mark.parametrize(
    ("then", "error", "ours", "theirs"),
    [
        # nobody took the lock: the idle session is unchanged, so this worker ends and reports
        # it and starts afresh (it raised "the stored session changed" and reported nothing)
        (None, None, [("s", "expired", 7)], []),
        # another worker holds the lock: it ends the session itself, so this one reports nothing
        ("their-token", TAKEN, [], [("s", "expired", 7)]),
    ],
)
def test_an_idle_session_whose_lock_is_lost_as_it_is_ended_is_reported_once(
    url: str,
    then: str | None,
    error: str | None,
    ours: list[tuple[str, str, int]],
    theirs: list[tuple[str, str, int]],
) -> None:
    clock = LockLostOnRead(redis.Redis.from_url(url), then)
    store, other = RedisStore(url, idle_ttl=60, clock=clock), RedisStore(url, idle_ttl=60, clock=clock)
    ended, other_ended = ended_recorder(store), ended_recorder(other)
    with store.transaction("s") as session:
        session.turns = 7
    store.client.delete("kefu:session:idle")  # evicted: only the message's own check finds it idle
    clock.now += 61
    clock.armed = True
    with contextlib.ExitStack() as refused:
        if error is not None:
            caught = refused.enter_context(pytest.raises(StoreError))
        with store.transaction("s") as session:
            assert session.turns == 0  # never the idle conversation
            session.turns = 1
    if error is not None:
        assert str(caught.value) == error.format(url=url)
    store.client.delete("kefu:session:lock:s")  # the other worker lets go
    with other.transaction("s") as session:
        assert session.turns == (0 if error else 1)  # what this worker saved, if it could
    assert store.expire() == [] and other.expire() == []
    assert (ended, other_ended) == (ours, theirs)


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
