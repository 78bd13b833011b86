"""The ``kefu`` command line: validate, train, predict, test and chat with bots.

Importing this package has no side effects; ``main()`` builds the app and runs it.
"""

from __future__ import annotations

from kefu.cli.app import build_app

__all__ = ["build_app", "main"]


def main() -> None:
    """Entry point of the ``kefu`` console script."""
    build_app()()
