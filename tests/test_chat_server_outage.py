"""The chat server while its session store is down: clear answers, nothing half done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from chat_server.app import create_app
from chat_server.settings import Settings
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import kefu
from kefu.memory_store import MemoryStore
from kefu.sessions import Session

DEMO_BOT = Path(str(resources.files("kefu.intents")))
UNAVAILABLE = "客服系统暂时繁忙，请稍后再试"


class FlakyStore(MemoryStore):
    """A memory store that fails like an unreachable Redis while ``down`` is set."""

    down = False
    damaged: frozenset[str] = frozenset()

    def _check(self, session_id: str) -> None:
        if self.down:
            raise kefu.StoreError("Redis at redis://127.0.0.1:1/0 failed: Connection refused.")
        if session_id in self.damaged:
            raise kefu.SessionDamagedError(
                f"session {session_id!r} is damaged, delete the key to start it afresh"
            )

    def get(self, session_id: str) -> Session | None:
        self._check(session_id)
        return super().get(session_id)

    @contextmanager
    def transaction(self, session_id: str) -> Iterator[Session]:
        self._check(session_id)
        with super().transaction(session_id) as session:
            yield session


@pytest.fixture
def store() -> FlakyStore:
    return FlakyStore()


@pytest.fixture
def client(store: FlakyStore) -> Iterator[TestClient]:
    engine = kefu.Engine.from_path(DEMO_BOT, store=store, seed=0, load_entry_points=False)
    with TestClient(create_app(Settings(), engine)) as client:
        yield client


def frames_until(ws: Any, kind: str) -> list[dict[str, Any]]:
    """Frames read up to and including the first of type ``kind``."""
    read = [ws.receive_json()]
    while read[-1]["type"] != kind:
        read.append(ws.receive_json())
    return read


def test_health_check_fails_while_the_store_is_down(client: TestClient, store: FlakyStore) -> None:
    assert client.get("/healthz").status_code == 200
    store.down = True  # it said ok: a load balancer kept sending visitors to a server that failed them all
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {
        "ok": False,
        "bot": "小客",
        "error": "Redis at redis://127.0.0.1:1/0 failed: Connection refused.",
    }
    store.down = False
    assert client.get("/healthz").json()["ok"] is True


def test_a_visitor_connecting_while_the_store_is_down_is_told_to_try_again_later(
    client: TestClient, store: FlakyStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.down = True
    with client.websocket_connect("/ws/visitor") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    # Was 1011 "internal error" with a traceback in the log.
    assert (closed.value.code, closed.value.reason) == (1013, "session store unavailable, try again later")
    assert "Traceback" not in caplog.text
    assert "Connection refused" in caplog.text


def test_an_agent_message_the_store_cannot_record_is_refused_and_not_sent(
    client: TestClient, store: FlakyStore
) -> None:
    with (
        client.websocket_connect("/ws/agent?name=小王") as agent,
        client.websocket_connect("/ws/visitor") as ws,
    ):
        session = ws.receive_json()["session"]
        ws.send_json({"type": "message", "text": "转人工", "id": "m1"})
        assert frames_until(ws, "reply")[-1]["action"] == "handoff"
        frames_until(agent, "transcript")
        store.down = True
        agent.send_json({"type": "message", "session": session, "text": "您好，我是小王"})
        # Was: the agent's connection closed with 1011, and the desk lost the conversation.
        assert agent.receive_json() == {
            "type": "error",
            "code": "unavailable",
            "message": UNAVAILABLE,
            "session": session,
        }
        agent.send_json({"type": "release", "session": session})
        assert agent.receive_json()["code"] == "unavailable"  # still the agent's conversation
        store.down = False
        agent.send_json({"type": "message", "session": session, "text": "您好，我是小王"})
        sent = agent.receive_json()
        assert (sent["type"], sent["text"]) == ("sent", "您好，我是小王")
        heard = frames_until(ws, "reply")[-1]
        assert (heard["from"], heard["text"]) == ("agent", "您好，我是小王")  # the first try never arrived


def test_a_visitor_whose_conversation_cannot_be_read_is_told_to_start_a_new_one(
    client: TestClient, store: FlakyStore
) -> None:
    # It was closed with 1013 "try again later", and the widget reconnected forever.
    store.damaged = frozenset({"broken-1"})
    with (
        client.websocket_connect("/ws/visitor?session=broken-1") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (
        4002,
        "this conversation cannot be read, start a new one",
    )
    with client.websocket_connect("/ws/visitor") as ws:  # what the widget does next
        assert ws.receive_json()["type"] == "welcome"


def test_a_conversation_damaged_while_connected_is_closed_the_same_way(
    client: TestClient, store: FlakyStore
) -> None:
    with client.websocket_connect("/ws/visitor?session=later-1") as ws:
        assert ws.receive_json()["type"] == "welcome"
        store.damaged = frozenset({"later-1"})
        ws.send_json({"type": "message", "text": "你好", "id": "m1"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()  # was an "unavailable" error frame, and every later message too
    assert closed.value.code == 4002


def test_one_damaged_session_does_not_fail_the_health_check(client: TestClient, store: FlakyStore) -> None:
    # A damaged healthz key took a healthy server out of the load balancer (503).
    store.damaged = frozenset({"healthz"})
    assert client.get("/healthz").json()["ok"] is True
