"""The example chat server's limits: agent token, connection cap, flood guard, slow clients,
settings, how deeply a frame may nest, and the frame-size limit of the real server.

The outbox (priority and back-pressure) is tested on its own; the last test starts the
real server (uvicorn) in a child process for what only real sockets show. Bad frames and
floods, as a client sees them, are in test_chat_server.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from chat_server.flood import FloodGuard, Verdict
from chat_server.launch import running_server
from chat_server.outbox import Outbox, Priority
from chat_server.protocol import ClientFrame, FrameError, read_frame
from chat_server.settings import Settings
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

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
    with pytest.raises(ValueError, match=r"KEFU_CHAT_PORT='http' is not a number"):
        Settings.from_env({"KEFU_CHAT_PORT": "http"})


# -- the real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python examples/chat_server`` on a free loopback port; yields its ws:// base URL."""
    log = tmp_path_factory.mktemp("chat-server") / "server.log"
    with running_server({"KEFU_LOAD_PLUGINS": ""}, log=log) as url:
        yield url.replace("http://", "ws://")


def test_the_real_server_closes_a_giant_frame_with_1009_and_stays_up(server: str) -> None:
    websockets = pytest.importorskip("websockets")

    async def scenario() -> tuple[int | None, Frame]:
        async with websockets.connect(f"{server}/ws/visitor") as giant:
            await giant.recv()
            await giant.send(json.dumps({"type": "message", "text": "好" * 40_000}))  # 120 KB
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(giant.recv(), 10)
            code = giant.close_code
        async with websockets.connect(f"{server}/ws/visitor") as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "message", "text": "我的订单到哪了", "id": "m1"}))
            reply: Frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return code, reply

    code, reply = asyncio.run(scenario())
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
            await agent.recv()
            await agent.send('{"type": "release", "session": "s", "x": %s}' % ("{" * 2000))
            agent_error: Frame = json.loads(await asyncio.wait_for(agent.recv(), 10))
            await agent.send('{"type": "ping"}')
            pong: Frame = json.loads(await asyncio.wait_for(agent.recv(), 10))
        return error, reply, agent_error, pong

    error, reply, agent_error, pong = asyncio.run(scenario())
    assert error == agent_error == {"type": "error", "code": "too_deep", "message": TOO_DEEP}
    assert reply == bot_reply(PROMPT, "order_status", "prompt")
    assert pong == {"type": "pong"}
