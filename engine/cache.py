"""kefu's cache directory: jieba's dictionary cache and trained models of bot folders.

Nothing in kefu writes outside this directory except where a user asks (``kefu train -o``).
Everything in it can be deleted at any time; it is rebuilt on demand.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``$KEFU_CACHE_DIR``, else ``$XDG_CACHE_HOME/kefu``, else ``~/.cache/kefu``."""
    explicit = os.environ.get("KEFU_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "kefu"
