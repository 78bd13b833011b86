"""The two WebSocket endpoints: ``/ws/visitor`` (the widget) and ``/ws/agent`` (the desk)."""

from __future__ import annotations

import logging
import secrets

from fastapi import WebSocket

import kefu
from chat_server.flood import FloodGuard
from chat_server.hub import Hub
from chat_server.outbox import Priority
from chat_server.peer import Peer, read_frames, run_peer
from chat_server.protocol import (
    CLOSE_DAMAGED,
    CLOSE_SLOW,
    CLOSE_UNAUTHORIZED,
    UNAVAILABLE,
    ClientFrame,
    error_frame,
    valid_id,
)
from chat_server.settings import Settings

__all__ = ["Connections", "agent_endpoint", "visitor_endpoint"]

log = logging.getLogger(__name__)


class Connections:
    """Counts open WebSockets so the server refuses more than ``max_connections``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0


async def visitor_endpoint(ws: WebSocket, hub: Hub, settings: Settings, connections: Connections) -> None:
    """One visitor: ``?session=<id>`` resumes a conversation, otherwise a new id is issued."""
    requested = ws.query_params.get("session")
    session_id = requested if valid_id(requested) else secrets.token_urlsafe(16)
    await ws.accept()
    if connections.open >= connections.limit:
        await ws.close(CLOSE_SLOW, "server is full, try again later")
        return
    connections.open += 1
    # The history sent on connect is a burst the server makes itself (1,000 turns are 100
    # frames): room for it comes on top of the outbox, as for agents' desks below.
    peer = Peer(session_id, "", ws.send_text, settings, headroom=hub.visitor_burst())
    guard = FloodGuard(settings.visitor_rate, settings.visitor_burst, settings.flood_strikes)

    async def read() -> None:
        await hub.visitor_joined(peer)
        async for frame in read_frames(ws, peer, guard, max_bytes=settings.max_frame_bytes, agent=False):
            await _visitor_frame(hub, peer, frame)

    try:
        await run_peer(ws, peer, read)
    finally:
        connections.open -= 1
        hub.visitor_left(peer)


async def _visitor_frame(hub: Hub, peer: Peer, frame: ClientFrame) -> None:
    # Every message gets exactly one reply frame (or error frame); its text is empty when
    # the bot stays silent (a human has the conversation, or a plugin blocked the message quietly).
    limit = hub.max_input_length
    if len(frame.text) > limit:
        # kefu would cut it to the limit: the bot would answer, and the transcript keep, only
        # the beginning of what the visitor sees they sent.
        message = f"消息过长：每条最多 {limit} 个字符，请分成几条发送"
        peer.put(error_frame("too_long", message, id=frame.id), Priority.CONTROL)
        return
    try:
        reply = await hub.engine.areply(frame.text, peer.id, metadata={"channel": "web"})
    except kefu.SessionDamagedError as exc:  # damaged since it connected: as at connect
        log.error("session %s: %s", peer.id, exc)
        peer.kick(CLOSE_DAMAGED, "this conversation cannot be read, start a new one")
        return
    except kefu.KefuError:  # e.g. the Redis session store is unreachable
        log.exception("no reply for session %s", peer.id)
        peer.put(error_frame("unavailable", UNAVAILABLE, id=frame.id), Priority.CONTROL)
        return
    peer.put(
        {
            "type": "reply",
            "from": "bot",
            "text": reply.text,
            "intent": reply.intent,
            "action": reply.action,
            "reply_to": frame.id,
        }
    )
    if reply.handoff:
        await hub.handed_off(peer.id, reply.handoff_reason or "handoff", frame.text)


async def agent_endpoint(ws: WebSocket, hub: Hub, settings: Settings, connections: Connections) -> None:
    """One agent: ``?name=<shown to visitors>`` (and ``&token=`` when the server requires one)."""
    await ws.accept()
    token = ws.query_params.get("token", "")
    if settings.agent_token and not secrets.compare_digest(token, settings.agent_token):
        await ws.close(CLOSE_UNAUTHORIZED, "agent token missing or wrong")
        return
    if connections.open >= connections.limit:
        await ws.close(CLOSE_SLOW, "server is full, try again later")
        return
    connections.open += 1
    name = (ws.query_params.get("name") or "").strip()[:32] or "客服"
    # Filling a desk queues a burst of assignments and transcripts at once: room for it
    # comes on top of the outbox, so only frames the agent leaves unread count as slow.
    peer = Peer(hub.new_agent_id(), name, ws.send_text, settings, headroom=hub.agent_burst())
    guard = FloodGuard(settings.agent_rate, settings.agent_burst, settings.flood_strikes)

    async def read() -> None:
        await hub.agent_joined(peer)
        async for frame in read_frames(ws, peer, guard, max_bytes=settings.max_frame_bytes, agent=True):
            await _agent_frame(hub, peer, frame)

    try:
        await run_peer(ws, peer, read)
    finally:
        connections.open -= 1
        await hub.agent_left(peer)


async def _agent_frame(hub: Hub, peer: Peer, frame: ClientFrame) -> None:
    assert frame.session is not None  # read_frame requires it of agents' messages and releases
    if frame.type == "release":
        await hub.release(peer, frame.session)
    else:
        await hub.agent_says(peer, frame.session, frame.text)
