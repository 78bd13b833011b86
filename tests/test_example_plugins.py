"""The example plugins in examples/plugins/ work as their READMEs say, on the demo bot."""

from __future__ import annotations

import importlib
import logging
import re
import sys
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

import kefu

DEMO_BOT = Path(str(resources.files("kefu.intents")))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "plugins"
LOOSE = EXAMPLES / "loose"
ORDER_LOOKUP = EXAMPLES / "kefu-order-lookup"
WARNING = "为了您的资金安全：客服不会要求您转账或汇款，请勿向任何人转账。如有疑问请回复“转人工”。"


# -- the loose file -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded() -> kefu.Engine:
    """The demo bot with examples/plugins/loose loaded through ``plugins_dir``."""
    return kefu.Engine.from_path(DEMO_BOT, seed=0, plugins_dir=LOOSE, load_entry_points=False)


@pytest.mark.parametrize(
    ("text", "action", "intent"),
    [
        ("帮我转账到这个卡", "blocked", None),  # 转账
        ("客服让我先汇款才能退款", "blocked", None),  # 汇款, even inside another question
        ("能对公转账吗", "respond", "payment_methods"),  # a company transfer is a payment question
        ("转帐给你就能退款吗", "blocked", None),  # 转帐, the variant spelling, used to pass
        ("客服让我先汇 款", "blocked", None),  # a space inside the word used to hide it
        ("能对公转帐吗", "respond", "payment_methods"),  # the allowed phrase, variant spelling
        ("我的订单到哪了", "prompt", "order_status"),  # everything else reaches the bot
    ],
)
def test_loose_plugin_blocks_transfers(
    guarded: kefu.Engine, text: str, action: str, intent: str | None
) -> None:
    reply = guarded.reply(text, session_id=f"loose-{text}")
    assert (reply.action, reply.intent) == (action, intent)
    if action == "blocked":
        assert reply.text == WARNING
        assert reply.trace == ("blocked by no_transfer: transfer",)


def test_loose_plugin_is_listed_under_its_file_name(guarded: kefu.Engine) -> None:
    loaded = {p.name: p for p in guarded.plugins}
    assert (loaded["no_transfer"].source, loaded["no_transfer"].hooks) == (
        str(LOOSE / "no_transfer.py"),
        ("message_received",),
    )
    assert guarded.plugin_failures == []


def test_loose_plugin_from_the_bot_file(write_bot: Callable[..., Path]) -> None:
    """The README's other way: ``plugins: {dir: ...}`` in the bot file."""
    bot = write_bot(
        **{
            "bot.yaml": f"""
            version: 1
            bot: {{name: 测试, threshold: 0.3, max_input_length: 2000}}
            intents:
              - name: refund
                examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
                responses: [好的，这就为您办理退款]
              - name: shipping
                examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到, 发货时间]
                responses: [一般48小时内发货]
            plugins: {{dir: "{LOOSE.as_posix()}"}}
            """
        }
    )
    engine = kefu.Engine.from_path(bot)
    assert engine.reply("退款前要先汇款吗", session_id="dir").text == WARNING
    assert engine.reply("我要退款", session_id="dir").text == "好的，这就为您办理退款"
    # The bot reads 2000 characters; the plugin used to stop at 500.
    assert engine.reply("好" * 600 + "，先转账", session_id="long").text == WARNING


# -- the installable package, imported from its folder ----------------------------------------


@pytest.fixture
def order_lookup(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``kefu_order_lookup`` imported from its folder, as if installed; forgotten afterwards."""
    names = ("kefu_order_lookup", "kefu_order_lookup.backend")
    monkeypatch.syspath_prepend(str(ORDER_LOOKUP))
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield importlib.import_module("kefu_order_lookup")
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def engine(order_lookup: ModuleType) -> Iterator[kefu.Engine]:
    """The demo bot with the order-lookup plugin registered in code, as its README shows."""
    bot = kefu.Engine.from_path(DEMO_BOT, seed=0, load_entry_points=False)
    settings = {"backend": "fake", "_base_dir": str(DEMO_BOT)}
    name = bot.register_plugin(order_lookup.make_plugin(settings), name="order_lookup")
    try:
        yield bot
    finally:
        bot.unregister_plugin(name)
    assert "order_lookup" not in {p.name for p in bot.plugins}


def test_order_lookup_fills_the_demo_dialogue(engine: kefu.Engine) -> None:
    asked = engine.reply("我的订单到哪了", session_id="ol")
    assert (asked.action, asked.intent) == ("prompt", "order_status")  # the bot's own prompt
    reply = engine.reply("2024112712345678", session_id="ol")
    assert reply.text == (
        "亲，帮您查到订单 2024112712345678：运输中，承运快递为顺丰速运，预计送达时间 11月29日。"
    )
    assert (reply.action, reply.intent, dict(reply.slots)) == (
        "respond",
        "order_status",
        {"order_id": "2024112712345678"},
    )
    assert reply.payload is not None and "buttons" in reply.payload  # the rest of the reply is kept


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        # Shipped, not yet collected.
        (
            "订单2024112912345678到哪了",
            "亲，帮您查到订单 2024112912345678：已发货，等待揽收，承运快递为中通快递，预计送达时间 12月2日。",
        ),
        # Delivered.
        (
            "帮我查查2024112512345678这单的物流",
            "亲，帮您查到订单 2024112512345678：已签收，"
            "承运快递为京东快递，预计送达时间 11月27日（已送达）。",
        ),
        # An order the backend does not know.
        (
            "订单2024112612345678到哪了",
            "抱歉，没有查到该订单（2024112612345678），请核对订单号后再发给我，"
            "或回复“转人工”由人工客服帮您查询。",
        ),
    ],
)
def test_order_lookup_answers_from_the_backend(engine: kefu.Engine, text: str, answer: str) -> None:
    reply = engine.reply(text, session_id=f"ol-{text}")
    assert (reply.intent, reply.text) == ("order_status", answer)


def test_order_lookup_leaves_other_replies_alone(engine: kefu.Engine) -> None:
    without = kefu.Engine.from_path(DEMO_BOT, seed=0, load_entry_points=False)
    for text in ["我要退款", "你好", "写首诗"]:
        assert engine.reply(text, session_id="other").text == without.reply(text, session_id="other").text


def test_backend_outage_keeps_the_bots_reply(engine: kefu.Engine, caplog: pytest.LogCaptureFixture) -> None:
    order_id = "2024113000000000"  # ends in 0000: the fake backend times out
    bots_own = {text.replace("{order_id}", order_id) for text in engine.spec.intent("order_status").responses}
    with caplog.at_level(logging.ERROR, logger="kefu_order_lookup"):
        reply = engine.reply(f"订单{order_id}到哪了", session_id="outage")
    assert reply.text in bots_own
    assert (reply.action, reply.intent) == ("respond", "order_status")
    assert engine.plugin_errors == {}  # the plugin handled its backend's failure itself
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("kefu_order_lookup", f"order lookup failed for {order_id}; keeping the bot's own reply")
    ]
    assert caplog.records[0].exc_info is not None
    assert str(caplog.records[0].exc_info[1]) == f"order service timed out looking up {order_id}"


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({}, None),  # the fake backend is the default
        ({"backend": "fake"}, None),
        ({"backend": "mysql"}, "order_lookup.backend must be one of fake, not 'mysql'"),
        ({"backend": ["fake"]}, "order_lookup.backend must be one of fake, not ['fake']"),
        # A misspelled key used to be ignored, leaving the default backend in use.
        (
            {"backnd": "mysql"},
            "order_lookup: unknown setting 'backnd' (did you mean 'backend'?); known: backend",
        ),
        ({"timeout": 3}, "order_lookup: unknown setting 'timeout'; known: backend"),
        # The bot file's folder, which kefu adds, is no setting of the bot's.
        ({"backend": "fake", "_base_dir": "/srv/bot"}, None),
    ],
)
def test_order_lookup_settings(
    order_lookup: ModuleType, settings: dict[str, object], error: str | None
) -> None:
    if error is None:
        assert hasattr(order_lookup.make_plugin(settings), "response_built")
    else:
        with pytest.raises(ValueError, match=f"^{re.escape(error)}$"):
            order_lookup.make_plugin(settings)


def test_package_declares_its_entry_point() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ORDER_LOOKUP / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "kefu-order-lookup"
    assert project["entry-points"]["kefu"] == {"order_lookup": "kefu_order_lookup"}
    assert "kefu" in project["dependencies"]
