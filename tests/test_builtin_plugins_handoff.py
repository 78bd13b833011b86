"""Hand-offs by the built-in plugins, as the customer and the agents on call meet them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import kefu

BOT = """
version: 1
bot: {name: 测试, threshold: 0.3, handoff_reply: 正在为您转接人工客服}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
"""


class Pager:
    """Records every ``handoff_requested`` call: each one pages the agents on call."""

    def __init__(self) -> None:
        self.pages: list[tuple[str, str]] = []

    @kefu.hookimpl
    def handoff_requested(self, session: kefu.Session, reason: str) -> None:
        """Page the agents."""
        self.pages.append((session.id, reason))


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        # A second 投诉 re-announced the transfer and paged the agents again.
        ("handoff_keywords: {keywords: [投诉]}", "keyword:投诉"),
        # The same for risk control handing off on a listed word.
        (
            "risk_control: {words: [垃圾客服], verdict: handoff, reply: 正在为您转接人工客服}",
            "sensitive:垃圾客服",
        ),
    ],
)
def test_a_conversation_already_with_a_human_is_not_handed_off_again(
    write_bot: Callable[..., Path], settings: str, reason: str
) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT + f"plugins:\n  {settings}\n"}), seed=0)
    pager = Pager()
    engine.register_plugin(pager, name="pager")
    first = engine.reply("我要投诉你们这个垃圾客服", session_id="s")
    assert (first.action, first.text, first.handoff_reason) == ("handoff", "正在为您转接人工客服", reason)
    # The human has the conversation: the bot stays silent, as for any other message.
    again = engine.reply("我要投诉，垃圾客服", session_id="s")
    assert (again.action, again.text) == ("handed_off", "")
    assert pager.pages == [("s", reason)]
    session = engine.session("s")
    assert session is not None and session.handoff_reason == reason
    # Released back to the bot, the word hands off again.
    engine.release("s")
    assert engine.reply("还是要投诉垃圾客服", session_id="s").action == "handoff"
    assert pager.pages == [("s", reason), ("s", reason)]


@pytest.mark.parametrize(
    ("keywords", "message", "reason"),
    [
        # A keyword written with a space between Chinese words missed the usual spelling.
        ("[转 人工]", "转人工", "keyword:转人工"),
        # A space or punctuation inside a Chinese keyword hid it.
        ("[投诉]", "我要投 诉", "keyword:投诉"),
        ("[投诉]", "投，诉你们", "keyword:投诉"),
        ("[vip客服]", "我是VIP 客服", "keyword:vip客服"),
    ],
)
def test_spaces_inside_chinese_text_do_not_hide_a_keyword(
    write_bot: Callable[..., Path], keywords: str, message: str, reason: str
) -> None:
    settings = f"plugins:\n  handoff_keywords: {{keywords: {keywords}}}\n"
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT + settings}), seed=0)
    reply = engine.reply(message, session_id="kw")
    assert (reply.action, reply.text, reply.handoff_reason) == ("handoff", "正在为您转接人工客服", reason)


def test_a_keyword_past_the_500th_character_hands_off_when_the_bot_reads_that_far(
    write_bot: Callable[..., Path],
) -> None:
    bot = BOT.replace("threshold: 0.3,", "threshold: 0.3, max_input_length: 2000,")
    settings = "plugins:\n  handoff_keywords: {keywords: [投诉]}\n"
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot + settings}), seed=0)
    # The plugin read only the first 500 characters, the bot all 2000: no hand-off.
    reply = engine.reply("好" * 600 + "我要投诉", session_id="long")
    assert (reply.action, reply.handoff_reason) == ("handoff", "keyword:投诉")
