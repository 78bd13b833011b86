"""Conversation state: ``Session`` and the ``SessionStore`` protocol (stores: ``kefu.memory_store``,
``kefu.redis_store``).

A ``Session`` is the one mutable object in kefu. Stores hand sessions out under a
per-session lock (``store.transaction(session_id)``) so that two messages of one
conversation handled at the same time never lose each other's update.
"""

from __future__ import annotations

import dataclasses
import json
import marshal
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from kefu.errors import StoreError
from kefu.json_fields import (
    count_field,
    history_entry,
    list_field,
    object_field,
    optional_text,
    required_text,
    seconds,
    shown_value,
    text_dict,
    time_field,
)
from kefu.normalize import SURROGATE

__all__ = [
    "MAX_SECONDS",
    "ActiveContext",
    "EndListener",
    "PendingSlot",
    "Session",
    "SessionStore",
    "Turn",
]

Turn = tuple[float, str, str, str]
"""One exchange in ``Session.history``: (time, user text, bot text, intent or action)."""

EndListener = Callable[["Session", str], None]
"""Called with a session that ended and why: "expired", "evicted" or "deleted"."""


@dataclass(slots=True)
class ActiveContext:
    """A context that is open in a session: turns left, optional deadline, its parameters."""

    name: str
    turns_left: int
    expires_at: float | None = None
    params: dict[str, str] | None = None

    def alive(self, now: float) -> bool:
        """Whether the context still counts at time ``now``."""
        return self.turns_left > 0 and (self.expires_at is None or now < self.expires_at)


@dataclass(slots=True)
class PendingSlot:
    """The slot the bot has asked for and is waiting to receive."""

    intent: str
    slot: str
    retries: int = 0


_PLAIN = frozenset({str, float, bool, type(None)})
"""Value types JSON gives back as they were (an int may be too long for JSON to write)."""


def marshal_ready(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the JSON stores give it back: an OrderedDict or IntEnum as a plain dict or
    int, a tuple as a list, an int key as text. ``TypeError``/``ValueError`` if an entry is
    not JSON-like (a set, bytes): marshal would keep it, so a plugin would work with
    ``MemoryStore`` and lose that value under Redis."""
    ready: dict[str, Any] = {}
    for key, value in data.items():
        if type(key) is str and type(value) in _PLAIN:
            ready[key] = value
        else:
            ready.update(json.loads(json.dumps({key: value})))
    return ready


class Session:
    """One conversation: history, open contexts, slots, hand-off state and plugin data.

    Containers are created on first use: most sessions in a large store are idle, and an
    empty dict costs more than the whole rest of the object.
    """

    __slots__ = (
        "_contexts",
        "_data",
        "_history",
        "_slots",
        "created",
        "fallback_streak",
        "handoff",
        "handoff_reason",
        "id",
        "last_active",
        "pending",
        "turns",
    )

    def __init__(self, session_id: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.id = session_id
        self.created = now
        self.last_active = now
        self.turns = 0
        self.fallback_streak = 0
        self.handoff = False
        self.handoff_reason: str | None = None
        self.pending: PendingSlot | None = None
        self._history: list[Turn] | None = None
        self._contexts: dict[str, ActiveContext] | None = None
        self._slots: dict[str, str] | None = None
        self._data: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, turns={self.turns}, handoff={self.handoff})"

    @property
    def history(self) -> list[Turn]:
        """The most recent exchanges, oldest first."""
        if self._history is None:
            self._history = []
        return self._history

    @property
    def contexts(self) -> dict[str, ActiveContext]:
        """Open contexts by name."""
        if self._contexts is None:
            self._contexts = {}
        return self._contexts

    @property
    def slots(self) -> dict[str, str]:
        """Slot values collected in this conversation."""
        if self._slots is None:
            self._slots = {}
        return self._slots

    @property
    def data(self) -> dict[str, Any]:
        """Free-form, JSON-serializable storage for plugins."""
        if self._data is None:
            self._data = {}
        return self._data

    @property
    def has_data(self) -> bool:
        """Whether any plugin data is stored (checking does not create the dict)."""
        return bool(self._data)

    def record(self, turn: Turn, limit: int) -> None:
        """Append an exchange, keeping at most ``limit`` of them."""
        history = self.history
        history.append(turn)
        if len(history) > limit:
            del history[: len(history) - limit]

    def active_contexts(self, now: float) -> dict[str, ActiveContext]:
        """Drop contexts that ran out of turns or time, and return the rest."""
        if not self._contexts:
            return {}
        dead = [name for name, ctx in self._contexts.items() if not ctx.alive(now)]
        for name in dead:
            del self._contexts[name]
        return self._contexts

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable snapshot of the session."""
        return {
            "id": self.id,
            "created": self.created,
            "last_active": self.last_active,
            "turns": self.turns,
            "fallback_streak": self.fallback_streak,
            "handoff": self.handoff,
            "handoff_reason": self.handoff_reason,
            "pending": None if self.pending is None else dataclasses.asdict(self.pending),
            "history": [list(t) for t in self._history or ()],
            "contexts": [dataclasses.asdict(c) for c in (self._contexts or {}).values()],
            "slots": dict(self._slots or {}),
            "data": dict(self._data or {}),
        }

    def to_json(self) -> str:
        """The session as compact JSON (what networked stores save); ``StoreError`` if
        ``data`` holds something JSON cannot write (a set, an object, a cycle)."""
        try:
            text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError) as exc:
            raise StoreError(
                f"session {self.id!r} holds data that is not plain JSON-like values: {exc}"
            ) from None
        if SURROGATE.search(text):
            # Half a character (in an id, or data a plugin kept) cannot be stored as UTF-8;
            # \u escapes keep it exactly.
            return json.dumps(self.to_dict(), separators=(",", ":"))
        return text

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Session:
        """Rebuild a session from ``to_dict`` output; ``ValueError`` naming the first field
        that is not of the type ``to_dict`` writes.

        Each field must be exactly that type, not one that converts to it: JSON another
        program (or a broken write) left in a store made ``"handoff": "false"`` a hand-off,
        ``null`` history texts the text "None", and a ``last_active`` of 1e300 failed every
        later reply that looked at the date.
        """
        if not isinstance(raw, dict):
            raise ValueError(f"a session is a JSON object, not {shown_value(raw)}")
        session = cls(required_text(raw, "id"), time_field(raw, "created"))
        session.last_active = time_field(raw, "last_active")
        session.turns = count_field(raw, "turns")
        session.fallback_streak = count_field(raw, "fallback_streak", 0)
        session.handoff = raw.get("handoff", False)
        if not isinstance(session.handoff, bool):
            raise ValueError(f"'handoff' must be true or false, not {shown_value(session.handoff)}")
        session.handoff_reason = optional_text(raw, "handoff_reason")
        pending = raw.get("pending")
        if pending is not None:
            pending = object_field(raw, "pending")
            session.pending = PendingSlot(
                required_text(pending, "intent", "pending"),
                required_text(pending, "slot", "pending"),
                count_field(pending, "retries", 0, "pending"),
            )
        history = list_field(raw, "history")
        if history:
            session._history = [history_entry(turn) for turn in history]
        contexts = list_field(raw, "contexts")
        if contexts:
            session._contexts = {}
            for context in contexts:
                active = _context(context)
                session._contexts[active.name] = active
        slots = raw.get("slots")
        if slots:
            session._slots = text_dict(slots, "slots")
        data = raw.get("data")
        if data:
            session._data = object_field(raw, "data")
        return session

    def pack(self) -> bytes:
        """A compact in-memory form (``marshal``), for stores inside this process only."""
        pending = (
            None if self.pending is None else (self.pending.intent, self.pending.slot, self.pending.retries)
        )
        contexts = (
            None
            if not self._contexts
            else [(c.name, c.turns_left, c.expires_at, c.params) for c in self._contexts.values()]
        )
        state = (self.id, self.created, self.last_active, self.turns, self.fallback_streak, self.handoff,
                 self.handoff_reason, pending, self._history, contexts, self._slots)  # fmt: skip
        try:
            # Data as a JSON store keeps it, so a plugin meets the same values in memory as in Redis.
            return marshal.dumps((*state, marshal_ready(self._data) if self._data else self._data))
        except (TypeError, ValueError, RecursionError) as exc:
            raise StoreError(
                f"session {self.id!r} holds data that is not plain JSON-like values: {exc}"
            ) from None

    @classmethod
    def unpack(cls, packed: bytes) -> Session:
        """The session ``pack`` packed. ``marshal`` is only ever fed our own bytes here, never
        a file or the network: networked stores use ``to_json``."""
        (session_id, created, last_active, turns, streak, handoff, reason, pending,
         history, contexts, slots, data) = marshal.loads(packed)  # fmt: skip
        session = cls(session_id, created)
        session.last_active, session.turns, session.fallback_streak = last_active, turns, streak
        session.handoff, session.handoff_reason = handoff, reason
        session.pending = None if pending is None else PendingSlot(*pending)
        session._history = history
        if contexts:
            session._contexts = {
                name: ActiveContext(name, left, until, params) for name, left, until, params in contexts
            }
        session._slots, session._data = slots, data
        return session

    @classmethod
    def from_json(cls, text: str | bytes) -> Session:
        """Rebuild a session from ``to_json`` output; ``StoreError`` if it is damaged."""
        try:
            return cls.from_dict(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError) as exc:
            # Any of these from JSON another program (or a broken write) left in the store
            # (OverflowError: "turns": 1e999 is infinity, which no int can hold):
            # a StoreError the caller handles, never a crash of the worker reading it.
            raise StoreError(f"stored session is damaged: {type(exc).__name__}: {exc}") from exc


def _context(raw: object) -> ActiveContext:
    """An open context from ``to_dict`` output, each field of the type ``alive`` compares."""
    if not isinstance(raw, dict):
        raise ValueError(f"a 'contexts' entry must be an object, not {shown_value(raw)}")
    until, params = raw.get("expires_at"), raw.get("params")
    return ActiveContext(
        required_text(raw, "name", "contexts"),
        count_field(raw, "turns_left", within="contexts"),
        None if until is None else seconds(until, "'contexts.expires_at'"),
        None if params is None else text_dict(params, "contexts.params"),
    )


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live between messages. Implementations must be thread-safe."""

    def get(self, session_id: str) -> Session | None:
        """The live session, or None if there is none or it expired."""

    def put(self, session: Session) -> None:
        """Save ``session`` and restart its idle timer."""

    def delete(self, session_id: str) -> None:
        """Forget a session (its end is reported as "deleted")."""

    def ids(self) -> Iterator[str]:
        """The ids of live sessions."""

    def expire(self) -> list[Session]:
        """Remove sessions idle for longer than the TTL now, report and return them."""

    def transaction(self, session_id: str) -> Any:
        """Context manager: the session (new if missing) under its lock, saved on exit."""

    def add_end_listener(self, listener: EndListener) -> None:
        """Call ``listener(session, reason)`` whenever a session ends."""


def check_count(name: str, value: object) -> None:
    """``ValueError`` unless ``value`` is a whole number of at least 1 (0 holds nothing)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")


def check_seconds(name: str, value: object, *, zero: bool = False) -> None:
    """``ValueError`` unless ``value`` is a finite number of seconds above 0 (or 0, with ``zero``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        least = "0 or more" if zero else "above 0"
        raise ValueError(f"{name} must be a finite number of seconds, {least}, not {value!r}")
    if value > MAX_SECONDS:
        raise ValueError(f"{name} must be at most {MAX_SECONDS:,} seconds (about 31 years), not {value!r}")


MAX_SECONDS = 10**9
"""The longest duration a store takes: Redis keeps expiries in milliseconds in a 64-bit
integer, and 1e17 s accepted here failed every reply with "value is not an integer or out
of range"."""
