"""The plugin hooks around one message (docs/architecture.md, steps 3 and 10):
``session_started``, ``message_received`` (block or rewrite) and ``response_built``
(rewrite or withhold), and dropping what a hook left in ``session.data`` that the
session store cannot save."""

from __future__ import annotations

import dataclasses
import json
import logging
import marshal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kefu.dialog import Turn, handoff
from kefu.errors import PluginError
from kefu.manager import HookFailure
from kefu.memory_store import MemoryStore
from kefu.normalize import clean
from kefu.sessions import Session, SessionStore, marshal_ready
from kefu.values import Block, Message, Reply

if TYPE_CHECKING:
    from kefu.engine import Engine
    from kefu.runtime import Runtime

__all__ = ["drop_unstorable", "message_received", "response_built", "session_started"]

log = logging.getLogger("kefu.engine")  # where these messages were always logged


def session_started(engine: Engine, runtime: Runtime, session: Session) -> None:
    """Run ``session_started`` hooks; what one leaves in ``session.data`` that the store
    cannot save is dropped and counted as that plugin's error."""
    if not runtime.host.implements("session_started"):
        return
    for plugin, _ in runtime.host.results("session_started", {"session": session, "engine": engine}):
        if session.has_data:
            for problem in drop_unstorable(engine.store, session, "session_started"):
                runtime.host.errors[plugin] += 1
                if runtime.host.strict:
                    raise PluginError(plugin, problem)
                log.error("plugin %r: %s; dropped", plugin, problem)


def message_received(turn: Turn) -> Reply | None:
    """Run ``message_received`` hooks; return a reply if one of them blocked the message."""
    args = {"message": turn.message, "session": turn.session, "engine": turn.engine}
    limit = turn.runtime.spec.settings.max_input_length
    for plugin, result in turn.runtime.host.results("message_received", args):
        if isinstance(result, HookFailure):
            result = Block(reason=f"plugin {plugin} failed", reply="")
        if isinstance(result, Block):
            turn.trace.append(f"blocked by {plugin}: {result.reason}")
            if result.handoff:
                return handoff(turn, result.reason, result.reply)
            return turn.reply(result.reply, "blocked")
        if isinstance(result, str):
            result = dataclasses.replace(turn.message, text=result)
        if isinstance(result, Message):
            # The host cleaned the text but cannot know the limit; cut it like input
            # text, so a rewrite cannot make matching slower than a message could.
            text = clean(result.text, limit)
            if text is not result.text:
                result = dataclasses.replace(result, text=text)
            turn.trace.append(f"rewritten by {plugin}")
            turn.message = args["message"] = result
    return None


def response_built(turn: Turn, reply: Reply) -> Reply:
    """Run ``response_built`` hooks; a hook that fails withholds the reply (it may have
    been about to mask something)."""
    args = {"reply": reply, "message": turn.message, "session": turn.session, "engine": turn.engine}
    for plugin, result in turn.runtime.host.results("response_built", args):
        if isinstance(result, HookFailure):
            turn.trace.append(f"withheld: {plugin} failed")
            return dataclasses.replace(reply, text="", action="blocked", trace=tuple(turn.trace))
        if isinstance(result, Reply):
            reply = args["reply"] = result
    return reply


def drop_unstorable(store: SessionStore, session: Session, who: str) -> list[str]:
    """Remove from ``session.data`` what ``store`` cannot save, and say what: otherwise
    every later reply of the conversation failed to save, naming no plugin. After any
    other hook than session_started the plugin is not known (finding it would cost a
    check per hook per reply), so the key and its type are logged."""
    # The check the store itself makes on saving: MemoryStore marshals, others write JSON.
    dump: Callable[[Any], Any] = _memory_dump if isinstance(store, MemoryStore) else json.dumps
    if _serializes(dump, session.data):
        return []
    problems = []
    for key in [k for k, v in session.data.items() if not _serializes(dump, {k: v})]:
        value = session.data.pop(key)
        problems.append(f"{who} put {key!r} in session.data: a {type(value).__name__} cannot be stored")
    if who == "a plugin":
        for problem in problems:
            log.error("session %s: %s; dropped", session.id, problem)
    return problems


def _memory_dump(data: dict[str, Any]) -> bytes:
    """What ``MemoryStore`` saves of ``data`` (see ``Session.pack``)."""
    return marshal.dumps(marshal_ready(data))


def _serializes(dump: Callable[[Any], Any], value: Any) -> bool:
    try:
        dump(value)
    except (TypeError, ValueError, RecursionError):  # json: TypeError, marshal: ValueError
        return False
    return True
