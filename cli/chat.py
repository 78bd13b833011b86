"""``kefu chat``: talk to a bot in the terminal."""

from __future__ import annotations

import json
import reprlib
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer

import kefu
from kefu.cli.common import BotArg, PluginsDirOpt, open_engine, shown_confidence

__all__ = ["COMMANDS"]

HELP = "commands: /debug (toggle details), /session (show as JSON), /reset, /reload, /quit"


def chat(
    path: BotArg = None,
    plugins_dir: PluginsDirOpt = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Start with details shown after each reply.")
    ] = False,
    session_id: Annotated[str, typer.Option("--session", help="Session id to talk in.")] = "cli",
) -> None:
    """Chat with a bot (the bundled demo bot by default). Ctrl-D or /quit to leave."""
    engine = open_engine(path, plugins_dir)
    typer.secho(f"{engine.spec.settings.name} is ready. {HELP}", fg="green")
    state = {"debug": debug}  # /debug toggles it
    while True:
        text = _ask()
        if text is None:
            typer.echo("")
            return
        if not text.strip():
            # Enter alone is no message, as for `kefu predict`: sent, it was a fallback, and three
            # of them handed the conversation to a human.
            continue
        if text.strip().startswith("/"):  # " /quit" was sent to the bot as a message
            if not _command(engine, text.strip(), session_id, state):
                return
            continue
        reply = engine.reply(text, session_id=session_id)
        _show(engine, reply, state["debug"])


def _ask() -> str | None:
    """The next message; None when the user leaves (Ctrl-D, Ctrl-C) or input ends."""
    if sys.stdin is None:  # started with it closed (`kefu chat <&-`): input() raises RuntimeError
        return None
    try:
        return input("你: ")
    except (EOFError, KeyboardInterrupt):
        return None


def _command(engine: kefu.Engine, command: str, session_id: str, state: dict[str, bool]) -> bool:
    """Run a /command; False means leave the chat."""
    if command in ("/quit", "/exit", "/q"):
        return False
    if command == "/debug":
        state["debug"] = not state["debug"]
        typer.echo(f"debug {'on' if state['debug'] else 'off'}")
    elif command == "/reset":
        engine.end_session(session_id)
        typer.echo("new conversation")
    elif command == "/session":
        session = engine.session(session_id)
        if session is None:  # it printed `null`
            typer.echo(f"(no conversation in session {session_id!r} yet: say something first)")
        else:
            typer.echo(json.dumps(session.to_dict(), ensure_ascii=False, indent=2))
    elif command == "/reload":
        try:
            engine.reload()
            typer.secho("reloaded", fg="green")
        except kefu.KefuError as exc:
            typer.secho(f"reload failed, still serving the previous bot:\n{exc}", fg="red")
    else:
        typer.echo(HELP)
    return True


def _show(engine: kefu.Engine, reply: kefu.Reply, debug: bool) -> None:
    if reply.text:
        typer.echo(f"{engine.spec.settings.name}: {reply.text}")
    elif reply.action == "handed_off":
        typer.secho("(已转人工，机器人静默；/reset 开始新对话)", fg="yellow")
    elif _without_responses(engine, reply.intent):
        # The engine leaves such a reply's text to the program or a plugin's response_built;
        # here nothing filled it, and an empty line looked like the bot hanging.
        typer.secho(
            f"(no text: intent {reply.intent} has no `responses`, and no plugin filled one in)", fg="yellow"
        )
    if reply.payload is not None:  # buttons or links the customer sees beside the text
        typer.secho(f"  payload: {_payload_text(reply.payload)}", fg="blue")
    if reply.handoff and reply.action == "handoff":
        typer.secho(f"(handed off: {reply.handoff_reason})", fg="yellow")
    if debug:
        # As many decimals as the confidence: 0.998 was listed as 1.00 right below it.
        candidates = ", ".join(
            f"{c.intent} {shown_confidence(c.confidence):.3f}" for c in reply.candidates[:3]
        )
        confidence = shown_confidence(reply.confidence)
        typer.secho(f"  [{reply.action}] intent={reply.intent} confidence={confidence:.3f}", fg="cyan")
        typer.secho(f"  candidates: {candidates or '-'}", fg="cyan")
        session = engine.session(reply.session_id)
        if session is not None:
            contexts = {n: c.turns_left for n, c in session.contexts.items()}
            typer.secho(f"  slots: {dict(session.slots)}  contexts: {contexts}", fg="cyan")
        for step in reply.trace:
            typer.secho(f"  trace: {step}", fg="cyan")


def _without_responses(engine: kefu.Engine, name: str | None) -> bool:
    """Whether ``name`` is an intent of the bot with no ``responses``."""
    return any(intent.name == name and not intent.responses for intent in engine.spec.intents)


COMMANDS = {"chat": chat}


def _payload_text(payload: Mapping[str, Any]) -> str:
    """A payload as JSON, with what JSON cannot write (a plugin's set or object) as its
    repr: a plugin may hand its own values on to the caller, and chat showed a traceback."""
    try:
        return json.dumps(payload, ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):  # a payload that holds itself
        return reprlib.repr(payload)
