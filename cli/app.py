"""Building the typer application and its one error boundary."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

import kefu
from kefu.cli import chat, commands, diagnose, importing, plugins, started, testing

__all__ = ["build_app", "user_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(command: F) -> F:
    """The CLI's error boundary: a ``KefuError`` becomes one red line and exit code 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except kefu.KefuError as exc:
            typer.secho(str(exc), err=True, fg="red")
            raise typer.Exit(1) from None
        except BrokenPipeError:
            raise  # `kefu predict | head -1`: typer ends quietly, as command-line tools do
        except OSError as exc:
            # The library names the files it fails on in a KefuError, so an OSError here is
            # printing the output: stdout on a full disk (`> /dev/full`) or a dead terminal.
            _output_failed(exc)
            raise typer.Exit(1) from None

    return run  # type: ignore[return-value]


def _output_failed(exc: OSError) -> None:
    """Say that writing failed, and drop what stdout still holds: flushing it again when
    Python exits would only print a second error."""
    reason = exc.strerror or str(exc)
    message = f"{exc.filename}: {reason}" if exc.filename else f"cannot write to standard output: {reason}"
    with contextlib.suppress(OSError, ValueError):  # stderr may be broken too: then exit 1 quietly
        typer.secho(message, err=True, fg="red")
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kefu {kefu.__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the kefu version and exit."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what kefu is doing to stderr.")
    ] = False,
) -> None:
    """kefu: a Chinese-first dialog engine for customer-service bots."""
    started()  # from here on typer turns a Ctrl-C into exit code 130
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


MODULES = (commands, testing, diagnose, chat, importing, plugins)
BUILT_IN = frozenset(name for module in MODULES for name in module.COMMANDS)


def build_app(*, plugin_commands: bool = True) -> typer.Typer:
    """The ``kefu`` application with every built-in (and, unless told not to, every
    plugin-provided) command registered."""
    # Chat transcripts live in local variables: never print them in tracebacks.
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False, add_completion=False)
    app.callback()(_root)
    for module in MODULES:
        for name, function in module.COMMANDS.items():
            app.command(name)(user_errors(function))
    if plugin_commands:
        kefu.register_plugin_commands(app)
    return app
