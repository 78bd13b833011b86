"""What a plugin returns or leaves behind, when it is not what the hook contract asks for."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kefu
from kefu.sessions import ActiveContext

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
    # NaN made to_dict() write text that is no JSON; confidences live in [0, 1]
    pytest.param({"confidence": float("nan")}, id="nan-confidence"),
    pytest.param({"confidence": float("inf")}, id="inf-confidence"),
    pytest.param({"confidence": -0.5}, id="negative-confidence"),
    pytest.param({"candidates": (kefu.Candidate("refund", 1.5),)}, id="candidate-above-1"),
    pytest.param({"text": 120}, id="int-text"),  # was sent as "120"
    pytest.param({"handoff": "no"}, id="text-handoff"),
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


@pytest.mark.parametrize(
    "call",
    [
        lambda engine, sid: engine.reply("你好", session_id=sid),
        # areply ran reply in a pool thread that did not know it was inside a hook: it
        # waited for the lock the outer reply held, forever.
        lambda engine, sid: asyncio.run(engine.areply("你好", session_id=sid)),
    ],
    ids=["reply", "areply"],
)
def test_reply_from_inside_a_hook_is_an_error_not_a_hang(
    engine: kefu.Engine, call: Callable[[kefu.Engine, str], object]
) -> None:
    """The session lock is not re-entrant: the inner reply waited for the outer forever."""
    raised: list[BaseException] = []

    def nested(session: kefu.Session) -> None:
        try:
            call(engine, session.id)
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


# -- results of the wrong kind from message_received and response_built -----------------------


def _hook(hook: str, result: Callable[[], Any]) -> object:
    """A plugin object whose ``hook`` (message_received or response_built) returns ``result()``."""
    if hook == "message_received":
        impl: Any = lambda self, message: result()  # noqa: E731
    else:
        impl = lambda self, reply: result()  # noqa: E731
    return type("Plugin", (), {hook: kefu.hookimpl(impl)})()


WRONG_KINDS = [
    # each was ignored without a word: not logged, not counted, even with strict plugins
    pytest.param("message_received", lambda: {"text": "退款"}, "dict", id="received-dict"),
    pytest.param("message_received", lambda: 0, "int", id="received-int"),
    pytest.param(
        "message_received", lambda: kefu.Reply("好", None, 1.0, "respond"), "Reply", id="received-reply"
    ),
    pytest.param("response_built", lambda: "我们已收到", "str", id="built-str"),  # reply.text + "..."
    pytest.param("response_built", lambda: kefu.Block(reason="x"), "Block", id="built-block"),
]


@pytest.mark.parametrize(("hook", "result", "kind"), WRONG_KINDS)
def test_a_result_of_a_kind_the_hook_does_not_take_is_the_plugins_error(
    write_bot: Callable[..., Path], hook: str, result: Callable[[], Any], kind: str
) -> None:
    bot = write_bot(**{"bot.yaml": BOT})
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    engine.register_plugin(_hook(hook, result), name="odd")
    reply = engine.reply("什么时候发货", session_id="s")
    assert (reply.intent, reply.text) == ("shipping", "一般48小时内发货")
    assert engine.plugin_errors == {"odd": 1}
    strict = kefu.Engine.from_path(bot, seed=0, load_entry_points=False, strict_plugins=True)
    strict.register_plugin(_hook(hook, result), name="odd")
    with pytest.raises(kefu.PluginError, match=f"plugin 'odd': {hook} returned a {kind}, not a"):
        strict.reply("什么时候发货", session_id="s")


def test_an_async_hook_is_the_plugins_error_and_leaves_no_warning(
    engine: kefu.Engine, recwarn: pytest.WarningsRecorder
) -> None:
    # Its body never ran (a coroutine was returned and dropped): only Python's own
    # "coroutine was never awaited" RuntimeWarning said anything.
    ran = []

    class Async:
        @kefu.hookimpl
        async def message_received(self, message: kefu.Message) -> None:
            ran.append(message.text)

    engine.register_plugin(Async(), name="async")
    assert engine.reply("我要退款", session_id="s").intent == "refund"
    assert engine.plugin_errors == {"async": 1} and ran == []
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


WRONG_FIELDS = [
    # a rewrite to None erased what the customer typed (history '', the next turns fell back)
    pytest.param("message_received", lambda: kefu.Message(None, "s", 0.0), id="message-none"),  # type: ignore[arg-type]
    # "no" is truthy: the conversation was handed off
    pytest.param("message_received", lambda: kefu.Block(reason="x", handoff="no"), id="block-handoff-text"),  # type: ignore[arg-type]
    pytest.param("message_received", lambda: kefu.Block(reason=3), id="block-int-reason"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("hook", "result"), WRONG_FIELDS)
def test_a_message_or_block_with_fields_of_the_wrong_kind_is_ignored_and_counted(
    engine: kefu.Engine, hook: str, result: Callable[[], Any]
) -> None:
    engine.register_plugin(_hook(hook, result), name="odd")
    reply = engine.reply("什么时候发货", session_id="s")
    assert (reply.intent, reply.text, reply.handoff) == ("shipping", "一般48小时内发货", False)
    assert engine.plugin_errors == {"odd": 1}
    session = engine.session("s")
    assert session is not None and session.history[-1][1] == "什么时候发货" and not session.handoff


@pytest.mark.parametrize(
    "fields",
    [{"ambiguous": "no"}, {"confidence": float("nan")}, {"rule": 1}],
    ids=["text-ambiguous", "nan-confidence", "int-rule"],
)
def test_a_match_with_fields_of_the_wrong_kind_is_ignored_and_counted(
    engine: kefu.Engine, fields: dict[str, Any]
) -> None:
    # ambiguous="no" asked the customer to pick between two intents
    plugin = _plugin("intent_matched", lambda m: dataclasses.replace(m, **fields))
    engine.register_plugin(plugin, name="odd")
    reply = engine.reply("什么时候发货", session_id="s")
    assert (reply.action, reply.intent) == ("respond", "shipping")
    assert engine.plugin_errors == {"odd": 1}


def test_a_hook_editing_the_payload_it_is_handed_changes_no_other_reply(
    write_bot: Callable[..., Path],
) -> None:
    # The payload was the bot's own dict: one customer's name reached every later customer.
    bot = BOT.replace(
        "    responses: [好的，这就为您办理退款]",
        "    responses: [好的，这就为您办理退款]\n    payload: {buttons: [退款进度]}",
    )
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot}), seed=0, load_entry_points=False)

    class Personal:
        @kefu.hookimpl
        def response_built(self, reply: kefu.Reply, session: kefu.Session) -> None:
            if reply.payload is not None:
                reply.payload["buttons"].append(f"{session.id}专属")

    engine.register_plugin(Personal(), name="personal")
    assert engine.reply("我要退款", session_id="alice").payload == {"buttons": ["退款进度", "alice专属"]}
    assert engine.reply("我要退款", session_id="bob").payload == {"buttons": ["退款进度", "bob专属"]}
    assert engine.spec.intent("refund").payload == {"buttons": ["退款进度"]}


def test_a_fallback_reply_that_hands_off_hands_the_session_off(engine: kefu.Engine) -> None:
    # The caller was told handoff=True, but the bot answered the next message itself.
    asked = []

    class Vip:
        @kefu.hookimpl
        def fallback(self) -> kefu.Reply:
            return kefu.Reply("为您转接专席", None, 0.0, "handoff", handoff=True, handoff_reason="vip")

        @kefu.hookimpl
        def handoff_requested(self, reason: str) -> None:
            asked.append(reason)

    engine.register_plugin(Vip(), name="vip")
    reply = engine.reply(OUT_OF_SCOPE, session_id="s")
    assert (reply.text, reply.handoff, reply.handoff_reason) == ("为您转接专席", True, "vip")
    session = engine.session("s")
    assert session is not None and session.handoff and asked == ["vip"]
    assert engine.reply("我要退款", session_id="s").text != "好的，这就为您办理退款"


def test_an_exception_whose_message_cannot_be_read_is_still_the_plugins_error(engine: kefu.Engine) -> None:
    # str() of it raised again, out of reply(): the customer's message was lost.
    class Unreadable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no message")

    def fail(session: kefu.Session) -> None:
        raise Unreadable

    engine.register_plugin(_plugin("session_started", fail), name="odd")
    assert engine.reply("我要退款", session_id="s").intent == "refund"
    assert engine.plugin_errors == {"odd": 1}


SESSION_DAMAGE = [
    # reply() raised AttributeError ('str' object has no attribute 'intent'): the message was lost
    pytest.param(
        "message_received", lambda s: setattr(s, "pending", "order_id"), "session.pending a str", id="pending"
    ),
    pytest.param(
        "message_received", lambda s: setattr(s, "handoff", "no"), "session.handoff a str", id="handoff"
    ),
    # risk control's response_built met it later and was blamed for it
    pytest.param(
        "response_built",
        lambda s: s.contexts.__setitem__("vip", "gold"),
        "session.contexts['vip'] a str",
        id="context",
    ),
    pytest.param(
        "response_built",
        lambda s: s.slots.__setitem__("order_id", 5),
        "session.slots['order_id'] a int",
        id="slot",
    ),
]


@pytest.mark.parametrize(("hook", "damage", "said"), SESSION_DAMAGE)
def test_a_hook_that_leaves_the_sessions_own_fields_of_the_wrong_kind_is_named_and_undone(
    engine: kefu.Engine, caplog: pytest.LogCaptureFixture, hook: str, damage: Callable[[Any], None], said: str
) -> None:
    class Careless:
        @kefu.hookimpl
        def message_received(self, session: kefu.Session) -> None:
            if hook == "message_received":
                damage(session)

        @kefu.hookimpl
        def response_built(self, session: kefu.Session) -> None:
            if hook == "response_built":
                damage(session)

    engine.register_plugin(Careless(), name="careless")
    for turn in (1, 2):
        reply = engine.reply("什么时候发货", session_id="s")
        assert (reply.intent, reply.text) == ("shipping", "一般48小时内发货")
        session = engine.session("s")
        assert session is not None and session.turns == turn
        assert session.pending is None and session.handoff is False
        assert "vip" not in session.contexts and "order_id" not in session.slots
    assert engine.plugin_errors == {"careless": 2}
    assert f"plugin 'careless': {hook} left {said}" in caplog.text


def test_what_a_plugin_left_under_kefus_clarify_key_is_no_choice(engine: kefu.Engine) -> None:
    # After it, every message of the conversation raised TypeError.
    class Meddler:
        @kefu.hookimpl
        def response_built(self, session: kefu.Session) -> None:
            session.data["kefu.clarify"] = 5

    engine.register_plugin(Meddler(), name="meddler")
    for _ in range(2):
        assert engine.reply("什么时候发货", session_id="s").intent == "shipping"


SLOT_BOT = (
    BOT.replace(
        "responses: [好的，这就为您办理退款]",
        "slots: {order_id: {entity: order_id, required: true, prompt: 请提供订单号}}\n"
        "    responses: ['好的，订单{order_id}这就为您办理退款']",
    )
    + "entities: {order_id: {builtin: order_id}}\n"
)


@pytest.mark.parametrize(
    ("left", "resumed"),
    [
        (["refund", "order_id", 2], True),  # what kefu itself leaves: the control
        (5, False),
        (["refund", "order_id", "2"], False),
        (["gone", "order_id", 2], False),
        (["refund", "gone", 2], False),
        (["refund", "order_id", 0], False),
        ([], False),
    ],
)
def test_what_a_plugin_left_under_kefus_interrupted_key_resumes_nothing(
    write_bot: Callable[..., Path], left: object, resumed: bool
) -> None:
    """kefu keeps a slot question a side question interrupted under "kefu.interrupted", and
    a bare order number after the side answer resumes it. Anything else a plugin leaves
    there resumes nothing (once it made every message of the conversation raise): the
    number is matched as any message is."""
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": SLOT_BOT}), seed=0, load_entry_points=False)
    planted: list[object] = []

    class Meddler:
        @kefu.hookimpl
        def response_built(self, session: kefu.Session) -> None:
            if not planted:  # after the first reply only
                planted.append(left)
                session.data["kefu.interrupted"] = left

    engine.register_plugin(Meddler(), name="meddler")
    assert engine.reply("什么时候发货", session_id="s").intent == "shipping"
    reply = engine.reply("2024112712345678", session_id="s")
    assert engine.plugin_errors == {}
    if resumed:
        assert reply.intent == "refund" and reply.text == "好的，订单2024112712345678这就为您办理退款"
    else:
        assert reply.intent != "refund" and "订单2024112712345678" not in reply.text


# -- what plugins plainly mean is taken as meant ----------------------------------------------


def test_a_confidence_a_rounding_error_above_1_is_a_confidence(engine: kefu.Engine) -> None:
    # A cosine of a vector with itself is 1.0000000000000002: exact matches were refused.
    engine.register_plugin(
        _plugin("intent_matched", lambda m: kefu.Match(m.text, "refund", 1.0000000000000002)), name="cos"
    )
    assert engine.reply("什么时候发货", session_id="s").intent == "refund"
    assert engine.plugin_errors == {}


def test_numpy_bools_are_bools(engine: kefu.Engine) -> None:
    # Block(handoff=score > 0.9) of a NumPy score was ignored: "handoff is a bool, not a bool".
    import numpy as np

    score = np.float64(0.95)
    engine.register_plugin(
        _hook("message_received", lambda: kefu.Block(reason="vip", handoff=score > 0.9)), name="np"
    )
    reply = engine.reply("我要退款", session_id="s")
    assert reply.handoff is True and engine.plugin_errors == {}


def test_a_numpy_float32_confidence_says_how_to_fix_it(
    write_bot: Callable[..., Path],
) -> None:
    import numpy as np

    engine = kefu.Engine.from_path(
        write_bot(**{"bot.yaml": BOT}), seed=0, load_entry_points=False, strict_plugins=True
    )
    engine.register_plugin(
        _plugin("intent_matched", lambda m: kefu.Match(m.text, "refund", np.float32(0.99))), name="f32"
    )
    with pytest.raises(
        kefu.PluginError, match=r"float32 \(0\.99\), not a Python float: convert it with float\(\)"
    ):
        engine.reply("我要退款", session_id="s")


def test_subclasses_of_kefus_session_values_are_kept(engine: kefu.Engine) -> None:
    class Context(ActiveContext):
        pass

    class Opener:
        @kefu.hookimpl
        def response_built(self, session: kefu.Session) -> None:
            session.contexts["vip"] = Context("vip", 3)

    engine.register_plugin(Opener(), name="opener")
    engine.reply("我要退款", session_id="s")
    session = engine.session("s")
    assert session is not None and "vip" in session.contexts and engine.plugin_errors == {}


def test_a_slot_set_to_none_is_cleared_and_the_hooks_result_stands_when_it_damages_the_session(
    engine: kefu.Engine,
) -> None:
    class Clearer:
        @kefu.hookimpl
        def message_received(self, session: kefu.Session) -> kefu.Block:
            session.slots["order_id"] = None  # type: ignore[assignment]
            session.contexts["vip"] = ActiveContext("vip", 3, params={"level": 2})  # type: ignore[dict-item]
            return kefu.Block(reason="busy", reply="稍等")

    engine.register_plugin(Clearer(), name="clearer")
    reply = engine.reply("我要退款", session_id="s")
    assert (reply.action, reply.text) == ("blocked", "稍等")  # was dropped with the damage
    session = engine.session("s")
    assert session is not None and "order_id" not in session.slots
    assert session.contexts["vip"].params == {"level": "2"}  # a Redis store reads it back
    assert engine.plugin_errors == {"clearer": 1}  # the params, not the cleared slot


def test_everything_a_hook_damaged_is_put_right_at_once(write_bot: Callable[..., Path]) -> None:
    # Only the first problem was undone: the next plugin was blamed for the second, or it
    # was saved (a slot of None, a second bad slot), and a Redis store could not read it back.
    engine = kefu.Engine.from_path(
        write_bot(**{"bot.yaml": BOT}), builtin_plugins=(), load_entry_points=False
    )

    class Careless:
        @kefu.hookimpl
        def response_built(self, session: kefu.Session) -> None:
            session.slots.update({"a": 5, "b": 6, "c": None})  # type: ignore[dict-item]
            session.contexts["x"] = "gold"  # type: ignore[assignment]

    engine.register_plugin(Careless(), name="careless")
    engine.reply("我要退款", session_id="s")
    session = engine.session("s")
    assert session is not None and session.slots == {} and session.contexts == {}
    assert engine.plugin_errors == {"careless": 1}
    assert kefu.Session.from_json(session.to_json()).slots == {}


def test_a_numpy_array_in_session_handoff_is_put_back_not_a_crash(engine: kefu.Engine) -> None:
    import numpy as np

    class Odd:
        @kefu.hookimpl
        def message_received(self, session: kefu.Session) -> None:
            session.handoff = np.array([True, False])  # type: ignore[assignment]

    engine.register_plugin(Odd(), name="odd")
    assert engine.reply("我要退款", session_id="s").intent == "refund"  # raised ValueError
    session = engine.session("s")
    assert session is not None and session.handoff is False and engine.plugin_errors == {"odd": 1}


def test_a_numpy_bool_in_a_replys_handoff_is_a_bool(engine: kefu.Engine) -> None:
    import numpy as np

    vip = kefu.Reply("为您转接", None, 1.0, "handoff", handoff=np.bool_(True), handoff_reason="vip")  # type: ignore[arg-type]
    engine.register_plugin(_plugin("intent_matched", lambda m: vip), name="vip")
    reply = engine.reply("我要退款", session_id="s")
    assert reply.handoff is True and engine.plugin_errors == {}
