"""``Settings``: every knob of the chat server, read from ``KEFU_CHAT_*`` environment variables.

The defaults run the bundled demo bot with sessions in memory, listening on loopback
only. Every limit is documented in the example's README ("Priority dispatch and limits").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources

__all__ = ["Settings"]


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
    max_frame_bytes: int = 4096
    """Larger text frames get an ``too_large`` error frame (the connection stays open)."""
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``KEFU_CHAT_<FIELD>`` variables (e.g. ``KEFU_CHAT_REDIS_URL``)."""
        environ = os.environ if environ is None else environ
        defaults = cls()
        values: dict[str, object] = {}
        for spec in fields(cls):
            raw = environ.get(f"KEFU_CHAT_{spec.name.upper()}", "")
            if raw:
                values[spec.name] = _convert(spec.name, raw, getattr(defaults, spec.name))
        return cls(**values)  # type: ignore[arg-type]


def _convert(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"KEFU_CHAT_{name.upper()}={raw!r} is not a number") from None
    return raw
