"""``Outbox``: one connection's outgoing frames, most urgent first, bounded.

Every connection has one outbox and one writer task draining it, so nothing else ever
waits on a client's socket: the bot, the hub and other visitors only ``put`` (never
blocks). Live replies jump ahead of history sync and other bulk traffic. A client
that stops reading fills its outbox (``capacity`` frames) or stalls one send past
``send_timeout``; either way its outbox fails and the connection is closed with 1013,
and no other connection notices.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from enum import IntEnum
from typing import Any

from chat_server.protocol import dumps

__all__ = ["Outbox", "Priority"]

log = logging.getLogger(__name__)


class Priority(IntEnum):
    """Which frames go out first (lower first; equal priorities keep their order)."""

    CONTROL = 0
    """Errors and notices about the connection itself."""
    LIVE = 1
    """Replies from the bot or an agent, status changes: what a person is waiting for."""
    SYNC = 2
    """History on (re)connect, transcripts, presence: useful, but never ahead of a reply."""


class Outbox:
    """A bounded priority queue of frames for one client, and the task that sends them."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        *,
        capacity: int,
        send_timeout: float,
        on_fail: Callable[[str], None],
    ) -> None:
        self._send = send
        self._queue: asyncio.PriorityQueue[tuple[int, int, str]] = asyncio.PriorityQueue(capacity)
        self._order = itertools.count()
        self.send_timeout = send_timeout
        self._on_fail = on_fail
        self.closed = False
        """Set by ``close``: the connection is closing, nothing more is queued or sent."""
        self.failure: str | None = None
        """Why the outbox gave up on its client (the connection is then closed), or None."""

    def put(self, frame: Mapping[str, Any], priority: Priority = Priority.LIVE) -> bool:
        """Queue ``frame``; False (and the outbox fails) when the client is too far behind."""
        if self.failure is not None or self.closed:
            return False
        try:
            self._queue.put_nowait((priority, next(self._order), dumps(frame)))
        except asyncio.QueueFull:
            self._fail(f"too slow: {self._queue.maxsize} frames waiting")
            return False
        return True

    def close(self) -> None:
        """Queue and send nothing more: the connection is closing."""
        self.closed = True

    async def run(self) -> None:
        """Send frames, most urgent first; returns when a send stalls (the outbox has failed)
        or once ``close`` was called."""
        # Checked after every send because cancelling is not enough: wait_for (3.10, 3.11)
        # drops a cancel that arrives as its send finishes, and the writer went on sending
        # into the closed socket.
        while not self.closed:
            _, _, text = await self._queue.get()
            try:
                await asyncio.wait_for(self._send(text), self.send_timeout)
            except asyncio.TimeoutError:
                self._fail(f"too slow: one frame took over {self.send_timeout:g} s")
                return
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued frame was sent (while ``run`` is running)."""
        await self._queue.join()

    def _fail(self, why: str) -> None:
        if self.failure is None:
            self.failure = why
            log.info("closing a slow client: %s", why)
            self._on_fail(why)
