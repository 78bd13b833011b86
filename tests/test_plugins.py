"""The plugin contract: one test per hook, isolation, discovery, and the docs."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kefu
from kefu import hookspecs
from kefu.cli import build_app

BOT = """
version: 1
bot: {name: 测试, threshold: 0.3, handoff_after_fallbacks: 2}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
  - name: shipping
    examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到, 发货时间]
    responses: [一般48小时内发货]
  - name: human
    examples: [转人工, 人工客服, 找真人, 我要人工]
    action: handoff
"""
HOOKS = sorted(n for n in hookspecs.__all__ if n not in {"hookimpl", "hookspec"})
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(write_bot: Callable[..., Path]) -> kefu.Engine:
    return kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), seed=0, strict_plugins=True)


@pytest.fixture
def plugged(engine: kefu.Engine) -> Iterator[Callable[[object], None]]:
    """Register throwaway plugins on ``engine``; they are removed after the test."""
    names: list[str] = []

    def add(plugin: object) -> None:
        names.append(engine.register_plugin(plugin, name=f"test{len(names)}"))

    yield add
    for name in names:
        engine.unregister_plugin(name)


# -- one test per hook ----------------------------------------------------------------------


def test_hook_engine_loaded(write_bot: Callable[..., Path], tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "loaded.py").write_text(
        "import kefu\nSEEN = []\n@kefu.hookimpl\n"
        "def engine_loaded(engine):\n    SEEN.append(engine.spec.settings.name)\n",
        encoding="utf-8",
    )
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), plugins_dir=folder)
    assert engine.plugin("loaded").SEEN == ["测试"]


def test_hook_session_started(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    started: list[str] = []

    class Plugin:
        @kefu.hookimpl
        def session_started(self, session: kefu.Session) -> None:
            started.append(session.id)
            session.data["greeted"] = True

    plugged(Plugin())
    engine.reply("你好", session_id="s1")
    engine.reply("我要退款", session_id="s1")
    assert started == ["s1"]
    session = engine.session("s1")
    assert session is not None and session.data["greeted"] is True


def test_hook_session_ended(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    ended: list[tuple[str, str, int]] = []

    class Plugin:
        @kefu.hookimpl
        def session_ended(self, session: kefu.Session, reason: str) -> None:
            ended.append((session.id, reason, session.turns))

    plugged(Plugin())
    engine.reply("我要退款", session_id="bye")
    engine.end_session("bye")
    assert ended == [("bye", "deleted", 1)]


@pytest.mark.parametrize(
    ("result", "text", "action"),
    [
        (kefu.Block(reason="no", reply="不可以"), "不可以", "blocked"),  # a block with a reply
        (kefu.Block(reason="quiet"), "", "blocked"),  # a silent block
        ("我要退款", "好的，这就为您办理退款", "respond"),  # a rewrite as text
    ],
)
def test_hook_message_received(
    engine: kefu.Engine, plugged: Callable[[object], None], result: object, text: str, action: str
) -> None:
    class Plugin:
        @kefu.hookimpl
        def message_received(self, message: kefu.Message) -> object:
            return result

    plugged(Plugin())
    reply = engine.reply("随便说点什么", session_id="mr")
    assert (reply.text, reply.action) == (text, action)


def test_message_received_rewrites_chain(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    class First:
        @kefu.hookimpl(tryfirst=True)
        def message_received(self, message: kefu.Message) -> kefu.Message:
            return dataclasses.replace(message, text=message.text.replace("钱钱", "退款"))

    class Second:
        @kefu.hookimpl
        def message_received(self, message: kefu.Message) -> str:
            return "我要" + message.text

    plugged(First())
    plugged(Second())
    reply = engine.reply("钱钱", session_id="chain")
    assert reply.intent == "refund"
    assert [step for step in reply.trace if step.startswith("rewritten")] == [
        "rewritten by test0",
        "rewritten by test1",
    ]


def test_hook_intent_matched(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    class Plugin:
        @kefu.hookimpl
        def intent_matched(self, match: kefu.Match) -> kefu.Match | kefu.Reply | None:
            if match.intent == "shipping":
                return dataclasses.replace(match, intent="refund")
            if match.intent == "refund":
                return kefu.Reply(text="插件直接回答", intent="refund", confidence=1.0, action="respond")
            return None

    plugged(Plugin())
    assert engine.reply("什么时候发货", session_id="im").text == "好的，这就为您办理退款"
    assert engine.reply("我要退款", session_id="im2").text == "插件直接回答"


def test_hook_fallback(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    class Plugin:
        @kefu.hookimpl
        def fallback(self, session: kefu.Session) -> str:
            return f"第{session.fallback_streak}次没听懂"

    plugged(Plugin())
    reply = engine.reply("写首诗", session_id="fb")
    assert (reply.action, reply.text) == ("fallback", "第1次没听懂")
    assert any(step == "fallback answered by test0" for step in reply.trace)


def test_default_fallback_runs_last(engine: kefu.Engine) -> None:
    reply = engine.reply("写首诗", session_id="fb-default")
    assert reply.text in engine.spec.settings.fallback


def test_hook_response_built(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    class Polite:
        @kefu.hookimpl(tryfirst=True)
        def response_built(self, reply: kefu.Reply) -> kefu.Reply:
            return dataclasses.replace(reply, text="亲，" + reply.text)

    class Signed:
        @kefu.hookimpl
        def response_built(self, reply: kefu.Reply) -> kefu.Reply:
            return dataclasses.replace(reply, text=reply.text + "——小客")

    plugged(Polite())
    plugged(Signed())
    assert engine.reply("我要退款", session_id="rb").text == "亲，好的，这就为您办理退款——小客"


def test_hook_handoff_requested(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    """The pager gets the message that asked for the human, which the history lacks until
    its reply is sent: an agent paged with the history alone missed it."""
    paged: list[tuple[str, str, list[str], str]] = []

    class Pager:
        @kefu.hookimpl
        def handoff_requested(self, message: kefu.Message, session: kefu.Session, reason: str) -> None:
            paged.append((session.id, reason, [turn[1] for turn in session.history], message.text))

    plugged(Pager())
    engine.reply("我要退款", session_id="h1")
    engine.reply("转人工", session_id="h1")
    engine.reply("股市行情", session_id="h2")
    engine.reply("写首诗", session_id="h2")  # the second fallback in a row hands off
    assert paged == [
        ("h1", "intent:human", ["我要退款"], "转人工"),
        ("h2", "fallbacks:2", ["股市行情"], "写首诗"),
    ]


def test_hook_register_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package's plugin adds a `kefu` sub-command through its entry point."""
    _install_fake_distribution(tmp_path, monkeypatch, "kefu_hello", HELLO_PLUGIN)
    monkeypatch.setenv("KEFU_LOAD_PLUGINS", "hello")
    result = CliRunner().invoke(build_app(), ["hello", "小客"])
    assert (result.exit_code, result.stdout.strip()) == (0, "你好，小客")


HELLO_PLUGIN = """
import kefu

@kefu.hookimpl
def register_commands(cli):
    @cli.command()
    def hello(name: str) -> None:
        print(f"你好，{name}")
"""


def _install_fake_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, code: str
) -> None:
    """A module plus a .dist-info with an entry point, on sys.path, as pip would leave it."""
    (tmp_path / f"{module}.py").write_text(code, encoding="utf-8")
    info = tmp_path / f"{module}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.2.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[kefu]\nhello = {module}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)


def test_every_hook_has_a_test() -> None:
    tested = {name.removeprefix("test_hook_") for name in globals() if name.startswith("test_hook_")}
    assert sorted(set(HOOKS) - tested) == []


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8").replace("\\|", "|")
    for name in HOOKS:
        signature = str(inspect.signature(getattr(hookspecs, name))).replace("'", "")
        assert f"`def {name}{signature}`" in docs, name


# -- isolation ------------------------------------------------------------------------------


class Broken:
    @kefu.hookimpl
    def message_received(self) -> None:
        raise RuntimeError("boom")

    @kefu.hookimpl
    def response_built(self) -> None:
        raise RuntimeError("boom again")


def test_a_raising_plugin_is_skipped_and_counted(write_bot: Callable[..., Path]) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), seed=0)
    engine.register_plugin(Broken(), name="broken")
    for _ in range(3):
        assert engine.reply("我要退款", session_id="iso").text == "好的，这就为您办理退款"
    assert engine.plugin_errors == {"broken": 6}


def test_a_fail_closed_plugin_that_raises_blocks(write_bot: Callable[..., Path]) -> None:
    class Guard(Broken):
        fail_closed = True

    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), seed=0)
    engine.register_plugin(Guard(), name="guard")
    reply = engine.reply("我要退款", session_id="closed")
    assert (reply.action, reply.text) == ("blocked", "")
    assert "blocked by guard: plugin guard failed" in reply.trace


def test_strict_plugins_reraise(engine: kefu.Engine, plugged: Callable[[object], None]) -> None:
    plugged(Broken())
    with pytest.raises(kefu.PluginError, match=r"plugin 'test0': message_received raised RuntimeError: boom"):
        engine.reply("我要退款", session_id="strict")


def test_loose_file_plugin_blocks_transfers_without_code_change(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "no_transfer.py").write_text(
        "import kefu\n\n@kefu.hookimpl\ndef message_received(message):\n"
        "    if '转账' in message.text:\n"
        "        return kefu.Block(reason='transfer', reply='客服不会要求您转账')\n",
        encoding="utf-8",
    )
    (bot / "plugins" / "broken_import.py").write_text("import not_a_module_anywhere\n", encoding="utf-8")
    engine = kefu.Engine.from_path(bot)
    assert engine.reply("帮我转账到这个卡", session_id="t").text == "客服不会要求您转账"
    assert engine.reply("我要退款", session_id="t").intent == "refund"
    assert [f.name for f in engine.plugin_failures] == ["broken_import"]
    assert "ModuleNotFoundError" in engine.plugin_failures[0].error


def test_two_engines_do_not_share_plugins(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT})
    first, second = kefu.Engine.from_path(bot), kefu.Engine.from_path(bot)
    first.register_plugin(Broken(), name="broken")
    second.reply("我要退款", session_id="x")
    assert second.plugin_errors == {}
    assert "broken" not in {p.name for p in second.plugins}


def test_plugin_settings_reach_the_plugin(write_bot: Callable[..., Path]) -> None:
    settings = "plugins:\n  handoff_keywords: {keywords: [投诉], reply: 马上为您转人工}\n"
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT + settings}))
    reply = engine.reply("我要投诉你们", session_id="kw")
    assert (reply.handoff, reply.handoff_reason, reply.text) == (True, "keyword:投诉", "马上为您转人工")


def test_settings_for_no_loaded_plugin_are_warned_of_unless_a_built_in_was_left_out(
    write_bot: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    """kefu predict / test / tune load no built-ins, and warned of every bot's risk_control
    settings on each run; a name no plugin has (a typo) is still worth a warning."""
    settings = "plugins:\n  handoff_keywords: {keywords: [投诉]}\n  handof_keywords: {keywords: [投诉]}\n"
    bot = write_bot(**{"bot.yaml": BOT + settings})
    with caplog.at_level("WARNING"):
        kefu.Engine.from_path(bot, builtin_plugins=(), load_entry_points=False)
    assert "'handof_keywords', but no such plugin is loaded" in caplog.text
    assert "'handoff_keywords'" not in caplog.text


def test_commands_that_skip_the_bots_plugins_folder_do_not_warn_of_its_plugins_settings(
    write_bot: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    # kefu predict warned "settings given for plugin 'guard', but no such plugin is loaded"
    # on every run, for a folder plugin it skips on purpose.
    bot = write_bot(**{"bot.yaml": BOT + "plugins:\n  dir: plugins\n  guard: {level: 2}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "guard.py").write_text(
        "import kefu\n\ndef make_plugin(settings):\n    return Guard()\n\n"
        "class Guard:\n    @kefu.hookimpl\n    def message_received(self, message):\n        return None\n",
        encoding="utf-8",
    )
    with caplog.at_level("WARNING"):
        result = CliRunner().invoke(build_app(), ["predict", "-b", str(bot), "我要退款"])
        assert result.exit_code == 0 and "refund" in result.stdout
        assert "no such plugin" not in caplog.text
        kefu.Engine.from_path(bot, load_entry_points=False)  # served: loads it, no warning either
        assert "no such plugin" not in caplog.text
        kefu.Engine.from_path(bot, load_entry_points=False, bot_plugins=False)  # skipped from code
        assert "no such plugin" not in caplog.text


def test_kefu_plugins_json_stays_one_document_when_a_plugin_prints(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT})
    folder = bot / "plugins"
    folder.mkdir()
    (folder / "chatty.py").write_text(
        "import kefu\nprint('chatty loaded')\n\n@kefu.hookimpl\ndef fallback():\n    return None\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(build_app(), ["plugins", str(bot), "--plugins-dir", str(folder), "--json"])
    assert result.exit_code == 0
    assert "chatty" in [p["name"] for p in json.loads(result.stdout)["loaded"]]
    assert "chatty loaded" in result.stderr


def test_allow_list_filters_installed_plugins(
    write_bot: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_distribution(tmp_path, monkeypatch, "kefu_hello", HELLO_PLUGIN)
    bot = write_bot(**{"bot.yaml": BOT})
    monkeypatch.setenv("KEFU_LOAD_PLUGINS", "")
    assert "hello" not in {p.name for p in kefu.Engine.from_path(bot).plugins}
    monkeypatch.setenv("KEFU_LOAD_PLUGINS", "hello")
    loaded = {p.name: p for p in kefu.Engine.from_path(bot).plugins}
    assert loaded["hello"].version == "1.2.3" and loaded["hello"].hooks == ("register_commands",)


def test_plugins_command_lists_hooks_and_failures(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT})
    folder = bot / "extra"
    folder.mkdir()
    (folder / "bad.py").write_text("raise ValueError('bad config')\n", encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["plugins", str(bot), "--plugins-dir", str(folder)])
    assert result.exit_code == 0
    assert re.search(r"^risk_control  \[builtin\]  \(fail-closed\)$", result.stdout, re.M)
    assert "hooks: engine_loaded, message_received, response_built" in result.stdout
    assert "FAILED bad" in result.stdout and "ValueError: bad config" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--strict"],  # a deploy check: the bot would serve without `bad`
        ["--strict", "--json"],  # the same, with stdout still one JSON document
    ],
)
def test_plugins_strict_exits_1_when_a_plugin_failed(write_bot: Callable[..., Path], args: list[str]) -> None:
    bot = write_bot(**{"bot.yaml": BOT})
    folder = bot / "extra"
    folder.mkdir()
    (folder / "bad.py").write_text("raise ValueError('bad config')\n", encoding="utf-8")
    (folder / "fine.py").write_text(
        "import kefu\n\n@kefu.hookimpl\ndef fallback():\n    return None\n", encoding="utf-8"
    )
    result = CliRunner().invoke(build_app(), ["plugins", str(bot), "--plugins-dir", str(folder), *args])
    assert result.exit_code == 1
    assert result.stderr == "1 plugin(s) failed to load (bad); --strict fails the run\n"
    if "--json" in args:
        listed = json.loads(result.stdout)
        assert [f["name"] for f in listed["failed"]] == ["bad"]
        assert "fine" in {p["name"] for p in listed["loaded"]}
    else:
        assert "FAILED bad" in result.stdout and re.search(r"^fine  \[.*fine\.py\]$", result.stdout, re.M)


def test_plugins_strict_exits_0_when_every_plugin_loaded(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT})
    result = CliRunner().invoke(build_app(), ["plugins", str(bot), "--strict"])
    assert result.exit_code == 0 and result.stderr == ""
    assert re.search(r"^default_fallback  \[builtin\]$", result.stdout, re.M)


def test_a_loose_plugin_that_is_a_named_pipe_fails_instead_of_hanging(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    folder = tmp_path / "plugins"
    folder.mkdir()
    os.mkfifo(folder / "pipe.py")
    (folder / "ok.py").write_text("VALUE = 1\n", encoding="utf-8")
    hosts: list[kefu.manager.PluginHost] = []
    loading = threading.Thread(
        target=lambda: hosts.append(
            kefu.manager.PluginHost(builtins=(), entry_points=False, plugin_dirs=(folder,))
        ),
        daemon=True,
    )
    loading.start()
    loading.join(10)
    if loading.is_alive():  # stuck reading the pipe: give it an end of file, then fail
        os.close(os.open(folder / "pipe.py", os.O_WRONLY | os.O_NONBLOCK))
        loading.join(10)
        pytest.fail("loading the plugins folder hung on a named pipe")
    [host] = hosts
    assert [p.name for p in host.loaded] == ["ok"]
    assert [(f.name, f.error) for f in host.failed] == [
        ("pipe", f"ImportError: not a regular file: {folder / 'pipe.py'}")
    ]


# -- an intent_matched override naming an intent the bot lacks ------------------------------

UNKNOWN_OVERRIDES = [
    # a forced intent with a typo in its name
    pytest.param(lambda match: dataclasses.replace(match, intent="refnud"), id="forced-intent"),
    # a clarify question between intents the bot does not have
    pytest.param(
        lambda match: kefu.Match(
            match.text,
            None,
            0.5,
            candidates=(kefu.Candidate("zz", 0.5), kefu.Candidate("yy", 0.4)),
            ambiguous=True,
        ),
        id="ambiguous-candidates",
    ),
]


class Overrider:
    """An ``intent_matched`` plugin that returns ``make(match)``."""

    def __init__(self, make: Callable[[kefu.Match], kefu.Match]) -> None:
        self.make = make

    @kefu.hookimpl
    def intent_matched(self, match: kefu.Match) -> kefu.Match:
        return self.make(match)


@pytest.mark.parametrize("make", UNKNOWN_OVERRIDES)
def test_an_override_naming_an_unknown_intent_is_ignored_and_counted(
    write_bot: Callable[..., Path], make: Callable[[kefu.Match], kefu.Match]
) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), seed=0)
    expected = engine.reply("什么时候发货", session_id="without")
    engine.register_plugin(Overrider(make), name="typo")
    reply = engine.reply("什么时候发货", session_id="with")
    assert (reply.text, reply.intent, reply.action) == (expected.text, expected.intent, expected.action)
    assert reply.text == "一般48小时内发货"
    assert engine.plugin_errors == {"typo": 1}
    assert any(step.startswith("override by typo ignored: unknown intents") for step in reply.trace)


@pytest.mark.parametrize("make", UNKNOWN_OVERRIDES)
def test_strict_plugins_reraise_an_override_naming_an_unknown_intent(
    engine: kefu.Engine, plugged: Callable[[object], None], make: Callable[[kefu.Match], kefu.Match]
) -> None:
    plugged(Overrider(make))
    with pytest.raises(
        kefu.PluginError, match=r"plugin 'test0': intent_matched returned a Match naming unknown"
    ):
        engine.reply("什么时候发货", session_id="strict-override")


def test_a_fail_closed_plugin_that_cannot_be_built_stops_the_engine_from_starting(
    write_bot: Callable[..., Path],
) -> None:
    bot = write_bot(**{"bot.yaml": BOT + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "guard.py").write_text(
        "fail_closed = True\n\ndef make_plugin(settings):\n"
        "    raise RuntimeError('risk database unreachable')\n",
        encoding="utf-8",
    )
    with pytest.raises(
        kefu.PluginError, match=r"fail-closed .*guard .*RuntimeError: risk database unreachable"
    ):
        kefu.Engine.from_path(bot)


def test_a_fail_closed_plugin_that_cannot_be_built_fails_the_reload(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    guard = bot / "plugins" / "guard.py"
    guard.write_text(
        "fail_closed = True\n\ndef make_plugin(settings):\n    return object()\n", encoding="utf-8"
    )
    engine = kefu.Engine.from_path(bot)
    guard.write_text(
        "fail_closed = True\n\ndef make_plugin(settings):\n    raise OSError('gone')\n", encoding="utf-8"
    )
    with pytest.raises(kefu.PluginError, match="gone"):
        engine.reload()
    assert "guard" in {p.name for p in engine.plugins}
    assert engine.reply("我要退款", session_id="r").intent == "refund"


def test_risk_control_is_fail_closed_at_startup_too(
    write_bot: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kefu.plugins import risk_control

    def broken(settings: object) -> object:
        raise MemoryError("word list too big")

    monkeypatch.setattr(risk_control, "make_plugin", broken)
    with pytest.raises(kefu.PluginError, match=r"risk_control .*MemoryError: word list too big"):
        kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}))


def test_a_misspelled_hook_fails_the_plugin_and_names_the_real_hook(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "typo.py").write_text(
        "import kefu\n\n@kefu.hookimpl\ndef intnt_matched(match):\n    return None\n", encoding="utf-8"
    )
    engine = kefu.Engine.from_path(bot)
    [failure] = engine.plugin_failures
    assert failure.name == "typo"
    assert failure.error == "'intnt_matched' is not a kefu hook (did you mean 'intent_matched'?)"
    result = CliRunner().invoke(build_app(), ["plugins", str(bot)])
    assert "did you mean 'intent_matched'?" in result.output


def test_a_hook_without_the_marker_is_warned_about(
    write_bot: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    bot = write_bot(**{"bot.yaml": BOT + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "unmarked.py").write_text(
        "def message_received(message):\n    return '我要退款'\n", encoding="utf-8"
    )
    engine = kefu.Engine.from_path(bot)
    assert "unmarked" in {p.name for p in engine.plugins}
    assert "plugin 'unmarked' defines message_received() without @kefu.hookimpl" in caplog.text


ODD_AMBIGUITY = [
    # nothing to offer: the message falls back
    pytest.param((), "fallback", [], id="no-candidates"),
    # one intent named twice: offered once
    pytest.param(("refund", "refund"), "clarify", ["refund"], id="same-intent-twice"),
    # three distinct intents: the top two, as the matcher does
    pytest.param(("refund", "shipping", "human"), "clarify", ["refund", "shipping"], id="three"),
]


@pytest.mark.parametrize(("names", "action", "offered"), ODD_AMBIGUITY)
def test_an_ambiguous_override_offers_distinct_intents_or_falls_back(
    write_bot: Callable[..., Path], names: tuple[str, ...], action: str, offered: list[str]
) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT}), seed=0)
    candidates = tuple(kefu.Candidate(name, 0.5) for name in names)
    make = lambda m: kefu.Match(m.text, None, 0.5, candidates, ambiguous=True)  # noqa: E731
    engine.register_plugin(Overrider(make), name="unsure")
    reply = engine.reply("什么时候发货", session_id="odd")
    assert reply.action == action
    titles = {"refund": "我要退款", "shipping": "什么时候发货", "human": "转人工"}
    numbered = [f"{i}. {titles[name]}" for i, name in enumerate(offered, 1)]
    assert [line for line in reply.text.splitlines() if line[:2] in {"1.", "2.", "3."}] == numbered
    if offered:  # the first option can be picked by its number
        assert engine.reply("1", session_id="odd").intent == offered[0]


class Moody:
    """A plugin whose lookups of most attributes it lacks raise (a lazy proxy, say)."""

    @kefu.hookimpl
    def message_received(self, message: kefu.Message) -> None:
        return None

    def __getattr__(self, name: str) -> object:
        if name == "make_plugin":
            raise AttributeError(name)
        raise RuntimeError(f"no {name} here")


def test_a_plugin_whose_getattr_raises_does_not_break_the_engine(engine: kefu.Engine) -> None:
    engine.register_plugin(Moody(), name="moody")
    assert [(p.name, p.hooks, p.fail_closed) for p in engine.plugins if p.name == "moody"] == [
        ("moody", ("message_received",), False)
    ]
    assert engine.reply("我要退款", session_id="m").intent == "refund"


@pytest.mark.parametrize(
    ("keywords", "message", "reason"),
    [
        ("[投诉, 12315]", "我的订单 2024123151234567 到哪了", None),  # 12315 inside an order id
        ("[投诉, 12315]", "我要打12315举报你们", "keyword:12315"),
        ("[投诉, 12315]", "１２３１５", "keyword:12315"),  # full-width digits
        ("[12315]", "电话123150", None),
        ("[VIP]", "vipx账号登不上", None),
        ("[VIP]", "我是VIP会员", "keyword:vip"),
        ("[投诉]", "我要投诉你们", "keyword:投诉"),  # Chinese keywords still match inside Chinese text
        ("[投诉]", "12315投诉", "keyword:投诉"),
    ],
)
def test_handoff_keywords_with_letter_or_digit_edges_match_whole_tokens(
    write_bot: Callable[..., Path], keywords: str, message: str, reason: str | None
) -> None:
    settings = f"plugins:\n  handoff_keywords: {{keywords: {keywords}}}\n"
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT + settings}), seed=0)
    reply = engine.reply(message, session_id="kw")
    assert (reply.handoff, reply.handoff_reason) == (reason is not None, reason)
