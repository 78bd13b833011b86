"""Which values a message gives a conversation's slots, and whether it cancels or only
acknowledges a question.

Used by ``kefu.dialog``: the answer to a slot question (``valid_value``), the values a
message holds for an intent's slots (``slot_values``, ``answers_ahead``), cancel words and
acknowledgements ("好的，我找一下").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import regex

from kefu.bot_regex import compile_regex, fullmatch
from kefu.entities import EntityValue
from kefu.normalize import normalize
from kefu.spec import IntentSpec, SlotSpec

if TYPE_CHECKING:
    from kefu.dialog import Turn

__all__ = [
    "CALLED_OFF",
    "CANCEL_PARTICLES",
    "CANCEL_TAIL",
    "acceptable",
    "answers_ahead",
    "is_acknowledgement",
    "is_cancel",
    "prompt_for",
    "slot_values",
    "valid_value",
]

CANCEL_PARTICLES = "吧啊呀哦呢嘛啦哈了"
"""Particles that may follow a cancel word without changing what it means (算了吧)."""
CANCEL_LEAD = "(?:那就|那|还是|嗯|好吧|唉)?(?:先|暂时)?"
"""Words that may come before a cancel word: a filler (那算了, 还是算了), "for now" (先不用了,
暂时不需要了), or both (那先不用了). Not 我: "我不要了" asks to cancel an order, not the
question."""
CALLED_OFF = (
    "(?:不用|不要|不需要|不必|无需|别)(?:再|帮我|给我|麻烦)?"
    "(?:查|改|换|催|开|问|找|看|弄|办|处理|帮忙|修改|更改|拦截|延长|预约|安排|联系|登记|核实|补发|重发)"
    "(?:(?![吗么没不])\\p{Han}){0,4}?了"
)
"""A request called off, which cancels like a cancel word: 不用, 不要 or 别, a verb of
request, its object at most, then 了 (不用改地址了, 别催了, 不需要帮我查物流了). Without it
"不用查物流了" matched order_status, which asked for the order number. 了 is required:
"不用查物流" may begin a longer question. Not 不想 (不想等了 is impatience) nor a bare 不
(不见了 says a parcel is lost, 不动了 that it is stuck)."""
CANCEL_TAIL = "谢谢你?|谢了|多谢"
"""Thanks after a cancel word (不用了谢谢) still cancel, and after the number of a clarify
option (第2个谢谢) still pick it: the customer is not thanking the bot for an answer while
it waits for one."""
ACKNOWLEDGE_PARTICLES = "吧啊呀哦呢嘛啦哈"
"""Particles that may follow an acknowledgement (好的呀, 稍等哈). Not 了: "行了" and "可以了"
say "enough", not "one moment" (知道了 and 明白了 are words of the list)."""
ACKNOWLEDGE_LEAD = "那"
"""A word that may come before an acknowledgement (那好的, 那我找一下)."""


@functools.lru_cache(maxsize=16)
def _words_pattern(
    words: tuple[str, ...], lead: str, particles: str, tail: str, phrase: str = ""
) -> regex.Pattern[str]:
    """Nothing but ``words`` (and matches of the regex ``phrase``), each followed by any
    ``particles``, after a ``lead`` and before a ``tail`` at most."""
    # A word of punctuation only (！) normalizes to nothing, and an empty alternative would
    # make any run of particles (啊, 好吧) match.
    kept = sorted({normalize(w).replace(" ", "") for w in words} - {""}, key=len, reverse=True)
    alternatives = "|".join([*map(regex.escape, kept), *([phrase] if phrase else [])]) or "(?!)"
    # Each word with its particles is an atomic group, the longest word first: words that
    # overlap (哦, 哦哦, and 哦 the particle) split a run of them in exponentially many
    # ways, and "哦" x 22 + "吗" took 30 s to refuse (holding the GIL: every reply waited).
    return regex.compile(f"(?:{lead})?(?>(?:{alternatives})[{particles}]*)+(?:{tail})?")


def is_cancel(text: str, words: tuple[str, ...]) -> bool:
    """ "算了", "算了吧", "那算了", "先不用了", "算了，不查了", "不用了谢谢", "不用改地址了":
    nothing but cancel words, requests called off (``CALLED_OFF``) and particles, after a
    filler word or 先 and before thanks at most (spaces aside: "算 了"). A bot without
    cancel words cancels nothing."""
    text = text.replace(" ", "")
    pattern = _words_pattern(words, CANCEL_LEAD, CANCEL_PARTICLES, CANCEL_TAIL, CALLED_OFF)
    return bool(text) and bool(words) and pattern.fullmatch(text) is not None


def is_acknowledgement(text: str, words: tuple[str, ...]) -> bool:
    """ "好的", "嗯嗯好", "好的，我找一下", "稍等哈": nothing but acknowledgement words and
    particles, after 那 at most (spaces aside). No thanks after: "好的谢谢" may well end the
    conversation, and is left to the matcher."""
    text = text.replace(" ", "")
    pattern = _words_pattern(words, ACKNOWLEDGE_LEAD, ACKNOWLEDGE_PARTICLES, "")
    return bool(text) and bool(words) and pattern.fullmatch(text) is not None


def prompt_for(slot: SlotSpec) -> str:
    """The question that asks for ``slot``."""
    return slot.prompt or f"请提供{slot.name}"


def valid_value(turn: Turn, slot: SlotSpec, text: str) -> EntityValue | None:
    """The value a whole message gives ``slot`` as the answer to its question (with where
    it stands in ``text``), or None."""
    found = turn.runtime.extractor.parse_value(text, slot.entity, today=turn.today)
    if found is None or not acceptable(slot, found.value):
        return None
    return found


def acceptable(slot: SlotSpec, value: str) -> bool:
    """Whether ``value`` passes the slot's own ``regex`` and ``values``."""
    if slot.regex is not None and fullmatch(compile_regex(slot.regex), value, f"slot {slot.name!r}") is None:
        return False
    return not slot.values or value in slot.values


def _found_values(turn: Turn, slot: SlotSpec, taken: list[EntityValue]) -> list[EntityValue]:
    """The values in this message that ``slot`` would take, none of them sharing a
    character with a value ``taken`` by another slot."""
    text = turn.message.text if turn.slot_text is None else turn.slot_text
    found = turn.runtime.extractor.extract_all(text, slot.entity, today=turn.today)
    return [
        v
        for v in found
        if acceptable(slot, v.value) and not any(v.start < t.end and t.start < v.end for t in taken)
    ]


def _message_values(turn: Turn, slots: Sequence[SlotSpec]) -> dict[str, list[str]]:
    """The different values this message gives each of ``slots``, in that order of claim:
    a value one slot takes is no value of the next (明天 answers 从哪天, not 到哪天 too)."""
    taken: list[EntityValue] = []
    values: dict[str, list[str]] = {}
    for slot in slots:
        found = _found_values(turn, slot, taken)
        values[slot.name] = list(dict.fromkeys(v.value for v in found))
        if len(values[slot.name]) == 1:
            taken += found
    return values


def answers_ahead(turn: Turn, intent: IntentSpec, asked: SlotSpec) -> dict[str, str]:
    """Values this message gives for the intent's other slots, one value each, that the
    session does not hold yet (said again, they are no answer to the question asked)."""
    values = _message_values(turn, [slot for slot in intent.slots if slot is not asked])
    held = turn.session.slots
    return {
        name: found[0] for name, found in values.items() if len(found) == 1 and held.get(name) != found[0]
    }


def slot_values(turn: Turn, intent: IntentSpec) -> dict[str, str]:
    """Slot values from this message first, then from open contexts' parameters.

    A message with two different acceptable values for a slot (我付了300元，退我50元 for a
    refund amount) fills it from neither, nor from a context: which one was meant is
    unknown, and a required slot then asks, as it does when its question gets two answers.
    One value fills one slot: the slot just asked for first, then the others in order.
    """
    values: dict[str, str] = {}
    if not intent.slots:
        return values
    pending = turn.session.pending
    asked = pending.slot if pending is not None and pending.intent == intent.name else None
    found = _message_values(turn, sorted(intent.slots, key=lambda slot: slot.name != asked))
    contexts = turn.session.active_contexts(turn.now).values()  # same for every slot: one `now`
    for slot in intent.slots:
        given = found[slot.name]
        if len(given) == 1:
            values[slot.name] = given[0]
        if given:
            continue
        for ctx in contexts:  # another intent's value: this slot's own regex and values apply
            if ctx.params and slot.name in ctx.params and acceptable(slot, ctx.params[slot.name]):
                values[slot.name] = ctx.params[slot.name]
                break
        else:
            if pending is not None and slot.name in turn.session.slots:
                values[slot.name] = turn.session.slots[slot.name]
    return values
