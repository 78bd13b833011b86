"""The plugin contract: every hook kefu calls, when it fires, and what a return value means.

Implement a hook with ``@kefu.hookimpl`` on a function of the same name, accepting any
subset of the listed arguments. The engine calls each implementation itself (not
through pluggy's caller) so that one failing plugin is logged and skipped instead of
taking the reply down; see docs/plugins.md. Implementations run in pluggy's order:
``tryfirst`` ones first, ``trylast`` ones last, otherwise the most recently registered
first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from kefu.values import Block, Match, Message, Reply

if TYPE_CHECKING:
    from kefu.engine import Engine
    from kefu.sessions import Session

__all__ = [
    "engine_loaded",
    "fallback",
    "handoff_requested",
    "hookimpl",
    "hookspec",
    "intent_matched",
    "message_received",
    "register_commands",
    "response_built",
    "session_ended",
    "session_started",
]

hookspec = pluggy.HookspecMarker("kefu")
hookimpl = pluggy.HookimplMarker("kefu")


@hookspec
def engine_loaded(engine: Engine) -> None:
    """Fires once an engine is fully built, before it serves a message; after a reload,
    just before the new bot is swapped in (a hook that raises under ``strict_plugins``
    leaves the old bot serving).

    :param engine: the engine, showing this hook the new bot (``engine.spec``);
        ``engine.plugin_settings(name)`` gives a plugin its settings from the bot file.
    Return values are ignored.
    """


@hookspec
def session_started(session: Session, engine: Engine) -> None:
    """Fires when the first message of a new conversation arrives, before it is processed.

    :param session: the new session; plugins may put their own state in ``session.data``.
    :param engine: the engine handling the message.
    Return values are ignored.
    """


@hookspec
def session_ended(session: Session, reason: str, engine: Engine) -> None:
    """Fires when a conversation ends: ``reason`` is "expired", "evicted" or "deleted".

    :param session: the final state of the session (read-only by then).
    :param reason: why it ended.
    :param engine: the engine whose store held it.
    Return values are ignored.
    """


@hookspec
def message_received(message: Message, session: Session, engine: Engine) -> Block | Message | str | None:
    """Fires for every message before any matching, so a filter costs no NLU time.

    :param message: the message as received, or as rewritten by earlier plugins.
    :param session: the conversation it belongs to.
    :param engine: the engine handling it.
    :return: ``Block(reason=..., reply=...)`` stops the message (later plugins are not
        called); a ``Message`` or a ``str`` replaces the text seen by later plugins and by
        the matcher (rewrites chain); ``None`` leaves the message as it is.
    """


@hookspec(firstresult=True)
def intent_matched(message: Message, match: Match, session: Session, engine: Engine) -> Match | Reply | None:
    """Fires after matching, before the engine decides what to do. Stops at first non-None result.

    :param message: the (possibly rewritten) message.
    :param match: the matcher's verdict, with ranked candidates.
    :param session: the conversation.
    :param engine: the engine handling it.
    :return: a ``Match`` replaces the verdict (e.g. force an intent); a ``Reply`` is sent
        as the answer (``response_built`` still runs); ``None`` keeps the matcher's verdict.
    """


@hookspec(firstresult=True)
def fallback(message: Message, match: Match, session: Session, engine: Engine) -> str | Reply | None:
    """Fires when no intent cleared the threshold. Stops at first non-None result.

    Not for a message of nothing but cancel words ("算了") while the bot asked nothing: that
    gets ``bot.nothing_to_cancel_reply``; nor for a slot question given up after
    ``bot.slot_retries``: ``bot.give_up_reply``.

    The built-in default runs last and answers with one of the bot's fallback replies.

    :param message: the (possibly rewritten) message.
    :param match: the verdict, whose candidates were all below the threshold.
    :param session: the conversation; ``session.fallback_streak`` counts fallbacks in a row.
    :param engine: the engine handling it.
    :return: a ``str`` is the reply text; a ``Reply`` is used as it is; ``None`` defers.
    """


@hookspec
def response_built(reply: Reply, message: Message, session: Session, engine: Engine) -> Reply | None:
    """Fires for every reply before it is returned, blocked and handed-off ones included.

    :param reply: the reply so far, as rewritten by earlier plugins.
    :param message: the (possibly rewritten) message it answers.
    :param session: the conversation.
    :param engine: the engine handling it.
    :return: a ``Reply`` replaces the reply seen by later plugins and the caller (rewrites
        chain: redact, enrich, translate); ``None`` leaves it.
    """


@hookspec
def handoff_requested(message: Message, session: Session, reason: str, engine: Engine) -> None:
    """Fires when a conversation is handed to a human, once per hand-off.

    :param message: the message that asked for the human (as plugins left it, masked words
        masked); it joins ``session.history`` only once its reply is sent.
    :param session: the conversation; ``session.history`` is the transcript for the agent
        up to, not including, ``message``.
    :param reason: why, e.g. "intent:human", "fallbacks:3", "keyword:投诉", "blocked:risk_control".
    :param engine: the engine handling it.
    Return values are ignored.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Fires when the ``kefu`` command line starts, to add sub-commands.

    :param cli: the ``typer.Typer`` application; add commands with ``@cli.command()``.
        (Typed ``Any`` because the library itself never imports typer.)
    Return values are ignored.
    """
