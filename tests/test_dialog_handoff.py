"""Handing a conversation to a human from the bot file: what the customer's app receives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import kefu

HANDOFF_BOT = """
version: 1
intents:
  - name: human
    examples: [转人工, 人工客服]
    action: handoff
    responses: [正在为您转接]
    payload: {queue: vip, buttons: [{title: 取消转接, value: 取消}]}
  - name: hello
    examples: [你好, 在吗]
    responses: [您好]
"""


def test_a_handoff_intent_passes_its_payload_through(write_bot: Callable[..., Path]) -> None:
    # The payload of an intent with `action: handoff` was dropped: the app never learned
    # which queue to hand the customer to.
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": HANDOFF_BOT}))
    reply = engine.reply("转人工", session_id="s")
    assert (reply.text, reply.action, reply.handoff) == ("正在为您转接", "handoff", True)
    assert reply.payload == {"queue": "vip", "buttons": [{"title": "取消转接", "value": "取消"}]}
