"""The ``kefu`` command line: validate, train, predict, test and chat with bots.

Importing this package has no side effects; ``main()`` builds the app and runs it.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu.cli.app import build_app

__all__ = ["build_app", "main", "started"]


def main() -> None:
    """Entry point of the ``kefu`` console script."""
    # Until typer runs the root command and turns a Ctrl-C into exit code 130 itself, SIGINT
    # exits at once with 130: nothing has been written or opened yet. A KeyboardInterrupt
    # during the imports printed a traceback, or "Exception ignored" when it was raised
    # inside importlib's own callbacks, and one while typer built its command a traceback.
    if threading.current_thread() is threading.main_thread():  # signals: main thread only
        _starting[:] = [signal.signal(signal.SIGINT, _exit_130)]
    try:
        _forgiving_stdio()
        from kefu.cli.app import BUILT_IN, build_app

        # A built-in command needs no plugin commands: skip importing every installed plugin,
        # which is most of a cold `kefu predict`.
        builtin = len(sys.argv) > 1 and sys.argv[1] in BUILT_IN
        app = build_app(plugin_commands=not builtin)
    except BaseException:
        started()
        raise
    try:
        app()
    finally:  # --help and --version end before the root command gives SIGINT back
        started()


def started() -> None:
    """Give SIGINT back to Python (a KeyboardInterrupt): called by the root command, inside
    typer's handling of Ctrl-C."""
    if _starting and signal.getsignal(signal.SIGINT) is _exit_130:
        signal.signal(signal.SIGINT, _starting.pop())


_starting: list[Any] = []
"""The SIGINT handler ``main`` replaced while kefu starts."""


def _exit_130(signum: int, frame: object) -> None:
    os._exit(130)


def __getattr__(name: str) -> Any:
    """``kefu.cli.build_app``, imported on first use (see ``main``)."""
    if name == "build_app":
        from kefu.cli.app import build_app

        return build_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _forgiving_stdio() -> None:
    """Messages are whatever users type or pipe in: bytes that are not UTF-8 on stdin become
    U+FFFD, and text that cannot be encoded (half a character, from an argument that was not
    UTF-8) is written replaced, instead of a UnicodeError traceback or invalid UTF-8 output.
    A lone CR (old Mac files, some terminals' Enter) ends a line on stdin as LF and CRLF do:
    ``a\rb`` was one message, and ``/quit`` after a CR was sent to the bot as text."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # not when embedded or redirected in tests
            stream.reconfigure(errors="replace")
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(newline=None)
