"""Sessions: JSON round trips, real expiry on an injected clock, contexts, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import kefu
from kefu.memory_store import MemoryStore
from kefu.sessions import ActiveContext, PendingSlot, Session

CONTEXT_BOT = """
version: 1
bot: {name: 测试, threshold: 0.2, handoff_after_fallbacks: 0}
sessions: {max_sessions: 5000, idle_ttl: 60}
intents:
  - name: order
    examples: [查订单, 我的订单到哪了, 订单物流, 查一下我的订单, 订单状态]
    responses: [好的]
    contexts: {out: [{name: order, lifespan: 2, ttl: 30}]}
  - name: fee
    examples: [运费多少, 邮费怎么算, 要运费吗, 运费是多少钱]
    responses: [满99包邮]
  - name: fee_followup
    examples: [那运费呢, 那邮费呢, 那这个运费呢]
    contexts: {in: [order]}
    responses: [这单包邮]
  - name: hello
    examples: [你好, 在吗, 哈喽, 您好]
    responses: [您好]
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked(write_bot: Callable[..., Path]) -> tuple[kefu.Engine, Clock, list[tuple[str, str]]]:
    clock = Clock()
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": CONTEXT_BOT}), clock=clock, seed=0)
    ended: list[tuple[str, str]] = []

    class Recorder:
        @kefu.hookimpl
        def session_ended(self, session: kefu.Session, reason: str) -> None:
            ended.append((session.id, reason))

    engine.register_plugin(Recorder(), name="recorder")
    return engine, clock, ended


def test_session_json_round_trip_keeps_everything() -> None:
    session = Session("s1", 10.0)
    session.turns = 3
    session.fallback_streak = 1
    session.handoff, session.handoff_reason = True, "intent:human"
    session.pending = PendingSlot("order_status", "order_id", 1)
    session.record((11.0, "你好", "您好", "greeting"), limit=50)
    session.contexts["order"] = ActiveContext("order", 2, 40.0, {"order_id": "123456789012"})
    session.slots["order_id"] = "123456789012"
    session.data["plugin"] = {"count": 2}
    again = Session.from_json(session.to_json())
    assert again.to_dict() == session.to_dict()


def test_session_json_keeps_half_characters_and_is_still_utf8() -> None:
    # A lone surrogate in an id or in plugin data cannot be written as UTF-8; networked
    # stores need bytes, so it is kept as a \u escape and comes back exactly.
    session = Session("\ud800会话", 10.0)
    session.data["raw"] = "半个\udfff字"
    text = session.to_json()
    text.encode("utf-8")  # raises if a surrogate slipped through
    assert Session.from_json(text).to_dict() == session.to_dict()
    assert "会话" in Session("会话", 10.0).to_json()  # Chinese stays readable otherwise


def circular() -> dict[str, object]:
    """A dict that holds itself."""
    loop: dict[str, object] = {}
    loop["self"] = loop
    return loop


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"红色", "黑色"}, "Object of type set is not JSON serializable"),  # marshal takes sets, JSON not
        (circular(), "Circular reference detected"),
        ({("a", "b"): 1}, "keys must be str, int, float, bool or None, not tuple"),
    ],
)
def test_session_data_json_cannot_write_is_a_store_error_naming_the_session(
    value: object, problem: str
) -> None:
    # RedisStore.put and transaction saved with to_json: a bare TypeError or ValueError
    # escaped instead of the StoreError MemoryStore gives for data it cannot keep.
    session = Session("会话1", 10.0)
    session.data["plugin"] = value
    with pytest.raises(kefu.StoreError) as caught:
        session.to_json()
    assert str(caught.value) == f"session '会话1' holds data that is not plain JSON-like values: {problem}"


DAMAGED = [
    pytest.param('{"id": "x"', id="cut-short"),
    pytest.param("[" * 5000, id="nested-too-deep"),
    pytest.param('{"id": "x", "created": 1, "last_active": 1, "turns": 0, "slots": [1]}', id="slots-a-list"),
    pytest.param('{"id": "x", "created": 1, "last_active": 1, "turns": 0, "contexts": ["a"]}', id="contexts"),
    pytest.param('["x"]', id="not-an-object"),
]


@pytest.mark.parametrize("raw", DAMAGED)
def test_damaged_session_json_is_a_store_error(raw: str) -> None:
    with pytest.raises(kefu.StoreError, match=r"stored session is damaged: [A-Za-z]+Error: "):
        Session.from_json(raw)


def test_history_is_bounded() -> None:
    session = Session("s", 0.0)
    for i in range(120):
        session.record((float(i), f"u{i}", f"b{i}", "x"), limit=50)
    assert len(session.history) == 50
    assert session.history[0][1] == "u70"


def test_idle_session_expires_after_its_ttl_and_its_end_is_reported(
    clocked: tuple[kefu.Engine, Clock, list[tuple[str, str]]],
) -> None:
    engine, clock, ended = clocked
    engine.reply("你好", session_id="idle")
    clock.now += 59
    assert engine.session("idle") is not None
    clock.now += 2  # 61 s idle: past the 60 s TTL
    assert engine.session("idle") is None  # never handed out again
    engine.reply("你好", session_id="other")  # the engine sweeps at most once a second
    assert ("idle", "expired") in ended
    assert engine.session("idle") is None


def test_an_agent_message_joins_the_history_and_keeps_the_session_alive(
    clocked: tuple[kefu.Engine, Clock, list[tuple[str, str]]],
) -> None:
    engine, clock, ended = clocked
    engine.reply("你好", session_id="agent")
    clock.now += 50
    engine.record_agent_message("agent", "您好，我是客服小王\ud800", agent="小王")
    session = engine.session("agent")
    assert session is not None and session.turns == 1  # an agent's message is not a bot turn
    assert session.history[-1] == (clock.now, "", "您好，我是客服小王\ufffd", "agent:小王")
    clock.now += 50  # 100 s after the customer spoke, 50 s after the agent did: still alive
    assert engine.session("agent") is not None and ("agent", "expired") not in ended


def test_lru_evicts_the_least_recent_session_when_full() -> None:
    ended: list[tuple[str, str]] = []
    store = MemoryStore(max_sessions=2, idle_ttl=100, clock=lambda: 0.0)
    store.add_end_listener(lambda s, reason: ended.append((s.id, reason)))
    for sid in ("a", "b", "c"):
        with store.transaction(sid):
            pass
    assert ended == [("a", "evicted")]
    assert sorted(store.ids()) == ["b", "c"]


def test_context_dies_after_its_lifespan_in_turns(
    clocked: tuple[kefu.Engine, Clock, list[tuple[str, str]]],
) -> None:
    engine, _, _ = clocked
    assert engine.reply("那运费呢", session_id="t").intent != "fee_followup"  # no context yet
    assert engine.reply("查订单", session_id="t").intent == "order"  # opens "order" for 2 turns
    assert engine.reply("那运费呢", session_id="t").intent == "fee_followup"  # turn 1
    assert engine.reply("那运费呢", session_id="t").intent == "fee_followup"  # turn 2
    assert engine.reply("那运费呢", session_id="t").intent != "fee_followup"  # lifespan over


def test_context_dies_after_its_ttl_first(clocked: tuple[kefu.Engine, Clock, list[tuple[str, str]]]) -> None:
    engine, clock, _ = clocked
    engine.reply("查订单", session_id="ttl")
    clock.now += 31  # the context's 30 s TTL passes before its 2 turns are used
    assert engine.reply("那运费呢", session_id="ttl").intent != "fee_followup"


def test_eight_threads_never_lose_an_update(write_bot: Callable[..., Path]) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": CONTEXT_BOT}), seed=0)
    sessions, threads, total = 1000, 8, 20_000
    texts = ["你好", "查订单", "运费多少", "那运费呢"]

    def worker(offset: int) -> None:
        for i in range(offset, total, threads):
            engine.reply(texts[i % len(texts)], session_id=f"s{i % sessions}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    turns = {}
    for n in range(sessions):
        session = engine.session(f"s{n}")
        assert session is not None
        turns[n] = session.turns
    assert set(turns.values()) == {total // sessions}
    assert all(len(engine.session(f"s{n}").history) == total // sessions for n in range(sessions))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("answer", "action"),
    [
        pytest.param("", "prompt", id="empty-answer"),
        pytest.param("1" * 10_000, "prompt", id="10k-digits-no-valid-number"),
        pytest.param("\ud800", "prompt", id="lone-surrogate"),
        # Control characters split the digits; the 12-digit run left is a valid number.
        pytest.param("\x00\x1b[2J2024\x07112712345678", "respond", id="control-chars"),
    ],
)
def test_bad_slot_answers_are_re_prompted(demo_engine: kefu.Engine, answer: str, action: str) -> None:
    sid = f"slot-{answer[:5]!r}"
    assert demo_engine.reply("我的订单到哪了", session_id=sid).action == "prompt"
    reply = demo_engine.reply(answer, session_id=sid)
    assert reply.action == action
    if action == "prompt":
        assert "订单号" in reply.text
    demo_engine.end_session(sid)


def test_a_sweep_while_a_message_is_handled_leaves_that_conversation_alone() -> None:
    """It was reported "expired" mid-reply, then saved again: ended twice, lived on between."""
    clock = Clock()
    store = MemoryStore(idle_ttl=60, clock=clock)
    ended: list[tuple[str, str]] = []
    store.add_end_listener(lambda session, reason: ended.append((session.id, reason)))
    store.put(Session("busy", clock.now))
    store.put(Session("quiet", clock.now))
    clock.now += 59  # a message for "busy" arrives just in time ...
    with store.transaction("busy") as session:
        clock.now += 2  # ... and a slow plugin hook keeps it past the TTL
        assert [s.id for s in store.expire()] == ["quiet"]  # another thread's sweep
        session.last_active = clock.now
    assert ended == [("quiet", "expired")]
    assert store.get("busy") is not None
    clock.now += 61
    assert [s.id for s in store.expire()] == ["busy"]
    assert ended == [("quiet", "expired"), ("busy", "expired")]  # once, when it really went idle


def test_a_transaction_that_raises_saves_nothing_and_frees_its_conversation() -> None:
    """The body raising, or the session failing to pack: the error comes out as it was,
    the session is left as it was, and another thread can take the conversation at once."""
    store = MemoryStore()
    with store.transaction("s") as session:
        session.turns = 1

    def body_raises() -> None:
        with store.transaction("s") as session:
            session.turns = 2
            raise ZeroDivisionError

    def cannot_pack() -> None:
        with store.transaction("s") as session:
            session.turns = 3
            session.data["x"] = {1, 2}  # a set: no store can keep it

    with pytest.raises(ZeroDivisionError):
        body_raises()
    with pytest.raises(kefu.StoreError):
        cannot_pack()
    taken = threading.Event()

    def other() -> None:
        with store.transaction("s"):
            taken.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(5)
    assert taken.is_set()
    stored = store.get("s")
    assert stored is not None and stored.turns == 1 and not stored.has_data


class TickingClock(Clock):
    """A clock that moves on by one microsecond each time it is read, like time.time."""

    def __call__(self) -> float:
        self.now += 1e-6
        return self.now


def test_a_new_session_starts_when_its_first_message_arrives(write_bot: Callable[..., Path]) -> None:
    clock = TickingClock()
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": CONTEXT_BOT}), clock=clock, seed=0)
    engine.reply("你好", session_id="new")
    session = engine.session("new")
    assert session is not None
    first_message_at = session.history[0][0]
    # The store reads the clock after the engine did: created was later than last_active.
    assert session.created == session.last_active == first_message_at
