"""Answering the bot's "您是想问：1. … 2. …" question the way customers do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import kefu

# A wide ambiguity margin, so that 退款 alone is always a clarify question.
CLARIFY_BOT = """
version: 1
bot: {name: 小店, threshold: 0.2, ambiguity_margin: 0.5}
intents:
  - name: refund
    title: 申请退款
    examples: [我要退款, 怎么退款]
    responses: [退款申请已提交]
  - name: refund_progress
    title: 退款进度
    examples: [退款进度, 退款到哪了]
    responses: [退款3-5天到账]
  - name: hello
    examples: [你好, 在吗]
    responses: [您好]
"""


@pytest.fixture
def engine(write_bot: Callable[..., Path]) -> kefu.Engine:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": CLARIFY_BOT}))
    assert engine.reply("退款", session_id="s").text == "您是想问：\n1. 申请退款\n2. 退款进度"
    return engine


@pytest.mark.parametrize(
    ("answer", "reply"),
    [
        ("申请退款", "退款申请已提交"),  # the first option's title, as the bot wrote it: it asked again
        ("申请退款。", "退款申请已提交"),  # the title with a full stop
        ("第二个", "退款3-5天到账"),  # an ordinal in words: it fell back
        ("第2个", "退款3-5天到账"),  # an ordinal with a digit
        ("二", "退款3-5天到账"),  # a Chinese numeral alone
        ("两", "退款3-5天到账"),  # the other word for two
        ("选1", "退款申请已提交"),  # "pick 1"
        ("第一个吧", "退款申请已提交"),  # with a particle
        # each of these fell back
        ("我选2", "退款3-5天到账"),
        ("选项2", "退款3-5天到账"),
        ("嗯，2", "退款3-5天到账"),
        ("那第二个吧", "退款3-5天到账"),
        # each of these was answered as thanks
        ("第2个谢谢", "退款3-5天到账"),
        ("2，谢谢", "退款3-5天到账"),
        ("第一个吧，谢谢你", "退款申请已提交"),
    ],
)
def test_a_clarify_question_is_answered_by_title_or_by_ordinal(
    engine: kefu.Engine, answer: str, reply: str
) -> None:
    assert engine.reply(answer, session_id="s").text == reply


def test_slot_values_of_the_clarified_message_are_kept_once_an_option_is_picked(
    write_bot: Callable[..., Path],
) -> None:
    # "我要退 50元" was clarified, then "1" asked "退多少钱" although the customer had said.
    bot = CLARIFY_BOT.replace(
        "    responses: [退款申请已提交]",
        "    slots:\n      amount: {entity: amount, required: true, prompt: 退多少钱}\n"
        "    responses: ['退款{amount}元申请已提交']",
    )
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot}))
    assert engine.reply("退款 50元", session_id="s").action == "clarify"
    assert engine.reply("1", session_id="s").text == "退款50元申请已提交"


@pytest.mark.parametrize("answer", ["要两个", "要2个", "那两个吧", "就一个", "那就一个吧"])
def test_a_quantity_picks_no_option(engine: kefu.Engine, answer: str) -> None:
    # "要两个" is how many, not option 2: it picked the second option.
    reply = engine.reply(answer, session_id="s")
    assert reply.text not in ("退款申请已提交", "退款3-5天到账") and reply.intent is None


@pytest.mark.parametrize("answer", ["算了", "不用了", "那算了吧", "算了，谢谢"])
def test_a_cancel_word_drops_the_clarify_question(engine: kefu.Engine, answer: str) -> None:
    # It fell back ("抱歉，我没太明白"), and a "2" after it still picked the second option.
    reply = engine.reply(answer, session_id="s")
    assert (reply.intent, reply.action, reply.text) == (None, "cancel", "好的，已取消。还有什么可以帮您？")
    assert engine.reply("2", session_id="s").text != "退款3-5天到账"


def test_a_cancel_word_at_a_clarify_question_brings_no_handoff_closer(write_bot: Callable[..., Path]) -> None:
    # Two fallbacks, a clarify question, then 算了: the third fallback handed the customer to a human.
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": CLARIFY_BOT}))
    replies = [engine.reply(text, session_id="s") for text in ("啊啊啊", "哦哦哦", "退款", "算了")]
    assert [r.action for r in replies] == ["fallback", "fallback", "clarify", "cancel"]
    assert not replies[-1].handoff


def test_a_cancel_word_that_asks_for_an_option_is_that_option_read_afresh(
    write_bot: Callable[..., Path],
) -> None:
    # "订单" offered "1. 我要取消订单 2. 修改订单": "取消" answered "好的，已取消", and a customer
    # who wanted to cancel the order believed it done, without the instructions.
    bot = """
version: 1
bot: {name: 小店, threshold: 0.2, ambiguity_margin: 0.5}
intents:
  - name: cancel_order
    title: 我要取消订单
    examples: [取消订单, 我要取消订单, 订单不要了帮我取消, 取消]
    responses: [在「我的订单」里点「取消订单」即可]
  - name: change_order
    title: 修改订单
    examples: [修改订单, 订单能改吗, 改一下订单]
    responses: [未发货的订单可以修改]
"""
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot}))
    assert engine.reply("订单", session_id="s").action == "clarify"
    reply = engine.reply("取消", session_id="s")
    assert (reply.intent, reply.text) == ("cancel_order", "在「我的订单」里点「取消订单」即可")
