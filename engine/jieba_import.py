"""Import jieba without dragging in ``pkg_resources``.

jieba 0.42 imports ``pkg_resources`` only to open its own dictionary files, and that
import alone costs about 0.4 s, a third of a cold ``kefu predict``. When
``pkg_resources`` is not importable jieba opens the same files by path instead. So we
hide it for the duration of jieba's import only; if it was already imported, nothing
changes.
"""

from __future__ import annotations

import sys

__all__ = ["jieba"]

_hidden = "pkg_resources" not in sys.modules
if _hidden:
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # makes `import pkg_resources` fail
try:
    import jieba
finally:
    if _hidden:
        del sys.modules["pkg_resources"]
