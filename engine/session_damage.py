"""Putting right what a plugin hook left in a session's own fields (``kefu.manager`` checks
after each hook of a plugin that is not kefu's own)."""

from __future__ import annotations

from typing import Any

from kefu.hook_results import is_bool
from kefu.sessions import ActiveContext, PendingSlot, Session

__all__ = ["own_fields", "undo_damage"]

_STR = frozenset({str})


def own_fields(session: Session) -> tuple[Any, ...]:
    """The scalar fields kefu's dialog code reads, for ``undo_damage`` to put back."""
    return (session.pending, session.handoff, session.handoff_reason, session.turns, session.fallback_streak)


def undo_damage(session: Session, before: tuple[Any, ...]) -> str | None:
    """What a plugin hook left in the fields kefu reads that kefu cannot use, after
    putting all of it right: the scalar fields back as they were ``before`` the hook, an
    open context or slot that is not one dropped, a context's parameters made text; None
    when all is well. A hook's ``session.pending = "x"`` failed the dialog code further
    on, losing the message and naming no plugin.

    What is plainly meant is taken as meant, without a word: a NumPy bool as a bool, a
    slot set to None as a slot cleared."""
    pending, handoff, reason = session.pending, session.handoff, session.handoff_reason
    if type(handoff) is not bool and is_bool(handoff):  # a NumPy bool
        session.handoff = handoff = bool(handoff)
    problems = []
    if pending is not None and not isinstance(pending, PendingSlot):
        problems.append(f"session.pending a {type(pending).__name__}, not a PendingSlot or None")
    if type(handoff) is not bool:
        problems.append(f"session.handoff a {type(handoff).__name__}, not a bool")
    if reason is not None and type(reason) is not str:
        problems.append(f"session.handoff_reason a {type(reason).__name__}, not a str or None")
    if type(session.turns) is not int or type(session.fallback_streak) is not int:
        problems.append("session.turns or session.fallback_streak not an int")
    if problems:
        session.pending, session.handoff, session.handoff_reason, session.turns, session.fallback_streak = (
            before
        )
    contexts, slots = session._contexts, session._slots
    if contexts and not all(map(_usable_context, contexts.values())):
        for name, context in list(contexts.items()):
            if isinstance(context, ActiveContext) and not _usable_context(context):
                # params that are not text: a Redis store would not read the session back
                context.params = {str(k): str(v) for k, v in (context.params or {}).items()}
                problems.append(f"session.contexts[{name!r}].params not all text; made text")
            elif not isinstance(context, ActiveContext):
                del contexts[name]
                problems.append(
                    f"session.contexts[{name!r}] a {type(context).__name__}, not an ActiveContext"
                )
    if slots and not _STR.issuperset(map(type, slots.values())):
        for name, value in list(slots.items()):
            if value is None:
                del slots[name]
            elif type(value) is not str:
                del slots[name]
                problems.append(f"session.slots[{name!r}] a {type(value).__name__}, not a str")
    return "; ".join(problems) or None


def _usable_context(context: object) -> bool:
    if not isinstance(context, ActiveContext):
        return False
    params = context.params
    return params is None or (type(params) is dict and _STR.issuperset(map(type, params.values())))
