"""The JSON message protocol: reading client frames, and the frames the server sends.

Every frame is one JSON object in a WebSocket text frame with a ``type``. What a client
may send (README, "Protocol"):

* visitor: ``{"type": "message", "text": "...", "id": "c1"}`` and ``{"type": "ping"}``
* agent: ``{"type": "message", "session": "...", "text": "..."}``,
  ``{"type": "release", "session": "..."}`` and ``{"type": "ping"}``

A frame that breaks the protocol gets ``{"type": "error", "code": ..., "message": ...}``
and the connection stays open; a binary frame closes it with 1003 (and one that is not
UTF-8 with 1007, sent by uvicorn).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from kefu.normalize import encodable

__all__ = [
    "CLOSE_BINARY",
    "CLOSE_DAMAGED",
    "CLOSE_FLOOD",
    "CLOSE_REPLACED",
    "CLOSE_SLOW",
    "CLOSE_TOO_BIG",
    "CLOSE_UNAUTHORIZED",
    "CLOSE_UNAVAILABLE",
    "UNAVAILABLE",
    "ClientFrame",
    "FrameError",
    "dumps",
    "error_frame",
    "read_frame",
]

CLOSE_BINARY = 1003
"""RFC 6455 "unsupported data": the protocol is JSON text only."""
CLOSE_FLOOD = 1008
"""RFC 6455 "policy violation": the client kept sending after being rate-limited."""
CLOSE_UNAUTHORIZED = 1008
CLOSE_TOO_BIG = 1009
"""RFC 6455 "message too big": a frame over the hard limit (sent by the WebSocket layer)."""
CLOSE_SLOW = 1013
"""IANA "try again later": the client did not read its frames (or the server is full)."""
CLOSE_UNAVAILABLE = 1013
"""Also "try again later": the session store (Redis) failed while the connection opened."""
CLOSE_REPLACED = 4001
"""The same conversation was opened in another window; the widget does not reconnect."""
CLOSE_DAMAGED = 4002
"""The conversation's stored data cannot be read (``kefu.SessionDamagedError``): the widget
forgets its id and starts a new conversation; the old data stays for the operator."""

UNAVAILABLE = "客服系统暂时繁忙，请稍后再试"
"""The text of ``unavailable`` error frames: the session store failed; nothing was done."""

ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
MAX_ID_LENGTH = 64
MAX_DEPTH = 16
"""Arrays and objects a frame may nest (the protocol needs one). ``json.loads`` recurses
once per level and raises ``RecursionError`` near 1000, which a 4 KB frame easily reaches."""

# A JSON string (an unterminated one runs to the end), or a bracket outside any string.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


class FrameError(ValueError):
    """A client frame the server cannot use; ``code`` is the error frame's ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClientFrame:
    """A valid frame from a client: its type and fields (``session`` only from agents)."""

    type: str
    text: str = ""
    id: str | None = None
    session: str | None = None


def dumps(frame: Mapping[str, Any]) -> str:
    """A frame as compact JSON text, Chinese left readable; what JSON cannot write (a value
    a plugin put in a reply's payload) as its ``str``."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The frame telling a client what was wrong with what it sent."""
    return {"type": "error", "code": code, "message": message, **extra}


def valid_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a usable session or message id (letters, digits, ``_``, ``-``)."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and set(value) <= ID_CHARS


def read_frame(raw: str, *, max_bytes: int, agent: bool) -> ClientFrame:
    """Parse one text frame from a visitor (``agent=False``) or an agent; ``FrameError`` if unusable."""
    if len(raw) > max_bytes or len(raw.encode("utf-8")) > max_bytes:
        raise FrameError("too_large", f"消息过大：每条最多 {max_bytes} 字节")
    if _nests_deeper(raw, MAX_DEPTH):
        raise FrameError("too_deep", f"消息嵌套过深：数组和对象最多嵌套 {MAX_DEPTH} 层")
    try:
        data = json.loads(raw)
    except ValueError:
        raise FrameError("invalid_json", "消息不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise FrameError("bad_message", '消息必须是 JSON 对象，例如 {"type": "message", "text": "你好"}')
    kind = data.get("type")
    allowed = ("message", "release", "ping") if agent else ("message", "ping")
    if kind not in allowed:
        raise FrameError("bad_message", f"未知的消息类型 {kind!r}，可用：{', '.join(allowed)}")
    if kind == "ping":
        return ClientFrame("ping")
    session = _session_field(data) if agent else None
    if kind == "release":
        return ClientFrame("release", session=session)
    return ClientFrame("message", _text_field(data), _message_id(data), session)


def _nests_deeper(raw: str, limit: int) -> bool:
    """Whether ``raw`` opens more than ``limit`` arrays or objects at once, counted without recursing.

    Up to the first syntax error ``json.loads`` sees the same brackets, so it never recurses
    deeper than this count; past it, it stops with a ``ValueError``.
    """
    if raw.count("[") + raw.count("{") <= limit:
        return False  # every real frame: too few brackets to nest that deep
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(raw):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif bracket in ("]", "}"):
            depth -= 1
    return False


def _text_field(data: Mapping[str, Any]) -> str:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FrameError("bad_message", "message 需要非空的 text 字段")
    # A JSON \u escape can name half a character, which no UTF-8 frame to the other side
    # could carry: it becomes U+FFFD, as kefu does before matching.
    return encodable(text)


def _message_id(data: Mapping[str, Any]) -> str | None:
    value = data.get("id")
    if value is None:
        return None
    if not valid_id(value):
        raise FrameError("bad_message", f"id 只能包含字母、数字、_ 和 -，最长 {MAX_ID_LENGTH} 个字符")
    return str(value)


def _session_field(data: Mapping[str, Any]) -> str:
    value = data.get("session")
    if not valid_id(value):
        raise FrameError("bad_message", "需要 session 字段（会话 id）")
    return str(value)
