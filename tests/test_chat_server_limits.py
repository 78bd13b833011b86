"""The example chat server's limits: agent token, connection cap, flood guard, slow clients,
settings, how deeply a frame may nest, how many conversations an agent gets at once, and
the frame-size limit of the real server.

The outbox (priority and back-pressure) is tested on its own; the last test starts the
real server (uvicorn) in a child process for what only real sockets show. Bad frames and
floods, as a client sees them, are in test_chat_server.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import urllib.request
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pytest
from chat_server.app import create_app
from chat_server.flood import FloodGuard, Verdict
from chat_server.hub import AGENT_LEFT, BUSY, WAITING
from chat_server.launch import running_server
from chat_server.outbox import Outbox, Priority
from chat_server.peer import Peer, run_peer
from chat_server.protocol import ClientFrame, FrameError, read_frame
from chat_server.settings import Settings
from fastapi import WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

import kefu

DEMO_BOT = Path(str(resources.files("kefu.intents")))
PROMPT = "请提供一下您的订单号（12-20位数字）哦，可以在「我的订单」里复制～"

Frame = dict[str, Any]


def bot_reply(text: str, intent: str | None, action: str, reply_to: str | None = "m1") -> Frame:
    return {
        "type": "reply",
        "from": "bot",
        "text": text,
        "intent": intent,
        "action": action,
        "reply_to": reply_to,
    }


def welcome(ws: WebSocketTestSession) -> None:
    assert ws.receive_json()["type"] == "welcome"


# -- connection limits ----------------------------------------------------------------------


def test_agents_need_the_token_when_one_is_set(make_client: Callable[..., TestClient]) -> None:
    client = make_client(agent_token="s3cret")
    with client.websocket_connect("/ws/agent?name=x") as ws:
        assert ws.receive() == {
            "type": "websocket.close",
            "code": 1008,
            "reason": "agent token missing or wrong",
        }
    with client.websocket_connect("/ws/agent?name=x&token=s3cret") as ws:
        assert ws.receive_json()["type"] == "welcome"


def test_a_full_server_refuses_more_connections(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_connections=1)
    with client.websocket_connect("/ws/visitor") as ws:
        welcome(ws)
        with client.websocket_connect("/ws/visitor") as refused:
            assert refused.receive() == {
                "type": "websocket.close",
                "code": 1013,
                "reason": "server is full, try again later",
            }


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [
        # (seconds since the previous frame, ...) with rate 1/s, burst 2, 1 strike
        ((0, 0), [Verdict.ACCEPT, Verdict.ACCEPT]),  # the burst
        ((0, 0, 0), [Verdict.ACCEPT, Verdict.ACCEPT, Verdict.REFUSE]),  # over it: refused
        ((0, 0, 0, 0), [Verdict.ACCEPT, Verdict.ACCEPT, Verdict.REFUSE, Verdict.CLOSE]),  # strikes used up
        (
            (0, 0, 0, 1.0),
            [Verdict.ACCEPT, Verdict.ACCEPT, Verdict.REFUSE, Verdict.ACCEPT],
        ),  # a second later: fine
    ],
)
def test_flood_guard_verdicts(ticks: tuple[float, ...], expected: list[Verdict]) -> None:
    now = [0.0]
    guard = FloodGuard(rate=1.0, burst=2, strikes=1, clock=lambda: now[0])
    verdicts = []
    for tick in ticks:
        now[0] += tick
        verdicts.append(guard.judge())
    assert verdicts == expected


# -- the outbox: priority and back-pressure -------------------------------------------------


def _outbox(send: Callable[[str], Any], capacity: int = 8, timeout: float = 5.0) -> tuple[Outbox, list[str]]:
    failures: list[str] = []
    return Outbox(send, capacity=capacity, send_timeout=timeout, on_fail=failures.append), failures


def test_live_frames_go_out_before_history_sync() -> None:
    async def scenario() -> list[str]:
        sent: list[str] = []

        async def send(text: str) -> None:
            sent.append(json.loads(text)["n"])

        box, _ = _outbox(send)
        box.put({"n": "history 1"}, Priority.SYNC)
        box.put({"n": "history 2"}, Priority.SYNC)
        box.put({"n": "reply 1"}, Priority.LIVE)
        box.put({"n": "error"}, Priority.CONTROL)
        box.put({"n": "reply 2"}, Priority.LIVE)
        writer = asyncio.ensure_future(box.run())
        await box.drain()
        writer.cancel()
        return sent

    assert asyncio.run(scenario()) == ["error", "reply 1", "reply 2", "history 1", "history 2"]


def test_a_client_that_stops_reading_is_given_up_and_others_are_not_held_up() -> None:
    async def scenario() -> tuple[list[str], list[str], int]:
        stuck = asyncio.Event()

        async def never(text: str) -> None:
            await stuck.wait()

        delivered: list[str] = []

        async def fine(text: str) -> None:
            delivered.append(text)

        slow, failures = _outbox(never, capacity=3)
        fast, _ = _outbox(fine, capacity=3)
        writers = [asyncio.ensure_future(slow.run()), asyncio.ensure_future(fast.run())]
        accepted = 0
        for i in range(6):  # one frame in the stuck send, three queued, then full
            await asyncio.sleep(0)
            accepted += slow.put({"i": i})
            fast.put({"i": i})
            await asyncio.sleep(0)
        await fast.drain()
        for writer in writers:
            writer.cancel()
        return failures, delivered, accepted

    failures, delivered, accepted = asyncio.run(scenario())
    assert failures == ["too slow: 3 frames waiting"]
    assert accepted == 4
    assert len(delivered) == 6


def test_a_send_that_stalls_fails_the_outbox() -> None:
    async def scenario() -> list[str]:
        async def never(text: str) -> None:
            await asyncio.sleep(60)

        box, failures = _outbox(never, timeout=0.05)
        box.put({"hello": 1})
        await box.run()  # returns once the send timed out
        return failures

    assert asyncio.run(scenario()) == ["too slow: one frame took over 0.05 s"]


def test_a_connection_closed_as_too_slow_sends_nothing_after_the_close() -> None:
    # The writer used to survive its cancel (wait_for drops one that comes as the send
    # finishes) and send into the closed socket: "Task exception was never retrieved" in the log.
    class Socket:
        def __init__(self) -> None:
            self.events: list[str] = []

        async def send_text(self, text: str) -> None:
            if "close" in self.events:
                raise RuntimeError('Cannot call "send" once a close message has been sent.')
            self.events.append(f"send {json.loads(text)['n']}")

        async def close(self, code: int, reason: str) -> None:
            self.events.append("close")

    async def scenario() -> tuple[Socket, Peer, list[str], list[asyncio.Task[Any]]]:
        unretrieved: list[str] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, context: unretrieved.append(str(context)))
        socket = Socket()
        peer = Peer("v", "", socket.send_text, Settings(outbox_size=4))

        async def read() -> None:
            for n in range(6):  # more than the outbox holds: the client counts as too slow
                peer.put({"n": n})
            await asyncio.Event().wait()

        await run_peer(cast(WebSocket, socket), peer, read)
        await asyncio.sleep(0.05)  # a writer still running would send again by now
        left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        gc.collect()  # a task that failed unseen is reported when it is collected
        return socket, peer, unretrieved, left

    socket, peer, unretrieved, left = asyncio.run(scenario())
    assert (peer.close_code, peer.close_reason) == (1013, "too slow: 4 frames waiting")
    assert socket.events[-1] == "close"
    assert unretrieved == []
    assert left == []  # nothing of the connection keeps running


# -- nesting: json.loads recurses once per level --------------------------------------------

TOO_DEEP = "消息嵌套过深：数组和对象最多嵌套 16 层"
HELLO = '{"type": "message", "text": "你好", "extra": %s}'


@pytest.mark.parametrize(
    ("raw", "agent", "code"),
    [
        ("[" * 4096, False, "too_deep"),  # 4,096 open arrays: json.loads raised RecursionError
        ('{"a":' * 800, True, "too_deep"),  # objects, from an agent
        (HELLO % ("[" * 16 + "]" * 16), False, "too_deep"),  # 17 levels with the frame itself
        (HELLO % ("[" * 15 + "]" * 15), False, None),  # 16 levels: accepted
        ('{"type": "message", "text": "\\"%s"}' % ("{" * 4000), False, None),  # after an escaped quote
        ('"' + "[" * 4000, False, "invalid_json"),  # an unterminated string holds them too
    ],
)
def test_deeply_nested_frames_are_refused_before_parsing(raw: str, agent: bool, code: str | None) -> None:
    if code is None:
        assert read_frame(raw, max_bytes=4096, agent=agent).type == "message"
        return
    with pytest.raises(FrameError) as caught:
        read_frame(raw, max_bytes=4096, agent=agent)
    assert caught.value.code == code
    if code == "too_deep":
        assert caught.value.message == TOO_DEEP


def test_brackets_in_the_text_reach_the_bot_unchanged() -> None:
    text = "[" * 3000 + "{" * 1000
    raw = json.dumps({"type": "message", "text": text, "id": "m1"})
    assert read_frame(raw, max_bytes=4096, agent=False) == ClientFrame("message", text, "m1")


# -- settings -------------------------------------------------------------------------------


def test_settings_come_from_kefu_chat_variables() -> None:
    env = {
        "KEFU_CHAT_VISITOR_RATE": "2.5",
        "KEFU_CHAT_OUTBOX_SIZE": "16",
        "KEFU_CHAT_REDIS_URL": "redis://x/1",
    }
    settings = Settings.from_env(env)
    assert (settings.visitor_rate, settings.outbox_size, settings.redis_url) == (2.5, 16, "redis://x/1")
    assert Settings.from_env({}).bot == str(DEMO_BOT)
    with pytest.raises(ValueError, match=r"KEFU_CHAT_PORT='http': must be a whole number from 0 to 65535"):
        Settings.from_env({"KEFU_CHAT_PORT": "http"})


# -- the real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the real server below writes its output."""
    return tmp_path_factory.mktemp("chat-server") / "server.log"


@pytest.fixture(scope="module")
def server(server_log: Path) -> Iterator[str]:
    """``python examples/chat_server`` on a free loopback port; yields its ws:// base URL."""
    with running_server({"KEFU_LOAD_PLUGINS": ""}, log=server_log) as url:
        yield url.replace("http://", "ws://")


async def closed_then_served(server: str, bad_frame: str | bytes) -> tuple[int | None, Frame]:
    """Send ``bad_frame`` (as a text frame) from one visitor, whom the server must
    disconnect, then ask from a new visitor: the close code and the new visitor's reply."""
    websockets = pytest.importorskip("websockets")
    async with websockets.connect(f"{server}/ws/visitor") as bad:
        await bad.recv()
        await bad.send(bad_frame, text=True)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(bad.recv(), 10)
        code: int | None = bad.close_code
    async with websockets.connect(f"{server}/ws/visitor") as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "message", "text": "我的订单到哪了", "id": "m1"}))
        reply: Frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return code, reply


def test_the_real_server_closes_a_giant_frame_with_1009_and_stays_up(server: str) -> None:
    giant = json.dumps({"type": "message", "text": "好" * 40_000})  # 120 KB
    code, reply = asyncio.run(closed_then_served(server, giant))
    assert code == 1009
    assert reply == bot_reply(PROMPT, "order_status", "prompt")


def test_the_real_server_answers_a_deeply_nested_frame_and_keeps_the_connection(server: str) -> None:
    websockets = pytest.importorskip("websockets")

    async def scenario() -> tuple[Frame, Frame, Frame, Frame]:
        async with websockets.connect(f"{server}/ws/visitor") as ws:
            await ws.recv()
            await ws.send("[" * 4000)  # under MAX_FRAME_BYTES; used to close the connection with 1011
            error: Frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"type": "message", "text": "我的订单到哪了", "id": "m1"}))
            reply: Frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        async with websockets.connect(f"{server}/ws/agent?name=x") as agent:
            await agent.recv()  # welcome
            assert json.loads(await asyncio.wait_for(agent.recv(), 10)) == desk(0)
            await agent.send('{"type": "release", "session": "s", "x": %s}' % ("{" * 2000))
            agent_error: Frame = json.loads(await asyncio.wait_for(agent.recv(), 10))
            await agent.send('{"type": "ping"}')
            pong: Frame = json.loads(await asyncio.wait_for(agent.recv(), 10))
        return error, reply, agent_error, pong

    error, reply, agent_error, pong = asyncio.run(scenario())
    assert error == agent_error == {"type": "error", "code": "too_deep", "message": TOO_DEEP}
    assert reply == bot_reply(PROMPT, "order_status", "prompt")
    assert pong == {"type": "pong"}


def test_the_real_server_closes_a_frame_that_is_not_utf8_with_1007_and_one_log_line(
    server: str, server_log: Path
) -> None:
    """uvicorn logged such a frame as an error with a UnicodeDecodeError traceback."""
    before = server_log.read_text(encoding="utf-8")
    code, reply = asyncio.run(closed_then_served(server, b'{"type": "message", "text": "\xff\xfe"}'))
    assert code == 1007  # RFC 6455 "invalid frame payload data"
    assert reply == bot_reply(PROMPT, "order_status", "prompt")
    logged = server_log.read_text(encoding="utf-8")[len(before) :]
    assert logged == "WARNING:  WebSocket closed with 1007: a text frame that is not UTF-8\n"


def test_half_open_connections_neither_block_the_pages_nor_stay_open(tmp_path: Path) -> None:
    """uvicorn counted connections that never finished their headers against its
    concurrency limit (MAX_CONNECTIONS + 100) and kept them open for good: 110 of them made
    every page and /healthz a 503, as long as the client liked."""
    websockets = pytest.importorskip("websockets")
    env = {"KEFU_LOAD_PLUGINS": "", "KEFU_CHAT_MAX_CONNECTIONS": "10", "KEFU_CHAT_HEADER_TIMEOUT": "1"}
    with running_server(env, log=tmp_path / "server.log") as url:
        host, port = url.removeprefix("http://").split(":")
        half_open = [socket.create_connection((host, int(port))) for _ in range(150)]
        for connection in half_open:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as health:
            assert health.status == 200 and json.loads(health.read())["ok"] is True
        with urllib.request.urlopen(f"{url}/", timeout=10) as page:
            assert page.status == 200

        async def idle_visitor() -> Frame:
            # An upgraded WebSocket has sent its headers: the timeout never closes it.
            async with websockets.connect(f"{url.replace('http://', 'ws://')}/ws/visitor") as ws:
                await ws.recv()
                await asyncio.sleep(2)
                await ws.send(json.dumps({"type": "message", "text": "我的订单到哪了", "id": "m1"}))
                reply: Frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                return reply

        assert asyncio.run(idle_visitor()) == bot_reply(PROMPT, "order_status", "prompt")
        for connection in half_open:  # closed by the server after the header timeout
            connection.settimeout(10)
            assert connection.recv(1024) == b""
            connection.close()


# -- a backlog of hand-offs -----------------------------------------------------------------


def test_a_backlog_of_70_handoffs_is_served_a_desk_at_a_time_in_order(
    make_client: Callable[..., TestClient], engine: kefu.Engine
) -> None:
    # 70 waiting conversations used to queue 70 `assigned` frames at once for the first agent
    # to connect: over the 64-frame outbox, so every agent was closed with 1013 on arrival.
    client = make_client()  # default settings: 5 conversations per agent, 64-frame outbox
    ids = [f"backlog-{i:02d}" for i in range(70)]
    with contextlib.ExitStack() as stack:
        visitors = [stack.enter_context(client.websocket_connect(f"/ws/visitor?session={s}")) for s in ids]
        for ws in visitors:
            welcome(ws)
            ws.send_json({"type": "message", "text": "转人工", "id": "m1"})
            assert ws.receive_json()["action"] == "handoff"
            assert ws.receive_json() == {"type": "status", "state": "waiting", "text": WAITING}

        early = stack.enter_context(client.websocket_connect("/ws/agent?name=早班"))
        assert early.receive_json()["type"] == "welcome"
        # The oldest five, and the agent stays connected; their desk says it is full.
        assert assignments(early, 5, waiting=65) == ids[:5]
        for ws in visitors[:5]:
            assert ws.receive_json()["agent"] == "早班"
        assert health(client) == {"agents": 1, "handoffs": 70, "waiting": 65}

        late = stack.enter_context(client.websocket_connect("/ws/agent?name=晚班"))
        assert late.receive_json()["type"] == "welcome"
        assert assignments(late, 5, waiting=60) == ids[5:10]
        assert health(client) == {"agents": 2, "handoffs": 70, "waiting": 60}
        assert early.receive_json() == desk(5, waiting=60)  # fewer wait

        # Both desks are full: a waiting visitor is told so (not that nobody is online).
        visitors[69].send_json({"type": "message", "text": "还要等多久", "id": "m2"})
        assert visitors[69].receive_json()["text"] == ""
        assert visitors[69].receive_json() == {"type": "status", "state": "waiting", "text": BUSY}

        # Releasing one makes room for the oldest waiting conversation.
        early.send_json({"type": "release", "session": ids[0]})
        assert early.receive_json() == {"type": "released", "session": ids[0]}
        assert assignments(early, 1, waiting=59) == [ids[10]]
        assert visitors[10].receive_json()["agent"] == "早班"

        # 晚班 leaves: their five wait again, ahead of the others, for the next free place.
        late.close()
        for ws in visitors[5:10]:
            assert ws.receive_json()["agent"] == "晚班"
            assert ws.receive_json() == {"type": "status", "state": "waiting", "text": AGENT_LEFT}
        assert health(client) == {"agents": 1, "handoffs": 69, "waiting": 64}
        assert early.receive_json() == desk(5, waiting=64)
        early.send_json({"type": "release", "session": ids[1]})
        assert early.receive_json() == {"type": "released", "session": ids[1]}
        assert assignments(early, 1, waiting=63) == [ids[5]]
        assert health(client) == {"agents": 1, "handoffs": 68, "waiting": 63}

        # A conversation the store ends frees its place too.
        engine.end_session(ids[2])
        assert early.receive_json() == {"type": "ended", "session": ids[2]}
        assert assignments(early, 1, waiting=62) == [ids[6]]
        assert health(client) == {"agents": 1, "handoffs": 67, "waiting": 62}  # none lost


def test_the_desk_shows_how_full_it_is_and_the_queue_once_every_desk_is_full(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(agent_max_chats=2)
    with contextlib.ExitStack() as stack:
        agent = stack.enter_context(client.websocket_connect("/ws/agent?name=小王"))
        assert agent.receive_json()["type"] == "welcome"
        assert agent.receive_json() == desk(0, max_chats=2)  # an empty desk: 0 of 2
        visitors = [
            stack.enter_context(client.websocket_connect(f"/ws/visitor?session=desk-{i}")) for i in range(4)
        ]
        for ws in visitors:
            welcome(ws)
            ws.send_json({"type": "message", "text": "转人工", "id": "m1"})
            assert ws.receive_json()["action"] == "handoff"
        frames = [agent.receive_json() for _ in range(8)]
        assert [frame for frame in frames if frame["type"] == "desk"] == [
            desk(1, max_chats=2),  # the first conversation
            desk(2, max_chats=2),  # full
            desk(2, waiting=1, max_chats=2),  # the third waits: every desk is full
            desk(2, waiting=2, max_chats=2),
        ]
        agent.send_json({"type": "release", "session": "desk-0"})
        frames = [agent.receive_json() for _ in range(4)]
        assert frames[:2] == [
            {"type": "released", "session": "desk-0"},
            {
                "type": "assigned",
                "session": "desk-2",
                "reason": "intent:human",
                "since": frames[1]["since"],
                "visitor_online": True,
            },
        ]
        assert frames[2] == desk(2, waiting=1, max_chats=2)  # full again, one fewer waits


def assignments(agent: WebSocketTestSession, count: int, waiting: int) -> list[str]:
    """The next ``count`` sessions assigned to ``agent``, each with its one-frame transcript,
    and the desk frame saying it is full with ``waiting`` in the queue; then a ping must get
    the pong: the agent is still connected and was given nothing more."""
    frames = [agent.receive_json() for _ in range(2 * count + 1)]
    assert [frame for frame in frames if frame["type"] == "desk"] == [desk(5, waiting)]
    kinds = sorted(frame["type"] for frame in frames if frame["type"] != "desk")
    assert kinds == ["assigned"] * count + ["transcript"] * count
    agent.send_json({"type": "ping"})
    assert agent.receive_json() == {"type": "pong"}
    return [frame["session"] for frame in frames if frame["type"] == "assigned"]


def desk(chats: int, waiting: int = 0, max_chats: int = 5) -> Frame:
    """The frame telling an agent how full their desk is, and how many conversations wait."""
    return {"type": "desk", "chats": chats, "max_chats": max_chats, "waiting": waiting}


def health(client: TestClient) -> dict[str, int]:
    body = client.get("/healthz").json()
    return {key: body[key] for key in ("agents", "handoffs", "waiting")}


# -- a long history -------------------------------------------------------------------------

LONG_BOT = """\
version: 1
bot:
  name: 小长
  history_size: 1000
intents:
  - name: human
    action: handoff
    examples: [转人工, 人工客服, 我要人工]
    responses: [正在为您转接人工客服，请稍候～]
  - name: hello
    examples: [你好, 在吗, 您好]
    responses: [您好～]
"""


@pytest.fixture
def long_bot(write_bot: Callable[..., Path]) -> Iterator[tuple[kefu.Engine, TestClient]]:
    """A bot keeping 1,000 turns a conversation, and a chat server with default settings over it."""
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": LONG_BOT}), seed=0, load_entry_points=False)
    with TestClient(create_app(Settings(), engine)) as client:
        yield engine, client


def synced(ws: WebSocketTestSession, kind: str, frames: int) -> list[str]:
    """The visitor's messages in the next ``frames`` frames of ``kind`` (history or transcript)."""
    turns: list[str] = []
    for _ in range(frames):
        frame = ws.receive_json()
        assert frame["type"] == kind
        turns += [turn["user"] for turn in frame["turns"]]
    return turns


def test_a_visitor_with_1000_turns_reconnects_and_gets_them_all(
    long_bot: tuple[kefu.Engine, TestClient],
) -> None:
    # 100 history frames used to go into a 64-frame outbox at once: the visitor was closed
    # with 1013 ("too slow") on every reconnect.
    engine, client = long_bot
    said = [f"你好 {i}" for i in range(1000)]
    for text in said:
        engine.reply(text, "long-1")
    with client.websocket_connect("/ws/visitor?session=long-1") as ws:
        assert ws.receive_json()["type"] == "welcome"
        assert synced(ws, "history", 100) == said
        ws.send_json({"type": "message", "text": "你好", "id": "m1"})
        assert ws.receive_json()["text"] == "您好～"  # still connected


def test_an_agent_gets_a_desk_of_1000_turn_transcripts(long_bot: tuple[kefu.Engine, TestClient]) -> None:
    engine, client = long_bot
    sessions = [f"long-{n}" for n in range(5)]
    for session in sessions:
        for i in range(999):
            engine.reply(f"你好 {i}", session)
    with contextlib.ExitStack() as stack:
        for session in sessions:
            ws = stack.enter_context(client.websocket_connect(f"/ws/visitor?session={session}"))
            assert [ws.receive_json()["type"] for _ in range(101)] == ["welcome"] + ["history"] * 100
            ws.send_json({"type": "message", "text": "转人工", "id": "m1"})
            assert ws.receive_json()["action"] == "handoff"
        agent = stack.enter_context(client.websocket_connect("/ws/agent?name=小王"))
        assert agent.receive_json()["type"] == "welcome"
        assert [agent.receive_json()["session"] for _ in sessions] == sessions  # assigned
        assert agent.receive_json() == desk(5)
        for _ in sessions:  # then each transcript, after the live frames
            assert synced(agent, "transcript", 100) == [f"你好 {i}" for i in range(999)] + ["转人工"]
        agent.send_json({"type": "ping"})
        assert agent.receive_json() == {"type": "pong"}


def test_a_history_kept_under_a_larger_setting_syncs_its_newest_turns(
    long_bot: tuple[kefu.Engine, TestClient], write_bot: Callable[..., Path]
) -> None:
    # Another process sharing the store (or the bot before a reload) kept 1,000 turns; this
    # server's bot keeps 20, and its outboxes have room for that many, not for 100 frames.
    engine, _ = long_bot
    for i in range(1000):
        engine.reply(f"你好 {i}", "shared-1")
    short = kefu.Engine.from_path(
        write_bot(**{"bot.yaml": LONG_BOT.replace("history_size: 1000", "history_size: 20")}),
        seed=0,
        load_entry_points=False,
        store=engine.store,
    )
    client = TestClient(create_app(Settings(outbox_size=4), short))
    with client, client.websocket_connect("/ws/visitor?session=shared-1") as ws:
        assert ws.receive_json()["type"] == "welcome"
        assert synced(ws, "history", 2) == [f"你好 {i}" for i in range(980, 1000)]
        ws.send_json({"type": "message", "text": "你好", "id": "m1"})
        assert ws.receive_json()["text"] == "您好～"
