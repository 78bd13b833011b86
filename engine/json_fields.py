"""Fields of JSON another program (or a broken write) may have left in a store, read only as
the type kefu writes them: ``ValueError`` naming the first field that is not (a
``"handoff": "false"`` was a hand-off, a ``null`` history text the text "None")."""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_TIME",
    "count_field",
    "history_entry",
    "list_field",
    "object_field",
    "optional_text",
    "required_text",
    "seconds",
    "shown_value",
    "text_dict",
    "time_field",
]

MAX_TIME = 1e11
"""Stored times are seconds since 1970 below this (the year 5138): 1e300 passed ``float``
and then failed ``datetime.date.fromtimestamp`` in every reply that filled a date slot."""


def shown_value(value: object) -> str:
    """A value as error messages show it: its type and its repr, cut to 40 characters."""
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 40 else shown[:37] + '...'}"


def _field(raw: dict[str, Any], key: str, default: object, within: str) -> tuple[object, str]:
    """The value of ``key`` and its name in messages (``'pending.slot'``)."""
    name = repr(f"{within}.{key}" if within else key)
    if default is _REQUIRED and key not in raw:
        raise ValueError(f"{name} is missing")
    return raw.get(key, default), name


_REQUIRED = object()


def required_text(raw: dict[str, Any], key: str, within: str = "") -> str:
    """``raw[key]``, which must be there and be text (``within``: the object it is in)."""
    value, name = _field(raw, key, _REQUIRED, within)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {shown_value(value)}")
    return value


def optional_text(raw: dict[str, Any], key: str) -> str | None:
    """``raw[key]`` if it is text, None if it is missing or null."""
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key!r} must be text or null, not {shown_value(value)}")
    return value


def time_field(raw: dict[str, Any], key: str) -> float:
    """``raw[key]``, which must be there, as a time (see ``seconds``)."""
    value, name = _field(raw, key, _REQUIRED, "")
    return seconds(value, name)


def seconds(value: object, name: str) -> float:
    """``value`` as seconds since 1970: a number (not a bool) from 0 to ``MAX_TIME``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < MAX_TIME:
        raise ValueError(f"{name} must be a time in seconds since 1970, not {shown_value(value)}")
    return float(value)


def count_field(raw: dict[str, Any], key: str, default: object = _REQUIRED, within: str = "") -> int:
    """``raw[key]`` as a whole number of 0 or more; required unless a ``default`` is given."""
    value, name = _field(raw, key, default, within)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number of 0 or more, not {shown_value(value)}")
    return value


def list_field(raw: dict[str, Any], key: str) -> list[Any]:
    """``raw[key]`` if it is a list, [] if it is missing or null."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list, not {shown_value(value)}")
    return value


def object_field(raw: dict[str, Any], key: str) -> dict[str, Any]:
    """``raw[key]``, which must be an object."""
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} must be an object, not {shown_value(value)}")
    return value


def text_dict(value: object, name: str) -> dict[str, str]:
    """``value`` as an object whose values are all text (a copy)."""
    if not isinstance(value, dict):
        raise ValueError(f"{name!r} must be an object, not {shown_value(value)}")
    for key, text in value.items():
        if not isinstance(text, str):
            raise ValueError(f"{name!r}: {key!r} must be text, not {shown_value(text)}")
    return dict(value)


def history_entry(raw: object) -> tuple[float, str, str, str]:
    """One history entry: [time, user text, bot text, intent or action]."""
    if not isinstance(raw, list) or len(raw) != 4 or not all(isinstance(text, str) for text in raw[1:]):
        raise ValueError(f"a 'history' entry must be [time, text, text, text], not {shown_value(raw)}")
    return (seconds(raw[0], "a 'history' time"), raw[1], raw[2], raw[3])
