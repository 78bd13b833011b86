"""Registering plugins: what is not a plugin is refused by name, never kept silently."""

from __future__ import annotations

import dataclasses
import logging
import types
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

import kefu


class Unmarked:
    """Hook-named methods without ``@kefu.hookimpl``: pluggy sees no hook at all."""

    def message_received(self, message: kefu.Message) -> str:
        return "我要退款"


class Typo:
    """A misspelled hook, which pluggy registers without complaint."""

    @kefu.hookimpl
    def intnt_matched(self, match: kefu.Match) -> None:
        return None


class Shouter:
    """A real plugin, to show a refused name stays free."""

    @kefu.hookimpl
    def response_built(self, reply: kefu.Reply) -> kefu.Reply:
        return dataclasses.replace(reply, text=reply.text + "！")


class Signer:
    """A pluggy hook wrapper: kefu calls each implementation itself, so it never ran."""

    @kefu.hookimpl(wrapper=True)
    def response_built(self, reply: kefu.Reply) -> Generator[None, kefu.Reply, kefu.Reply]:
        result = yield
        return dataclasses.replace(result, text=result.text + " —小客")


class OldSigner:
    """An old-style pluggy hook wrapper, which never ran either."""

    @kefu.hookimpl(hookwrapper=True)
    def message_received(self, message: kefu.Message) -> Generator[None, Any, None]:
        yield


class KeywordOnly:
    """Keyword-only hook arguments: kefu passes them by position, so every call failed."""

    @kefu.hookimpl
    def fallback(self, *, message: kefu.Message) -> str:
        return "没听懂"


class KeywordOnlyDefault:
    """A keyword-only hook argument with a default: it only ever got the default."""

    @kefu.hookimpl
    def fallback(self, message: kefu.Message, *, match: kefu.Match | None = None) -> str | None:
        return None if match is None else "没听懂"


def _module_making(plugin: Any) -> types.ModuleType:
    module = types.ModuleType("shop_plugin")
    module.make_plugin = lambda settings: plugin  # type: ignore[attr-defined]
    return module


NOT_PLUGINS = [
    # None (a make_plugin(...) result that was forgotten): was registered as "NoneType"
    pytest.param(
        None,
        None,
        "plugin 'None': got None, not a plugin (a module or an object with @kefu.hookimpl functions)",
        id="None",
    ),
    pytest.param(None, "guard", "plugin 'guard': got None, not a plugin", id="None-named"),
    # an int: was registered as a plugin called "int" that did nothing
    pytest.param(
        5, None, "plugin 'int': int object implements no kefu hook, so kefu would never call it", id="int"
    ),
    # the markers forgotten: the hook never ran, and only a warning in the log said so
    pytest.param(
        Unmarked(),
        None,
        "plugin 'Unmarked': Unmarked object implements no kefu hook, so kefu would never call it "
        "(mark message_received() with @kefu.hookimpl)",
        id="unmarked",
    ),
    # a misspelled hook: was logged and dropped, yet its name was returned as registered
    pytest.param(
        Typo(), "typo", "plugin 'typo': 'intnt_matched' is not a kefu hook (did you mean", id="typo"
    ),
    # hook wrappers (new and old style): were listed with their hook, and never ran
    pytest.param(
        Signer(),
        None,
        "plugin 'Signer': response_built() is a hook wrapper (wrapper=True): hook wrappers are not "
        "supported, kefu calls each implementation itself, so it would never run",
        id="wrapper",
    ),
    pytest.param(
        OldSigner(),
        None,
        "plugin 'OldSigner': message_received() is a hook wrapper (hookwrapper=True)",
        id="hookwrapper",
    ),
    # a keyword-only argument: was registered, and every call then raised TypeError
    pytest.param(
        KeywordOnly(),
        None,
        "plugin 'KeywordOnly': fallback() takes 'message' as keyword-only (after *): kefu passes "
        "a hook's arguments by position, so it would never be given",
        id="keyword-only",
    ),
    pytest.param(
        KeywordOnlyDefault(),
        None,
        "plugin 'KeywordOnlyDefault': fallback() takes 'match' as keyword-only (after *)",
        id="keyword-only-default",
    ),
    # a plugin module whose make_plugin forgot its return statement
    pytest.param(
        _module_making(None),
        None,
        "plugin 'shop_plugin': make_plugin(settings) in shop_plugin returned None, not the plugin object",
        id="make_plugin-None",
    ),
    # make_plugin returning its class: was registered, and every reply then logged
    # "missing 1 required positional argument" while the hook never ran
    pytest.param(
        _module_making(Shouter),
        None,
        "plugin 'shop_plugin': make_plugin(settings) in shop_plugin returned the class Shouter, "
        "not a plugin object: pass an instance, Shouter()",
        id="make_plugin-class",
    ),
]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("plugin", "name", "error"), NOT_PLUGINS)
def test_registering_what_is_not_a_plugin_is_a_plugin_error_and_registers_nothing(
    small_bot: Path, strict: bool, plugin: Any, name: str | None, error: str
) -> None:
    engine = kefu.Engine.from_path(small_bot, seed=0, strict_plugins=strict)
    before = [p.name for p in engine.plugins]
    with pytest.raises(kefu.PluginError) as raised:
        engine.register_plugin(plugin, name)
    assert str(raised.value).startswith(error)
    assert [p.name for p in engine.plugins] == before
    assert engine.plugin_failures == []  # the caller was told; kefu plugins lists no failure
    # The refused name is free, and a reload does not bring the refused plugin back.
    taken = raised.value.plugin
    assert engine.register_plugin(Shouter(), taken) == taken
    engine.reload()
    assert [p.name for p in engine.plugins] == [*before, taken]
    assert engine.reply("什么时候发货", session_id="s").text == "一般48小时内发货！"


NONE_FILE = "def make_plugin(settings):\n    settings.get('words')  # built, but not returned\n"


def _bot_with_plugin(bot: Path, source: str) -> Path:
    with (bot / "bot.yaml").open("a", encoding="utf-8") as yaml:
        yaml.write("plugins: {dir: plugins}\n")
    (bot / "plugins").mkdir()
    (bot / "plugins" / "guard.py").write_text(source, encoding="utf-8")
    return bot


def test_a_plugin_file_whose_make_plugin_returns_none_is_listed_as_failed(
    small_bot: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It was listed as loaded, with no hooks, and nothing said why the guard never ran."""
    bot = _bot_with_plugin(small_bot, NONE_FILE)
    engine = kefu.Engine.from_path(bot)
    file = bot / "plugins" / "guard.py"
    error = f"make_plugin(settings) in {file} returned None, not the plugin object"
    assert [(f.name, f.source, f.error) for f in engine.plugin_failures] == [("guard", str(file), error)]
    assert "guard" not in {p.name for p in engine.plugins}
    assert f"plugin 'guard' from {file} failed to load: {error}" in caplog.text
    with pytest.raises(
        kefu.PluginError, match=r"^plugin 'guard': make_plugin\(settings\) in .* returned None"
    ):
        kefu.Engine.from_path(bot, strict_plugins=True)


def test_a_fail_closed_plugin_file_whose_make_plugin_returns_none_stops_the_engine(
    small_bot: Path,
) -> None:
    # Serving without a guard that says it must not be skipped is what fail_closed forbids.
    bot = _bot_with_plugin(small_bot, "fail_closed = True\n\n" + NONE_FILE)
    with pytest.raises(
        kefu.PluginError, match=r"fail-closed .*guard .*make_plugin\(settings\) .* returned None"
    ):
        kefu.Engine.from_path(bot)


def test_a_plugin_file_without_hooks_still_loads_but_is_warned_about(
    small_bot: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A file may be kept in the folder on purpose (a placeholder), so it is not a failure.
    bot = _bot_with_plugin(small_bot, "RULES = ['转账']\n")
    with caplog.at_level(logging.WARNING, logger="kefu.manager"):
        engine = kefu.Engine.from_path(bot)
    assert [(p.name, p.hooks) for p in engine.plugins if p.name == "guard"] == [("guard", ())]
    file = bot / "plugins" / "guard.py"
    assert f"plugin 'guard' from {file} implements no kefu hook, so kefu never calls it" in caplog.text


class StaticShouter:
    """A class used as a namespace: its hooks are static methods, so it needs no instance."""

    @staticmethod
    @kefu.hookimpl
    def response_built(reply: kefu.Reply) -> kefu.Reply:
        return dataclasses.replace(reply, text=reply.text + "！")


def test_a_class_whose_hooks_are_static_methods_is_a_plugin(small_bot: Path) -> None:
    # Only classes whose hooks need ``self`` are refused; this one was refused too.
    engine = kefu.Engine.from_path(small_bot, seed=0)
    assert engine.register_plugin(StaticShouter) == "StaticShouter"
    assert engine.reply("什么时候发货", session_id="s").text == "一般48小时内发货！"
    assert engine.plugin_errors == {}


CLASS_FILE = """import kefu


class Guard:
    @kefu.hookimpl
    def message_received(self, message):
        return "转人工"


def make_plugin(settings):
    return Guard
"""


def test_a_plugin_file_whose_make_plugin_returns_a_class_is_listed_as_failed(small_bot: Path) -> None:
    """It was listed as loaded, and every message then logged a TypeError from the guard."""
    bot = _bot_with_plugin(small_bot, CLASS_FILE)
    engine = kefu.Engine.from_path(bot)
    file = bot / "plugins" / "guard.py"
    error = (
        f"make_plugin(settings) in {file} returned the class Guard, "
        "not a plugin object: pass an instance, Guard()"
    )
    assert [(f.name, f.error) for f in engine.plugin_failures] == [("guard", error)]
    assert engine.reply("什么时候发货", session_id="s").text == "一般48小时内发货"
    assert engine.plugin_errors == {}


WRAPPER_FILE = """import kefu


@kefu.hookimpl(hookwrapper=True)
def message_received(message):
    yield
"""


def test_a_plugin_file_with_a_hook_wrapper_is_listed_as_failed(small_bot: Path) -> None:
    """It was listed as loaded with its hook, which never ran: no warning, no error."""
    bot = _bot_with_plugin(small_bot, WRAPPER_FILE)
    engine = kefu.Engine.from_path(bot)
    error = (
        "message_received() is a hook wrapper (hookwrapper=True): hook wrappers are not supported, "
        "kefu calls each implementation itself, so it would never run"
    )
    assert [(f.name, f.error) for f in engine.plugin_failures] == [("guard", error)]
    assert "guard" not in {p.name for p in engine.plugins}
    with pytest.raises(kefu.PluginError, match=r"^plugin 'guard': message_received\(\) is a hook wrapper"):
        kefu.Engine.from_path(bot, strict_plugins=True)


def test_a_plugin_whose_name_is_taken_is_told_where_the_holder_came_from(
    small_bot: Path, tmp_path: Path
) -> None:
    """The error said only "a plugin with this name is already loaded", not by which."""
    bot = _bot_with_plugin(small_bot, "import kefu\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "guard.py").write_text("import kefu\n", encoding="utf-8")
    engine = kefu.Engine.from_path(bot, plugins_dir=other)
    held = bot / "plugins" / "guard.py"
    assert [(f.source, f.error) for f in engine.plugin_failures] == [
        (str(other / "guard.py"), f"a plugin with this name is already loaded, from {held}")
    ]
    with pytest.raises(kefu.PluginError) as raised:
        engine.register_plugin(Shouter(), "risk_control")
    assert str(raised.value) == (
        "plugin 'risk_control': a plugin with this name is already loaded, from kefu's built-ins"
    )
