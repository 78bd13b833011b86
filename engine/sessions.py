"""Conversation state: ``Session``, the ``SessionStore`` protocol and the in-memory store.

A ``Session`` is the one mutable object in kefu. Stores hand sessions out under a
per-session lock (``store.transaction(session_id)``) so that two messages of one
conversation handled at the same time never lose each other's update.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cachetools import TTLCache

from kefu.errors import StoreError

__all__ = [
    "ActiveContext",
    "EndListener",
    "MemoryStore",
    "PendingSlot",
    "Session",
    "SessionStore",
    "Turn",
]

Turn = tuple[float, str, str, str]
"""One exchange in ``Session.history``: (time, user text, bot text, intent or action)."""

EndListener = Callable[["Session", str], None]
"""Called with a session that ended and why: "expired", "evicted" or "deleted"."""


@dataclass
class ActiveContext:
    """A context that is open in a session: turns left, optional deadline, its parameters."""

    name: str
    turns_left: int
    expires_at: float | None = None
    params: dict[str, str] | None = None

    def alive(self, now: float) -> bool:
        """Whether the context still counts at time ``now``."""
        return self.turns_left > 0 and (self.expires_at is None or now < self.expires_at)


@dataclass
class PendingSlot:
    """The slot the bot has asked for and is waiting to receive."""

    intent: str
    slot: str
    retries: int = 0


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
            "pending": None if self.pending is None else vars(self.pending),
            "history": [list(t) for t in self._history or ()],
            "contexts": [vars(c) for c in (self._contexts or {}).values()],
            "slots": dict(self._slots or {}),
            "data": dict(self._data or {}),
        }

    def to_json(self) -> str:
        """The session as compact JSON (what networked stores save)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Session:
        """Rebuild a session from ``to_dict`` output."""
        session = cls(str(raw["id"]), float(raw["created"]))
        session.last_active = float(raw["last_active"])
        session.turns = int(raw["turns"])
        session.fallback_streak = int(raw.get("fallback_streak", 0))
        session.handoff = bool(raw.get("handoff", False))
        session.handoff_reason = raw.get("handoff_reason")
        pending = raw.get("pending")
        session.pending = PendingSlot(**pending) if pending else None
        if raw.get("history"):
            session._history = [(float(t), str(u), str(b), str(i)) for t, u, b, i in raw["history"]]
        if raw.get("contexts"):
            session._contexts = {c["name"]: ActiveContext(**c) for c in raw["contexts"]}
        if raw.get("slots"):
            session._slots = {str(k): str(v) for k, v in raw["slots"].items()}
        if raw.get("data"):
            session._data = dict(raw["data"])
        return session

    @classmethod
    def from_json(cls, text: str | bytes) -> Session:
        """Rebuild a session from ``to_json`` output; ``StoreError`` if it is damaged."""
        try:
            return cls.from_dict(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(f"stored session is damaged: {exc}") from exc


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


class _ReportingTTLCache(TTLCache[str, Session]):
    """A TTLCache that tells its owner about every entry it drops by itself."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float], owner: MemoryStore):
        super().__init__(maxsize, ttl, timer)
        self._owner = owner

    def expire(self, time: float | None = None) -> list[tuple[str, Session]]:
        expired = list(super().expire(time))
        for _, session in expired:
            self._owner._ended(session, "expired")
        return expired

    def popitem(self) -> tuple[str, Session]:
        key, session = super().popitem()
        self._owner._ended(session, "evicted")
        return key, session


class MemoryStore:
    """Sessions in one process: an LRU of at most ``max_sessions``, each dropped after ``idle_ttl``.

    cachetools only drops expired entries when the cache is written to; ``expire()``
    does it on demand, and the engine calls it at most once a second, so every end is
    reported promptly and an expired session is never handed out again.
    """

    def __init__(
        self,
        max_sessions: int = 100_000,
        idle_ttl: float = 1800.0,
        *,
        clock: Callable[[], float] = time.time,
        lock_stripes: int = 1024,
    ) -> None:
        self.max_sessions = max_sessions
        self.idle_ttl = idle_ttl
        self.clock = clock
        self._lock = threading.RLock()
        self._cache = _ReportingTTLCache(max_sessions, idle_ttl, clock, self)
        # Striped locks bound memory: sessions that share a stripe merely wait for each other.
        self._stripes = [threading.Lock() for _ in range(lock_stripes)]
        self._listeners: list[EndListener] = []
        self._ended_queue: list[tuple[Session, str]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def get(self, session_id: str) -> Session | None:
        """The live session, or None."""
        with self._lock:
            return self._cache.get(session_id)

    def put(self, session: Session) -> None:
        """Save the session and restart its idle timer."""
        with self._lock:
            self._cache[session.id] = session
        self._notify()

    def delete(self, session_id: str) -> None:
        """Forget a session."""
        with self._lock:
            session = self._cache.pop(session_id, None)
            if session is not None:
                self._ended(session, "deleted")
        self._notify()

    def ids(self) -> Iterator[str]:
        """Ids of live sessions (a snapshot)."""
        with self._lock:
            self._cache.expire()
            ids = list(self._cache.keys())
        self._notify()
        return iter(ids)

    def expire(self) -> list[Session]:
        """Drop every session idle past the TTL now; returns them."""
        with self._lock:
            expired = [session for _, session in self._cache.expire()]
        self._notify()
        return expired

    @contextmanager
    def transaction(self, session_id: str) -> Iterator[Session]:
        """The session (new if missing), locked for this conversation, saved on exit."""
        with self._stripes[hash(session_id) % len(self._stripes)]:
            session = self.get(session_id)
            if session is None:
                session = Session(session_id, self.clock())
            yield session
            self.put(session)

    def add_end_listener(self, listener: EndListener) -> None:
        """Call ``listener(session, reason)`` when a session expires, is evicted or deleted."""
        self._listeners.append(listener)

    def _ended(self, session: Session, reason: str) -> None:
        # Called under self._lock (from inside cachetools); listeners run later, unlocked.
        self._ended_queue.append((session, reason))

    def _notify(self) -> None:
        if not self._ended_queue:
            return
        with self._lock:
            ended, self._ended_queue = self._ended_queue, []
        for session, reason in ended:
            for listener in self._listeners:
                listener(session, reason)
