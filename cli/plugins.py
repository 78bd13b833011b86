"""``kefu plugins``: which plugins a bot loads, their hooks and versions, and failures."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from kefu.cli.common import BotArg, JsonOpt, PluginsDirOpt, echo_json, open_engine

__all__ = ["COMMANDS"]

StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Exit 1 if any plugin failed to load (they are listed all the same), to gate a deploy.",
    ),
]


def plugins(
    path: BotArg = None,
    plugins_dir: PluginsDirOpt = None,
    json_output: JsonOpt = False,
    strict: StrictOpt = False,
) -> None:
    """List the plugins a bot loads (built-ins, installed, then files) and any that failed."""
    # What a plugin prints while it loads goes to stderr: it broke the --json document.
    with contextlib.redirect_stdout(sys.stderr):
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
    else:
        for plugin in loaded:
            version = f" {plugin.version}" if plugin.version else ""
            closed = "  (fail-closed)" if plugin.fail_closed else ""
            typer.echo(f"{plugin.name}{version}  [{plugin.source}]{closed}")
            typer.echo(f"    hooks: {', '.join(plugin.hooks) or '-'}")
        for failure in failed:
            typer.secho(f"FAILED {failure.name}  [{failure.source}]: {failure.error}", fg="red")
    # By default a failed plugin is reported, not fatal: the bot serves without it, as
    # `kefu chat` and the library do.
    if strict and failed:  # said on stderr, so --json output stays one JSON document
        names = ", ".join(f.name for f in failed)
        typer.secho(
            f"{len(failed)} plugin(s) failed to load ({names}); --strict fails the run", err=True, fg="red"
        )
        raise typer.Exit(1)


COMMANDS = {"plugins": plugins}
