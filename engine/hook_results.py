"""What a plugin hook hands back, made safe: every text in it cleaned like incoming text.

A ``str``, or the texts of a ``Message``, ``Reply`` (its slots, trace and payload
included) or ``Block``: a lone surrogate from a plugin would otherwise reach the caller (a
WebSocket cannot send it) and the session history (every later transcript fails).

A dataclass checks no types, so a ``Reply`` whose fields are of the wrong kind (slots that
are not text, a confidence that is not a number) is a ``MalformedResult``: the host counts
it as the plugin's error. Passed on, it broke the reply later (``to_dict``, risk control's
masking), where the message was lost or the blame fell on another plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kefu.normalize import encodable
from kefu.values import Block, Candidate, Message, Reply

__all__ = ["MalformedResult", "cleaned", "is_number", "well_formed_candidates"]


class MalformedResult(TypeError):
    """A hook's ``Reply`` with a field of the wrong kind; the message says which."""


_MAX_PAYLOAD_DEPTH = 100


def _text(value: object) -> str:
    """``value`` as text that UTF-8 can encode; None (where a ``str`` is due) is ""."""
    # Not cut to a length: only the engine knows max_input_length (it cuts rewritten
    # messages itself), and a reply is the bot author's to size.
    return "" if value is None else encodable(str(value))


def _texts(values: tuple[str, ...]) -> tuple[str, ...]:
    """``values`` cleaned; the same tuple when nothing changed (no copy in the common case)."""
    cleaned = tuple(map(_text, values))
    return values if cleaned == values else cleaned


def _data(value: Any, depth: int = 0) -> Any:
    """Texts inside a payload or slots (dicts, lists, tuples) cleaned, other values kept.

    Returns ``value`` itself when nothing in it changed, so values that cannot be compared
    or rebuilt (arrays, named tuples) pass through untouched.
    """
    if isinstance(value, str):
        return _text(value)
    if depth >= _MAX_PAYLOAD_DEPTH:  # a cycle or absurd nesting: leave the rest untouched
        return value
    if isinstance(value, Mapping):
        items = [(_data(k, depth + 1), _data(v, depth + 1), k, v) for k, v in value.items()]
        if all(ck is k and cv is v for ck, cv, k, v in items):
            return value
        return {ck: cv for ck, cv, _, _ in items}
    if type(value) in (list, tuple):
        cleaned = [_data(v, depth + 1) for v in value]
        if all(c is v for c, v in zip(cleaned, value, strict=True)):
            return value
        return type(value)(cleaned)
    return value


def cleaned(result: Any) -> Any:
    """A hook's result with the texts it hands back cleaned like incoming text. Unchanged
    results are returned as they are: the common case builds no new value object."""
    changes: dict[str, Any]
    if isinstance(result, str):
        return _text(result)
    if isinstance(result, Message):
        changes = {"text": _text(result.text)}
    elif isinstance(result, Reply):
        _check_reply(result)
        changes = {
            "text": _text(result.text),
            "intent": None if result.intent is None else _text(result.intent),
            "action": _text(result.action),
            "handoff_reason": None if result.handoff_reason is None else _text(result.handoff_reason),
            "slots": _data(result.slots),
            "trace": _texts(result.trace),
            "payload": _data(result.payload),
        }
    elif isinstance(result, Block):
        changes = {"reason": _text(result.reason), "reply": _text(result.reply)}
    else:
        return result
    if all(getattr(result, name) is value for name, value in changes.items()):
        return result
    return replace(result, **changes)


def _check_reply(reply: Reply) -> None:
    """``MalformedResult`` naming the first field of ``reply`` that is of the wrong kind."""
    problem = None
    if not is_number(reply.confidence):
        problem = f"confidence is a {type(reply.confidence).__name__}, not a number"
    elif not well_formed_candidates(reply.candidates):
        problem = "candidates are not a tuple of Candidate(intent: str, confidence: number)"
    elif not isinstance(reply.slots, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in reply.slots.items()
    ):
        problem = "slots are not a mapping of str to str"
    elif not isinstance(reply.trace, tuple | list):
        problem = f"trace is a {type(reply.trace).__name__}, not a tuple of str"
    elif reply.payload is not None and not isinstance(reply.payload, Mapping):
        problem = f"payload is a {type(reply.payload).__name__}, not a mapping or None"
    elif not isinstance(reply.handoff, bool):
        problem = f"handoff is a {type(reply.handoff).__name__}, not a bool"
    if problem is not None:
        raise MalformedResult(f"returned a Reply whose {problem}")


def is_number(value: object) -> bool:
    """Whether ``value`` is an int or float (a bool is not a confidence)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def well_formed_candidates(candidates: object) -> bool:
    """Whether a plugin's ``Match`` or ``Reply`` candidates are what the value objects
    declare: a tuple of ``Candidate`` with a text intent and a number confidence."""
    return isinstance(candidates, tuple) and all(
        isinstance(c, Candidate) and isinstance(c.intent, str) and is_number(c.confidence) for c in candidates
    )
