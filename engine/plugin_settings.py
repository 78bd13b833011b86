"""The ``plugins`` section of a bot file, and the settings checks the bundled plugins share.

A bundled plugin declares its settings as ``SETTINGS`` (name -> check) and the settings
that name a data file as ``DATA_FILES``; the loader checks a bot file's settings with
them, and the plugin checks settings given in code with ``checked_plugin_settings``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kefu.checks import Check, FileChecker, dotted
from kefu.manager import DEFAULT_PLUGINS
from kefu.spec import PluginSettings
from kefu.yamlsource import PathKey, SourceFile

__all__ = ["bundled_data_files", "check_plugins", "checked_plugin_settings"]


def check_plugins(c: FileChecker, path: PathKey, value: Any) -> PluginSettings:
    """The ``plugins`` section: the plugin folder, and each plugin's settings (a bundled
    plugin's checked with its ``SETTINGS``)."""
    data = c.mapping(path, value, None)
    folder = c.text((*path, "dir"), data["dir"]) if "dir" in data else None
    config = {}
    base = c.src.path.parent
    for name, settings in data.items():
        if name != "dir":
            body = c.mapping((*path, name), settings, None)
            checks = _bundled_checks(str(name))
            if checks is not None:
                _plugin_fields(c, (*path, name), body, checks)
            # The plugin gets the settings as written (it converts them with the same checks);
            # `_base_dir` lets it resolve paths relative to the bot file.
            config[str(name)] = {**body, "_base_dir": str(base)}
    return PluginSettings(dir=(base / folder) if folder else None, config=config)


def _bundled_checks(name: str) -> Mapping[str, Check] | None:
    """The ``SETTINGS`` a bundled plugin's module declares, or None for any other plugin."""
    module = f"kefu.plugins.{name}"
    if module not in DEFAULT_PLUGINS:
        return None
    # Imported here, not at the top: plugin modules import kefu, which imports this module.
    checks: Mapping[str, Check] | None = getattr(importlib.import_module(module), "SETTINGS", None)
    return checks


def bundled_data_files(name: str) -> tuple[str, ...]:
    """The settings of a bundled plugin that name a data file (its ``DATA_FILES``)."""
    if f"kefu.plugins.{name}" not in DEFAULT_PLUGINS:
        return ()
    return tuple(getattr(importlib.import_module(f"kefu.plugins.{name}"), "DATA_FILES", ()))


def _plugin_fields(
    c: FileChecker, path: PathKey, body: dict[str, Any], checks: Mapping[str, Check]
) -> dict[str, Any]:
    if not checks and body:
        c.problem(path, f"plugin {path[-1]!r} takes no settings")
        return {}
    c.check_keys(path, body, checks)
    for key, item in body.items():
        if item is None and key in checks:  # `reply:` with nothing after it; None is never a setting
            c.problem((*path, key), f"`{dotted((*path, key))}` is empty; give a value or leave the key out")
    return c.fields(path, {k: v for k, v in body.items() if v is not None}, dict(checks))


def checked_plugin_settings(
    name: str, settings: Mapping[str, Any], checks: Mapping[str, Check]
) -> dict[str, Any]:
    """A bundled plugin's settings converted by its ``checks``; ``ValueError`` naming every problem.

    For ``make_plugin``: settings from a bot file were checked with their lines by the
    loader already, but settings given in code reach the plugin unchecked.
    """
    base = Path(str(settings.get("_base_dir", ".")))
    body = {k: v for k, v in settings.items() if k != "_base_dir"}
    checker = FileChecker(SourceFile(base / "settings", data=body))  # paths resolve against base
    checked = _plugin_fields(checker, ("plugins", name), body, checks)
    if checker.problems:
        raise ValueError("; ".join(p.message for p in checker.problems))
    return checked
