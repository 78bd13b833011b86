"""Reloads, plugin registration and session ends while other threads reply.

Each race is forced deterministically: a plugin hook or a plugin factory holds one thread
at the critical moment (an Event) while another does the conflicting thing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kefu

BOT = """version: 1
bot:
  name: {name}
  threshold: 0.4
  ambiguity_margin: 0
  fallback: ["{name}:fallback"]
  handoff_reply: "{name}:handoff"
plugins:
  handoff_keywords: {{keywords: [投诉]}}
sessions: {{max_sessions: {max_sessions}}}
intents:
  - name: refund
    examples: [我要退款, 怎么退款, 申请退款, 退钱]
    responses: ["{name}:refund 热线 13900002222"]
  - name: greet
    examples: [你好, 在吗, 您好]
    responses: ["{name}:greet"]
"""


def write(folder: Path, name: str, max_sessions: int = 100) -> Path:
    folder.mkdir()
    (folder / "bot.yaml").write_text(BOT.format(name=name, max_sessions=max_sessions), encoding="utf-8")
    return folder


@pytest.fixture
def bots(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "v1", "V1"), write(tmp_path / "v2", "V2")


class Gate:
    """A plugin that holds a reply inside ``message_received`` for texts starting "HOLD",
    and records what ``engine`` showed its hooks."""

    def __init__(self) -> None:
        self.inside, self.go_on = threading.Event(), threading.Event()
        self.seen: list[str] = []

    @kefu.hookimpl
    def message_received(self, message: kefu.Message, engine: kefu.Engine) -> None:
        if message.text.startswith("HOLD"):
            self.inside.set()
            assert self.go_on.wait(10)

    @kefu.hookimpl
    def response_built(self, engine: kefu.Engine) -> None:
        self.seen.append(engine.spec.settings.name)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except Exception as exc:  # handed to the test to assert on
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


@pytest.mark.parametrize(
    ("text", "expected"), [("HOLD 随便说点什么", "V1:fallback"), ("HOLD 我要投诉", "V1:handoff")]
)
def test_a_reply_in_flight_during_a_reload_is_all_the_old_bots(
    bots: tuple[Path, Path], text: str, expected: str
) -> None:
    """The built-in fallback and hand-off plugins read `engine.spec`, which was the bot
    served at that moment: a reply decided by V1 went out with V2's fallback text."""
    v1, v2 = bots
    engine = kefu.Engine.from_path(v1, seed=0, load_entry_points=False)
    gate = Gate()
    engine.register_plugin(gate, "gate")
    thread, out = in_thread(lambda: engine.reply(text, "s"))
    assert gate.inside.wait(10)
    engine.reload(v2)
    gate.go_on.set()
    thread.join(10)
    assert out["value"].text == expected
    assert gate.seen == ["V1"]  # what `engine` showed the reply's own hooks
    assert engine.reply("随便说点什么", "t").text == "V2:fallback"


class SlowLoader:
    """Holds a reload inside its ``engine_loaded`` hook, recording the bot it was shown."""

    def __init__(self) -> None:
        self.inside, self.go_on = threading.Event(), threading.Event()
        self.seen: list[str] = []

    @kefu.hookimpl
    def engine_loaded(self, engine: kefu.Engine) -> None:
        self.seen.append(engine.spec.settings.name)
        self.inside.set()
        assert self.go_on.wait(10)


def test_the_new_bot_serves_only_after_its_engine_loaded_hooks(bots: tuple[Path, Path]) -> None:
    """The swap came first: replies reached plugins not set up yet (risk control masked the
    shop's own hotline, 139****2222, until its engine_loaded ran)."""
    v1, v2 = bots
    engine = kefu.Engine.from_path(v1, seed=0, load_entry_points=False)
    loader = SlowLoader()
    engine.register_plugin(loader, "slow_loader")
    thread, out = in_thread(lambda: engine.reload(v2))
    assert loader.inside.wait(10)
    assert engine.reply("我要退款", "a").text == "V1:refund 热线 13900002222"  # still the old bot
    loader.go_on.set()
    thread.join(10)
    assert "error" not in out and loader.seen == ["V2"]  # the hook was shown the new bot
    assert engine.reply("我要退款", "b").text == "V2:refund 热线 13900002222"


class FailsOnV2:
    @kefu.hookimpl
    def engine_loaded(self, engine: kefu.Engine) -> None:
        if engine.spec.settings.name == "V2":
            raise RuntimeError("catalogue unavailable")


def test_a_failing_engine_loaded_under_strict_plugins_keeps_the_old_bot(bots: tuple[Path, Path]) -> None:
    v1, v2 = bots
    engine = kefu.Engine.from_path(v1, seed=0, load_entry_points=False, strict_plugins=True)
    engine.register_plugin(FailsOnV2(), "catalogue")
    with pytest.raises(kefu.PluginError, match="catalogue unavailable"):
        engine.reload(v2)
    assert engine.spec.settings.name == "V1"
    assert engine.reply("你好", "a").text == "V1:greet"


class Hooks:
    def __init__(self) -> None:
        self.started: list[str] = []

    @kefu.hookimpl
    def session_started(self, session: kefu.Session) -> None:
        self.started.append(session.id)


class SlowFactory:
    """A plugin given as a factory: the host calls ``make_plugin`` for each bot it builds,
    and the second call (the reload's) waits."""

    def __init__(self) -> None:
        self.calls = 0
        self.inside, self.go_on = threading.Event(), threading.Event()

    def make_plugin(self, settings: object) -> Hooks:
        self.calls += 1
        if self.calls == 2:
            self.inside.set()
            assert self.go_on.wait(10)
        return Hooks()


def test_a_plugin_registered_during_a_reload_is_in_the_new_bot(bots: tuple[Path, Path]) -> None:
    """The reload failed ("dictionary changed size during iteration"), or the plugin went
    into the old bot only: register_plugin returned its name, and the new bot lacked it."""
    v1, v2 = bots
    engine = kefu.Engine.from_path(v1, seed=0, load_entry_points=False)
    factory = SlowFactory()
    engine.register_plugin(factory, "slow")
    thread, out = in_thread(lambda: engine.reload(v2))
    assert factory.inside.wait(10)
    late = Hooks()
    registering, registered = in_thread(lambda: engine.register_plugin(late, "late"))
    factory.go_on.set()
    thread.join(10)
    registering.join(10)
    assert "error" not in out and registered["value"] == "late"
    assert engine.spec.settings.name == "V2" and engine.plugin("late") is late
    engine.reply("你好", "a")
    assert late.started == ["a"]


class Ends:
    """Records every ``session_ended``; holds a reply whose text is "慢一点"."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, str]] = []
        self.inside, self.go_on = threading.Event(), threading.Event()

    @kefu.hookimpl
    def session_ended(self, session: kefu.Session, reason: str) -> None:
        self.ended.append((session.id, reason))

    @kefu.hookimpl
    def message_received(self, message: kefu.Message) -> None:
        if message.text == "慢一点":
            self.inside.set()
            assert self.go_on.wait(10)


def test_a_conversation_evicted_while_its_reply_is_in_flight_ends_once(tmp_path: Path) -> None:
    """The reply's save put it back: it went on with its history and ended a second time."""
    engine = kefu.Engine.from_path(
        write(tmp_path / "bot", "V1", max_sessions=3), seed=0, load_entry_points=False
    )
    ends = Ends()
    engine.register_plugin(ends, "ends")
    engine.reply("你好", "x")
    thread, _ = in_thread(lambda: engine.reply("慢一点", "x"))
    assert ends.inside.wait(10)
    for other in ("a", "b", "c"):  # three more customers: x is the least recent
        engine.reply("你好", other)
    ends.go_on.set()
    thread.join(10)
    assert engine.session("x") is None
    engine.end_session("x")
    assert [e for e in ends.ended if e[0] == "x"] == [("x", "evicted")]


def test_reading_a_session_is_not_activity(tmp_path: Path) -> None:
    """engine.session("a") made "a" the most recent, so "b" was evicted in its place."""
    engine = kefu.Engine.from_path(
        write(tmp_path / "bot", "V1", max_sessions=3), seed=0, load_entry_points=False
    )
    ends = Ends()
    engine.register_plugin(ends, "ends")
    for sid in ("a", "b", "c"):
        engine.reply("你好", sid)
    assert engine.session("a") is not None
    engine.reply("你好", "d")
    assert ends.ended == [("a", "evicted")]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StartsAndEnds:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    @kefu.hookimpl
    def session_started(self, session: kefu.Session) -> None:
        self.events.append(("started", session.id))

    @kefu.hookimpl
    def session_ended(self, session: kefu.Session, reason: str) -> None:
        self.events.append((reason, session.id))


def test_an_idle_conversation_ends_before_a_new_one_starts_under_its_id(tmp_path: Path) -> None:
    """Between the engine's sweeps (at most one a second) the new conversation started
    first, and a plugin keeping state per session id then dropped the live one's."""
    clock = Clock()
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / "bot.yaml").write_text(
        BOT.format(name="V1", max_sessions=100).replace("sessions: {", "sessions: {idle_ttl: 10, "),
        encoding="utf-8",
    )
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False, clock=clock)
    hooks = StartsAndEnds()
    engine.register_plugin(hooks, "hooks")
    engine.reply("你好", "x")
    clock.now += 9.5
    engine.reply("你好", "y")  # the engine sweeps here: nothing is idle yet
    clock.now += 0.7  # x is idle past the TTL, and no sweep is due for another 0.3 s
    engine.reply("你好", "x")
    assert hooks.events == [("started", "x"), ("started", "y"), ("expired", "x"), ("started", "x")]


@pytest.mark.parametrize("ended", [False, True])
def test_an_agent_message_to_no_conversation_creates_none(bots: tuple[Path, Path], ended: bool) -> None:
    """It made a session that no session_started hook had seen (and, with the real clock,
    the customer's next message never fired session_started either)."""
    engine = kefu.Engine.from_path(bots[0], seed=0, load_entry_points=False)
    hooks = StartsAndEnds()
    engine.register_plugin(hooks, "hooks")
    if ended:
        engine.reply("你好", "gone")
        engine.end_session("gone")
    engine.record_agent_message("gone", "您好，我是小王", agent="小王")
    engine.release("gone")
    assert engine.session("gone") is None
    engine.reply("你好", "gone")
    assert hooks.events.count(("started", "gone")) == (2 if ended else 1)


class LinkedChats:
    """A session_ended hook that frees a partner conversation, both hooks at once."""

    def __init__(self, partner: dict[str, str], engine: kefu.Engine) -> None:
        self.partner, self.engine = partner, engine
        self.barrier = threading.Barrier(2, timeout=5)
        self.released: list[str] = []

    @kefu.hookimpl
    def session_ended(self, session: kefu.Session) -> None:
        me = threading.current_thread().name
        if me in self.partner:
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                return
            self.engine.release(self.partner[me])
            self.released.append(me)


def test_session_ended_hooks_may_touch_other_conversations(tmp_path: Path) -> None:
    """They ran while the saving thread held its conversation's lock: two such hooks, each
    touching the other's conversation, waited for each other forever."""
    engine = kefu.Engine.from_path(
        write(tmp_path / "bot", "V1", max_sessions=3), seed=0, load_entry_points=False
    )
    store = engine.store
    assert isinstance(store, kefu.MemoryStore)
    stripes = len(store._stripes)
    first = "x0"
    second = next(f"x{i}" for i in range(1, 100) if hash(f"x{i}") % stripes != hash(first) % stripes)
    hooks = LinkedChats({first: second, second: first}, engine)
    engine.register_plugin(hooks, "linked")
    for sid in ("a", "b", "c"):  # the store is full: each new conversation evicts one
        engine.reply("你好", sid)
    threads = [
        threading.Thread(target=engine.reply, args=("你好", sid), name=sid, daemon=True)
        for sid in hooks.partner
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(hooks.released) == sorted(hooks.partner)


def test_match_many_cleans_and_cuts_texts_as_match_does(bots: tuple[Path, Path]) -> None:
    engine = kefu.Engine.from_path(bots[0], seed=0, load_entry_points=False)
    texts = ["我要退款\ud800", "查订单" * 1000]
    assert [m.text for m in engine.match_many(texts)] == [engine.match(t).text for t in texts]
    assert [len(m.text) for m in engine.match_many(texts)] == [5, 500]


def test_history_stays_in_time_order_when_the_clock_steps_back(bots: tuple[Path, Path]) -> None:
    """The clock was read before the conversation's lock: two messages at once could be
    recorded out of time order, and last_active move back."""
    clock = Clock()
    engine = kefu.Engine.from_path(bots[0], seed=0, load_entry_points=False, clock=clock)
    engine.reply("你好", "s")
    clock.now -= 5  # what a message that read the clock first, and waited for the lock, did
    engine.reply("我要退款", "s")
    session = engine.session("s")
    assert session is not None
    times = [entry[0] for entry in session.history]
    assert times == sorted(times) and session.last_active == 1000.0
