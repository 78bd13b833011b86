"""Hand-off triggers: words that send a conversation straight to a human.

Settings (bot file)::

    plugins:
      handoff_keywords:
        keywords: [投诉, 12315, 律师]       # matched in the normalized message
        reply: 已为您转接人工客服，请稍候    # optional; defaults to bot.handoff_reply

``SETTINGS`` declares these keys; ``kefu validate`` checks a bot file against it. A
keyword with no letter or digit (an emoji, punctuation) is an error: normalizing the
message removes such characters, so it could never match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kefu
from kefu.checks import Check, FileChecker, dotted
from kefu.sections import checked_plugin_settings
from kefu.yamlsource import PathKey

__all__ = ["SETTINGS", "HandoffKeywords", "make_plugin"]


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
    """Build this engine's instance from the bot file's settings (``ValueError`` if they are wrong)."""
    checked = checked_plugin_settings("handoff_keywords", settings, SETTINGS)
    return HandoffKeywords(list(checked.get("keywords", ())), checked.get("reply"))


def _keywords(c: FileChecker, path: PathKey, value: Any) -> tuple[str, ...]:
    keywords = c.texts(path, value)
    for i, word in enumerate(value if isinstance(value, list) else []):
        if isinstance(word, str) and word.strip() and not kefu.normalize(word):
            c.problem(
                (*path, i),
                f"`{dotted((*path, i))}`: keyword {word!r} has no letter or digit, so it can never match",
            )
    return keywords


SETTINGS: dict[str, Check] = {"keywords": _keywords, "reply": lambda c, p, v: c.text(p, v)}
"""What ``plugins: handoff_keywords:`` may hold, each key with the check that converts it."""
