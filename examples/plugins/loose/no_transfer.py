"""A loose-file kefu plugin: stop any message that mentions a transfer (转账 or 转帐, 汇款).

Scammers pose as customer service and ask people to move money; the bot answers every
such message with a safety warning instead of trying to help. Asking whether the shop
accepts a company bank transfer (对公转账) is an ordinary payment question and passes.
"""

from __future__ import annotations

import kefu

__all__ = ["ALLOWED", "REPLY", "WORDS", "mentions_transfer", "message_received"]

WORDS = ("转账", "转帐", "汇款")  # 转帐 is the variant spelling, as common as 转账
ALLOWED = ("对公转账", "对公转帐")
REPLY = "为了您的资金安全：客服不会要求您转账或汇款，请勿向任何人转账。如有疑问请回复“转人工”。"


def mentions_transfer(text: str) -> bool:
    """Whether ``text`` mentions a transfer other than an allowed one, read through width,
    spaces and punctuation (``转 账``, ``转。账``)."""
    # The whole message: normalize would cut it at 500 characters by default.
    text = "".join(kefu.normalize(text, max_length=len(text)).split())
    for phrase in ALLOWED:
        text = text.replace(phrase, "")
    return any(word in text for word in WORDS)


@kefu.hookimpl
def message_received(message: kefu.Message) -> kefu.Block | None:
    """Block messages that mention a transfer, with the safety warning as the reply."""
    if mentions_transfer(message.text):
        return kefu.Block(reason="transfer", reply=REPLY)
    return None
