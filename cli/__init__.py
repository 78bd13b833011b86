"""The ``kefu`` command line: validate, train, predict, test and chat with bots.

Importing this package has no side effects; ``main()`` builds the app and runs it.
"""

from __future__ import annotations

import sys

from kefu.cli.app import BUILT_IN, build_app

__all__ = ["build_app", "main"]


def main() -> None:
    """Entry point of the ``kefu`` console script."""
    # A built-in command needs no plugin commands: skip importing every installed plugin,
    # which is most of a cold `kefu predict`.
    builtin = len(sys.argv) > 1 and sys.argv[1] in BUILT_IN
    build_app(plugin_commands=not builtin)()
