"""The ``kefu`` command line: validate, train, predict, test and chat with bots.

Importing this package has no side effects; ``main()`` builds the app and runs it.
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu.cli.app import build_app

__all__ = ["build_app", "main"]


def main() -> None:
    """Entry point of the ``kefu`` console script."""
    # The commands are imported here, not when this package is: a Ctrl-C during those
    # imports (most of a start) then ends as one while a command runs, with exit code 130
    # and no traceback (typer's way), instead of a KeyboardInterrupt traceback.
    try:
        _forgiving_stdio()
        from kefu.cli.app import BUILT_IN, build_app

        # A built-in command needs no plugin commands: skip importing every installed plugin,
        # which is most of a cold `kefu predict`.
        builtin = len(sys.argv) > 1 and sys.argv[1] in BUILT_IN
        app = build_app(plugin_commands=not builtin)
    except KeyboardInterrupt:
        sys.exit(130)
    app()


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
