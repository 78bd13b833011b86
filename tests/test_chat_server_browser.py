"""The example chat server end to end in real headless Chromium: widget, agent desk, hand-off.

Needs Debian's ``chromium`` and the ``playwright`` Python package (which drives the
system binary; ``playwright install`` is never run). Without them the test is skipped
with the reason, except under CI (``CI=true``), where a missing browser fails it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chat_server.hub import RELEASED, WAITING
from chat_server.launch import running_server

PROMPT = "请提供一下您的订单号（12-20位数字）哦，可以在「我的订单」里复制～"
ORDER = "123456789012345"
AGENT_SAYS = "您好，我是人工客服小王，您的包裹今天下午送到。"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system Chromium, or skip (fail under CI) saying what is missing."""
    binary = next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)
    missing = []
    if binary is None:
        missing.append("no chromium binary (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("no playwright Python package (pip install playwright)")
    if missing:
        message = "browser test cannot run: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert binary is not None
    return binary


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The chat server on a free loopback port, as ``python examples/chat_server`` runs it."""
    log = tmp_path_factory.mktemp("chat-server") / "server.log"
    with running_server({"KEFU_LOAD_PLUGINS": ""}, log=log) as url:
        yield url


@contextlib.contextmanager
def browser(chromium: str, tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium with a fresh profile in ``tmp_path``, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield context
        finally:
            context.close()


def test_order_question_handoff_agent_reply_and_release_in_chromium(
    chromium: str, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with browser(chromium, tmp_path) as context:
        widget = context.new_page()
        widget.goto(f"{server}/")
        bot = widget.locator("#live .msg.bot")
        expect(widget.locator("#history .msg.bot")).to_have_text(
            "您好，我是小客，有什么可以帮您？", timeout=WAIT_MS
        )

        def visitor_says(text: str) -> None:
            widget.fill("#input", text)
            widget.press("#input", "Enter")

        visitor_says("我的订单到哪了")
        expect(bot.nth(0)).to_have_text(PROMPT, timeout=WAIT_MS)
        visitor_says(ORDER)
        expect(bot.nth(1)).to_contain_text(f"订单 {ORDER}", timeout=WAIT_MS)
        visitor_says("转人工")
        expect(bot.nth(2)).to_contain_text("人工客服", timeout=WAIT_MS)
        expect(widget.locator('.msg.status[data-state="waiting"]')).to_have_text(WAITING, timeout=WAIT_MS)

        desk = context.new_page()
        desk.goto(f"{server}/agent?name=小王")
        expect(desk.locator("#conversations li")).to_have_count(1, timeout=WAIT_MS)
        expect(desk.locator("#load")).to_have_text("1 / 5", timeout=WAIT_MS)  # of KEFU_CHAT_AGENT_MAX_CHATS
        expect(desk.locator("#queue")).to_be_hidden()
        transcript = desk.locator("#transcript")
        for said in ("我的订单到哪了", PROMPT, ORDER, "转人工"):
            expect(transcript).to_contain_text(said, timeout=WAIT_MS)
        expect(widget.locator('.msg.status[data-state="agent"]')).to_have_text(
            "人工客服 小王 为您服务", timeout=WAIT_MS
        )

        desk.fill("#reply", AGENT_SAYS)
        desk.press("#reply", "Enter")
        expect(widget.locator("#live .msg.agent")).to_have_text(f"人工客服 小王{AGENT_SAYS}", timeout=WAIT_MS)
        visitor_says("好的，谢谢")
        expect(transcript.locator(".msg.visitor").last).to_have_text("访客好的，谢谢", timeout=WAIT_MS)

        desk.click("#release")
        expect(desk.locator("#conversations li")).to_have_count(0, timeout=WAIT_MS)
        expect(desk.locator("#load")).to_have_text("0 / 5", timeout=WAIT_MS)
        expect(widget.locator('.msg.status[data-state="bot"]')).to_have_text(
            RELEASED.format(bot="小客"), timeout=WAIT_MS
        )
        visitor_says("我的订单到哪了")  # the bot answers again
        expect(bot).to_have_count(4, timeout=WAIT_MS)
        widget.screenshot(path=str(tmp_path / "widget.png"))
        desk.screenshot(path=str(tmp_path / "desk.png"))


def test_a_full_desk_shows_the_waiting_queue_in_chromium(chromium: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    websockets = pytest.importorskip("websockets.sync.client")
    env = {"KEFU_LOAD_PLUGINS": "", "KEFU_CHAT_AGENT_MAX_CHATS": "1"}
    with running_server(env, log=tmp_path / "server.log") as url, browser(chromium, tmp_path) as context:
        desk = context.new_page()
        desk.goto(f"{url}/agent?name=小王")
        load, queue = desk.locator("#load"), desk.locator("#queue")
        expect(load).to_have_text("0 / 1", timeout=WAIT_MS)
        with contextlib.ExitStack() as stack:
            for n in range(3):  # three visitors ask for a human: one served, two wait
                ws = stack.enter_context(websockets.connect(f"{url.replace('http', 'ws')}/ws/visitor"))
                ws.recv(10)  # welcome
                ws.send(json.dumps({"type": "message", "text": "转人工", "id": f"m{n}"}))
                ws.recv(10)  # the hand-off reply
            expect(load).to_have_text("1 / 1", timeout=WAIT_MS)
            expect(load).to_have_class("full")
            expect(queue).to_have_text(
                "排队中 2 个会话：所有客服都已接满，有空位时按顺序分配", timeout=WAIT_MS
            )
            desk.click("#release")
            expect(queue).to_contain_text("排队中 1 个会话", timeout=WAIT_MS)  # the next one came in
            desk.click("#release")
            expect(queue).to_be_hidden(timeout=WAIT_MS)
            expect(load).to_have_text("1 / 1")
        desk.screenshot(path=str(tmp_path / "desk.png"))


# 4,001 characters, in a frame within MAX_FRAME_BYTES: only the text is too long.
AGENT_TOO_LONG = ("Order 2024112712345678 ships today. " * 112)[:4001]


def test_an_agent_message_the_server_refuses_stays_in_the_input_in_chromium(
    chromium: str, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    websockets = pytest.importorskip("websockets.sync.client")
    with (
        browser(chromium, tmp_path) as context,
        websockets.connect(f"{server.replace('http', 'ws')}/ws/visitor") as ws,
    ):
        session = json.loads(ws.recv(10))["session"]
        ws.send(json.dumps({"type": "message", "text": "转人工", "id": "m1"}))
        desk = context.new_page()
        desk.goto(f"{server}/agent?name=小王")
        expect(desk.locator(f'#conversations li[data-session="{session}"]')).to_have_count(1, timeout=WAIT_MS)
        desk.click(f'#conversations li[data-session="{session}"]')
        reply = desk.locator("#reply")
        # As if pasted: the old page's maxlength="500" would have cut a real paste already.
        reply.evaluate("(input, text) => { input.value = text; }", AGENT_TOO_LONG)
        desk.press("#reply", "Enter")
        expect(desk.locator("#state")).to_have_text(
            "消息过长：每条最多 4000 个字符，请分成几条发送", timeout=WAIT_MS
        )
        expect(reply).to_have_value(AGENT_TOO_LONG)  # the old desk had emptied it on sending
        reply.fill("好的，马上为您查询")  # shortened: sent, and only then the input empties
        desk.press("#reply", "Enter")
        expect(desk.locator("#transcript .msg.agent")).to_have_text("小王好的，马上为您查询", timeout=WAIT_MS)
        expect(reply).to_have_value("")
        desk.click("#release")
        expect(desk.locator(f'#conversations li[data-session="{session}"]')).to_have_count(0, timeout=WAIT_MS)


def test_a_visitor_message_over_the_bots_limit_is_kept_not_cut_in_chromium(
    chromium: str, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    too_long = "请问" * 250 + "？"  # 501 characters: the demo bot reads 500 (max_input_length)
    with browser(chromium, tmp_path) as context:
        widget = context.new_page()
        widget.goto(f"{server}/")
        expect(widget.locator("#state")).to_have_text("在线", timeout=WAIT_MS)
        widget.fill("#input", too_long)  # the old maxlength="500" cut it to 500, unsaid
        widget.press("#input", "Enter")
        expect(widget.locator('#live .msg.error[data-code="too_long"]')).to_have_text(
            "消息过长：每条最多 500 个字符，请分成几条发送", timeout=WAIT_MS
        )
        expect(widget.locator("#input")).to_have_value(too_long)
        expect(widget.locator("#live .msg.me")).to_have_count(0)  # nothing went out


def test_a_visitor_message_the_server_refuses_goes_back_into_the_input_in_chromium(
    chromium: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # One message, then none for 100 s: the second one is refused as rate_limited.
    env = {"KEFU_LOAD_PLUGINS": "", "KEFU_CHAT_VISITOR_BURST": "1", "KEFU_CHAT_VISITOR_RATE": "0.01"}
    with running_server(env, log=tmp_path / "server.log") as url, browser(chromium, tmp_path) as context:
        widget = context.new_page()
        widget.goto(f"{url}/")
        expect(widget.locator("#state")).to_have_text("在线", timeout=WAIT_MS)
        widget.fill("#input", "我的订单到哪了")
        widget.press("#input", "Enter")
        expect(widget.locator("#live .msg.bot")).to_have_text(PROMPT, timeout=WAIT_MS)
        widget.fill("#input", ORDER)
        widget.press("#input", "Enter")
        expect(widget.locator('#live .msg.error[data-code="rate_limited"]')).to_have_text(
            "消息发送太频繁，请稍后再试", timeout=WAIT_MS
        )
        expect(widget.locator("#input")).to_have_value(ORDER)  # to send again later
        expect(widget.locator("#live .msg.me.failed")).to_have_text(ORDER)
