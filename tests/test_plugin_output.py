"""What plugins hand back is held to the rules of input: encodable text, no crash, no exit."""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import kefu
from kefu.cli import build_app

BOT = """
version: 1
bot: {name: 测试, threshold: 0.3, max_input_length: 20}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
  - name: shipping
    examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到, 发货时间]
    responses: [一般48小时内发货]
"""
LONE = "\ud800"  # half a UTF-16 pair: UTF-8 cannot encode it
NONSENSE = "今天天气很好"  # matches nothing: the fallback hook answers


@pytest.fixture
def engine(write_bot: Callable[..., Path]) -> kefu.Engine:
    return kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), seed=0)


def plugin(hook: str, make: Callable[[Any], Any]) -> object:
    """A plugin object whose ``hook`` returns ``make(reply)`` (``response_built``) or
    ``make(message)`` (the other hooks)."""

    def by_reply(self: object, reply: kefu.Reply) -> Any:
        return make(reply)

    def by_message(self: object, message: kefu.Message) -> Any:
        return make(message)

    impl = by_reply if hook == "response_built" else by_message
    return type("Plugin", (), {hook: kefu.hookimpl(impl)})()


def encodable(reply: kefu.Reply, session: kefu.Session | None) -> bool:
    """Whether the reply and the transcript survive UTF-8 (a WebSocket, a Redis store)."""
    texts = json.dumps(reply.to_dict(), ensure_ascii=False)
    texts += json.dumps(session.to_dict() if session else None, ensure_ascii=False)
    try:
        texts.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refund_reply(message: kefu.Message) -> kefu.Reply:
    return kefu.Reply(f"{LONE}好", "refund", 1.0, "respond", session_id=message.session_id)


TAINTED = [
    # a rewritten reply
    pytest.param(
        "response_built",
        lambda r: dataclasses.replace(r, text=f"{LONE}hi"),
        "我要退款",
        "\ufffdhi",
        id="reply",
    ),
    # a reply chosen at matching time
    pytest.param("intent_matched", lambda m: refund_reply(m), "我要退款", "\ufffd好", id="intent-matched"),
    # a fallback answer given as text
    pytest.param("fallback", lambda m: LONE, NONSENSE, "\ufffd", id="fallback-text"),
    # a block's reply
    pytest.param(
        "message_received",
        lambda m: kefu.Block(reason="x", reply=f"{LONE}不行"),
        "我要退款",
        "\ufffd不行",
        id="block",
    ),
]


@pytest.mark.parametrize(("hook", "make", "text", "expected"), TAINTED)
def test_a_lone_surrogate_from_a_plugin_reply_becomes_a_replacement_character(
    engine: kefu.Engine, hook: str, make: Callable[..., Any], text: str, expected: str
) -> None:
    engine.register_plugin(plugin(hook, make), name="tainted")
    reply = engine.reply(text, session_id=hook)
    assert reply.text == expected
    assert encodable(reply, engine.session(hook))


REWRITES = [
    # a rewritten Message
    pytest.param(lambda m: dataclasses.replace(m, text=f"{LONE}退款"), id="message"),
    # a rewrite given as text
    pytest.param(lambda m: f"{LONE}退款", id="text"),
]


@pytest.mark.parametrize("make", REWRITES)
def test_a_lone_surrogate_in_a_rewritten_message_never_reaches_the_history(
    engine: kefu.Engine, make: Callable[[kefu.Message], Any]
) -> None:
    engine.register_plugin(plugin("message_received", make), name="rewriter")
    reply = engine.reply("我要退款", session_id="rw")
    session = engine.session("rw")
    assert session is not None and session.history[-1][1] == "\ufffd退款"
    assert encodable(reply, session)


def test_a_rewritten_message_is_cut_like_incoming_text(engine: kefu.Engine) -> None:
    engine.register_plugin(plugin("message_received", lambda m: m.text * 100), name="long")
    engine.reply("我要退款", session_id="long")
    session = engine.session("long")
    assert session is not None and session.history[-1][1] == "我要退款" * 5  # max_input_length: 20


def test_a_handoff_block_reason_is_cleaned(engine: kefu.Engine) -> None:
    block = kefu.Block(reason=f"{LONE}风险", reply="转人工", handoff=True)
    engine.register_plugin(plugin("message_received", lambda m: block), name="guard")
    reply = engine.reply("我要退款", session_id="ho")
    assert (reply.text, reply.handoff_reason) == ("转人工", "\ufffd风险")


NONE_TEXTS = [
    # a block with no reply at all
    pytest.param("message_received", lambda m: kefu.Block(reason="x", reply=None), "我要退款", id="block"),  # type: ignore[arg-type]
    # a reply whose text was set to None
    pytest.param("response_built", lambda r: dataclasses.replace(r, text=None), "我要退款", id="reply"),
    # a fallback Reply with no text
    pytest.param("fallback", lambda m: kefu.Reply(None, None, 0.0, "fallback"), NONSENSE, id="fallback"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("hook", "make", "text"), NONE_TEXTS)
def test_none_text_from_a_plugin_is_an_empty_reply(
    engine: kefu.Engine, hook: str, make: Callable[..., Any], text: str
) -> None:
    engine.register_plugin(plugin(hook, make), name="none")
    assert engine.reply(text, session_id="none").text == ""


# -- sys.exit in a plugin ---------------------------------------------------------------------

EXITING = [
    # a bare sys.exit
    pytest.param("import sys\nsys.exit(2)\n", "sys.exit(2)", id="sys-exit"),
    # a command-line script dropped into the plugins folder: argparse exits with code 2
    pytest.param(
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--db', required=True)\n"
        "p.parse_args([])\n",
        "sys.exit(2)",
        id="argparse",
    ),
]


@pytest.mark.parametrize(("source", "says"), EXITING)
def test_a_plugin_that_exits_at_import_fails_the_reload_and_the_old_bot_serves(
    write_bot: Callable[..., Path], source: str, says: str
) -> None:
    bot = write_bot(**{"bot.yaml": BOT + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    engine = kefu.Engine.from_path(bot, seed=0)
    (bot / "plugins" / "script.py").write_text(source, encoding="utf-8")
    with pytest.raises(kefu.PluginError, match=rf"script \(.*script\.py\): SystemExit: .*{re.escape(says)}"):
        engine.reload()
    assert engine.reply("我要退款", session_id="x").text == "好的，这就为您办理退款"
    with pytest.raises(kefu.PluginError, match="script"):
        kefu.Engine.from_path(bot, strict_plugins=True)


def test_plugins_command_lists_a_plugin_that_exits(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT})
    folder = bot / "extra"
    folder.mkdir()
    (folder / "quits.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["plugins", str(bot), "--plugins-dir", str(folder)])
    assert result.exit_code == 0
    assert "FAILED quits" in result.stdout and "SystemExit: the plugin called sys.exit(3)" in result.stdout


def test_a_hook_that_exits_during_a_reply_is_skipped_and_counted(engine: kefu.Engine) -> None:
    engine.register_plugin(plugin("response_built", lambda r: sys.exit(1)), name="quitter")
    assert engine.reply("我要退款", session_id="q").text == "好的，这就为您办理退款"
    assert engine.plugin_errors == {"quitter": 1}


# -- what plugins leave in the session ------------------------------------------------------


class Unstorable:
    """Puts an object no store can save into ``session.data``, next to a good value."""

    @kefu.hookimpl
    def session_started(self, session: kefu.Session) -> None:
        session.data["good"] = [1, "二"]
        session.data["bad"] = object()


def test_unstorable_session_data_is_dropped_and_blamed_on_its_plugin(engine: kefu.Engine) -> None:
    engine.register_plugin(Unstorable(), name="unstorable")
    for _ in range(2):
        assert engine.reply("我要退款", session_id="data").text == "好的，这就为您办理退款"
    session = engine.session("data")
    assert session is not None and session.data == {"good": [1, "二"]}
    assert engine.plugin_errors == {"unstorable": 1}


def test_strict_plugins_raise_on_unstorable_session_data(write_bot: Callable[..., Path]) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), strict_plugins=True)
    engine.register_plugin(Unstorable(), name="unstorable")
    with pytest.raises(kefu.PluginError, match=r"plugin 'unstorable': session_started put 'bad'.*object"):
        engine.reply("我要退款", session_id="data")


class Subclassed:
    """Puts values of dict and int subclasses into ``session.data``, which JSON stores save."""

    @kefu.hookimpl
    def session_started(self, session: kefu.Session) -> None:
        session.data["order"] = collections.OrderedDict([("id", "A1"), ("step", Step.PAID)])
        session.data["step"] = Step.SHIPPED
        session.data["pair"] = ("A1", 2)  # JSON stores give back a list
        session.data[7] = "seven"  # type: ignore[index]  # ... and the key as text


class Step(enum.IntEnum):
    PAID = 1
    SHIPPED = 2


def test_dict_and_int_subclasses_in_session_data_are_kept_as_plain_values(engine: kefu.Engine) -> None:
    engine.register_plugin(Subclassed(), name="subclassed")
    for _ in range(2):
        assert engine.reply("我要退款", session_id="sub").text == "好的，这就为您办理退款"
    session = engine.session("sub")
    assert session is not None
    # What a JSON store gives back: MemoryStore gives back the same.
    assert session.data == {"order": {"id": "A1", "step": 1}, "step": 2, "pair": ["A1", 2], "7": "seven"}
    assert type(session.data["order"]) is dict and type(session.data["step"]) is int
    assert engine.plugin_errors == {}


class NotJson:
    """Puts values marshal could keep but JSON cannot into ``session.data``."""

    @kefu.hookimpl
    def session_started(self, session: kefu.Session) -> None:
        session.data["raw"] = b"\x00\xff"
        session.data["tags"] = {"vip"}
        session.data["huge"] = 10**5000
        session.data["ok"] = "kept"


def test_values_a_json_store_cannot_keep_are_dropped_by_memory_store_too(engine: kefu.Engine) -> None:
    """MemoryStore kept bytes and sets, so a plugin that worked in one process lost them,
    without a word to its tests, once sessions moved to Redis."""
    engine.register_plugin(NotJson(), name="notjson")
    engine.reply("我要退款", session_id="nj")
    session = engine.session("nj")
    assert session is not None and session.data == {"ok": "kept"}
    assert engine.plugin_errors == {"notjson": 3}  # one for each value dropped
    json.loads(session.to_json())  # what a JSON store writes


# -- agents' names ------------------------------------------------------------------------------


def test_an_agent_name_is_cleaned_and_cut(engine: kefu.Engine) -> None:
    engine.reply("转人工", session_id="agent")
    engine.record_agent_message("agent", "您好", agent=LONE + "客" * 1_000_000)
    session = engine.session("agent")
    assert session is not None
    assert session.history[-1][3] == "agent:\ufffd" + "客" * 63


def test_slots_trace_and_payload_from_a_plugin_reply_are_cleaned(engine: kefu.Engine) -> None:
    marker = object()  # not text: handed on as it is
    payload = {"url": f"{LONE}x", LONE: [f"a{LONE}", ("b", marker)], "n": 3}
    make = lambda r: dataclasses.replace(  # noqa: E731
        r, slots={"order": f"{LONE}1"}, trace=(*r.trace, f"by{LONE}"), payload=payload
    )
    engine.register_plugin(plugin("response_built", make), name="tainted")
    reply = engine.reply("我要退款", session_id="extras")
    assert reply.slots == {"order": "\ufffd1"}
    assert reply.trace[-1] == "by\ufffd"
    assert reply.payload == {"url": "\ufffdx", "\ufffd": ["a\ufffd", ("b", marker)], "n": 3}
    assert reply.payload is not None and reply.payload["\ufffd"][1][1] is marker


def test_clean_extras_from_a_plugin_reply_are_passed_on_untouched(engine: kefu.Engine) -> None:
    payload = {"card": {"title": "退款进度", "steps": ["申请", "审核"]}}
    make = lambda r: dataclasses.replace(r, payload=payload)  # noqa: E731
    engine.register_plugin(plugin("response_built", make), name="clean")
    assert engine.reply("我要退款", session_id="same").payload is payload


def test_kefu_chat_shows_a_payload_json_cannot_write(write_bot: Callable[..., Path]) -> None:
    # A plugin may hand its own values on in a payload; chat printed a traceback (a set is
    # no JSON) and stopped.
    bot = write_bot(**{"bot.yaml": BOT})
    folder = bot / "plugins"
    folder.mkdir()
    (folder / "tags.py").write_text(
        "import dataclasses\n"
        "import kefu\n\n"
        "@kefu.hookimpl\n"
        "def response_built(reply):\n"
        "    loop = {'tags': {'vip'}}\n"
        "    loop['self'] = loop\n"
        "    payload = {'tags': {'vip'}} if '退款' in reply.text else loop\n"
        "    return dataclasses.replace(reply, payload=payload)\n",
        encoding="utf-8",
    )
    app = build_app()
    result = CliRunner().invoke(
        app, ["chat", str(bot), "--plugins-dir", str(folder)], input="我要退款\n几天能到\n"
    )
    assert result.exit_code == 0, result.output
    assert 'payload: {"tags": "{\'vip\'}"}' in result.output
    assert result.output.count("payload: ") == 2 and "'self': {" in result.output  # a cycle, as its repr
