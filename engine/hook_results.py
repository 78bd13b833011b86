"""What a plugin hook hands back, made safe: every text in it cleaned like incoming text.

A ``str``, or the texts of a ``Message``, ``Reply`` (its slots, trace and payload
included) or ``Block``: a lone surrogate from a plugin would otherwise reach the caller (a
WebSocket cannot send it) and the session history (every later transcript fails).

A dataclass checks no types, so a ``Reply``, ``Message`` or ``Block`` whose fields are of
the wrong kind (slots that are not text, a confidence that is not a number from 0 to 1, a
text that is a number, a ``Message`` text of None), a result of a kind the hook does not
take, and a coroutine (an ``async def`` hook, whose body never ran) are a
``MalformedResult``: the host counts it as the plugin's error. Passed on, they broke the
reply later (``to_dict``, risk control's masking), where the message was lost or the
blame fell on another plugin, or were converted without a word (``handoff="no"`` handed
the conversation off, a rewritten message of None erased what the customer typed). A
reply text of None is "" (nothing to say), as before.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kefu.normalize import encodable
from kefu.values import Block, Candidate, Message, Reply

__all__ = [
    "MalformedResult",
    "cleaned",
    "confidence_problem",
    "is_bool",
    "is_confidence",
    "well_formed_candidates",
]


class MalformedResult(TypeError):
    """A hook's ``Reply`` with a field of the wrong kind; the message says which."""


_MAX_PAYLOAD_DEPTH = 100

_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "message_received": ((Block, Message, str), "a Block, a Message, a str or None"),
    "response_built": ((Reply,), "a Reply or None"),
}
"""What the hooks whose results the engine uses take (``intent_matched`` and ``fallback``
judge their own results, naming the intent or text they could not use)."""


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


def cleaned(result: Any, hook: str = "") -> Any:
    """A hook's result with the texts it hands back cleaned like incoming text;
    ``MalformedResult`` if it is not what ``hook`` takes. Unchanged results are returned
    as they are: the common case builds no new value object."""
    changes: dict[str, Any]
    if result is None:
        return None
    if inspect.iscoroutine(result):
        result.close()  # no "never awaited" warning on top of this error
        raise MalformedResult(
            "returned a coroutine: kefu calls hooks synchronously; write def, not async def"
        )
    kinds, named = _KINDS.get(hook, ((object,), ""))
    if not isinstance(result, kinds):
        raise MalformedResult(f"returned a {type(result).__name__}, not {named}")
    if isinstance(result, str):
        return _text(result)
    if isinstance(result, Message):
        if not isinstance(result.text, str):  # None erased what the customer typed
            raise MalformedResult(
                f"returned a Message whose text is a {type(result.text).__name__}, not a str"
            )
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
            "handoff": bool(result.handoff),  # a NumPy bool as a bool
        }
    elif isinstance(result, Block):
        _check_block(result)
        changes = {
            "reason": _text(result.reason),
            "reply": _text(result.reply),
            "handoff": bool(result.handoff),
        }
    else:
        return result
    if all(getattr(result, name) is value for name, value in changes.items()):
        return result
    return replace(result, **changes)


def _check_reply(reply: Reply) -> None:
    """``MalformedResult`` naming the first field of ``reply`` that is of the wrong kind."""
    problem = _wrong_texts(reply, ("text", "intent", "action", "handoff_reason"))
    if problem is not None:
        raise MalformedResult(f"returned a Reply whose {problem}")
    if not is_confidence(reply.confidence):
        problem = f"confidence is {confidence_problem(reply.confidence)}"
    elif not well_formed_candidates(reply.candidates):
        problem = "candidates are not a tuple of Candidate(intent: str, confidence: number from 0 to 1)"
    elif not isinstance(reply.slots, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in reply.slots.items()
    ):
        problem = "slots are not a mapping of str to str"
    elif not isinstance(reply.trace, tuple | list):
        problem = f"trace is a {type(reply.trace).__name__}, not a tuple of str"
    elif reply.payload is not None and not isinstance(reply.payload, Mapping):
        problem = f"payload is a {type(reply.payload).__name__}, not a mapping or None"
    elif not is_bool(reply.handoff):
        problem = f"handoff is a {type(reply.handoff).__name__}, not a bool"
    if problem is not None:
        raise MalformedResult(f"returned a Reply whose {problem}")


def _check_block(block: Block) -> None:
    problem = _wrong_texts(block, ("reason", "reply"))
    if problem is None and not is_bool(block.handoff):  # "no" handed the conversation off
        problem = f"handoff is a {type(block.handoff).__name__}, not a bool"
    if problem is not None:
        raise MalformedResult(f"returned a Block whose {problem}")


def _wrong_texts(value: Any, names: tuple[str, ...]) -> str | None:
    """The first field of ``names`` that is neither a str nor None (None is "": no text)."""
    for name in names:
        field = getattr(value, name)
        if field is not None and not isinstance(field, str):
            return f"{name} is a {type(field).__name__}, not a str"
    return None


def confidence_problem(value: object) -> str:
    """What is wrong with a confidence that ``is_confidence`` refused, for an error message."""
    if isinstance(value, numbers.Real) and not isinstance(value, int | float) and not is_bool(value):
        # np.float32: JSON cannot write it, and float() is all it takes
        return f"a {type(value).__name__} ({float(value):g}), not a Python float: convert it with float()"
    shown = (
        repr(value) if isinstance(value, int | float) and not is_bool(value) else f"a {type(value).__name__}"
    )
    return f"{shown}, not a number from 0 to 1"


_ROUNDING = 1e-9
"""How far above 1 a confidence may be: a cosine of a vector with itself is 1.0000000000000002."""


def is_confidence(value: object) -> bool:
    """Whether ``value`` is a confidence: an int or float from 0 to 1, rounding aside (not a
    bool, not NaN: NaN made ``Reply.to_dict`` write text that is no JSON)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0 + _ROUNDING


def is_bool(value: object) -> bool:
    """Whether ``value`` is a bool or a NumPy bool (``score > 0.9`` of a NumPy score)."""
    kind = type(value)
    return kind is bool or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"))


def well_formed_candidates(candidates: object) -> bool:
    """Whether a plugin's ``Match`` or ``Reply`` candidates are what the value objects
    declare: a tuple of ``Candidate`` with a text intent and a confidence from 0 to 1."""
    return isinstance(candidates, tuple) and all(
        isinstance(c, Candidate) and isinstance(c.intent, str) and is_confidence(c.confidence)
        for c in candidates
    )
