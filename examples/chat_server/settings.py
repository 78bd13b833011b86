"""``Settings``: every knob of the chat server, read from ``KEFU_CHAT_*`` environment variables.

The defaults run the bundled demo bot with sessions in memory, listening on loopback
only. Every limit is documented in the example's README ("Settings", "Priority dispatch
and limits"). Settings check themselves: a bad value is a ``ValueError`` naming every
bad one, so the server refuses to start rather than misbehave with its first visitor.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import TypeGuard

from kefu.engine import AGENT_TEXT_LENGTH

__all__ = ["Settings"]

log = logging.getLogger(__name__)

PREFIX = "KEFU_CHAT_"


def _demo_bot() -> str:
    return str(resources.files("kefu.intents"))


@dataclass(frozen=True)
class Settings:
    """How the server runs: which bot, where sessions live, and the limits per connection."""

    bot: str = field(default_factory=_demo_bot)
    """A bot YAML file, a folder of them, or a saved model (default: kefu's demo bot)."""
    redis_url: str | None = None
    """Keep sessions in Redis at this URL (the bot file's ``sessions:`` section also works)."""
    host: str = "127.0.0.1"
    port: int = 8000
    agent_token: str | None = None
    """When set, agents must connect with ``?token=<this>``."""
    max_frame_bytes: int = AGENT_TEXT_LENGTH * 4 + 4096
    """Larger text frames get an ``too_large`` error frame (the connection stays open). The
    default (20,096) carries an agent message as long as the transcript keeps, 4,000
    characters even if every one takes 4 bytes in UTF-8 (emoji), with the frame around it."""
    hard_frame_bytes: int = 65536
    """Larger frames are refused by the WebSocket layer itself: the connection closes with 1009."""
    outbox_size: int = 64
    """Frames waiting to go out to one client; a client that lets it fill up is closed (1013)."""
    send_timeout: float = 10.0
    """Seconds one frame may take to go out before the client counts as stalled (1013)."""
    visitor_rate: float = 5.0
    """Messages per second one visitor may send, sustained ..."""
    visitor_burst: int = 10
    """... and in a burst. Over it: a ``rate_limited`` error frame, the message is not processed."""
    agent_max_chats: int = 5
    """Conversations one agent has at a time; more wait, oldest first, for an agent with room."""
    agent_rate: float = 10.0
    agent_burst: int = 30
    flood_strikes: int = 30
    """Rate-limited frames (regained at one a second) before the connection closes with 1008."""
    max_connections: int = 5000
    """Open WebSockets per server process; more are refused with 1013."""
    header_timeout: float = 10.0
    """Seconds a new connection may take to send its request headers before it is closed."""

    def __post_init__(self) -> None:
        """Refuse bad values, all of them in one ``ValueError`` (by field name)."""
        values = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        problems = _problems(values, str)
        if problems:
            raise ValueError(_report({f"{name}={values[name]!r}": why for name, why in problems.items()}))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, flags: Mapping[str, object] | None = None
    ) -> Settings:
        """Settings from ``KEFU_CHAT_<FIELD>`` variables (e.g. ``KEFU_CHAT_REDIS_URL``) and ``flags``.

        ``flags`` are values given on the command line, by field name (``--redis-url`` sets
        ``redis_url``): they win, and their variables are neither read nor checked. An
        empty variable means the default. Bad values are one ``ValueError`` naming every
        bad variable or flag, its value and what it may be. A ``KEFU_CHAT_`` variable that
        is no setting (a typo like ``KEFU_CHAT_PROT``) is logged as a warning, with the
        closest setting's name.
        """
        environ = os.environ if environ is None else environ
        flags = {} if flags is None else flags
        default = cls()
        defaults = {spec.name: getattr(default, spec.name) for spec in fields(cls)}
        _warn_unknown(environ, defaults)
        raw = {name: environ.get(_variable(name), "") for name in defaults if name not in flags}
        raw = {name: text for name, text in raw.items() if text}
        values = {**{name: _parse(text, defaults[name]) for name, text in raw.items()}, **flags}

        def label(name: str) -> str:
            return _flag(name) if name in flags else _variable(name)

        problems = _problems({**defaults, **values}, label)
        if problems:

            def shown(name: str) -> str:
                if name in flags:
                    return f"{_flag(name)}={flags[name]!r}"
                if name in raw:
                    return f"{_variable(name)}={raw[name]!r}"
                return f"{_variable(name)} (default {defaults[name]!r})"

            raise ValueError(_report({shown(name): why for name, why in problems.items()}))
        return cls(**values)  # type: ignore[arg-type]


COUNTS = (
    "max_frame_bytes",
    "hard_frame_bytes",
    "outbox_size",
    "visitor_burst",
    "agent_max_chats",
    "agent_burst",
    "flood_strikes",
    "max_connections",
)
"""Settings that are counts or sizes: at least 1 (0 would mean "nothing", never "unlimited")."""

RATES = ("send_timeout", "visitor_rate", "agent_rate", "header_timeout")
"""Settings that are rates or seconds: finite and above 0."""


def _variable(name: str) -> str:
    return f"{PREFIX}{name.upper()}"


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _warn_unknown(environ: Mapping[str, str], known: Iterable[str]) -> None:
    """Warn about each ``KEFU_CHAT_`` variable that is no setting: it would be ignored unsaid."""
    # A warning, not an error: other tools may share the prefix. The value is not shown:
    # it may be a misspelled KEFU_CHAT_AGENT_TOKEN.
    suffixes = [name.upper() for name in known]
    for variable in sorted(environ):
        suffix = variable.removeprefix(PREFIX)
        if suffix == variable or suffix in suffixes:
            continue
        # Compared without the prefix every variable shares, which alone would make any two close.
        close = difflib.get_close_matches(suffix.upper(), suffixes, n=1)
        hint = f" (did you mean {PREFIX}{close[0]}?)" if close else ""
        log.warning("%s is not a chat server setting%s: ignored", variable, hint)


def _parse(text: str, default: object) -> object:
    """``text`` as the type of ``default``, or the text itself, which ``_problems`` then reports."""
    # int() also takes " 8000 ", "8_000" and full-width digits: all mean one number, so they
    # are accepted; "8000.0" and "1e3" are not whole numbers and stay text.
    parse: Callable[[str], object] | None = (
        int if isinstance(default, int) else float if isinstance(default, float) else None
    )
    if parse is None:
        return text
    try:
        return parse(text)
    except ValueError:
        return text


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _problems(values: Mapping[str, object], label: Callable[[str], str]) -> dict[str, str]:
    """What is wrong with each bad value, by field; ``label`` names a field in the explanations."""
    problems: dict[str, str] = {}
    for name in COUNTS:
        value = values[name]
        if not (_whole(value) and value >= 1):
            problems[name] = "must be a whole number, at least 1"
    port = values["port"]
    if not (_whole(port) and 0 <= port <= 65535):
        problems["port"] = "must be a whole number from 0 to 65535 (0: any free port)"
    for name in RATES:
        value = values[name]
        if not ((_whole(value) or isinstance(value, float)) and math.isfinite(value) and value > 0):
            problems[name] = "must be a number above 0 (not inf or nan)"
    token = values["agent_token"]
    if token is not None and not (isinstance(token, str) and token.strip()):
        problems["agent_token"] = "must not be empty or blank (unset means no token)"
    soft, hard = values["max_frame_bytes"], values["hard_frame_bytes"]
    if (
        _whole(soft)
        and _whole(hard)
        and soft > hard
        and not problems.keys() & {"max_frame_bytes", "hard_frame_bytes"}
    ):
        problems["max_frame_bytes"] = f"must be at most {label('hard_frame_bytes')} ({hard})"
    return {name: problems[name] for name in values if name in problems}  # in the fields' order


def _report(problems: Mapping[str, str]) -> str:
    lines = (f"  {what}: {why}" for what, why in problems.items())
    return "invalid chat server settings:\n" + "\n".join(lines)
