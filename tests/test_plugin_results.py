"""What a plugin returns or leaves behind, when it is not what the hook contract asks for."""

from __future__ import annotations

import dataclasses
import datetime
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kefu

BOT = """
version: 1
bot: {name: 测试, threshold: 0.3, fallback: [抱歉没听懂]}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
  - name: shipping
    examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到, 发货时间]
    responses: [一般48小时内发货]
"""
OUT_OF_SCOPE = "量子力学的基本原理"


@pytest.fixture
def engine(write_bot: Callable[..., Path]) -> kefu.Engine:
    return kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), seed=0, load_entry_points=False)


def _plugin(hook: str, body: Callable[..., Any], *, fail_closed: bool = False) -> object:
    """A plugin object whose ``hook`` takes the hook's ``match`` argument (where it has one)."""
    namespace: dict[str, Any] = {"fail_closed": fail_closed}
    if hook in {"intent_matched", "fallback"}:
        namespace[hook] = kefu.hookimpl(lambda self, match: body(match))
    else:
        namespace[hook] = kefu.hookimpl(lambda self, session: body(session))
    return type("Plugin", (), namespace)()


@pytest.mark.parametrize(
    "candidates",
    [(("refund", 0.9),), None, ("refund",), (kefu.Candidate("refund", "high"),)],  # type: ignore[arg-type]
    ids=["tuples", "none", "names", "text-confidence"],
)
def test_a_match_of_the_wrong_shape_is_ignored_and_counted_not_a_crash(
    engine: kefu.Engine, candidates: Any
) -> None:
    """A Match checks no types: a tuple for a Candidate raised AttributeError out of reply."""
    plugin = _plugin("intent_matched", lambda m: kefu.Match(m.text, "refund", 0.9, candidates=candidates))
    engine.register_plugin(plugin, name="shape")
    reply = engine.reply("什么时候发货", session_id="s")
    assert (reply.intent, reply.text) == ("shipping", "一般48小时内发货")
    assert engine.plugin_errors == {"shape": 1}


def test_a_failing_fail_closed_plugin_withholds_the_answer_and_shows_no_error(engine: kefu.Engine) -> None:
    """Its HookFailure went through str() to the customer ("... password=hunter2") from
    fallback, and was ignored in intent_matched (answered as if the guard had passed)."""

    def boom(match: kefu.Match) -> None:
        raise RuntimeError("db password=hunter2")

    engine.register_plugin(_plugin("fallback", boom, fail_closed=True), name="guard")
    engine.register_plugin(_plugin("intent_matched", boom, fail_closed=True), name="gate")
    for text in (OUT_OF_SCOPE, "我要退款"):
        reply = engine.reply(text, session_id="s")
        assert (reply.action, reply.text) == ("blocked", "")


@pytest.mark.parametrize("answer", [kefu.Block(reason="oos", reply="请换个说法"), {"a": 1}, 42])
def test_a_fallback_answer_that_is_not_text_is_not_shown_as_python(
    engine: kefu.Engine, answer: object
) -> None:
    engine.register_plugin(_plugin("fallback", lambda m: answer), name="odd")
    reply = engine.reply(OUT_OF_SCOPE, session_id="s")
    assert (reply.action, reply.text) == ("fallback", "抱歉没听懂")
    assert engine.plugin_errors == {"odd": 1}


BAD_REPLY_FIELDS = [
    pytest.param({"slots": {"points": 120}}, id="int-slot"),  # risk control's masking raised
    pytest.param({"slots": None}, id="no-slots"),
    pytest.param({"trace": None}, id="no-trace"),  # TypeError out of reply()
    pytest.param({"trace": "note"}, id="str-trace"),  # would have been ('n', 'o', 't', 'e')
    pytest.param({"confidence": "high"}, id="text-confidence"),  # to_dict() raised
    pytest.param({"candidates": [1, 2]}, id="int-candidates"),
    pytest.param({"candidates": (kefu.Candidate("refund", "high"),)}, id="text-candidate-confidence"),  # type: ignore[arg-type]
    pytest.param({"payload": "x"}, id="text-payload"),
]


@pytest.mark.parametrize("fields", BAD_REPLY_FIELDS)
def test_a_reply_with_fields_of_the_wrong_kind_is_ignored_and_counted(
    engine: kefu.Engine, fields: dict[str, Any]
) -> None:
    """A dataclass checks no types: such a Reply broke the reply further on (the message
    was lost) or was blamed on risk control, which then withheld the answer."""
    odd = dataclasses.replace(kefu.Reply("积分120", "refund", 1.0, "respond"), **fields)
    engine.register_plugin(_plugin("intent_matched", lambda m: odd), name="odd")
    reply = engine.reply("什么时候发货", session_id="s")
    assert (reply.intent, reply.text) == ("shipping", "一般48小时内发货")
    assert engine.plugin_errors == {"odd": 1}
    assert reply.to_dict()["slots"] == {}


@pytest.mark.parametrize("fail_closed", [False, True])
@pytest.mark.parametrize("fields", BAD_REPLY_FIELDS[:3])
def test_a_response_built_reply_with_fields_of_the_wrong_kind(
    engine: kefu.Engine, fields: dict[str, Any], fail_closed: bool
) -> None:
    """Ignored like a hook that raised: the bot's own reply goes out, or none at all when
    the plugin is fail-closed (it may have been about to mask something)."""

    class Rewriter:
        @kefu.hookimpl
        def response_built(self, reply: kefu.Reply) -> kefu.Reply:
            return dataclasses.replace(reply, **fields)

    Rewriter.fail_closed = fail_closed  # type: ignore[attr-defined]
    engine.register_plugin(Rewriter(), name="rewriter")
    reply = engine.reply("什么时候发货", session_id="s")
    expected = ("blocked", "") if fail_closed else ("respond", "一般48小时内发货")
    assert (reply.action, reply.text) == expected
    assert engine.plugin_errors == {"rewriter": 1}
    session = engine.session("s")
    assert session is not None and session.turns == 1  # the message was not lost


def test_a_handoff_reply_from_intent_matched_hands_the_session_off(engine: kefu.Engine) -> None:
    """The reply said handoff=True but the session stayed with the bot, which went on
    answering beside the human agent."""
    vip = kefu.Reply("为您转接VIP专席", None, 1.0, "handoff", handoff=True, handoff_reason="vip")
    engine.register_plugin(_plugin("intent_matched", lambda m: vip if "VIP" in m.text else None), name="vip")
    assert engine.reply("我是VIP客户", session_id="s").text == "为您转接VIP专席"
    session = engine.session("s")
    assert session is not None and (session.handoff, session.handoff_reason) == (True, "vip")
    assert engine.reply("我要退款", session_id="s").action == "handed_off"


def test_an_unstorable_value_left_in_session_data_is_dropped_and_the_turn_kept(engine: kefu.Engine) -> None:
    """Every later reply of the conversation raised StoreError and no turn was saved."""

    def remember(session: kefu.Session) -> None:
        session.data["crm.last_seen"] = datetime.datetime(2024, 1, 1)
        session.data["crm.visits"] = session.data.get("crm.visits", 0) + 1

    engine.register_plugin(_plugin("message_received", remember), name="crm")
    for _ in range(3):
        assert engine.reply("我要退款", session_id="s").intent == "refund"
    session = engine.session("s")
    assert session is not None and session.turns == 3
    assert session.data == {"crm.visits": 3}


def test_reply_from_inside_a_hook_is_an_error_not_a_hang(engine: kefu.Engine) -> None:
    """The session lock is not re-entrant: the inner reply waited for the outer forever."""
    raised: list[BaseException] = []

    def nested(session: kefu.Session) -> None:
        try:
            engine.reply("你好", session_id=session.id)
        except kefu.KefuError as exc:
            raised.append(exc)

    engine.register_plugin(_plugin("message_received", nested), name="nested")
    worker = threading.Thread(target=engine.reply, args=("我要退款", "s"), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(raised) == 1 and "inside a plugin hook" in str(raised[0])
    session = engine.session("s")
    assert session is not None and session.turns == 1


def test_a_conversation_ended_during_its_reply_stays_ended(engine: kefu.Engine) -> None:
    """delete took no conversation lock: the reply in flight saved the session again, with
    its history and slots, after session_ended had reported it deleted."""
    started = threading.Event()

    def slow(session: kefu.Session) -> None:
        if session.turns == 1:
            started.set()
            threading.Event().wait(0.3)

    engine.register_plugin(_plugin("message_received", slow), name="slow")
    engine.reply("我要退款", session_id="s")
    worker = threading.Thread(target=engine.reply, args=("什么时候发货", "s"))
    worker.start()
    assert started.wait(5)
    engine.end_session("s")  # waits for the reply in flight, then forgets the conversation
    worker.join(5)
    assert engine.session("s") is None


def test_a_hook_may_end_its_own_conversation(engine: kefu.Engine) -> None:
    engine.register_plugin(_plugin("message_received", lambda s: engine.end_session(s.id)), name="bye")
    worker = threading.Thread(target=engine.reply, args=("我要退款", "s"), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()


def test_a_conversation_a_hook_ends_during_its_reply_ends_after_that_reply(engine: kefu.Engine) -> None:
    """The reply's save undid the end: a first conversation was never reported ended, a
    later one was reported "deleted" and then went on with its history."""
    ended: list[tuple[str, str, int]] = []

    class Goodbye:
        @kefu.hookimpl
        def response_built(self, reply: kefu.Reply, session: kefu.Session) -> None:
            if reply.intent == "refund":
                engine.end_session(session.id)

        @kefu.hookimpl
        def session_ended(self, session: kefu.Session, reason: str) -> None:
            ended.append((session.id, reason, session.turns))

    engine.register_plugin(Goodbye())
    assert engine.reply("我要退款", session_id="first").text == "好的，这就为您办理退款"
    assert engine.session("first") is None
    assert engine.reply("什么时候发货", session_id="later").text == "一般48小时内发货"
    assert engine.reply("我要退款", session_id="later").text == "好的，这就为您办理退款"
    assert engine.session("later") is None
    assert ended == [("first", "deleted", 1), ("later", "deleted", 2)]  # the final state, once
    engine.reply("什么时候发货", session_id="later")  # starts afresh
    later = engine.session("later")
    assert later is not None and later.turns == 1


def test_an_agent_message_or_release_from_a_hook_of_the_reply_is_kept(write_bot: Callable[..., Path]) -> None:
    """Both were saved under the reply and then overwritten by the reply's own save: the
    agent's message was missing from the transcript, the release was undone."""
    human = "  - name: human\n    examples: [转人工, 人工客服, 找客服]\n    action: handoff\n"
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT + human}), seed=0, load_entry_points=False)

    class Desk:
        @kefu.hookimpl
        def response_built(self, reply: kefu.Reply, session: kefu.Session) -> None:
            if reply.intent == "refund":
                engine.record_agent_message(session.id, "您好，退款由我来处理", agent="小王")
            if reply.action == "handed_off":  # no agent picked it up: back to the bot
                engine.release(session.id)

    engine.register_plugin(Desk())
    engine.reply("我要退款", session_id="s")
    session = engine.session("s")
    assert session is not None
    assert [(user, bot, label) for _, user, bot, label in session.history] == [
        ("我要退款", "好的，这就为您办理退款", "refund"),
        ("", "您好，退款由我来处理", "agent:小王"),  # after the exchange that led to it
    ]
    assert engine.reply("转人工", session_id="s").action == "handoff"
    assert engine.reply("什么时候发货", session_id="s").action == "handed_off"
    session = engine.session("s")
    assert session is not None and not session.handoff
    assert engine.reply("什么时候发货", session_id="s").text == "一般48小时内发货"
