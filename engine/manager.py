"""Plugin discovery and isolated hook calls; one ``PluginHost`` per engine.

Plugins come from three places, registered in this order (pluggy then calls the most
recently registered first, so a loose file can override an installed package, which can
override a built-in):

1. built-ins, listed by module path in ``DEFAULT_PLUGINS``;
2. installed packages advertising the entry-point group ``kefu`` (filtered by the
   ``KEFU_LOAD_PLUGINS`` allow-list: comma-separated names, empty string for none);
3. loose ``*.py`` files from a plugins folder, in name order.

A plugin module (or entry-point object) may define ``make_plugin(settings)``; the host
then registers what it returns, so each engine gets its own instance built from the bot
file's ``plugins: {<name>: {...}}`` settings; one that returns None fails like an import
error (pluggy would register None as a plugin without hooks), and so does one that
returns a class whose hook methods need ``self`` (as does such a class from any source:
pluggy would register it, and every call would miss its instance). A plugin with
``fail_closed = True`` turns its own failure into a blocked message instead of being
skipped; a module that says so (``fail_closed = True`` at module level) and cannot be
built fails the whole engine build, since serving without it would let through what it
exists to stop.

A plugin implementing a hook kefu does not have (``@kefu.hookimpl def intnt_matched``)
fails to load, naming the closest real hook: a silently ignored business rule is worse
than a plugin listed as failed. So does one with a hook wrapper or a keyword-only hook
argument, which kefu, calling each implementation itself with positional arguments, could
never run. A plugin given in code (``Engine.register_plugin``) that would fail, or has no
hook at all, is a ``PluginError`` on the spot.

Every text a hook hands back is cleaned like incoming text before the engine sees it
(``kefu.hook_results``), so no plugin can put a lone surrogate into a reply or a transcript.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import itertools
import logging
import os
import stat
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from kefu import hookspecs
from kefu.errors import PluginError
from kefu.hook_results import MalformedResult, cleaned
from kefu.session_damage import own_fields, undo_damage

__all__ = [
    "DEFAULT_PLUGINS",
    "FailedPlugin",
    "HookFailure",
    "LoadedPlugin",
    "PluginHost",
    "register_plugin_commands",
]

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "kefu.plugins.default_fallback",
    "kefu.plugins.handoff_keywords",
    "kefu.plugins.risk_control",
)
ENTRY_POINT_GROUP = "kefu"
_HOOK_NAMES = tuple(sorted(n for n in hookspecs.__all__ if n not in {"hookimpl", "hookspec"}))
_loose_counter = itertools.count()


@dataclass(frozen=True)
class LoadedPlugin:
    """A registered plugin: its name, where it came from, its version and hooks."""

    name: str
    source: str
    version: str | None
    hooks: tuple[str, ...]
    fail_closed: bool


@dataclass(frozen=True)
class FailedPlugin:
    """A plugin that could not be loaded, and why."""

    name: str
    source: str
    error: str
    fail_closed: bool = False
    """The plugin (its module) declared ``fail_closed = True``: no engine may serve without it."""


@dataclass(frozen=True)
class HookFailure:
    """Returned in place of a result when a fail-closed plugin raised."""

    plugin: str
    error: str


class PluginHost:
    """Owns one pluggy manager; loads plugins and calls hooks one implementation at a time."""

    def __init__(
        self,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        plugin_dirs: tuple[Path, ...] = (),
        builtins: tuple[str, ...] = DEFAULT_PLUGINS,
        entry_points: bool = True,
        strict: bool = False,
        check_settings: bool = True,
    ) -> None:
        self.settings = dict(settings or {})
        self.strict = strict
        self.pm = pluggy.PluginManager("kefu")
        self.pm.add_hookspecs(hookspecs)
        self.loaded: list[LoadedPlugin] = []
        self.failed: list[FailedPlugin] = []
        self.errors: Counter[str] = Counter()
        self._impl_cache: dict[str, list[Any]] = {}
        self._builtins: frozenset[str] = frozenset()  # names of kefu's own plugins, once loaded
        for path in builtins:
            self._load(path.rsplit(".", 1)[-1], "builtin", lambda p=path: importlib.import_module(p))
        if entry_points:
            self._load_entry_points()
        for folder in plugin_dirs:
            self._load_folder(folder)
        unknown = set(self.settings) - {p.name for p in self.loaded} - {p.name for p in self.failed}
        unknown = unknown if check_settings else set()
        # A built-in left out on purpose (the matching-only CLI commands load none) is no typo.
        unknown -= {path.rsplit(".", 1)[-1] for path in DEFAULT_PLUGINS}
        for name in sorted(unknown):
            log.warning("settings given for plugin %r, but no such plugin is loaded", name)

    # -- loading ----------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        allow = os.environ.get("KEFU_LOAD_PLUGINS")
        allowed = None if allow is None else {n.strip() for n in allow.split(",") if n.strip()}
        points = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
        for point in points:
            if allowed is not None and point.name not in allowed:
                continue
            version = point.dist.version if point.dist is not None else None
            self._load(point.name, f"package {point.value}", point.load, version)

    def _load_folder(self, folder: Path) -> None:
        try:
            found, there = folder.is_dir(), folder.exists()
        except (OSError, ValueError):  # a name the system refuses (too long): no such folder
            found = there = False
        if not found:
            why = "is a file, not a folder" if there else "does not exist"
            # Said, as a plugin that fails to import is: the bot runs without these rules.
            log.error("plugins folder %s %s: no plugin is loaded from it", folder, why)
            self.failed.append(FailedPlugin(folder.name, str(folder), f"plugins folder {why}"))
            if self.strict:
                raise PluginError(folder.name, f"plugins folder {folder} {why}")
            return
        for file in sorted(folder.glob("*.py")):
            if not file.name.startswith("_"):
                self._load(file.stem, str(file), lambda f=file: _import_file(f))

    def _load(self, name: str, source: str, importer: Any, version: str | None = None) -> None:
        if self.pm.has_plugin(name):
            self._fail(name, source, self._taken(name))
            return
        module: Any = None
        try:
            module = importer()
            plugin = _made(source, module, self.settings.get(name, {}))
            self.pm.register(plugin, name=name)
        except (Exception, SystemExit) as exc:
            # SystemExit too: a script dropped into the plugins folder (argparse, sys.exit)
            # must fail to load, not end the process (a serving one, on reload).
            # KeyboardInterrupt still propagates: the user pressed Ctrl-C.
            self._fail(name, source, _describe(exc), closed=bool(_attribute(module, "fail_closed")))
            return
        callers = self.pm.get_hookcallers(plugin) or ()
        unknown = sorted(caller.name for caller in callers if not caller.has_spec())
        refused = [*map(_unknown_hook, unknown), *_uncallable(plugin, callers)]
        # In code a plugin without hooks is a mistake the caller can fix now (a wrong
        # variable, markers forgotten); a file may sit in the folder on purpose, so warn.
        if refused or (not callers and source == "code"):
            self.pm.unregister(plugin)
            closed = bool(_attribute(plugin, "fail_closed") or _attribute(module, "fail_closed"))
            error = "; ".join(refused) or _hookless(plugin)
            self._fail(name, source, error, closed=closed)
            return
        if not callers:  # _warn_unmarked names any hook function left unmarked
            log.warning("plugin %r from %s implements no kefu hook, so kefu never calls it", name, source)
        hooks = tuple(sorted(caller.name for caller in callers))
        _warn_unmarked(name, plugin, hooks)
        version = version or _attribute(module, "__version__")
        closed = bool(_attribute(plugin, "fail_closed"))
        self.loaded.append(LoadedPlugin(name, source, version, hooks, closed))
        if source == "builtin":
            self._builtins |= {name}

    def add(self, plugin: Any, name: str) -> None:
        """Register a plugin object given in code. ``PluginError`` if it does not load (the
        name is taken, it is None, it has no kefu hook or an unknown one), strict or not."""
        if self.pm.has_plugin(name):
            raise PluginError(name, self._taken(name))
        try:
            self._load(name, "code", lambda: plugin)
        finally:
            self._impl_cache.clear()

    def remove(self, name: str) -> None:
        """Unregister the plugin called ``name`` (nothing happens if there is none)."""
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)
        self.loaded = [p for p in self.loaded if p.name != name]
        self._builtins -= {name}
        self._impl_cache.clear()

    def _taken(self, name: str) -> str:
        """Why a plugin called ``name`` cannot load, naming where the one holding it came from."""
        source = next((p.source for p in self.loaded if p.name == name), "code")
        where = "kefu's built-ins" if source == "builtin" else source
        return f"a plugin with this name is already loaded, from {where}"

    def _fail(self, name: str, source: str, error: str, *, closed: bool = False) -> None:
        if source == "code":
            # The caller is right there to be told; logging and listing it would say it twice.
            raise PluginError(name, error)
        log.error("plugin %r from %s failed to load: %s", name, source, error)
        self.failed.append(FailedPlugin(name, source, error, closed))
        if self.strict:
            raise PluginError(name, error)

    # -- calling ----------------------------------------------------------------------------

    def results(self, hook: str, kwargs: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        """Call each implementation of ``hook`` in order, yielding ``(plugin, result)``.

        Arguments are read from ``kwargs`` just before each call, so a caller chaining
        rewrites updates the dict between results. A plugin that raises or returns a
        result of the wrong kind (``MalformedResult``) is logged and counted, then skipped;
        a fail-closed one yields a ``HookFailure`` instead; with ``strict`` the error is
        raised as ``PluginError``. One that leaves the session's own fields of the wrong
        kind has them put back, and is logged and counted; its result stands (with
        ``strict``, ``PluginError``). Stop iterating to stop calling.
        """
        session = kwargs.get("session")
        for impl in self._impls(hook):
            # kefu's own plugins are not checked: most hook calls of a reply are theirs.
            watched = None if impl.plugin_name in self._builtins else session
            try:
                before = own_fields(watched) if watched is not None else ()
                try:
                    # Positional: _uncallable refuses keyword-only hook arguments; no dict is built.
                    raw = impl.function(*map(kwargs.__getitem__, impl.argnames))
                finally:  # what it did to the session is put right whether it raised or not
                    damage = undo_damage(watched, before) if watched is not None else None
                if damage is not None and self.strict:
                    raise MalformedResult(f"left {damage}; put back")
                # None (nothing to say) is most hooks' usual answer: nothing to clean.
                result = None if raw is None else cleaned(raw, hook)
            except (Exception, SystemExit) as exc:  # SystemExit: as in _load; not Ctrl-C
                self.errors[impl.plugin_name] += 1
                if isinstance(exc, MalformedResult):  # "returned a Reply whose ...": no traceback
                    error = str(exc)
                    log.error("plugin %r: %s %s; skipped", impl.plugin_name, hook, error)
                else:
                    error = _describe(exc)
                    log.exception("plugin %r raised in %s; skipped", impl.plugin_name, hook)
                if self.strict:
                    verb = "" if isinstance(exc, MalformedResult) else "raised "
                    raise PluginError(impl.plugin_name, f"{hook} {verb}{error}") from exc
                if any(p.fail_closed and p.name == impl.plugin_name for p in self.loaded):
                    yield impl.plugin_name, HookFailure(impl.plugin_name, error)
                continue
            if damage is not None:  # its result stands: the session is as before the damage
                self.errors[impl.plugin_name] += 1
                log.error("plugin %r: %s left %s; put back", impl.plugin_name, hook, damage)
            yield impl.plugin_name, result

    def _impls(self, hook: str) -> list[Any]:
        """Implementations in call order, cached until a plugin is added or removed."""
        impls = self._impl_cache.get(hook)
        if impls is None:
            impls = self._impl_cache[hook] = list(reversed(getattr(self.pm.hook, hook).get_hookimpls()))
        return impls

    def implements(self, hook: str) -> bool:
        """Whether any plugin implements ``hook``: a reply calls several hooks no loaded
        plugin has (``intent_matched`` and ``session_started`` with kefu's own plugins),
        and skipping them saves starting a ``results`` generator for nothing."""
        return bool(self._impls(hook))

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call every implementation of a hook whose results are ignored."""
        if not self._impls(hook):
            return
        for _ in self.results(hook, kwargs):
            pass

    def first(self, hook: str, **kwargs: Any) -> tuple[str, Any] | None:
        """The first non-None ``(plugin, result)`` of a first-result hook, or None."""
        if not self._impls(hook):
            return None
        for name, result in self.results(hook, kwargs):
            if result is not None:
                return name, result
        return None

    def plugin(self, name: str) -> Any:
        """The registered plugin object called ``name`` (None if there is none)."""
        return self.pm.get_plugin(name)


def register_plugin_commands(cli: Any) -> list[str]:
    """Let installed plugins add sub-commands to the ``kefu`` CLI (``register_commands``).

    Only built-ins and entry-point plugins take part: no bot is loaded at that point.
    Returns the names of plugins whose ``register_commands`` raised (logged and skipped);
    a plugin that fails to load is logged, not returned.
    """
    host = PluginHost()
    host.notify("register_commands", cli=cli)
    return sorted(host.errors)


def _made(source: str, module: Any, settings: Mapping[str, Any]) -> Any:
    """The plugin object ``module`` stands for: what its ``make_plugin`` returns, or itself."""
    if not hasattr(module, "make_plugin"):
        if module is None:
            raise _NotAPlugin("got None, not a plugin (a module or an object with @kefu.hookimpl functions)")
        _refuse_class(module, "got")
        return module
    plugin = module.make_plugin(settings)
    where = (
        source
        if source not in {"builtin", "code"}
        else _attribute(module, "__name__") or type(module).__name__
    )
    if plugin is None:  # pluggy would register None as a plugin with no hooks, silently
        raise _NotAPlugin(f"make_plugin(settings) in {where} returned None, not the plugin object")
    _refuse_class(plugin, f"make_plugin(settings) in {where} returned")
    return plugin


def _refuse_class(plugin: Any, given: str) -> None:
    """``_NotAPlugin`` if ``plugin`` is a class whose hooks need an instance.

    pluggy registers a class, but its hook methods are then plain functions missing
    ``self``: every call fails, counted as the plugin's error, and the hook never runs. A
    class whose hooks are all static or class methods works, so it stays allowed.
    """
    if not isinstance(plugin, type):
        return
    for name in dir(plugin):
        if hasattr(_attribute(plugin, name), "kefu_impl") and not isinstance(
            inspect.getattr_static(plugin, name, None), (staticmethod, classmethod)
        ):
            cls = plugin.__name__
            raise _NotAPlugin(f"{given} the class {cls}, not a plugin object: pass an instance, {cls}()")


class _NotAPlugin(Exception):
    """What was given (or built by ``make_plugin``) cannot be a plugin; the message says why."""


def _hookless(plugin: Any) -> str:
    """Why a plugin with no hook implementation does nothing, naming unmarked hook functions."""
    what = (
        f"module {plugin.__name__}" if isinstance(plugin, ModuleType) else f"{type(plugin).__name__} object"
    )
    unmarked = [f"{hook}()" for hook in _HOOK_NAMES if callable(_attribute(plugin, hook))]
    why = f" (mark {', '.join(unmarked)} with @kefu.hookimpl)" if unmarked else ""
    return f"{what} implements no kefu hook, so kefu would never call it{why}"


def _attribute(obj: Any, name: str) -> Any:
    """``obj.name``, or None when it is missing or its ``__getattr__`` raises: a plugin's
    odd attribute access must fail that plugin at most, never the engine build."""
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _unknown_hook(name: str) -> str:
    """Why a hook implementation was refused, with the real hook it most resembles."""
    close = difflib.get_close_matches(name, _HOOK_NAMES, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; kefu's hooks: {', '.join(_HOOK_NAMES)}"
    return f"{name!r} is not a kefu hook{hint}"


def _uncallable(plugin: Any, callers: Any) -> Iterator[str]:
    """Why hook implementations of ``plugin`` that pluggy accepts could never work in kefu,
    which calls each one itself, passing a hook's arguments by position."""
    for caller in callers:
        if not caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            if impl.wrapper or impl.hookwrapper:  # only pluggy's own caller runs a wrapper
                flag = "wrapper=True" if impl.wrapper else "hookwrapper=True"
                yield (
                    f"{caller.name}() is a hook wrapper ({flag}): hook wrappers are not supported, "
                    "kefu calls each implementation itself, so it would never run"
                )
                continue
            try:
                parameters = inspect.signature(impl.function).parameters.values()
            except (TypeError, ValueError):  # pluggy found no arguments either
                continue
            for param in parameters:
                # Required, it fails every call; a hook argument, it only ever gets its default.
                if param.kind is param.KEYWORD_ONLY and (
                    param.default is param.empty or param.name in caller.spec.argnames
                ):
                    yield (
                        f"{caller.name}() takes {param.name!r} as keyword-only (after *): kefu passes "
                        "a hook's arguments by position, so it would never be given"
                    )


def _warn_unmarked(name: str, plugin: Any, hooks: tuple[str, ...]) -> None:
    """Warn about functions named like a hook but not marked ``@kefu.hookimpl`` (never called)."""
    for hook in _HOOK_NAMES:
        if hook not in hooks and callable(_attribute(plugin, hook)):
            log.warning("plugin %r defines %s() without @kefu.hookimpl, so kefu never calls it", name, hook)


def _describe(exc: BaseException) -> str:
    """How a plugin failed, for logs, ``kefu plugins`` and ``PluginError``."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: the plugin called sys.exit({exc.code!r})"
    if isinstance(exc, _NotAPlugin):
        return str(exc)
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # a plugin's exception whose __str__ raises: it escaped reply()
        return f"{type(exc).__name__} (its message could not be read)"


def _import_file(path: Path) -> ModuleType:
    """Import a loose plugin file under a fresh module name (never ``importlib.reload``)."""
    if not stat.S_ISREG(path.stat().st_mode):  # a named pipe or a device: reading it would hang
        raise ImportError(f"not a regular file: {path}")
    module_name = f"kefu_loose_plugins.{path.stem}_{next(_loose_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
