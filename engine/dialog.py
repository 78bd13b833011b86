"""Deciding what the bot does with a message inside a conversation.

Steps 4-7 of the message flow (docs/architecture.md): pending slot answers and
clarification choices first, then matching with the open contexts, the
``intent_matched`` hook, and the decision: fallback, clarify, ask for a slot, answer,
or hand off.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kefu.clarify import CLARIFY_KEY, ask_which, clarify_choice, clarify_options, intent_named
from kefu.errors import PluginError
from kefu.hook_results import confidence_problem, is_bool, is_confidence, well_formed_candidates
from kefu.manager import HookFailure
from kefu.normalize import normalize
from kefu.sessions import ActiveContext, PendingSlot, Session
from kefu.slot_filling import (
    answers_ahead,
    is_acknowledgement,
    is_cancel,
    prompt_for,
    slot_values,
    valid_value,
)
from kefu.spec import IntentSpec, SlotSpec
from kefu.templates import render
from kefu.values import Match, Message, Reply

if TYPE_CHECKING:
    from kefu.engine import Engine
    from kefu.runtime import Runtime

__all__ = ["Turn", "handle"]

log = logging.getLogger(__name__)

INTERRUPTED_KEY = "kefu.interrupted"
"""``session.data`` key holding the slot question a side question interrupted: [intent,
slot, messages left in which a value for it still answers it]."""
RESUMABLE_FOR = 2
"""How many messages after a side question its value still answers an interrupted slot
question ("我的订单到哪了", "包邮吗", then the order number)."""
RESUME_REST = 4
"""How many characters besides the value a message may hold and still answer an
interrupted question ("订单号是2024…"); a bare value answers it whatever it matches."""


@dataclass
class Turn:
    """One message being handled: who, what, and what has happened so far."""

    engine: Engine
    runtime: Runtime
    session: Session
    message: Message
    now: float
    rng: random.Random
    contexts: frozenset[str] = frozenset()
    opened: set[str] = field(default_factory=set)
    trace: list[str] = field(default_factory=list)
    slot_text: str | None = None
    """Where slot values are read from when not the message: after "2" picked an option of a
    clarification, the question it clarified ("我要退 50元" keeps its 50元)."""

    @property
    def today(self) -> datetime.date:
        """The date of this message by the engine's clock (明天 counts from it)."""
        return datetime.date.fromtimestamp(self.now)

    def reply(
        self,
        text: str,
        action: str,
        match: Match | None = None,
        *,
        slots: dict[str, str] | None = None,
        handoff: bool = False,
        handoff_reason: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Reply:
        """A reply for this turn carrying the match's intent and candidates."""
        return Reply(
            text=text,
            intent=match.intent if match else None,
            confidence=match.confidence if match else 0.0,
            action=action,
            candidates=match.candidates if match else (),
            slots=slots or {},
            handoff=handoff,
            handoff_reason=handoff_reason,
            # The bot's own payload is one dict for every reply: a hook that edits the one it
            # is handed in place must not change what the next customer gets.
            payload=_own_copy(payload) if payload else payload,
            session_id=self.session.id,
            trace=tuple(self.trace),
        )


def _own_copy(value: Any) -> Any:
    """A copy of a payload's dicts and lists (all a bot file's payload is made of; other
    values are shared): a third of ``copy.deepcopy``'s cost, paid on every such reply."""
    kind = type(value)
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        return {key: _own_copy(item) for key, item in value.items()}
    if kind is list:
        return [_own_copy(item) for item in value]
    return value


def handle(turn: Turn) -> Reply:
    """Decide the reply to ``turn.message`` and update the session accordingly."""
    session = turn.session
    turn.contexts = frozenset(session.active_contexts(turn.now))
    interrupted = session.data.pop(INTERRUPTED_KEY, None) if session.has_data else None
    outcome = _pending_slot(turn) if session.pending else None
    if isinstance(outcome, Reply):
        reply = outcome
    elif outcome is not None:  # the user changed topic: decide on the match already made
        reply = _match_and_decide(turn, outcome)
    else:
        reply = _clarification(turn) or _resumed(turn, interrupted)
    _tick_contexts(session, turn.contexts - turn.opened - _awaited(turn))
    return reply


def _clarification(turn: Turn) -> Reply | None:
    """The answer to a clarify question: the intent picked, decided, or its cancel."""
    picked = clarify_choice(turn)
    return decide(turn, picked) if isinstance(picked, Match) else picked


def _resumed(turn: Turn, interrupted: object) -> Reply:
    """A message that is a value for a slot question a side question interrupted answers
    it ("我的订单到哪了", "包邮吗", then "2024112712345678"), unless it clearly asks
    something else; any other message is matched as usual."""
    session = turn.session
    held = _interrupted_slot(turn, interrupted)
    if held is None:
        return _match_and_decide(turn)
    intent, slot, left = held
    text, settings = turn.message.text, turn.runtime.spec.settings
    normalized = normalize(text, settings.max_input_length)
    if is_cancel(normalized, settings.cancel_words) or is_acknowledgement(
        normalized, settings.acknowledge_words
    ):
        # "好的" or "算了" after the side answer ends the old question: it is no yes to a
        # yes/no slot the customer no longer sees asked.
        return _match_and_decide(turn)
    found = valid_value(turn, slot, text)
    if found is None:
        if left > 1:  # another side question, perhaps
            session.data[INTERRUPTED_KEY] = [intent.name, slot.name, left - 1]
        return _match_and_decide(turn)
    # Little but the value: "2024…" or "订单号是2024…", not "公司税号9131…" (a value the
    # old question did not ask for) nor "我要退货 2024…" (a new question that takes it).
    rest = normalize(f"{text[: found.start]} {text[found.end :]}").replace(" ", "")
    match = turn.runtime.match(text, turn.contexts) if rest else None
    if match is not None and (len(rest) > RESUME_REST or match.intent not in (None, intent.name)):
        return _match_and_decide(turn, match)
    session.pending = PendingSlot(intent.name, slot.name)
    turn.trace.append(f"resumed slot {slot.name} of {intent.name}")
    return _answered(turn, intent, slot, found.value)


def _answered(turn: Turn, intent: IntentSpec, slot: SlotSpec, value: str) -> Reply:
    """``value`` answers the question the bot asked for ``slot``: keep it and decide again."""
    turn.session.slots[slot.name] = value
    return decide(turn, Match(turn.message.text, intent.name, 1.0, rule=f"slot:{slot.name}"))


def _interrupted_slot(turn: Turn, held: object) -> tuple[IntentSpec, SlotSpec, int] | None:
    """The intent, slot and messages left of what ``INTERRUPTED_KEY`` held, or None (nothing,
    what a plugin left under kefu's key, or a slot a reload removed)."""
    if not (isinstance(held, list) and len(held) == 3 and type(held[2]) is int and held[2] > 0):
        return None
    intent = intent_named(turn.runtime.spec, held[0])
    slot = next((s for s in intent.slots if s.name == held[1]), None) if intent else None
    return (intent, slot, held[2]) if intent is not None and slot is not None else None


def _awaited(turn: Turn) -> frozenset[str]:
    """The input contexts of the intents the bot now waits on (its slot question, the
    options of its clarify question): they lose no turn while it waits, or the answer
    would come with them closed ("订单的新电话已记录" without the order)."""
    session, spec = turn.session, turn.runtime.spec
    names = [session.pending.intent] if session.pending is not None else []
    options = session.data.get(CLARIFY_KEY) if session.has_data else None
    if isinstance(options, list):
        names += [option for option in options if isinstance(option, str)]
    return frozenset(c for name in names if (i := intent_named(spec, name)) for c in i.input_contexts)


def _match_and_decide(turn: Turn, match: Match | None = None) -> Reply:
    if match is None:
        match = turn.runtime.match(turn.message.text, turn.contexts)
    found = turn.runtime.host.first(
        "intent_matched",
        message=turn.message,
        match=match,
        session=turn.session,
        engine=turn.engine,
    )
    if found is not None:
        plugin, override = found
        turn.trace.append(f"intent_matched overridden by {plugin}")
        if isinstance(override, HookFailure):  # a fail-closed plugin could not judge: withhold
            return turn.reply("", "blocked", match)
        if isinstance(override, Reply):
            return _plugin_reply(turn, plugin, override, match)
        if isinstance(override, Match):
            match = _checked_override(turn, plugin, override, match)
        else:
            _reject(
                turn, plugin, f"intent_matched returned a {type(override).__name__}, not a Match or Reply"
            )
    return decide(turn, match)


def _plugin_reply(turn: Turn, plugin: str, reply: Reply, match: Match) -> Reply:
    """A plugin's own answer; one that hands off hands the session off, as the bot would."""
    if reply.handoff and not turn.session.handoff:
        reason = reply.handoff_reason or f"plugin:{plugin}"
        handed = handoff(turn, reason, reply.text, match)
        return dataclasses.replace(reply, handoff_reason=reason, trace=handed.trace)
    return reply


def _reject(turn: Turn, plugin: str, problem: str, trace: str | None = None) -> None:
    """Count a plugin's unusable result as its error and go on without it."""
    host = turn.runtime.host
    host.errors[plugin] += 1
    if host.strict:
        raise PluginError(plugin, problem)
    log.warning("plugin %r: %s; ignored", plugin, problem)
    turn.trace.append(trace or f"{plugin} ignored: {problem}")


def _malformed(match: Match) -> str | None:
    """What is wrong with the shape of a plugin's Match (a dataclass checks no types)."""
    if match.intent is not None and not isinstance(match.intent, str):
        return f"its intent is a {type(match.intent).__name__}"
    if not is_confidence(match.confidence):
        return f"its confidence is {confidence_problem(match.confidence)}"
    if not is_bool(match.ambiguous):
        return f"its ambiguous is a {type(match.ambiguous).__name__}, not a bool"
    if match.rule is not None and not isinstance(match.rule, str):
        return f"its rule is a {type(match.rule).__name__}, not a str or None"
    if not well_formed_candidates(match.candidates):
        return "its candidates are not a tuple of Candidate"
    return None


def _checked_override(turn: Turn, plugin: str, override: Match, original: Match) -> Match:
    """``override`` if every intent it names exists, else ``original``: a typo in a plugin,
    or an intent a reload removed, must not break the reply. Counted as the plugin's error."""
    shape = _malformed(override)
    if shape is not None:
        _reject(turn, plugin, f"intent_matched returned a Match whose {shape.removeprefix('its ')}")
        return original
    spec = turn.runtime.spec
    names = [override.intent] if override.intent is not None else []
    names += [c.intent for c in override.candidates]
    unknown = sorted({name for name in names if intent_named(spec, name) is None})
    if not unknown:
        return override
    problem = f"intent_matched returned a Match naming unknown intents {unknown}"
    _reject(turn, plugin, problem, f"override by {plugin} ignored: unknown intents {unknown}")
    return original


def decide(turn: Turn, match: Match) -> Reply:
    """Fallback, clarify, ask for a missing slot, answer, or hand off."""
    spec = turn.runtime.spec
    intent = spec.intent(match.intent) if match.intent is not None else None
    if _cancels_nothing(turn, match, intent):
        return turn.reply(spec.settings.nothing_to_cancel_reply, "cancel")
    if intent is None:
        options = clarify_options(match) if match.ambiguous else []
        return ask_which(turn, match, options) if options else fallback(turn, match)
    turn.session.fallback_streak = 0
    if not intent.slots:  # most intents: nothing to read from the message, nothing missing
        return _complete(turn, intent, match, {})
    values = slot_values(turn, intent)
    missing = next((s for s in intent.slots if s.required and s.name not in values), None)
    if missing is not None:
        if turn.session.pending is None:  # a new question: an earlier one's answers are not its own
            for slot in intent.slots:
                if slot.name not in values:
                    turn.session.slots.pop(slot.name, None)
        turn.session.slots.update(values)
        turn.session.pending = PendingSlot(intent.name, missing.name)
        return turn.reply(prompt_for(missing), "prompt", match, slots=values)
    return _complete(turn, intent, match, values)


def _cancels_nothing(turn: Turn, match: Match, intent: IntentSpec | None) -> bool:
    """Whether the message is nothing but cancel words ("算了") while the bot asked nothing,
    and would fall back, clarify or ask for a slot: as a fallback it brought a hand-off
    closer, and "不查了" matched order_status, which asked for an order number. An intent
    that answers at once still does ("没事了" is a goodbye). ``intent`` is the match's."""
    if turn.session.pending is not None or match.rule is not None:
        return False  # a rule of the bot's author decided ("^取消$" is cancel_order's)
    if intent is not None and not any(slot.required for slot in intent.slots):
        return False  # answers at once: the common case, decided before normalizing again
    settings = turn.runtime.spec.settings
    if not is_cancel(normalize(turn.message.text, settings.max_input_length), settings.cancel_words):
        return False
    if intent is None:
        return True
    values = slot_values(turn, intent)
    return any(slot.required and slot.name not in values for slot in intent.slots)


def _complete(turn: Turn, intent: IntentSpec, match: Match, values: dict[str, str]) -> Reply:
    session = turn.session
    session.pending = None
    session.slots.update(values)
    for ctx in intent.output_contexts:
        expires = turn.now + ctx.ttl if ctx.ttl is not None else None
        params = dict(values) or None
        session.contexts[ctx.name] = ActiveContext(ctx.name, ctx.lifespan, expires, params)
        turn.opened.add(ctx.name)
    text = _render(turn, intent, values)
    if intent.action == "handoff":
        reply = text or turn.runtime.spec.settings.handoff_reply
        return handoff(turn, f"intent:{intent.name}", reply, match, payload=intent.payload)
    action = intent.action or "respond"
    return turn.reply(text, action, match, slots=values, payload=intent.payload)


def fallback(turn: Turn, match: Match) -> Reply:
    """Nothing matched: ask the ``fallback`` hook, count the streak, maybe hand off."""
    session, settings = turn.session, turn.runtime.spec.settings
    session.fallback_streak += 1
    found = turn.runtime.host.first(
        "fallback", message=turn.message, match=match, session=session, engine=turn.engine
    )
    reply: Reply | None = None
    text = ""
    if found is not None:
        plugin, answer = found
        turn.trace.append(f"fallback answered by {plugin}")
        if isinstance(answer, HookFailure):  # never show a customer what went wrong inside
            return turn.reply("", "blocked", match)
        if isinstance(answer, Reply) and answer.handoff:  # as the bot's own hand-off would
            return _plugin_reply(turn, plugin, answer, match)
        if isinstance(answer, Reply):
            reply = answer
        elif isinstance(answer, str):
            text = answer
        else:  # str() of a Block or a dict is Python, not an answer
            _reject(turn, plugin, f"fallback returned a {type(answer).__name__}, not text or a Reply")
    handed = _handoff_due(turn, match)
    return handed or reply or turn.reply(text or turn.rng.choice(settings.fallback), "fallback", match)


def _give_up(turn: Turn) -> Reply:
    """A slot question asked ``slot_retries`` times again without an answer: dropped with
    ``bot.give_up_reply``, a fallback with no intent that the ``fallback`` hook does not
    answer: its default is "抱歉，我没太明白", and the customer's question was clear."""
    session = turn.session
    session.pending = None
    session.fallback_streak += 1
    return _handoff_due(turn) or turn.reply(turn.runtime.spec.settings.give_up_reply, "fallback")


def _handoff_due(turn: Turn, match: Match | None = None) -> Reply | None:
    """The hand-off once ``bot.handoff_after_fallbacks`` fallbacks came in a row."""
    streak, settings = turn.session.fallback_streak, turn.runtime.spec.settings
    if settings.handoff_after_fallbacks and streak >= settings.handoff_after_fallbacks:
        return handoff(turn, f"fallbacks:{streak}", settings.handoff_reply, match)
    return None


def handoff(
    turn: Turn,
    reason: str,
    text: str,
    match: Match | None = None,
    *,
    payload: Mapping[str, Any] | None = None,
) -> Reply:
    """Hand the conversation to a human and tell the ``handoff_requested`` hook."""
    session = turn.session
    session.handoff = True
    session.handoff_reason = reason
    session.pending = None
    turn.runtime.host.notify(
        "handoff_requested", message=turn.message, session=session, reason=reason, engine=turn.engine
    )
    return turn.reply(text, "handoff", match, handoff=True, handoff_reason=reason, payload=payload)


def _pending_slot(turn: Turn) -> Reply | Match | None:
    """The user is answering a slot prompt: fill it, cancel, or re-prompt (a ``Reply``; also
    after "好的，我找一下", which only acknowledges the question), or has changed topic (the
    ``Match`` of the new question). None: the slot no longer exists (a reload removed it), so
    the message is a fresh one."""
    session, spec = turn.session, turn.runtime.spec
    pending = session.pending
    assert pending is not None
    intent = intent_named(spec, pending.intent)
    slot = next((s for s in intent.slots if s.name == pending.slot), None) if intent else None
    if intent is None or slot is None:
        log.info(
            "session %s: pending slot %s.%s is not in the bot now serving; dropped",
            session.id,
            pending.intent,
            pending.slot,
        )
        turn.trace.append(f"dropped pending slot {pending.intent}.{pending.slot}")
        session.pending = None
        return None
    # The value first: "不用了" answers "需要开发票吗" (a value of the slot) before it cancels,
    # and "好的" answers "确认下单吗" before it only acknowledges the question.
    found = valid_value(turn, slot, turn.message.text)
    if found is not None:
        return _answered(turn, intent, slot, found.value)
    text = normalize(turn.message.text, spec.settings.max_input_length)
    if is_cancel(text, spec.settings.cancel_words):
        session.pending = None
        return turn.reply(spec.settings.cancel_reply, "cancel")
    if is_acknowledgement(text, spec.settings.acknowledge_words):
        # "好的，我找一下" heard the question: no failed answer, and no goodbye (好的 matched it)
        turn.trace.append(f"acknowledged slot {slot.name}")
        return turn.reply(prompt_for(slot), "prompt", Match(turn.message.text, intent.name, 0.0))
    other = turn.runtime.match(turn.message.text, turn.contexts)
    if other.intent is not None and other.intent != intent.name:
        session.pending = None  # a new question: the user changed topic
        # ... perhaps for a moment ("包邮吗"): the value may still come (``_resumed``).
        session.data[INTERRUPTED_KEY] = [intent.name, slot.name, RESUMABLE_FOR]
        turn.trace.append(f"left slot {slot.name} for {other.intent}")
        return other
    ahead = answers_ahead(turn, intent, slot)
    if ahead:  # 大号 while the colour is asked: keep it, and ask again without counting a retry
        session.slots.update(ahead)
        return turn.reply(prompt_for(slot), "prompt", Match(turn.message.text, intent.name, 0.0), slots=ahead)
    pending.retries += 1
    if pending.retries > spec.settings.slot_retries:
        # Not the message's match: "我的订单到哪了" asked again and again matched the pending
        # intent itself, and the fallback claimed it (order_status, then confidence 1.0).
        return _give_up(turn)
    prompt = slot.invalid_prompt or prompt_for(slot)
    return turn.reply(prompt, "prompt", Match(turn.message.text, intent.name, 0.0))


def _render(turn: Turn, intent: IntentSpec, values: dict[str, str]) -> str:
    if not intent.responses:
        return ""
    variables = dict(values)
    for ctx in turn.session.active_contexts(turn.now).values():
        for key, value in (ctx.params or {}).items():
            variables[f"{ctx.name}.{key}"] = value
    return render(turn.rng.choice(intent.responses), variables)


def _tick_contexts(session: Session, names: frozenset[str]) -> None:
    """Each context that was open before this message loses one turn of its lifespan."""
    for name in names:
        ctx = session.contexts.get(name)
        if ctx is not None:
            ctx.turns_left -= 1
