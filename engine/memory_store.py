"""``MemoryStore``: the sessions of one process in a TTL-LRU (cachetools), the default store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import TracebackType

from cachetools import Cache, TTLCache

from kefu.sessions import EndListener, Session, check_count, check_seconds

__all__ = ["MemoryStore"]


class _ReportingTTLCache(TTLCache[str, bytes]):
    """A TTLCache of packed sessions that tells its owner about every entry it drops."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float], owner: MemoryStore):
        super().__init__(maxsize, ttl, timer)
        self._owner = owner

    def expire(self, time: float | None = None) -> list[tuple[str, bytes]]:
        expired = list(super().expire(time))
        for key, packed in expired:
            self._owner._ended(key, packed, "expired")
        return expired

    def popitem(self) -> tuple[str, bytes]:
        key, packed = super().popitem()
        self._owner._ended(key, packed, "evicted")
        return key, packed

    def peek(self, key: str) -> bytes | None:
        """The entry, without counting the read as use (the LRU order stays); call after
        ``expire()``, as an expired entry is not told apart here."""
        try:
            return Cache.__getitem__(self, key)  # TTLCache's own moves the key to the end
        except KeyError:
            return None


class MemoryStore:
    """Sessions in one process: an LRU of at most ``max_sessions``, each dropped after ``idle_ttl``.

    Sessions are kept packed (``Session.pack``, a few hundred bytes) rather than as
    objects (several times that), so a million idle conversations fit in well under a
    gigabyte; ``get`` hands out a fresh object and ``put`` / ``transaction`` store it back.
    cachetools only drops expired entries when the cache is written to; ``expire()``
    does it on demand, and the engine calls it at most once a second, so every end is
    reported promptly and an expired session is never handed out again. A conversation
    whose message is being handled is never ended by a sweep: its idle timer restarts
    when the message arrives (``RedisStore`` skips locked sessions to the same end). One
    evicted while its message is handled (more conversations at once than ``max_sessions``)
    stays ended: its reply is not saved, so it cannot end a second time. End listeners run
    with no conversation locked, so a ``session_ended`` hook may touch other conversations.
    """

    def __init__(
        self,
        max_sessions: int = 100_000,
        idle_ttl: float = 1800.0,
        *,
        clock: Callable[[], float] = time.time,
        lock_stripes: int = 1024,
    ) -> None:
        check_count("max_sessions", max_sessions)
        check_seconds("idle_ttl", idle_ttl)
        check_count("lock_stripes", lock_stripes)
        self.max_sessions = max_sessions
        self.idle_ttl = idle_ttl
        self.clock = clock
        self._lock = threading.RLock()
        self._cache = _ReportingTTLCache(max_sessions, idle_ttl, clock, self)
        # Striped locks bound memory: sessions that share a stripe merely wait for each other.
        # Re-entrant: a hook may end its own conversation (delete takes the same lock).
        self._stripes = [threading.RLock() for _ in range(lock_stripes)]
        self._listeners: list[EndListener] = []
        self._ended_queue: list[tuple[bytes, str]] = []
        self._in_flight: dict[str, bool] = {}  # open transactions: id -> ended meanwhile

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def get(self, session_id: str) -> Session | None:
        """A copy of the live session, or None. Reading is not activity: the LRU order of
        eviction stays that of the conversations' messages."""
        with self._lock:
            self._cache.expire()
            packed = self._cache.peek(session_id)
        self._notify()
        return None if packed is None else Session.unpack(packed)

    def put(self, session: Session) -> None:
        """Save the session and restart its idle timer."""
        packed = session.pack()
        with self._lock:
            self._cache[session.id] = packed
        self._notify()

    def delete(self, session_id: str) -> None:
        """Forget a session; a reply in progress for it finishes first (taking its lock):
        otherwise that reply saved it again, history and slots included."""
        with self._stripes[hash(session_id) % len(self._stripes)], self._lock:
            packed = self._cache.pop(session_id, None)
            if packed is not None:
                self._ended(session_id, packed, "deleted")
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
            expired = self._cache.expire()
        self._notify()
        return [Session.unpack(packed) for _, packed in expired]  # unpacked unlocked

    def transaction(self, session_id: str) -> AbstractContextManager[Session]:
        """The session (new if missing), locked for this conversation, saved on exit (not
        if the body raises, nor if the session was evicted meanwhile)."""
        return _Transaction(self, session_id)

    def add_end_listener(self, listener: EndListener) -> None:
        """Call ``listener(session, reason)`` when a session expires, is evicted or deleted."""
        self._listeners.append(listener)

    def _ended(self, session_id: str, packed: bytes, reason: str) -> None:
        # Called under self._lock (from inside cachetools); listeners run later, unlocked.
        if session_id in self._in_flight:
            self._in_flight[session_id] = True
        self._ended_queue.append((packed, reason))

    def _notify(self) -> None:
        if not self._ended_queue:
            return
        with self._lock:
            ended, self._ended_queue = self._ended_queue, []
        for packed, reason in ended:
            session = Session.unpack(packed)
            for listener in self._listeners:
                listener(session, reason)


class _Transaction:
    """``MemoryStore.transaction``: a context manager written as a class, because
    ``contextlib.contextmanager``'s wrapper (a helper call, a generator resumed twice, a
    ``StopIteration`` caught) cost as much as the store's own work on every reply."""

    __slots__ = ("_session", "_session_id", "_store", "_stripe")

    def __init__(self, store: MemoryStore, session_id: str) -> None:
        self._store = store
        self._session_id = session_id
        self._stripe = store._stripes[hash(session_id) % len(store._stripes)]

    def __enter__(self) -> Session:
        store, session_id = self._store, self._session_id
        with store._lock:
            store._cache.expire()
        # The end of a conversation idle past the TTL is reported before one under the same
        # id can start: a plugin keeping state per session id would drop the new one's.
        store._notify()
        try:
            self._stripe.acquire()  # before the try: a lock that was never taken is not released
            try:
                with store._lock:
                    packed = store._cache.get(session_id)
                    if packed is not None:
                        # Restart its idle timer: a sweep while this message is handled would
                        # report a conversation in use as ended, and the save below revive it.
                        store._cache[session_id] = packed
                    store._in_flight[session_id] = False
                try:
                    self._session = (
                        Session(session_id, store.clock()) if packed is None else Session.unpack(packed)
                    )
                except BaseException:
                    self._abandon()
                    raise
            except BaseException:
                self._stripe.release()
                raise
        except BaseException:
            store._notify()  # with no conversation locked: hooks may touch other conversations
            raise
        return self._session

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        store = self._store
        try:
            try:
                if kind is not None:  # a transaction that raises saves nothing
                    self._abandon()
                    return
                try:
                    packed = self._session.pack()
                except BaseException:
                    self._abandon()
                    raise
                with store._lock:  # one lock from the check to the save: no eviction in between
                    if not store._in_flight.pop(self._session_id):
                        store._cache[self._session_id] = packed
            finally:
                self._stripe.release()
        finally:
            store._notify()  # with no conversation locked: hooks may touch other conversations

    def _abandon(self) -> None:
        with self._store._lock:
            del self._store._in_flight[self._session_id]
