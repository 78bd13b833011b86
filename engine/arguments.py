"""Checks of what callers pass to the public API (texts, session ids, contexts, metadata).

A wrong type is a ``TypeError`` that says what was passed, at the call: deep inside it
would be an ``AttributeError`` or, worse, a silently wrong answer (``str(None)`` matched as
the text "None")."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Mapping
from typing import Any

from kefu.errors import SessionIdError

__all__ = ["check_contexts", "check_id", "check_metadata", "check_text", "plain"]


def check_id(session_id: object) -> str:
    """``session_id`` as a plain ``str`` (see ``plain``); otherwise a ``SessionIdError``."""
    if not isinstance(session_id, str):
        raise SessionIdError(session_id)
    return plain(session_id)


def check_text(text: object, what: str = "text") -> str:
    """``text`` as a plain ``str`` (see ``plain``); otherwise a ``TypeError`` saying what it
    was. ``clean`` would turn None into the text "None" and match that, hiding the caller's bug."""
    if isinstance(text, str):
        return plain(text)
    raise _not_str(text, what)


def plain(text: str) -> str:
    """The characters of ``text`` as a ``str`` itself, not a subclass of it (``numpy.str_``
    from pandas, a ``StrEnum``): sessions are saved with ``marshal``, which writes a subclass
    as bytes or refuses it, so its conversation was lost or every reply failed."""
    return text if type(text) is str else str.__str__(text)


def check_contexts(contexts: object) -> frozenset[str]:
    """``contexts`` as a set of names: None or "" is none, one ``str`` is one context.
    Anything else must hold only ``str``: None or an int in a set of names never matches
    an intent's context, which would hide the caller's bug."""
    if contexts is None or isinstance(contexts, str):
        return frozenset((plain(contexts),) if contexts else ())
    if isinstance(contexts, bytes | bytearray) or not isinstance(contexts, Iterable):
        raise _not_str(contexts, "contexts", "a str or a list of str")
    return frozenset(check_text(name, f"contexts[{i}]") for i, name in enumerate(contexts))


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``metadata`` (None is empty); anything but a mapping is a ``TypeError``."""
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping (a dict), not {type(metadata).__name__}")
    return dict(metadata or {})


def _not_str(value: object, what: str, expected: str = "a str") -> TypeError:
    """The ``TypeError`` for ``what`` being ``value`` where ``expected`` was due."""
    kind = type(value).__name__
    hint = ": decode it first, e.g. data.decode('utf-8')" if isinstance(value, bytes | bytearray) else ""
    # reprlib: bounded, so a huge list passed by mistake is not printed whole.
    return TypeError(f"{what} must be {expected}, not {kind} ({reprlib.repr(value)}){hint}")
