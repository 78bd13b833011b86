"""``Hub``: who is connected, which conversations a human has, and which agent has each.

Everything here runs on the event loop, so no locks: state changes happen between
``await`` points. Conversation state itself (history, the hand-off flag) lives in kefu's
session store; the hub only routes. A conversation handed off while no agent is online
waits here, its messages kept in the session's history, and goes to the next agent
who connects with the whole transcript. An agent has at most ``max_chats`` conversations
at a time; the rest wait, oldest first, for an agent to release one or to connect. Each
agent's desk shows how many they have and how many wait (``desk`` frames).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import kefu
from chat_server.outbox import Priority
from chat_server.peer import Peer
from chat_server.protocol import CLOSE_REPLACED, UNAVAILABLE, error_frame
from kefu.engine import AGENT_TEXT_LENGTH

__all__ = ["Handoff", "Hub", "turn_frames"]

log = logging.getLogger(__name__)

TURNS_PER_FRAME = 10
WAITING = "人工客服暂时都不在线，您的消息已为您保留，客服上线后会第一时间回复您。"
BUSY = "人工客服正忙，您已在排队中，消息已为您保留，客服空闲后会按顺序为您服务。"
AGENT_LEFT = "人工客服暂时离开了，您的消息会为您保留，稍后由其他客服继续为您服务。"
RELEASED = "人工客服已结束本次服务，{bot}继续为您服务～"


@dataclass
class Handoff:
    """A conversation a human has (or is waited for): why, and which agent has it."""

    session: str
    reason: str
    since: float
    agent: str | None = None


def turn_frames(
    kind: str, turns: Sequence[tuple[float, str, str, str]], **fields: Any
) -> list[dict[str, Any]]:
    """A transcript as frames of at most ``TURNS_PER_FRAME`` turns (never one huge frame)."""
    rows = [{"at": at, "user": user, "bot": bot, "label": label} for at, user, bot, label in turns]
    chunks = [rows[i : i + TURNS_PER_FRAME] for i in range(0, len(rows), TURNS_PER_FRAME)] or [[]]
    return [{"type": kind, **fields, "turns": chunk} for chunk in chunks]


class Hub:
    """Routes messages between visitors, the bot and agents for one server process."""

    def __init__(self, engine: kefu.Engine, max_chats: int = 5) -> None:
        if max_chats < 1:
            raise ValueError(f"max_chats must be at least 1, not {max_chats}")
        self.engine = engine
        self.max_chats = max_chats
        """Conversations one agent has at a time; more wait for a free agent, oldest first."""
        self.visitors: dict[str, Peer] = {}
        self.agents: dict[str, Peer] = {}
        self.handoffs: dict[str, Handoff] = {}
        """Conversations with (or waiting for) a human, oldest first."""
        self._desks: dict[str, tuple[int, int]] = {}
        """What each agent was last told in a ``desk`` frame: (their conversations, waiting)."""
        self._agent_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def new_agent_id(self) -> str:
        """A connection id for an agent (names may repeat; ids never do)."""
        return f"agent-{next(self._agent_ids)}"

    @property
    def bot_name(self) -> str:
        """The bot's name from its bot file."""
        return self.engine.spec.settings.name

    @property
    def max_input_length(self) -> int:
        """The longest visitor message the bot reads whole (its ``max_input_length``)."""
        return self.engine.spec.settings.max_input_length

    def visitor_burst(self) -> int:
        """The most frames the hub queues for one visitor at once: its history on connect
        (the bot's ``history_size`` turns, ``TURNS_PER_FRAME`` a frame)."""
        return max(math.ceil(self.engine.spec.settings.history_size / TURNS_PER_FRAME), 1)

    def agent_burst(self) -> int:
        """The most frames the hub queues for one agent at once: a full desk of assignments,
        each one ``assigned`` frame and its transcript, then a ``desk`` frame."""
        return self.max_chats * (1 + self.visitor_burst()) + 1

    # -- visitors ---------------------------------------------------------------------------

    async def visitor_joined(self, peer: Peer) -> None:
        """A visitor connected: replace an older window, greet, sync history at low priority."""
        old = self.visitors.get(peer.id)
        if old is not None:
            old.kick(CLOSE_REPLACED, "this conversation was opened in another window")
        self.visitors[peer.id] = peer
        session = await asyncio.to_thread(self.engine.session, peer.id)
        handoff = session is not None and session.handoff
        greeting = f"您好，我是{self.bot_name}，有什么可以帮您？"
        peer.put(
            {
                "type": "welcome",
                "session": peer.id,
                "bot": self.bot_name,
                "text": greeting,
                "handoff": handoff,
                "max_length": self.max_input_length,
            }
        )
        if session is not None and session.history:
            for frame in turn_frames("history", self._kept(session)):
                peer.put(frame, Priority.SYNC)
        if session is not None and session.handoff:
            if peer.id in self.handoffs:
                self._tell_visitor_status(peer.id)
            else:  # handed off before this process started, or by another process
                await self.handed_off(peer.id, session.handoff_reason or "handoff", None)
        self._presence(peer.id, online=True)

    def visitor_left(self, peer: Peer) -> None:
        """A visitor's connection ended (a newer window of the same conversation stays)."""
        if self.visitors.get(peer.id) is peer:
            del self.visitors[peer.id]
            self._presence(peer.id, online=False)

    async def handed_off(self, session_id: str, reason: str, text: str | None) -> None:
        """kefu handed ``session_id`` to a human (or a human has it and the visitor said ``text``)."""
        handoff = self.handoffs.get(session_id)
        if handoff is None:
            handoff = self.handoffs[session_id] = Handoff(session_id, reason, time.time())
            log.info("conversation %s handed off (%s)", session_id, reason)
            given = self._allot()
            if handoff.agent is None:
                self._tell_visitor_status(session_id)
            await self._send_transcripts(given)
            return
        agent = self._agent_of(handoff)
        if agent is None:
            self._tell_visitor_status(session_id)
        elif text is not None:
            frame = {"type": "visitor_message", "session": session_id, "text": text, "at": time.time()}
            agent.put(frame)

    def session_ended(self, session_id: str) -> None:
        """kefu's store dropped the conversation (idle past its TTL, evicted or deleted)."""
        handoff = self.handoffs.pop(session_id, None)
        if handoff is None:
            return
        agent = self._agent_of(handoff)
        if agent is not None:
            agent.put({"type": "ended", "session": session_id})
        # Called from kefu's threads through the loop, not from a coroutine: the agent's freed
        # place goes to the next waiting conversation (and the desks learn that one fewer
        # waits) in a task of its own.
        task = asyncio.get_running_loop().create_task(self._dispatch())
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("dispatching waiting conversations failed", exc_info=task.exception())

    # -- agents -----------------------------------------------------------------------------

    async def agent_joined(self, agent: Peer) -> None:
        """An agent connected: greet, then hand over the oldest waiting conversations (``max_chats``)."""
        self.agents[agent.id] = agent
        agent.put({"type": "welcome", "agent": agent.name, "id": agent.id, "bot": self.bot_name})
        await self._dispatch()

    async def agent_left(self, agent: Peer) -> None:
        """An agent disconnected: their conversations go to other agents, or wait."""
        if self.agents.pop(agent.id, None) is None:
            return
        self._desks.pop(agent.id, None)
        orphans = [h for h in self.handoffs.values() if h.agent == agent.id]
        for handoff in orphans:
            handoff.agent = None
        given = self._allot()
        for handoff in orphans:
            if handoff.agent is None:
                self._tell_visitor_status(handoff.session, AGENT_LEFT)
        await self._send_transcripts(given)

    async def agent_says(self, agent: Peer, session_id: str, text: str) -> None:
        """An agent's message: into the transcript, then to the visitor if connected.
        One longer than the transcript keeps (``AGENT_TEXT_LENGTH``) is refused, unsent."""
        if not self._owns(agent, session_id):
            return
        if len(text) > AGENT_TEXT_LENGTH:
            # record_agent_message would refuse it: the visitor must not see words that no
            # transcript, reconnecting visitor or next agent ever will.
            message = f"消息过长：每条最多 {AGENT_TEXT_LENGTH} 个字符，请分成几条发送"
            agent.put(error_frame("too_long", message, session=session_id))
            return
        # The agent's words join kefu's transcript, so a reconnecting visitor and the next
        # agent see them too (and a Redis store shares them with every server process).
        try:
            await asyncio.to_thread(self.engine.record_agent_message, session_id, text, agent.name)
        except kefu.StoreError as exc:  # not recorded, so not sent: the desk keeps the text
            log.error("agent message for %s not recorded: %s", session_id, exc)
            agent.put(error_frame("unavailable", UNAVAILABLE, session=session_id))
            return
        now = time.time()
        delivered = self._to_visitor(
            session_id, {"type": "reply", "from": "agent", "agent": agent.name, "text": text, "at": now}
        )
        agent.put({"type": "sent", "session": session_id, "text": text, "at": now, "delivered": delivered})

    async def release(self, agent: Peer, session_id: str) -> None:
        """The agent gives the conversation back to the bot (``engine.release``)."""
        if not self._owns(agent, session_id):
            return
        try:
            await asyncio.to_thread(self.engine.release, session_id)
        except kefu.StoreError as exc:  # still handed off in the store: the agent keeps it
            log.error("release of %s failed: %s", session_id, exc)
            agent.put(error_frame("unavailable", UNAVAILABLE, session=session_id))
            return
        other = self._agent_of(self.handoffs.pop(session_id, None))
        if other is not None and other.id != agent.id:  # reassigned while the release was under way
            other.put({"type": "released", "session": session_id})
        text = RELEASED.format(bot=self.bot_name)
        self._to_visitor(session_id, {"type": "status", "state": "bot", "text": text})
        agent.put({"type": "released", "session": session_id})
        log.info("conversation %s released by %s", session_id, agent.name)
        await self._dispatch()  # the agent has room for the next waiting conversation

    # -- routing ----------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Hand waiting conversations to agents with room, then send the transcripts."""
        await self._send_transcripts(self._allot())

    def _allot(self) -> list[tuple[Peer, Handoff]]:
        """Give waiting conversations, oldest first, to the least busy agents below ``max_chats``.

        Sends the ``assigned`` frames and tells those visitors who serves them (without an
        ``await``, so no conversation is given twice); the rest keep waiting in order.
        Ties go to the agent who connected first. Every change to who has what ends here,
        so this is also where the agents' ``desk`` frames are sent.
        """
        free = {agent_id: n for agent_id, n in self._load().items() if n < self.max_chats}
        given: list[tuple[Peer, Handoff]] = []
        for handoff in self.handoffs.values():
            if not free:
                break
            if handoff.agent is not None:
                continue
            agent = self.agents[min(free, key=free.__getitem__)]
            handoff.agent = agent.id
            free[agent.id] += 1
            if free[agent.id] >= self.max_chats:
                del free[agent.id]
            given.append((agent, handoff))
            online = handoff.session in self.visitors
            agent.put(
                {
                    "type": "assigned",
                    "session": handoff.session,
                    "reason": handoff.reason,
                    "since": handoff.since,
                    "visitor_online": online,
                }
            )
            self._tell_visitor_status(handoff.session)
        self._show_desks()
        return given

    def _load(self) -> dict[str, int]:
        """How many conversations each connected agent has."""
        load = dict.fromkeys(self.agents, 0)
        for handoff in self.handoffs.values():
            if handoff.agent in load:
                load[handoff.agent] += 1
        return load

    def _show_desks(self) -> None:
        """Tell each agent whose numbers changed how many conversations they have of
        ``max_chats``, and how many wait (after ``_allot``, any waiting means every desk is full)."""
        waiting = sum(1 for handoff in self.handoffs.values() if handoff.agent is None)
        for agent_id, chats in self._load().items():
            if self._desks.get(agent_id) != (chats, waiting):
                self._desks[agent_id] = (chats, waiting)
                frame = {"type": "desk", "chats": chats, "max_chats": self.max_chats, "waiting": waiting}
                self.agents[agent_id].put(frame)

    async def _send_transcripts(self, given: list[tuple[Peer, Handoff]]) -> None:
        for agent, handoff in given:
            try:
                session = await asyncio.to_thread(self.engine.session, handoff.session)
            except kefu.StoreError as exc:  # the conversation is the agent's all the same
                log.error("transcript of %s not sent to %s: %s", handoff.session, agent.name, exc)
                continue
            if session is not None and handoff.agent == agent.id:
                for frame in turn_frames("transcript", self._kept(session), session=handoff.session):
                    agent.put(frame, Priority.SYNC)

    def _kept(self, session: kefu.Session) -> list[tuple[float, str, str, str]]:
        """The turns of ``session`` the bot keeps now: the newest ``history_size``."""
        # Outboxes have room for that many; a history stored under a larger setting (before
        # a reload, or by another process sharing Redis) would not fit.
        return list(session.history[-self.engine.spec.settings.history_size :])

    def _tell_visitor_status(self, session_id: str, waiting: str | None = None) -> None:
        """Tell the visitor whether an agent (which) has the conversation, or it waits for one
        (``waiting``, by default: no agent online, or every agent's desk is full)."""
        agent = self._agent_of(self.handoffs.get(session_id))
        if agent is None:
            text = waiting or (BUSY if self.agents else WAITING)
            frame = {"type": "status", "state": "waiting", "text": text}
        else:
            text = f"人工客服 {agent.name} 为您服务"
            frame = {"type": "status", "state": "agent", "agent": agent.name, "text": text}
        self._to_visitor(session_id, frame)

    def _agent_of(self, handoff: Handoff | None) -> Peer | None:
        """The connected agent who has ``handoff``, if any."""
        return self.agents.get(handoff.agent) if handoff and handoff.agent else None

    def _owns(self, agent: Peer, session_id: str) -> bool:
        handoff = self.handoffs.get(session_id)
        if handoff is not None and handoff.agent == agent.id:
            return True
        agent.put(error_frame("not_assigned", "这个会话不在您的接待列表中", session=session_id))
        return False

    def _to_visitor(self, session_id: str, frame: dict[str, Any]) -> bool:
        visitor = self.visitors.get(session_id)
        return visitor is not None and visitor.put(frame)

    def _presence(self, session_id: str, *, online: bool) -> None:
        agent = self._agent_of(self.handoffs.get(session_id))
        if agent is not None:
            agent.put({"type": "visitor", "session": session_id, "online": online}, Priority.SYNC)
