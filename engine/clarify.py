"""Clarify questions: asking which of two intents the customer meant, and reading the answer.

Used by ``kefu.dialog`` when the top two intents are too close to call (``"ambiguous"``):
the options are kept in the session until the next message, which may pick one by number
("2", "第二个", "选1吧") or by title, or cancel the question ("算了").
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from kefu.normalize import normalize
from kefu.slot_filling import CANCEL_PARTICLES, CANCEL_TAIL, is_cancel
from kefu.spec import BotSpec, IntentSpec
from kefu.values import Match, Reply

if TYPE_CHECKING:
    from kefu.dialog import Turn

__all__ = [
    "CLARIFY_KEY",
    "CLARIFY_TEXT_KEY",
    "ask_which",
    "clarify_choice",
    "clarify_options",
    "intent_named",
]

log = logging.getLogger(__name__)

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = rf"(\d{{1,3}}|[{''.join(_NUMERALS)}])"
_ORDINALS = tuple(
    re.compile(pattern + f"[{CANCEL_PARTICLES}]*(?:{CANCEL_TAIL})?")
    for pattern in (
        rf"(?:我?选择?|选项)?第?{_NUMBER}(?:个|项|条|种|号)?",  # 2, 第二个, 选1, 我选2, 选项2
        rf"(?:嗯|那)第{_NUMBER}(?:个|项|条|种|号)?",  # 那第二个
        rf"(?:嗯|那){_NUMBER}(?:项|号)?",  # 嗯，2 (not 那两个: a quantity)
    )
)
"""A clarify answer by number: 2, 第二个, 第2项, 选1, 第一个吧, 我选2, 选项2, 嗯2, 那第二个吧,
第2个谢谢 (normalized, spaces removed). Not 要2个 or 就一个: those are quantities."""

CLARIFY_KEY = "kefu.clarify"
"""``session.data`` key holding the intents offered in the last clarification question."""
CLARIFY_TEXT_KEY = "kefu.clarify_text"
"""``session.data`` key holding the message that clarification question was about."""


def clarify_options(match: Match) -> list[str]:
    """The (at most two) distinct intents a clarify question offers.

    The matcher always ranks two distinct candidates when it says "ambiguous"; a plugin's
    ``Match`` may name one intent twice, or none (then the message falls back).
    """
    return list(dict.fromkeys(c.intent for c in match.candidates))[:2]


def ask_which(turn: Turn, match: Match, options: list[str]) -> Reply:
    """Ask which of ``options`` the customer meant, and remember them for the answer."""
    spec = turn.runtime.spec
    lines = [f"{i}. {_title(spec.intent(name))}" for i, name in enumerate(options, 1)]
    turn.session.data[CLARIFY_KEY] = options
    turn.session.data[CLARIFY_TEXT_KEY] = turn.message.text
    text = spec.settings.clarify.replace("{options}", "\n" + "\n".join(lines))
    return turn.reply(text, "clarify", match)


def clarify_choice(turn: Turn) -> Match | Reply | None:
    """After "您是想问：1. … 2. …", a reply of "2", "第二个", "选2" or an option's title picks
    that intent (its ``Match``, for the dialog to decide), and a cancel word ("算了") drops
    the question (a ``Reply``). None: no question was asked, or the reply picks nothing."""
    data = turn.session.data if turn.session.has_data else {}
    options, asked = data.pop(CLARIFY_KEY, None), data.pop(CLARIFY_TEXT_KEY, None)
    if not isinstance(options, list) or not all(isinstance(option, str) for option in options):
        return None  # none offered, or what a plugin or another program left under kefu's key
    choice = normalize(turn.message.text).replace(" ", "")
    spec = turn.runtime.spec
    name = _chosen_by_number(options, choice) or next(
        (option for option in options if _title_key(intent_named(spec, option)) == choice), None
    )
    if name is None and is_cancel(choice, spec.settings.cancel_words):
        if turn.runtime.match(turn.message.text, turn.contexts).intent in options:
            # "取消" offered "1. 我要取消订单": the question for that option, read afresh.
            return None
        # Not a fallback: the customer was understood, and 算了 must not bring a hand-off closer.
        return turn.reply(spec.settings.cancel_reply, "cancel")
    if name is None:
        return None
    if intent_named(spec, name) is None:
        # Offered before a reload that removed or renamed it: a fresh message now.
        log.info("session %s: clarify option %r is not in the bot now serving", turn.session.id, name)
        turn.trace.append(f"dropped clarify option {name}")
        return None
    match = Match(turn.message.text, name, 1.0, rule=f"clarify:{choice}")
    if isinstance(asked, str):  # a session saved before the question was kept has none
        turn.slot_text = asked
    return match


def _chosen_by_number(options: list[str], choice: str) -> str | None:
    """The option a reply such as "2", "第二个" or "选1吧" names by its number."""
    found = next(filter(None, (pattern.fullmatch(choice) for pattern in _ORDINALS)), None)
    if found is None:
        return None
    # \d is any decimal digit (٢ too), all of which int() reads; "፩" and "➎" are not \d.
    index = _NUMERALS.get(found[1]) or int(found[1])
    return options[index - 1] if 1 <= index <= len(options) else None


def _title_key(intent: IntentSpec | None) -> str | None:
    """An option's title as a reply that repeats it would normalize to."""
    return normalize(_title(intent)).replace(" ", "") if intent is not None else None


def intent_named(spec: BotSpec, name: object) -> IntentSpec | None:
    """The intent called ``name`` in ``spec``, or None: session state and plugins may name
    intents of an earlier bot."""
    if not isinstance(name, str):
        return None
    try:
        return spec.intent(name)
    except KeyError:
        return None


def _title(intent: IntentSpec) -> str:
    return intent.title or intent.examples[0]
