"""A bot built in code, without a bot file: what the loader would refuse is refused too."""

from __future__ import annotations

import pytest

import kefu
from kefu.spec import BotSettings, MatcherSettings, NlpSettings, SlotSpec


def bot(slot: SlotSpec) -> kefu.BotSpec:
    intents = (
        kefu.IntentSpec("buy", ("我要买衣服", "买衣服"), slots=(slot,)),
        kefu.IntentSpec("hello", ("你好", "在吗")),
    )
    return kefu.BotSpec(BotSettings(), NlpSettings(), MatcherSettings(), (), intents)


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        # a misspelt entity: every reply to 我要买衣服 raised KeyError: 'colour'
        (
            SlotSpec("color", "colour", required=True, prompt="要什么颜色"),
            "<bot built in code>:0: intent 'buy': slot 'color' uses unknown entity 'colour' "
            "(entities: amount, date, mobile, order_id)",
        ),
        # a slot regex that does not compile: the answer to its question raised
        (
            SlotSpec("day", "date", required=True, prompt="哪天", regex="(2026"),
            "<bot built in code>:0: intent 'buy': slot 'day' has an invalid regex '(2026': "
            "missing ) at position 5",
        ),
    ],
)
def test_a_slot_that_would_break_every_reply_is_refused_when_the_bot_is_built(
    slot: SlotSpec, message: str
) -> None:
    with pytest.raises(kefu.SpecError) as info:
        bot(slot)
    assert str(info.value) == message
