"""Engines on a RedisStore: configured in code or in the bot file, two engines sharing
conversations, and session ends reaching the ``session_ended`` hook.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis
from redis_support import SLOT_BOT, Clock

import kefu
from kefu import RedisStore, Session


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
