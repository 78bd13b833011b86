"""Hand-off triggers: words that send a conversation straight to a human.

Settings (bot file)::

    plugins:
      handoff_keywords:
        keywords: [投诉, 12315, 律师]       # matched in the normalized message
        reply: 已为您转接人工客服，请稍候    # optional; defaults to bot.handoff_reply
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kefu


class HandoffKeywords:
    """Blocks a message that contains a trigger word and hands the session off."""

    def __init__(self, keywords: list[str], reply: str | None) -> None:
        self.keywords = [n for n in map(kefu.normalize, keywords) if n]
        self.reply = reply

    @kefu.hookimpl
    def message_received(self, message: kefu.Message, engine: kefu.Engine) -> kefu.Block | None:
        """Stop the message and hand off when it contains a trigger word."""
        if not self.keywords:
            return None
        text = kefu.normalize(message.text)
        for word in self.keywords:
            if word in text:
                reply = self.reply or engine.spec.settings.handoff_reply
                return kefu.Block(reason=f"keyword:{word}", reply=reply, handoff=True)
        return None


def make_plugin(settings: Mapping[str, Any]) -> HandoffKeywords:
    """Build this engine's instance from the bot file's settings."""
    keywords = settings.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ValueError("handoff_keywords.keywords must be a list of text")
    reply = settings.get("reply")
    return HandoffKeywords(keywords, reply if isinstance(reply, str) else None)
