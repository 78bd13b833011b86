"""``RedisStore``: sessions shared by many processes and machines through Redis.

Layout, under ``key_prefix`` (default ``kefu:session:``):

* ``<prefix><id>``: the session as JSON. Its key expires ``idle_ttl + end_grace``
  seconds after the last write.
* ``<prefix>lock:<id>``: the per-session lock (a random token, ``SET NX PX``).
* ``<prefix>idle``: a sorted set of session ids scored by the time they go idle.

Why a lock and not an optimistic ``WATCH``/``MULTI`` retry: a reply fires plugin hooks
(hand-off notifications, order look-ups) between reading and writing the session, and
re-running it on conflict would fire them twice. A lock serializes the messages of one
conversation, which is also the order a user expects. The lock expires after
``lock_timeout`` so a crashed worker cannot wedge a conversation, and the final write is
a compare-and-set on the lock token: if the lock expired and someone else took it, the
write is refused with ``StoreError`` rather than overwriting their update.

Session ends: a session is idle once ``idle_ttl`` passed since its last write; it is
never returned after that. ``expire()`` (engines call it about once a second) claims
idle ids from the sorted set with ``ZREM`` (exactly one process wins each) and reports
the final session to its listeners. If no engine sweeps within ``end_grace`` seconds,
Redis's own key expiry drops the data, and the end is reported later with an empty
session carrying only the id.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from kefu.errors import StoreError
from kefu.sessions import EndListener, Session

try:
    import redis
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("RedisStore needs the redis package: pip install 'kefu[redis]'") from exc

__all__ = ["RedisStore"]

T = TypeVar("T")

_WRITE_IF_LOCKED = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('zadd', KEYS[3], ARGV[4], ARGV[5])
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def redact(url: str) -> str:
    """``url`` without its password, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisStore:
    """Sessions in Redis: shared by every engine process that uses the same URL and prefix."""

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        idle_ttl: float = 1800.0,
        key_prefix: str = "kefu:session:",
        lock_timeout: float = 10.0,
        lock_wait: float = 10.0,
        end_grace: float = 3600.0,
        socket_timeout: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.idle_ttl = idle_ttl
        self.prefix = key_prefix
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.end_grace = end_grace
        self.clock = clock
        self._listeners: list[EndListener] = []
        try:
            self.client = redis.Redis.from_url(
                url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        except ValueError as exc:
            raise StoreError(f"invalid Redis URL {redact(url)!r}: {exc}") from None
        self._write_if_locked = self.client.register_script(_WRITE_IF_LOCKED)
        self._release = self.client.register_script(_RELEASE)

    def __repr__(self) -> str:
        return f"RedisStore({redact(self.url)!r}, prefix={self.prefix!r})"

    def _call(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except redis.RedisError as exc:
            raise StoreError(f"Redis at {redact(self.url)} failed to {what}: {exc}") from None

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}{session_id}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}idle"

    # -- SessionStore -----------------------------------------------------------------------

    def get(self, session_id: str) -> Session | None:
        """The session, or None if there is none or it has been idle past the TTL."""
        raw = self._call("read a session", lambda: self.client.get(self._key(session_id)))
        if raw is None:
            return None
        session = Session.from_json(raw)
        return None if self._idle(session) else session

    def _idle(self, session: Session) -> bool:
        return self.clock() >= session.last_active + self.idle_ttl

    def put(self, session: Session) -> None:
        """Save a session without taking its lock (use ``transaction`` for updates)."""
        idle_at = session.last_active + self.idle_ttl
        pipe = self.client.pipeline()
        pipe.set(self._key(session.id), session.to_json(), px=self._key_ttl_ms())
        pipe.zadd(self._index, {session.id: idle_at})
        self._call("save a session", pipe.execute)

    def _key_ttl_ms(self) -> int:
        return max(1, int((self.idle_ttl + self.end_grace) * 1000))

    def delete(self, session_id: str) -> None:
        """Forget a session and report its end as "deleted"."""
        key = self._key(session_id)
        pipe = self.client.pipeline()
        pipe.getdel(key)
        pipe.zrem(self._index, session_id)
        raw, _ = self._call("delete a session", pipe.execute)
        if raw is not None:
            self._ended(Session.from_json(raw), "deleted")

    def ids(self) -> Iterator[str]:
        """Ids of sessions that are not idle."""
        members = self._call(
            "list sessions", lambda: self.client.zrangebyscore(self._index, self.clock(), "+inf")
        )
        return iter([m.decode() if isinstance(m, bytes) else str(m) for m in members])

    def expire(self) -> list[Session]:
        """Claim sessions that went idle, report them as "expired", and return them."""
        due = self._call(
            "find idle sessions",
            lambda: self.client.zrangebyscore(self._index, "-inf", self.clock()),
        )
        ended = []
        for member in due:
            session_id = member.decode() if isinstance(member, bytes) else str(member)
            if not self._claim(session_id):
                continue  # another process claimed it
            raw = self._take(session_id)
            session = Session.from_json(raw) if raw is not None else Session(session_id, 0.0)
            if raw is not None and not self._idle(session):
                self.put(session)  # written again meanwhile: still alive, put it back
                continue
            ended.append(session)
            self._ended(session, "expired")
        return ended

    def _claim(self, session_id: str) -> bool:
        return bool(self._call("claim an idle session", lambda: self.client.zrem(self._index, session_id)))

    def _take(self, session_id: str) -> bytes | str | None:
        return self._call("read an idle session", lambda: self.client.getdel(self._key(session_id)))

    @contextmanager
    def transaction(self, session_id: str) -> Iterator[Session]:
        """The session (new if missing) under its Redis lock; saved on exit if still locked."""
        lock_key = f"{self.prefix}lock:{session_id}"
        token = uuid.uuid4().hex
        self._acquire(lock_key, token, session_id)
        try:
            session = self.get(session_id) or Session(session_id, self.clock())
            yield session
            self._save_locked(session, lock_key, token)
        finally:
            with contextlib.suppress(redis.RedisError):  # it expires after lock_timeout anyway
                self._release(keys=[lock_key], args=[token])

    def _acquire(self, lock_key: str, token: str, session_id: str) -> None:
        deadline = time.monotonic() + self.lock_wait
        ttl = max(1, int(self.lock_timeout * 1000))
        pause = 0.001
        while True:
            got = self._call("lock a session", lambda: self.client.set(lock_key, token, nx=True, px=ttl))
            if got:
                return
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"Redis at {redact(self.url)}: session {session_id!r} stayed locked for {self.lock_wait}s"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _save_locked(self, session: Session, lock_key: str, token: str) -> None:
        args: list[Any] = [
            token,
            session.to_json(),
            self._key_ttl_ms(),
            session.last_active + self.idle_ttl,
            session.id,
        ]
        written = self._call(
            "save a session",
            lambda: self._write_if_locked(keys=[lock_key, self._key(session.id), self._index], args=args),
        )
        if not written:
            raise StoreError(
                f"Redis at {redact(self.url)}: lock on session {session.id!r} expired before the update "
                f"was saved (lock_timeout={self.lock_timeout}s); the update was not written"
            )

    def add_end_listener(self, listener: EndListener) -> None:
        """Call ``listener(session, reason)`` for sessions this process sees end."""
        self._listeners.append(listener)

    def _ended(self, session: Session, reason: str) -> None:
        for listener in self._listeners:
            listener(session, reason)
