"""Hand-off triggers: words that send a conversation straight to a human.

Settings (bot file)::

    plugins:
      handoff_keywords:
        keywords: [投诉, 12315, 律师]       # matched in the normalized message
        reply: 已为您转接人工客服，请稍候    # optional; defaults to bot.handoff_reply

A keyword that starts (ends) with a digit or a letter of a space-separated script (Latin,
Greek, Cyrillic: below U+2E80) matches only where the character before (after) it is not
one, the rule ``risk_control`` uses for ``sb`` and ``usb``: ``12315`` does not fire inside
the order id 2024123151234567, nor ``vip`` inside ``vipx``. Chinese keywords match
anywhere (投诉 in 我要投诉你们). Spaces and punctuation count only between two Latin
words or numbers (``human agent``): ``转 人工`` and ``转人工`` are the same keyword, and
``投诉`` matches ``投 诉``.

``SETTINGS`` declares these keys; ``kefu validate`` checks a bot file against it. A
keyword with no letter or digit (an emoji, punctuation) is an error: normalizing the
message removes such characters, so it could never match. So is one that normalizing
leaves a single character (``C++`` reads as ``c``), which ordinary messages hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import kefu
from kefu.checks import Check, FileChecker, dotted, word_list, word_problem
from kefu.normalize import unspaced, word_pattern
from kefu.plugin_settings import checked_plugin_settings
from kefu.yamlsource import PathKey

__all__ = ["SETTINGS", "HandoffKeywords", "make_plugin"]


class HandoffKeywords:
    """Blocks a message that contains a trigger word and hands the session off (once: a
    conversation already with a human is left to the human)."""

    def __init__(self, keywords: list[str], reply: str | None) -> None:
        self.keywords = [n for n in map(_read, keywords) if n]
        self.reply = reply
        self._patterns = [re.compile(word_pattern(word)) for word in self.keywords]

    @kefu.hookimpl
    def message_received(
        self, message: kefu.Message, session: kefu.Session, engine: kefu.Engine
    ) -> kefu.Block | None:
        """Stop the message and hand off when it contains a trigger word."""
        if not self.keywords or session.handoff:
            # With a human already: the bot stays silent as for any message, rather than
            # announce the transfer again and page the agents a second time.
            return None
        text = _read(message.text)
        for word, pattern in zip(self.keywords, self._patterns, strict=True):
            if word in text and pattern.search(text):  # the plain test first: most messages have none
                reply = self.reply or engine.spec.settings.handoff_reply
                return kefu.Block(reason=f"keyword:{word}", reply=reply, handoff=True)
        return None


def _read(text: str) -> str:
    """``text`` normalized, and joined where a space does not separate two Latin words."""
    # normalize cuts at 500 characters by default; the engine has already cut the message
    # at the bot's own max_input_length, which may be longer.
    return unspaced(kefu.normalize(text, max_length=len(text)))


def make_plugin(settings: Mapping[str, Any]) -> HandoffKeywords:
    """Build this engine's instance from the bot file's settings (``ValueError`` if they are wrong)."""
    checked = checked_plugin_settings("handoff_keywords", settings, SETTINGS)
    return HandoffKeywords(list(checked.get("keywords", ())), checked.get("reply"))


def _keyword_problem(word: str) -> str | None:
    """Why a keyword cannot be used as written, or None: `C++` reads as `c`, and would hand
    off every message about the `C盘`."""
    return word_problem(word, kefu.normalize(word), "normalizing drops symbols", "be handed off")


def _reply(c: FileChecker, path: PathKey, value: Any) -> str | None:
    text = c.text(path, value)
    if text is not None and not c.sibling(path, "keywords"):
        # Kept silently, it let a shop believe some words handed customers to a human.
        c.problem(
            path,
            f"`{dotted(path)}` is never sent: without `keywords` no message is handed off; "
            "list the keywords or leave `reply` out",
        )
        return None
    return text


SETTINGS: dict[str, Check] = {"keywords": word_list("keyword", _keyword_problem), "reply": _reply}
"""What ``plugins: handoff_keywords:`` may hold, each key with the check that converts it."""
