"""The example chat server (examples/chat_server): its protocol, frame by frame, as a client sees it.

Conversations with the bot and with agents, hand-off, release and bad input run through
FastAPI's TestClient against the demo bot; the last test shares sessions between two
servers through a real redis-server. Limits and the outbox: test_chat_server_limits.py.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from chat_server.app import create_app
from chat_server.hub import AGENT_LEFT, RELEASED, WAITING
from chat_server.launch import free_port
from chat_server.settings import Settings
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

import kefu

DEMO_BOT = Path(str(resources.files("kefu.intents")))
PROMPT = "请提供一下您的订单号（12-20位数字）哦，可以在「我的订单」里复制～"
ORDER = "123456789012345"

Frame = dict[str, Any]


def say(ws: WebSocketTestSession, text: str, message_id: str = "m1") -> None:
    ws.send_json({"type": "message", "text": text, "id": message_id})


def bot_reply(text: str, intent: str | None, action: str, reply_to: str | None = "m1") -> Frame:
    return {
        "type": "reply",
        "from": "bot",
        "text": text,
        "intent": intent,
        "action": action,
        "reply_to": reply_to,
    }


def order_replies(engine: kefu.Engine, order: str = ORDER) -> set[str]:
    """Every answer the demo bot may give once it has the order number (it picks one at random)."""
    return {text.replace("{order_id}", order) for text in engine.spec.intent("order_status").responses}


def welcome(ws: WebSocketTestSession) -> str:
    """Read the welcome frame; return the session id."""
    frame = ws.receive_json()
    assert frame["type"] == "welcome" and frame["bot"] == "小客"
    return str(frame["session"])


def agent_welcome(ws: WebSocketTestSession, name: str = "小王", *, waiting: bool = False) -> None:
    """Read the agent's welcome and, unless conversations are ``waiting`` for them, the empty desk."""
    frame = ws.receive_json()
    assert frame == {"type": "welcome", "agent": name, "id": frame["id"], "bot": "小客"}
    if not waiting:
        assert ws.receive_json() == desk(0)


def desk(chats: int, waiting: int = 0, max_chats: int = 5) -> Frame:
    """The frame telling an agent how full their desk is, and how many conversations wait."""
    return {"type": "desk", "chats": chats, "max_chats": max_chats, "waiting": waiting}


def handed_off(ws: WebSocketTestSession) -> None:
    """Ask for a human and read the bot's hand-off reply."""
    say(ws, "转人工")
    frame = ws.receive_json()
    assert (frame["action"], frame["intent"], frame["reply_to"]) == ("handoff", "human", "m1")


@contextmanager
def with_agent(client: TestClient) -> Iterator[tuple[WebSocketTestSession, WebSocketTestSession, str]]:
    """Agent 小王 and a visitor who was just handed to them: (agent, visitor, session id), with
    the hand-off reply, the assignment and the transcript read (the visitor's status frame not)."""
    with (
        client.websocket_connect("/ws/agent?name=小王") as agent,
        client.websocket_connect("/ws/visitor") as ws,
    ):
        agent_welcome(agent)
        session = welcome(ws)
        handed_off(ws)
        agent.receive_json()  # assigned
        assert agent.receive_json() == desk(1)
        transcript(agent)
        yield agent, ws, session


def transcript(ws: WebSocketTestSession) -> list[tuple[str, str, str]]:
    """Read one transcript frame: (user, bot, label) per turn."""
    frame = ws.receive_json()
    assert frame["type"] == "transcript"
    return [(t["user"], t["bot"], t["label"]) for t in frame["turns"]]


# -- talking to the bot ---------------------------------------------------------------------


def test_visitor_asks_for_an_order_and_gets_the_bot_answer(client: TestClient, engine: kefu.Engine) -> None:
    with client.websocket_connect("/ws/visitor") as ws:
        welcome_frame = ws.receive_json()
        assert welcome_frame == {
            "type": "welcome",
            "session": welcome_frame["session"],
            "bot": "小客",
            "text": "您好，我是小客，有什么可以帮您？",
            "handoff": False,
            "max_length": 500,  # the demo bot's max_input_length: the widget checks it before sending
        }
        say(ws, "我的订单到哪了", "q1")
        assert ws.receive_json() == bot_reply(PROMPT, "order_status", "prompt", "q1")
        say(ws, ORDER, "q2")
        answer = ws.receive_json()
        assert answer == bot_reply(answer["text"], "order_status", "respond", "q2")
        assert answer["text"] in order_replies(engine)


def test_a_returning_visitor_gets_the_history_back(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor") as ws:
        session = welcome(ws)
        say(ws, "我的订单到哪了")
        ws.receive_json()
    with client.websocket_connect(f"/ws/visitor?session={session}") as ws:
        assert welcome(ws) == session
        history = ws.receive_json()
        assert history["type"] == "history"
        assert [(t["user"], t["bot"], t["label"]) for t in history["turns"]] == [
            ("我的订单到哪了", PROMPT, "order_status")
        ]


@pytest.mark.parametrize(
    "query",
    [
        "",  # no id: the server issues one
        "?session=bad%20id!",  # not an id the server accepts: a new one is issued
        "?session=" + "x" * 65,  # too long
    ],
)
def test_a_new_session_id_is_issued_unless_a_valid_one_is_given(client: TestClient, query: str) -> None:
    with client.websocket_connect(f"/ws/visitor{query}") as ws:
        session = welcome(ws)
    assert len(session) == 22 and session not in query


# -- hand-off to a human --------------------------------------------------------------------


def test_handoff_agent_reply_and_release(client: TestClient, engine: kefu.Engine) -> None:
    with (
        client.websocket_connect("/ws/agent?name=小王") as agent,
        client.websocket_connect("/ws/visitor") as ws,
    ):
        agent_welcome(agent)
        session = welcome(ws)
        say(ws, "我的订单到哪了")
        ws.receive_json()
        handed_off(ws)
        assert ws.receive_json() == {
            "type": "status",
            "state": "agent",
            "agent": "小王",
            "text": "人工客服 小王 为您服务",
        }
        assigned = agent.receive_json()
        assert assigned == {
            "type": "assigned",
            "session": session,
            "reason": "intent:human",
            "since": assigned["since"],
            "visitor_online": True,
        }
        assert agent.receive_json() == desk(1)  # live frames go ahead of the transcript
        turns = transcript(agent)
        assert [(user, label) for user, _, label in turns] == [
            ("我的订单到哪了", "order_status"),
            ("转人工", "human"),
        ]

        agent.send_json({"type": "message", "session": session, "text": "您好，我是小王，请问订单号是多少？"})
        to_visitor = ws.receive_json()
        assert to_visitor == {
            "type": "reply",
            "from": "agent",
            "agent": "小王",
            "text": "您好，我是小王，请问订单号是多少？",
            "at": to_visitor["at"],
        }
        sent = agent.receive_json()
        assert (sent["type"], sent["session"], sent["delivered"]) == ("sent", session, True)

        say(ws, ORDER, "m2")  # the bot stays silent while a human has the conversation
        assert ws.receive_json() == bot_reply("", None, "handed_off", "m2")
        heard = agent.receive_json()
        assert (heard["type"], heard["session"], heard["text"]) == ("visitor_message", session, ORDER)

        agent.send_json({"type": "release", "session": session})
        assert agent.receive_json() == {"type": "released", "session": session}
        assert agent.receive_json() == desk(0)
        assert ws.receive_json() == {"type": "status", "state": "bot", "text": RELEASED.format(bot="小客")}
        say(
            ws, "我的订单到哪了", "m3"
        )  # back with the bot (which did not read the number given to the human)
        assert ws.receive_json() == bot_reply(PROMPT, "order_status", "prompt", "m3")
    stored = engine.session(session)
    assert stored is not None and not stored.handoff
    assert ("", "您好，我是小王，请问订单号是多少？", "agent:小王") in [t[1:] for t in stored.history]


def test_with_no_agent_online_the_visitor_is_told_and_messages_wait(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor") as ws:
        session = welcome(ws)
        handed_off(ws)
        assert ws.receive_json() == {"type": "status", "state": "waiting", "text": WAITING}
        say(ws, "快递盒子压坏了，里面的杯子碎了", "m2")
        assert ws.receive_json() == bot_reply("", None, "handed_off", "m2")
        assert ws.receive_json() == {"type": "status", "state": "waiting", "text": WAITING}
        assert client.get("/healthz").json()["waiting"] == 1

        with client.websocket_connect("/ws/agent?name=小李") as agent:
            agent_welcome(agent, "小李", waiting=True)
            assert agent.receive_json()["session"] == session  # assigned
            assert agent.receive_json() == desk(1)
            assert [user for user, _, _ in transcript(agent)] == ["转人工", "快递盒子压坏了，里面的杯子碎了"]
            status = ws.receive_json()
            assert (status["state"], status["agent"]) == ("agent", "小李")


def test_an_agent_who_leaves_hands_conversations_to_the_next(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor") as ws:
        session = welcome(ws)
        with client.websocket_connect("/ws/agent?name=小王") as first:
            agent_welcome(first)
            handed_off(ws)
            assert ws.receive_json()["state"] == "agent"
        assert ws.receive_json() == {"type": "status", "state": "waiting", "text": AGENT_LEFT}
        with client.websocket_connect("/ws/agent?name=小李") as second:
            agent_welcome(second, "小李", waiting=True)
            assigned = second.receive_json()
            assert (assigned["type"], assigned["session"]) == ("assigned", session)
            assert ws.receive_json()["agent"] == "小李"


def test_agents_get_conversations_in_turn(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws/agent?name=小王") as wang,
        client.websocket_connect("/ws/agent?name=小李") as li,
        client.websocket_connect("/ws/visitor") as one,
        client.websocket_connect("/ws/visitor") as two,
    ):
        agent_welcome(wang)
        agent_welcome(li, "小李")
        for ws in (one, two):
            welcome(ws)
            handed_off(ws)
        names = {one.receive_json()["agent"], two.receive_json()["agent"]}
        assert names == {"小王", "小李"}  # the least busy agent gets the next one


def test_an_agent_can_only_answer_their_own_conversations(client: TestClient) -> None:
    with client.websocket_connect("/ws/agent?name=小王") as agent:
        agent_welcome(agent)
        agent.send_json({"type": "message", "session": "someone-else", "text": "你好"})
        assert agent.receive_json() == {
            "type": "error",
            "code": "not_assigned",
            "message": "这个会话不在您的接待列表中",
            "session": "someone-else",
        }


def test_the_agent_hears_when_the_store_ends_the_conversation(
    client: TestClient, engine: kefu.Engine
) -> None:
    with with_agent(client) as (agent, _, session):
        engine.end_session(session)
        assert agent.receive_json() == {"type": "ended", "session": session}
        assert agent.receive_json() == desk(0)


def test_a_second_window_replaces_the_first(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor") as first:
        session = welcome(first)
        with client.websocket_connect(f"/ws/visitor?session={session}") as second:
            assert welcome(second) == session
            closed = first.receive()
            assert (closed["type"], closed["code"]) == ("websocket.close", 4001)


# -- bad input ------------------------------------------------------------------------------


FRAME_BYTES = Settings().max_frame_bytes


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("x" * (FRAME_BYTES + 1), "too_large", f"消息过大：每条最多 {FRAME_BYTES} 字节"),  # a byte over
        ("好" * (FRAME_BYTES // 3 + 1), "too_large", f"消息过大：每条最多 {FRAME_BYTES} 字节"),  # UTF-8 bytes
        ("{not json", "invalid_json", "消息不是有效的 JSON"),  # broken JSON
        ("[" * 4000, "too_deep", "消息嵌套过深：数组和对象最多嵌套 16 层"),  # json.loads would recurse
        (  # JSON, but not an object
            '["message", "你好"]',
            "bad_message",
            '消息必须是 JSON 对象，例如 {"type": "message", "text": "你好"}',
        ),
        (  # an agent's frame type, from a visitor
            '{"type": "release", "session": "x"}',
            "bad_message",
            "未知的消息类型 'release'，可用：message, ping",
        ),
        ('{"text": "你好"}', "bad_message", "未知的消息类型 None，可用：message, ping"),  # no type
        ('{"type": "message", "text": "   "}', "bad_message", "message 需要非空的 text 字段"),  # blank
        ('{"type": "message", "text": 42}', "bad_message", "message 需要非空的 text 字段"),  # not a string
        (  # an id the server would have to escape
            '{"type": "message", "text": "hi", "id": "a b"}',
            "bad_message",
            "id 只能包含字母、数字、_ 和 -，最长 64 个字符",
        ),
    ],
)
def test_bad_frames_get_an_error_frame_and_the_connection_stays(
    client: TestClient, raw: str, code: str, message: str
) -> None:
    with client.websocket_connect("/ws/visitor") as ws:
        welcome(ws)
        ws.send_text(raw)
        assert ws.receive_json() == {"type": "error", "code": code, "message": message}
        say(ws, "我的订单到哪了")
        assert ws.receive_json() == bot_reply(PROMPT, "order_status", "prompt")


def test_half_characters_reach_the_other_side_as_replacement_marks(client: TestClient) -> None:
    # A JSON \u escape can name half of a character (a lone surrogate), which no UTF-8 frame can
    # carry: each side must get U+FFFD in its place, not lose the message or the connection.
    with with_agent(client) as (agent, ws, session):
        ws.receive_json()  # status: 小王 has the conversation
        ws.send_text('{"type": "message", "text": "退\\ud800款", "id": "m2"}')
        assert ws.receive_json() == bot_reply("", None, "handed_off", "m2")
        heard = agent.receive_json()
        assert (heard["type"], heard["text"]) == ("visitor_message", "退\ufffd款")
        agent.send_text(f'{{"type": "message", "session": "{session}", "text": "好的\\udfff"}}')
        assert ws.receive_json()["text"] == "好的\ufffd"
        assert agent.receive_json()["text"] == "好的\ufffd"


def test_an_agent_message_the_transcript_cannot_keep_is_refused_not_sent(
    client: TestClient, engine: kefu.Engine
) -> None:
    with with_agent(client) as (agent, ws, session):
        ws.receive_json()  # status: 小王 has the conversation
        # 1,000 characters (3,000 bytes): the visitor got them all, the transcript only 500.
        long = "您好，关于您的退款" * 111 + "。"
        agent.send_json({"type": "message", "session": session, "text": long})
        assert ws.receive_json()["text"] == long
        assert agent.receive_json()["text"] == long  # sent
        # 4,000 emoji (16,000 bytes) fit in a frame: they were too_large at 4,096 bytes, so a
        # Chinese message stopped at about 1,350 characters, well short of the 4,000 kept.
        most = "🙂" * 4000
        agent.send_text(json.dumps({"type": "message", "session": session, "text": most}, ensure_ascii=False))
        sent = agent.receive_json()
        assert (sent["type"], sent["text"]) == ("sent", most)
        assert ws.receive_json()["text"] == most
        # 4,001 characters in a frame within MAX_FRAME_BYTES: only the text is too long to keep.
        too_long = ("您的订单2024112712345678今天发货。" * 200)[:4001]
        raw = json.dumps({"type": "message", "session": session, "text": too_long}, ensure_ascii=False)
        assert len(raw.encode("utf-8")) <= FRAME_BYTES
        agent.send_text(raw)
        assert agent.receive_json() == {
            "type": "error",
            "code": "too_long",
            "message": "消息过长：每条最多 4000 个字符，请分成几条发送",
            "session": session,
        }
        agent.send_json({"type": "message", "session": session, "text": "好的"})
        assert ws.receive_json()["text"] == "好的"  # the refused message never reached the visitor
        assert agent.receive_json()["text"] == "好的"  # sent
    stored = engine.session(session)
    assert stored is not None
    assert [bot for _, _, bot, label in stored.history if label == "agent:小王"] == [long, most, "好的"]


def test_a_visitor_message_longer_than_the_bot_reads_is_refused_not_cut(
    client: TestClient, engine: kefu.Engine
) -> None:
    with client.websocket_connect("/ws/visitor") as ws:
        session = welcome(ws)
        # 501 characters: the bot would answer, and the transcript keep, only the first 500.
        say(ws, "我要退款" * 125 + "。", "m1")
        assert ws.receive_json() == {
            "type": "error",
            "code": "too_long",
            "message": "消息过长：每条最多 500 个字符，请分成几条发送",
            "id": "m1",
        }
        say(ws, "我要退款" * 125, "m2")  # 500: read whole
        assert ws.receive_json()["reply_to"] == "m2"
    stored = engine.session(session)
    assert stored is not None
    assert [user for _, user, _, _ in stored.history] == ["我要退款" * 125]


def test_a_binary_frame_closes_the_connection_and_others_carry_on(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor") as other, client.websocket_connect("/ws/visitor") as ws:
        welcome(other)
        welcome(ws)
        ws.send_bytes(b"\x00\x01binary")
        assert ws.receive() == {
            "type": "websocket.close",
            "code": 1003,
            "reason": "binary frames are not supported: send JSON text frames",
        }
        say(other, "我的订单到哪了")
        assert other.receive_json() == bot_reply(PROMPT, "order_status", "prompt")


def test_a_flood_is_refused_then_closed(make_client: Callable[..., TestClient]) -> None:
    # A burst of 3, almost no refill, 2 refusals allowed: frames 4-5 refused, the 6th closes.
    client = make_client(visitor_rate=0.001, visitor_burst=3, flood_strikes=2)
    with client.websocket_connect("/ws/visitor") as ws, client.websocket_connect("/ws/visitor") as other:
        welcome(ws)
        welcome(other)
        for i in range(1, 7):
            ws.send_json({"type": "message", "text": "在吗", "id": f"f{i}"})
        frames = [ws.receive_json() for _ in range(5)]
        # Error frames go out ahead of replies still queued, so only the sets are certain.
        assert sorted(f.get("reply_to") or "" for f in frames if f["type"] == "reply") == ["f1", "f2", "f3"]
        assert [f for f in frames if f["type"] == "error"] == [
            {"type": "error", "code": "rate_limited", "message": "消息发送太频繁，请稍后再试", "id": f"f{i}"}
            for i in (4, 5)
        ]
        assert ws.receive() == {
            "type": "websocket.close",
            "code": 1008,
            "reason": "too many messages: rate limit ignored",
        }
        say(other, "我的订单到哪了")  # the other visitor is not affected
        assert other.receive_json() == bot_reply(PROMPT, "order_status", "prompt")


# -- sessions in Redis ----------------------------------------------------------------------


@pytest.fixture
def redis_url(redis_binary: str, tmp_path: Path) -> Iterator[str]:
    """A private ``redis-server`` on a free loopback port."""
    port = free_port()
    command = [redis_binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _redis_answers(url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_two_servers_sharing_redis_continue_each_others_conversations(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url)
    first, second = (TestClient(create_app(settings)) for _ in range(2))  # like two server processes
    with first, second:
        with first.websocket_connect("/ws/visitor") as ws:
            session = welcome(ws)
            say(ws, "我的订单到哪了")
            assert ws.receive_json() == bot_reply(PROMPT, "order_status", "prompt")
            handed_off(ws)
            assert ws.receive_json() == {"type": "status", "state": "waiting", "text": WAITING}
        with second.websocket_connect(f"/ws/visitor?session={session}") as ws:
            assert ws.receive_json()["handoff"] is True
            assert ws.receive_json() == {"type": "status", "state": "waiting", "text": WAITING}
            history = ws.receive_json()
            assert [t["user"] for t in history["turns"]] == ["我的订单到哪了", "转人工"]
            with second.websocket_connect("/ws/agent?name=小王") as agent:
                agent_welcome(agent, waiting=True)
                assert agent.receive_json()["session"] == session
                assert agent.receive_json() == desk(1)
                assert [user for user, _, _ in transcript(agent)] == ["我的订单到哪了", "转人工"]
