"""Settings of the built-in plugins that would be kept but never used: each is an error."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kefu
from kefu.plugins import handoff_keywords, risk_control

BOT = """
version: 1
bot: {name: 测试, threshold: 0.3}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
"""
MASKED_REPLY = (
    "`plugins.risk_control.reply` is never sent: with `verdict: mask` the masked message goes on"
    " to the bot, which answers it; leave `reply` out or choose block or handoff"
)
LONE_RATE_REPLY = (
    "`plugins.risk_control.rate_reply` is never sent: without `rate_limit` no message is"
    " rate-limited; add `rate_limit: {per_second: 1.0, burst: 8}` or leave `rate_reply` out"
)


def no_words(key: str) -> str:
    return (
        f"`plugins.risk_control.{key}` is never used: without `words` or `words_file` no message"
        f" is checked for listed words; list the words or leave `{key}` out"
    )


@pytest.mark.parametrize(
    ("settings", "line", "message"),
    [
        # The shop believed customers were warned; the bot answered the masked message.
        (["words: [诈骗]", "verdict: mask", "reply: 请文明用语"], 3, MASKED_REPLY),
        # The shop believed messages were rate-limited; none was.
        (["words: [诈骗]", "rate_reply: 您发送得太快了"], 2, LONE_RATE_REPLY),
        # The shop believed listed words were blocked, handed off or caught as pinyin; no
        # word was listed, so every message went through.
        (["verdict: handoff", "mask_replies: true"], 1, no_words("verdict")),
        (["mask_logs: true", "reply: 请文明用语"], 2, no_words("reply")),
        (["pinyin_initials: true"], 1, no_words("pinyin_initials")),
        (["rate_limit: {per_second: 1.0, burst: 8}", "max_gap: 0"], 2, no_words("max_gap")),
        # A words list left empty lists no word either.
        (["words: []", "verdict: block"], 2, no_words("verdict")),
    ],
)
def test_a_setting_that_would_never_be_used_is_reported_with_file_and_line(
    write_bot: Callable[..., Path], settings: list[str], line: int, message: str
) -> None:
    body = "".join(f"    {setting}\n" for setting in settings)
    folder = write_bot(**{"bot.yaml": BOT + "plugins:\n  risk_control:\n" + body})
    file = folder / "bot.yaml"
    at = file.read_text(encoding="utf-8").splitlines().index(f"    {settings[line - 1]}") + 1
    with pytest.raises(kefu.SpecError) as caught:
        kefu.load_spec(folder)
    assert str(caught.value) == f"{file}:{at}: {message}"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"words": ["诈骗"], "verdict": "mask", "reply": "请文明用语"}, MASKED_REPLY),
        ({"rate_reply": "慢一点"}, LONE_RATE_REPLY),
        ({"pinyin_initials": False}, no_words("pinyin_initials")),
    ],
)
def test_settings_given_in_code_are_checked_the_same(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        risk_control.make_plugin(settings)


LONE_HANDOFF_REPLY = (
    "`plugins.handoff_keywords.reply` is never sent: without `keywords` no message is handed off;"
    " list the keywords or leave `reply` out"
)


@pytest.mark.parametrize("keywords", ["", "    keywords: []\n"], ids=["absent", "empty"])
def test_a_handoff_reply_without_keywords_is_reported(write_bot: Callable[..., Path], keywords: str) -> None:
    # The shop believed some words handed customers to a human; none did.
    folder = write_bot(
        **{"bot.yaml": BOT + "plugins:\n  handoff_keywords:\n" + keywords + "    reply: 马上为您转人工\n"}
    )
    file = folder / "bot.yaml"
    at = file.read_text(encoding="utf-8").splitlines().index("    reply: 马上为您转人工") + 1
    with pytest.raises(kefu.SpecError) as caught:
        kefu.load_spec(folder)
    assert str(caught.value) == f"{file}:{at}: {LONE_HANDOFF_REPLY}"
    with pytest.raises(ValueError, match=f"^{re.escape(LONE_HANDOFF_REPLY)}$"):
        handoff_keywords.make_plugin({"reply": "马上为您转人工"})
    assert (
        handoff_keywords.make_plugin({"keywords": ["投诉"], "reply": "马上为您转人工"}).reply
        == "马上为您转人工"
    )
