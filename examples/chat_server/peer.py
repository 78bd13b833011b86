"""``Peer``: one open WebSocket (a visitor or an agent), and the loop that runs it.

A connection is three tasks: the reader (what the client sends, one frame at a time),
the writer (the peer's ``Outbox``) and a watch for ``kick`` (the server deciding to
close it). The first of them to finish ends the connection; a kick closes it with its
code. Reading one frame at a time is itself back-pressure: a client's next frame is
not read until its previous message was answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

import kefu
from chat_server.flood import FloodGuard, Verdict
from chat_server.outbox import Outbox, Priority
from chat_server.protocol import (
    CLOSE_BINARY,
    CLOSE_DAMAGED,
    CLOSE_FLOOD,
    CLOSE_SLOW,
    CLOSE_UNAVAILABLE,
    ClientFrame,
    FrameError,
    error_frame,
    read_frame,
)
from chat_server.settings import Settings

__all__ = ["Peer", "read_frames", "run_peer"]

log = logging.getLogger(__name__)

CLOSE_WAIT = 2.0
"""Seconds to spend saying goodbye (the close frame) to a client that may not be reading."""


class Peer:
    """One connected visitor (``id`` is the session id) or agent (``id`` is unique per connection)."""

    def __init__(
        self,
        peer_id: str,
        name: str,
        send: Callable[[str], Awaitable[None]],
        settings: Settings,
        *,
        headroom: int = 0,
    ) -> None:
        """``headroom``: outbox room beyond ``settings.outbox_size`` for a burst the server itself queues."""
        self.id = peer_id
        self.name = name
        self.outbox = Outbox(
            send,
            capacity=settings.outbox_size + headroom,
            send_timeout=settings.send_timeout,
            on_fail=lambda why: self.kick(CLOSE_SLOW, why),
        )
        self.kicked = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""

    def __repr__(self) -> str:
        return f"Peer({self.id!r}, {self.name!r})"

    def put(self, frame: Mapping[str, Any], priority: Priority = Priority.LIVE) -> bool:
        """Queue a frame for this client (never waits); False if the client is being closed."""
        return self.outbox.put(frame, priority)

    def kick(self, code: int, reason: str) -> None:
        """Close this connection with ``code`` (the reason must be short ASCII: at most 123 bytes)."""
        if not self.kicked.is_set():
            self.close_code, self.close_reason = code, reason[:120]
            self.kicked.set()


async def run_peer(ws: WebSocket, peer: Peer, read: Callable[[], Awaitable[None]]) -> None:
    """Run an accepted connection until the client leaves or the server closes it."""
    reader = asyncio.ensure_future(read())
    writer = asyncio.ensure_future(peer.outbox.run())
    kicked = asyncio.ensure_future(peer.kicked.wait())
    tasks = {reader, writer, kicked}
    for task in tasks:
        task.add_done_callback(_retrieved)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if peer.kicked.is_set() and peer.outbox.failure is None and not writer.done():
            # Closed for what it sent: let the error frames already queued go out first.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(peer.outbox.drain(), CLOSE_WAIT)
    finally:
        peer.outbox.close()
        for task in tasks:
            task.cancel()
        # Cancelling only asks: let the writer stop before the socket closes under it.
        await asyncio.wait(tasks, timeout=CLOSE_WAIT)
    failure = None if reader.cancelled() or not reader.done() else reader.exception()
    if isinstance(failure, kefu.SessionDamagedError):  # retrying would fail forever: start afresh
        log.error("connection %r closed: %s", peer, failure)
        peer.kick(CLOSE_DAMAGED, "this conversation cannot be read, start a new one")
    elif isinstance(failure, kefu.StoreError):  # Redis down: one line, and the client retries later
        log.error("connection %r closed: %s", peer, failure)
        peer.kick(CLOSE_UNAVAILABLE, "session store unavailable, try again later")
    elif failure is not None and not isinstance(failure, WebSocketDisconnect):
        log.error("connection %r failed", peer, exc_info=failure)
        peer.kick(1011, "internal error")
    if writer.done() and not writer.cancelled() and writer.exception() is not None:
        log.debug("client %r went away mid-send: %r", peer, writer.exception())  # nothing to report
    if peer.kicked.is_set():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(peer.close_code, peer.close_reason), CLOSE_WAIT)


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Mark a connection task's exception as seen: ``run_peer`` reports the ones that matter,
    and asyncio must not log the rest as "Task exception was never retrieved"."""
    if not task.cancelled():
        task.exception()


async def read_frames(
    ws: WebSocket, peer: Peer, guard: FloodGuard, *, max_bytes: int, agent: bool
) -> AsyncIterator[ClientFrame]:
    """The client's valid frames but pings; answers pings and bad frames, kicks binary senders and floods."""
    while True:
        event = await ws.receive()
        if event["type"] == "websocket.disconnect":
            return
        text = event.get("text")
        if text is None:
            peer.kick(CLOSE_BINARY, "binary frames are not supported: send JSON text frames")
            return
        frame: ClientFrame | None = None
        try:
            frame = read_frame(text, max_bytes=max_bytes, agent=agent)
        except FrameError as exc:
            problem = error_frame(exc.code, exc.message)
        verdict = guard.judge()
        if verdict is Verdict.CLOSE:
            peer.kick(CLOSE_FLOOD, "too many messages: rate limit ignored")
            return
        if verdict is Verdict.REFUSE:
            refused = error_frame("rate_limited", "消息发送太频繁，请稍后再试", id=frame and frame.id)
            peer.put(refused, Priority.CONTROL)
        elif frame is None:
            peer.put(problem, Priority.CONTROL)
        elif frame.type == "ping":
            peer.put({"type": "pong"}, Priority.CONTROL)
        else:
            yield frame
