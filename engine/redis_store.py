"""``RedisStore``: sessions shared by many processes and machines through Redis.

Layout, under ``key_prefix`` (default ``kefu:session:``):

* ``<prefix>s:<id>``: the session as JSON. Its key expires ``idle_ttl + end_grace``
  seconds after the last write.
* ``<prefix>lock:<id>``: the per-session lock (a random token with a timeout).
* ``<prefix>idle``: a sorted set of session ids scored by the time they go idle.

Session ids have their own ``s:`` namespace, so no id ("idle", "lock:x") can land on
a bookkeeping key. Every process sharing a prefix must use the same ``idle_ttl``.

Why a lock and not an optimistic ``WATCH``/``MULTI`` retry: a reply fires plugin hooks
(hand-off notifications, order look-ups) between reading and writing the session, and
re-running it on conflict would fire them twice. A lock serializes the messages of one
conversation, which is also the order a user expects. The lock expires after
``lock_timeout`` so a crashed worker cannot wedge a conversation, and the final write is
a compare-and-set on the lock token. A lock can be lost (it expired under a slow hook,
or a Redis restart or eviction dropped it): if someone else holds it now, or the session
changed since it was read, the write is refused with ``StoreError`` rather than
overwrite the other update; if the session is unchanged, nobody else wrote, and the
save goes ahead. Ending an idle session under the lock follows the same rule.

Session ends, the guarantee:

* A session is idle once ``idle_ttl`` passed since its last write (on the store's
  clock). It is never returned after that; the next message starts a new conversation.
* Its end is reported as "expired", with its final state, exactly once across every
  process sharing the Redis: by the first to notice, either a sweep (``expire()``;
  engines call it about once a second) or the next message for that id, in which case
  the end is reported before that message is handled. Either claims the session with
  one atomic Lua script that leaves it alone while a worker holds its lock, so a
  session in use is never ended under a worker's feet and two sweepers never both
  report it.
* If no process looks within ``end_grace`` seconds, Redis's own key expiry drops the
  data, and the end is reported later with an empty session carrying only the id.
* ``delete()`` reports "deleted" once, in the process that deleted it.
* Reports are at most once: a process that dies between claiming an end and calling
  its listeners loses that report. Keyspace notifications would be no better: Redis
  publishes them to whoever is subscribed at that instant, and to all of them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from kefu.errors import SessionDamagedError, StoreError
from kefu.redis_errors import check_database, explain, redact, unparsed
from kefu.redis_scripts import (
    DELETE_IF_UNLOCKED,
    END_IF_IDLE,
    END_LOCKED,
    LOCK_AND_OPEN,
    RELEASE,
    SAVE_AND_UNLOCK,
)
from kefu.sessions import EndListener, Session, check_seconds

try:
    import redis
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("RedisStore needs the redis package: pip install 'kefu[redis]'") from exc

__all__ = ["RedisStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

SWEEP_BATCH = 1000
"""At most this many idle sessions are ended per ``expire()`` call (bounds a reply's cost)."""
MAX_ABANDONED = 10_000
"""Lock tokens remembered for taking back (``RedisStore._abandon``); past this, stale ones go."""


class RedisStore:
    """Sessions in Redis: shared by every engine process that uses the same URL and prefix.

    See the module docstring for the key layout, the locking and when ends are reported.
    Any Redis failure raises ``StoreError`` naming the URL (password redacted); the
    store serves again as soon as Redis answers. It needs a standalone Redis: its
    scripts use keys in different hash slots, which Redis Cluster refuses.
    """

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
        check_seconds("idle_ttl", idle_ttl)
        check_seconds("lock_timeout", lock_timeout)
        check_seconds("lock_wait", lock_wait, zero=True)
        check_seconds("end_grace", end_grace, zero=True)
        check_seconds("socket_timeout", socket_timeout)
        for name, value in (("url", url), ("key_prefix", key_prefix)):
            if not isinstance(value, str):  # redis-py raised AttributeError; None made "Nones:x" keys
                raise TypeError(f"{name} must be a str, not {type(value).__name__}")
        self.url = url
        self.idle_ttl = idle_ttl
        self.prefix = key_prefix
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.end_grace = end_grace
        self.clock = clock
        self._listeners: list[EndListener] = []
        # Lock tokens whose lock may be held though no caller holds it: the lock script timed
        # out (Redis stalled past socket_timeout, then ran it). The next message of that
        # session here takes the token up again instead of waiting for lock_timeout. Session
        # id -> (token, monotonic time it was given up).
        self._abandoned: dict[str, tuple[str, float]] = {}
        self._abandoned_lock = threading.Lock()
        try:
            self.client = redis.Redis.from_url(
                url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        except (ValueError, TypeError) as exc:
            raise StoreError(f"invalid Redis URL {redact(url)!r}: {unparsed(exc, url)}") from None
        check_database(url)
        self._scripts = {
            name: self.client.register_script(source)
            for name, source in [
                ("lock_and_open", LOCK_AND_OPEN),
                ("save_and_unlock", SAVE_AND_UNLOCK),
                ("end_if_idle", END_IF_IDLE),
                ("delete", DELETE_IF_UNLOCKED),
                ("end_locked", END_LOCKED),
                ("release", RELEASE),
            ]
        }

    def __repr__(self) -> str:
        return f"RedisStore({redact(self.url)!r}, prefix={self.prefix!r})"

    def _call(self, what: str, action: Callable[[], T], keys: list[bytes] | None = None) -> T:
        """``action()``; any Redis error as ``StoreError``. ``keys``: what it reads, to name
        one holding another Redis type; a session's own key alone (``get``) is then
        ``SessionDamagedError``: the store works, that conversation cannot be read."""
        try:
            return action()
        except redis.RedisError as exc:
            problem = explain(exc, self.url, self.client.connection_pool.connection_kwargs)
            wrong = self._wrong_types(keys) if keys and str(exc).startswith("WRONGTYPE") else ""
            message = f"Redis at {redact(self.url)} failed to {what}: {wrong or problem}"
            if wrong and keys is not None and len(keys) == 1:
                raise SessionDamagedError(message) from None
            raise StoreError(message) from None

    def _run(self, what: str, script: str, keys: list[bytes], args: list[Any]) -> Any:
        return self._call(what, lambda: self._scripts[script](keys=keys, args=args), keys)

    def _wrong_types(self, keys: list[bytes]) -> str:
        """Which of a script's ``keys`` hold a Redis type kefu never writes there, and what
        to do ("" if that cannot be found out): Redis's WRONGTYPE names no key."""
        expected = {_wire(self._index): "zset"}
        found = []
        with contextlib.suppress(redis.RedisError):
            for key in keys:
                kind = _text(self.client.type(key))
                if kind not in ("none", expected.get(key, "string")):
                    found.append(f"{_text(key)!r} holds a Redis {kind}, not what kefu keeps there")
        return f"{'; '.join(found)}; delete it" if found else ""

    def _key(self, session_id: str) -> bytes:
        return _wire(f"{self.prefix}s:{session_id}")

    def _lock_key(self, session_id: str) -> bytes:
        return _wire(f"{self.prefix}lock:{session_id}")

    def _keys(self, session_id: str) -> list[bytes]:
        """The keys every script takes: lock, session, index."""
        return [self._lock_key(session_id), self._key(session_id), _wire(self._index)]

    def _now(self) -> str:
        return repr(self.clock())

    def _lock_ms(self) -> int:
        return max(1, int(self.lock_timeout * 1000))

    @property
    def _index(self) -> str:
        return f"{self.prefix}idle"

    # -- SessionStore -----------------------------------------------------------------------

    def get(self, session_id: str) -> Session | None:
        """The session, or None if there is none or it has been idle past the TTL."""
        key = self._key(session_id)
        raw = self._call("read a session", lambda: self.client.get(key), [key])
        if raw is None:
            return None
        session = self._load(raw, session_id)
        return None if self._idle(session) else session

    def _idle(self, session: Session) -> bool:
        return self.clock() >= session.last_active + self.idle_ttl

    def put(self, session: Session) -> None:
        """Save a session without taking its lock (use ``transaction`` for updates)."""
        idle_at = session.last_active + self.idle_ttl
        pipe = self.client.pipeline()
        pipe.set(self._key(session.id), session.to_json(), px=self._key_ttl_ms())
        pipe.zadd(self._index, {_wire(session.id): idle_at})
        self._call("save a session", pipe.execute)

    def _key_ttl_ms(self) -> int:
        return max(1, int((self.idle_ttl + self.end_grace) * 1000))

    def delete(self, session_id: str) -> None:
        """Forget a session (after any message in flight for it) and report it as "deleted"."""
        keys = self._keys(session_id)
        reply = self._while_locked(
            session_id, lambda: self._run("delete a session", "delete", keys, [_wire(session_id)])
        )
        if reply[2] or reply[1]:
            self._ended(self._final(reply[2], session_id), "deleted")

    def ids(self) -> Iterator[str]:
        """Ids of sessions that are not idle."""
        members = self._call(
            "list sessions",
            lambda: self.client.zrangebyscore(self._index, f"({self._now()}", "+inf"),
        )
        # Members that are not kefu's (not UTF-8) are left out; the sweep removes them when due.
        return iter([_text(m) for m in members if _readable(m)])

    def expire(self) -> list[Session]:
        """Claim sessions that went idle, report them as "expired", and return them.

        A session locked by a worker right now is left alone: that worker ends it
        itself if it finds it idle, and otherwise keeps it alive. At most
        ``SWEEP_BATCH`` sessions are looked at per call; the next call takes the rest.
        """
        now = self._now()
        due = self._call(
            "find idle sessions",
            lambda: self.client.zrangebyscore(self._index, "-inf", now, start=0, num=SWEEP_BATCH),
        )
        ended = []
        for member in due:
            if _readable(member):
                session_id = _text(member)
            else:  # not written by kefu (_wire): drop it, or every sweep fails
                log.error(
                    "Redis at %s: %r in %s is no session id; removed", redact(self.url), member, self._index
                )
                self._call(
                    "drop a damaged idle entry",
                    functools.partial(self.client.zrem, self._index, cast(bytes, member)),
                )
                continue
            session = self._end_if_idle(session_id)
            if session is not None:
                ended.append(session)
                self._ended(session, "expired")
        return ended

    def _end_if_idle(self, session_id: str) -> Session | None:
        reply = self._run(
            "end an idle session", "end_if_idle", self._keys(session_id), [self._now(), _wire(session_id)]
        )
        if reply[0] != 2:
            return None
        if _text(reply[2]) not in ("string", "none"):
            log.error(
                "%s; it was deleted, and its end is reported without its data",
                self._damaged(session_id, reply[2]),
            )
        return self._final(reply[1], session_id)

    @contextmanager
    def transaction(self, session_id: str) -> Iterator[Session]:
        """The session (new if missing or idle) under its Redis lock, saved on exit.

        If the lock was lost meanwhile (``lock_timeout`` ran out, Redis restarted or evicted
        it), the save still goes ahead when nobody changed the session since it was read;
        otherwise it is refused with ``StoreError`` and the other writer's update stays."""
        token, keys, member = self._token(session_id), self._keys(session_id), _wire(session_id)
        try:
            reply = self._while_locked(
                session_id,
                lambda: self._run(
                    "lock a session", "lock_and_open", keys, [token, self._lock_ms(), self._now(), member]
                ),
            )
        except StoreError:
            # A timed-out script may still run when Redis wakes up, and take the lock for nobody.
            self._abandon(session_id, token)
            raise
        state, raw = reply[0], reply[1] if len(reply) > 1 else None
        if state == 3:  # the key holds another Redis type: not taken, nothing to release
            raise SessionDamagedError(f"{self._damaged(session_id, raw)}, delete the key to start it afresh")
        saved = False
        try:
            if state == 2:  # it went idle and nobody had noticed: report it, start afresh
                self._ended(self._final(raw or b"", session_id), "expired")
            session, read = None, b""
            if state == 1 and raw is not None:
                session, read = self._live(self._load(raw, session_id), token, raw), raw
            if session is None:  # none is stored (any more): the save expects to find none
                session, read = Session(session_id, self.clock()), b""
            yield session
            self._save_and_unlock(session, token, read)
            saved = True
        finally:
            if not saved:
                # Not taken back if this fails: the release may still run late, and would then
                # free the lock of the next message holding the same token.
                with contextlib.suppress(redis.RedisError):  # it expires after lock_timeout anyway
                    self._scripts["release"](keys=[self._lock_key(session_id)], args=[token])

    def _token(self, session_id: str) -> str:
        """A fresh lock token, or the one an earlier message of this session gave up on
        (its lock may be held by nobody: taking it back costs no wait)."""
        with self._abandoned_lock:
            token, since = self._abandoned.pop(session_id, ("", 0.0))
        return token if token and time.monotonic() - since < self.lock_timeout else uuid.uuid4().hex

    def _abandon(self, session_id: str, token: str) -> None:
        now = time.monotonic()
        with self._abandoned_lock:
            if len(self._abandoned) >= MAX_ABANDONED:  # all stale by now, or Redis is down: forget them
                self._abandoned = {k: v for k, v in self._abandoned.items() if now - v[1] < self.lock_timeout}
                if len(self._abandoned) >= MAX_ABANDONED:
                    self._abandoned.clear()
            self._abandoned[session_id] = (token, now)

    def _damaged(self, session_id: str, kind: bytes | str | None) -> str:
        key = _text(self._key(session_id))
        return (
            f"Redis at {redact(self.url)}: session {session_id!r} ({key!r}) is damaged: "
            f"it holds a Redis {_text(kind)}, not kefu's JSON"
        )

    def _live(self, session: Session, token: str, read: bytes) -> Session | None:
        """``session``, or None after ending it if it is idle although the index did not say
        so: its index entry is gone (evicted by an ``allkeys-*`` maxmemory policy, deleted
        by hand), and no sweep will ever find it. The end is ours to report if we still hold
        the lock, or if it is gone and the session is still the ``read`` one; otherwise the
        worker holding the lock now ends it, or whoever changed it already did."""
        if not self._idle(session):
            return session
        args = [token, _wire(session.id), _sha1(read)]
        if self._run("end an idle session", "end_locked", self._keys(session.id), args):
            self._ended(session, "expired")
        return None

    def _while_locked(self, session_id: str, attempt: Callable[[], list[Any]]) -> list[Any]:
        """Run ``attempt`` until it does not answer {0} (locked), for at most ``lock_wait``."""
        deadline = time.monotonic() + self.lock_wait
        pause = 0.001
        while True:
            reply = attempt()
            if reply[0] != 0:
                return reply
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"Redis at {redact(self.url)}: session {session_id!r} stayed locked for {self.lock_wait}s"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _save_and_unlock(self, session: Session, token: str, read: bytes) -> None:
        """Save ``session`` if the lock is still ours, or is gone and the stored session is
        still the ``read`` one (compared by SHA-1 in the script, to send it only one way)."""
        idle_at = session.last_active + self.idle_ttl
        args = [token, session.to_json(), self._key_ttl_ms(), repr(idle_at), _wire(session.id), _sha1(read)]
        outcome = self._run("save a session", "save_and_unlock", self._keys(session.id), args)
        if outcome != 1:
            raise self._not_saved(session.id, taken=outcome == 0)

    def _not_saved(self, session_id: str, *, taken: bool) -> StoreError:
        timeout = f"lock_timeout={self.lock_timeout}s"
        if taken:
            why = (
                f"another worker holds its lock now (ours expired after {timeout}, or Redis lost it in "
                "a restart or an eviction), and its save would silently overwrite this update, so the "
                "update was not written"
            )
        else:
            why = (
                f"its lock was gone (expired after {timeout}, or lost in a Redis restart or an eviction) "
                "and the stored session changed or disappeared since it was read; the update was not "
                "written, so no other writer's update is overwritten"
            )
        return StoreError(
            f"Redis at {redact(self.url)}: session {session_id!r} was not saved: {why}. "
            "If replies can take longer than lock_timeout, raise it"
        )

    def _load(self, raw: bytes | str, session_id: str) -> Session:
        """The stored session; ``StoreError`` naming it and its key if the JSON is damaged."""
        try:
            session = Session.from_json(raw)
            if session.id != session_id:
                # JSON reads the \u escapes of a surrogate pair kept as two code points back
                # as one character: that is still this session.
                if session.id != json.loads(json.dumps(session_id)):  # another session's keys
                    raise StoreError(f"it holds session {session.id!r}")
                session.id = session_id
            return session
        except StoreError as exc:
            key = _text(self._key(session_id))
            raise SessionDamagedError(
                f"Redis at {redact(self.url)}: session {session_id!r} ({key!r}) is damaged, "
                f"delete the key to start it afresh: {exc}"
            ) from None

    def _final(self, raw: bytes, session_id: str) -> Session:
        """A session that ended (its data already deleted), as the end listeners get it:
        empty but for its id when the data is gone or damaged. Damaged data must not fail
        the sweep, which runs inside some other conversation's reply."""
        if raw:
            try:
                return self._load(raw, session_id)
            except StoreError as exc:
                log.error("%s; its end is reported without its data", exc)
        return Session(session_id, 0.0)

    def add_end_listener(self, listener: EndListener) -> None:
        """Call ``listener(session, reason)`` for sessions this process sees end."""
        self._listeners.append(listener)

    def _ended(self, session: Session, reason: str) -> None:
        for listener in self._listeners:
            listener(session, reason)


def _wire(text: str) -> bytes:
    """A key or session id as Redis bytes. Any ``str`` is a valid session id for kefu, even
    one holding half a character (a lone surrogate) that strict UTF-8 refuses, so it is
    passed through as is and read back the same way (``_text``)."""
    return text.encode("utf-8", "surrogatepass")


def _readable(member: object) -> bool:
    """Whether ``_text`` can read ``member`` (anything kefu wrote with ``_wire``)."""
    try:
        _text(member)
    except UnicodeDecodeError:
        return False
    return True


def _text(member: object) -> str:
    return member.decode("utf-8", "surrogatepass") if isinstance(member, bytes) else str(member)


def _sha1(raw: bytes) -> str:
    """What the scripts compare a stored session with (``redis.sha1hex``), to send it one way only."""
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()
