"""Run the chat server: ``python examples/chat_server`` from the repository root."""

from __future__ import annotations

import sys
from pathlib import Path


def _run() -> None:
    here = Path(__file__).resolve().parent
    # `python examples/chat_server` puts this folder on sys.path; import the package from
    # its parent instead, so every module is loaded once, as `chat_server.<name>`.
    if sys.path and Path(sys.path[0] or ".").resolve() == here:
        sys.path[0] = str(here.parent)
    from chat_server.serve import main

    main()


if __name__ == "__main__":
    _run()
