"""``kefu plugins``: which plugins a bot loads, their hooks and versions, and failures."""

from __future__ import annotations

import typer

from kefu.cli.common import BotArg, JsonOpt, PluginsDirOpt, echo_json, open_engine

__all__ = ["COMMANDS"]


def plugins(path: BotArg = None, plugins_dir: PluginsDirOpt = None, json_output: JsonOpt = False) -> None:
    """List the plugins a bot loads (built-ins, installed, then files) and any that failed."""
    engine = open_engine(path, plugins_dir)
    loaded, failed = engine.plugins, engine.plugin_failures
    if json_output:
        echo_json({
            "loaded": [
                {"name": p.name, "source": p.source, "version": p.version, "hooks": list(p.hooks),
                 "fail_closed": p.fail_closed}
                for p in loaded
            ],
            "failed": [{"name": f.name, "source": f.source, "error": f.error} for f in failed],
        })  # fmt: skip
        return
    for plugin in loaded:
        version = f" {plugin.version}" if plugin.version else ""
        closed = "  (fail-closed)" if plugin.fail_closed else ""
        typer.echo(f"{plugin.name}{version}  [{plugin.source}]{closed}")
        typer.echo(f"    hooks: {', '.join(plugin.hooks) or '-'}")
    for failure in failed:
        typer.secho(f"FAILED {failure.name}  [{failure.source}]: {failure.error}", fg="red")


COMMANDS = {"plugins": plugins}
