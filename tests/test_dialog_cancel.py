"""Cancel words ("算了", "不用了") when the bot asked nothing: no fallback, no new question."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import kefu

NOTHING_TO_CANCEL = "好的，还有什么可以帮您？"

# threshold 0.9: 算了 matches nothing, and 不查了 is not asked about (threshold 0 in a test below).
SHOP_BOT = """
version: 1
bot: {name: 小店, threshold: 0.9}
intents:
  - name: order_status
    examples: [查订单, 我的订单到哪了]
    slots:
      order_id: {entity: order_id, required: true, prompt: 订单号是多少}
    responses: ["订单 {order_id} 在路上"]
  - name: hello
    examples: [你好, 在吗]
    responses: [您好]
entities:
  order_id: {builtin: order_id}
"""


def test_cancel_words_after_an_answer_are_no_fallbacks_and_no_handoff(demo_engine: kefu.Engine) -> None:
    # Each fell back, and the third handed the customer to a human (handoff_after_fallbacks: 3).
    said = ("有优惠券吗", "算了", "不用了", "算了吧")
    replies = [demo_engine.reply(text, session_id="nothing to cancel") for text in said]
    assert replies[0].intent == "coupons"
    assert [(r.intent, r.action, r.text, r.handoff) for r in replies[1:]] == [
        (None, "cancel", NOTHING_TO_CANCEL, False)
    ] * 3


def test_a_cancel_word_starts_no_slot_question(demo_engine: kefu.Engine) -> None:
    # 不查了 matched order_status (0.61), which asked for an order number.
    replies = [demo_engine.reply(text, session_id="不查了") for text in ("有优惠券吗", "不查了")]
    assert (replies[1].intent, replies[1].action, replies[1].text) == (None, "cancel", NOTHING_TO_CANCEL)
    session = demo_engine.session("不查了")
    assert session is not None and session.pending is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("没事了", "goodbye"),  # a cancel word the matcher answers at once: the goodbye stays
        ("不用了谢谢", "thanks"),  # and thanks stay thanks
    ],
)
def test_a_cancel_word_an_intent_answers_at_once_is_answered(
    demo_engine: kefu.Engine, text: str, intent: str
) -> None:
    reply = demo_engine.reply(text, session_id=f"answered {text}")
    assert (reply.intent, reply.action) == (intent, "respond")


def test_a_cancel_word_keeps_the_fallback_streak(write_bot: Callable[..., Path]) -> None:
    # Not counted, nor a reset: two fallbacks, 算了, then a third fallback hands off.
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": SHOP_BOT}))
    replies = [engine.reply(text, session_id="s") for text in ("啊啊啊", "哦哦哦", "算了", "嗯嗯嗯")]
    assert [r.action for r in replies] == ["fallback", "fallback", "cancel", "handoff"]


def test_the_reply_is_the_bots_own(write_bot: Callable[..., Path]) -> None:
    bot = SHOP_BOT.replace("threshold: 0.9", "threshold: 0, nothing_to_cancel_reply: 好嘞，有事再叫我")
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot}))
    # threshold 0: 不查了 is order_status, which asked for the order number
    said = [engine.reply(text, session_id="s").text for text in ("不查了", "你好")]
    assert said == ["好嘞，有事再叫我", "您好"]


def test_a_cancel_word_that_an_intent_s_own_rule_answers_is_that_intent(
    write_bot: Callable[..., Path],
) -> None:
    # With `patterns: ['^取消$']` the author said what 取消 means: it got nothing_to_cancel_reply.
    bot = SHOP_BOT.replace(
        "  - name: hello",
        "  - name: cancel_order\n    examples: [取消订单, 我要取消订单]\n    patterns: ['^取消$']\n"
        "    slots:\n      order_id: {entity: order_id, required: true, prompt: 取消哪个订单}\n"
        '    responses: ["订单 {order_id} 已取消"]\n  - name: hello',
    )
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot}))
    reply = engine.reply("取消", session_id="s")
    assert (reply.intent, reply.action, reply.text) == ("cancel_order", "prompt", "取消哪个订单")


@pytest.mark.parametrize("text", ["不用改地址了", "不用查物流了", "别催了", "那就先不需要帮我查订单了吧"])
def test_a_request_called_off_starts_no_slot_question(demo_engine: kefu.Engine, text: str) -> None:
    # Each matched an intent that asked for the order number the customer had just declined
    # to give (不用改地址了: change_address, 不用查物流了: order_status, 别催了: urge_shipment).
    replies = [demo_engine.reply(t, session_id=f"called off {text}") for t in ("有优惠券吗", text)]
    assert (replies[1].intent, replies[1].action, replies[1].text) == (None, "cancel", NOTHING_TO_CANCEL)
    session = demo_engine.session(f"called off {text}")
    assert session is not None and session.pending is None


@pytest.mark.parametrize(
    "text",
    [
        "不用查物流",  # no 了: it may begin a longer question
        "不用查了吗",  # a question, not a cancel
        "快递不见了",  # a bare 不 is no negated request: the parcel is lost
        "不想等了",  # impatience, not a request called off
    ],
)
def test_what_only_looks_like_a_request_called_off_is_matched(demo_engine: kefu.Engine, text: str) -> None:
    reply = demo_engine.reply(text, session_id=f"not called off {text}")
    assert reply.action != "cancel"
    assert reply.intent == demo_engine.match(text).intent


def test_a_request_called_off_cancels_the_question_the_bot_asked(write_bot: Callable[..., Path]) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": SHOP_BOT}))
    replies = [engine.reply(t, session_id="s") for t in ("查订单", "不用帮我查订单了，谢谢")]
    assert replies[0].action == "prompt"
    assert (replies[1].action, replies[1].text) == ("cancel", "好的，已取消。还有什么可以帮您？")
    session = engine.session("s")
    assert session is not None and session.pending is None


def test_a_bot_without_cancel_words_calls_nothing_off(write_bot: Callable[..., Path]) -> None:
    bot = SHOP_BOT.replace("threshold: 0.9}", "threshold: 0.9, cancel_words: []}")
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot}))
    replies = [engine.reply(t, session_id="s") for t in ("查订单", "不用改地址了")]
    assert replies[1].action != "cancel"
