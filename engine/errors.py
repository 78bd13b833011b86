"""Errors raised by kefu.

Every error kefu raises on purpose is a ``KefuError``; each also subclasses the
built-in exception a caller would naturally catch::

    KefuError(Exception)
    ├── SpecError(KefuError, ValueError)      a bot file is invalid; carries every problem
    ├── ModelError(KefuError, ValueError)     a saved model is missing, damaged or stale
    │   └── ModelSaveError(ModelError, OSError)  a model cannot be saved at a path (kefu.model)
    ├── PluginError(KefuError, RuntimeError)  a plugin failed to load or raised (strict mode)
    ├── SessionIdError(KefuError, TypeError)  a session id that is not a ``str``
    └── StoreError(KefuError, ConnectionError) a session store is unreachable or refused a write
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "KefuError",
    "ModelError",
    "PluginError",
    "Problem",
    "SessionDamagedError",
    "SessionIdError",
    "SpecError",
    "StoreError",
]


class KefuError(Exception):
    """Base class of every error kefu raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a bot file: where it is and what is wrong."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class SpecError(KefuError, ValueError):
    """A bot definition is invalid. ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str | Path, line: int, message: str) -> SpecError:
        """Build a SpecError holding one problem."""
        return cls([Problem(str(file), line, message)])


class ModelError(KefuError, ValueError):
    """A saved model cannot be used: missing, damaged, edited, another format, or stale."""


class PluginError(KefuError, RuntimeError):
    """A plugin failed to import, or raised while ``strict_plugins`` is on."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class SessionIdError(KefuError, TypeError):
    """A session id is not a ``str``. Ids are compared as text, and other types would mix
    conversations up (``1 == True``) or fail deep in a store (a list is unhashable)."""

    def __init__(self, session_id: object) -> None:
        shown = repr(session_id)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        kind = type(session_id).__name__
        super().__init__(f"session_id must be a str, not {kind} ({shown}); convert it, e.g. str(user_id)")


class StoreError(KefuError, ConnectionError):
    """A session store could not be reached or could not save a session."""


class SessionDamagedError(StoreError):
    """The store answered, but one conversation's stored data is not what kefu writes (JSON
    that does not parse, a field of another type, a key of another Redis type): that
    conversation cannot go on until its key is deleted; the others are not affected."""
