"""``kefu validate``, ``kefu train`` and ``kefu predict``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

import kefu
from kefu.cli.common import (
    JsonOpt,
    echo_json,
    load_bot_files,
    open_engine,
    shown_confidence,
    stdin_lines,
    workers,
)

__all__ = ["COMMANDS"]


def validate(
    path: Annotated[Path, typer.Argument(help="Bot YAML file or folder to check.")],
    json_output: JsonOpt = False,
) -> None:
    """Check a bot's YAML files and report every problem as file:line: message."""
    try:
        spec = load_bot_files(path)
    except kefu.SpecError as exc:
        if json_output:
            echo_json({"ok": False, "problems": [vars(p) for p in exc.problems]})
            raise typer.Exit(1) from None
        raise
    examples = spec.example_count
    _warn_of_a_missing_plugins_folder(spec)
    if json_output:
        echo_json(
            {
                "ok": True,
                "intents": len(spec.intents),
                "examples": examples,
                "files": list(spec.files),
            }
        )
        return
    typer.echo(f"ok: {len(spec.intents)} intents, {examples} examples in {len(spec.files)} file(s)")


def train(
    path: Annotated[Path, typer.Argument(help="Bot YAML file or folder to train.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the trained model to.")],
    force: Annotated[
        bool, typer.Option("--force", help="Train even if the model is already up to date.")
    ] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            callback=workers,
            help="Worker processes for training large bots (-1: every core); the model is the same.",
        ),
    ] = 1,
    json_output: JsonOpt = False,
) -> None:
    """Train a bot and save the model folder (skipped when the bot files did not change)."""
    spec = load_bot_files(path)
    if not force and kefu.saved_fingerprint(output) == spec.fingerprint and _loads(output):
        _report_train(json_output, output, spec, None)
        return
    from kefu.model_save import check_model_target  # NumPy and SciPy: only commands that train load them

    check_model_target(output)  # refuse before training, which can take minutes, not after
    started = time.perf_counter()
    model = kefu.train(spec, n_jobs=jobs)
    kefu.save_model(model, output)
    _report_train(json_output, output, spec, time.perf_counter() - started)


def _warn_of_a_missing_plugins_folder(spec: kefu.BotSpec) -> None:
    """Not a problem (a model's copy of the bot files has no plugins folder either), but the
    bot would run without the plugins the folder was meant to hold."""
    folder = spec.plugins.dir
    if folder is not None and not folder.is_dir():
        message = f"warning: plugins folder {folder} (plugins.dir) is not a folder: the bot runs without it"
        typer.echo(message, err=True)


def _loads(model: Path) -> bool:
    """Whether the saved model loads: its model.json alone said "up to date" for a model
    whose arrays or bot copy were damaged, which then failed every load."""
    try:
        kefu.load_model(model)
    except kefu.KefuError:
        return False
    return True


def _report_train(json_output: bool, output: Path, spec: kefu.BotSpec, seconds: float | None) -> None:
    examples = spec.example_count
    if json_output:
        echo_json({"model": str(output), "trained": seconds is not None, "seconds": seconds,
                   "intents": len(spec.intents), "examples": examples})  # fmt: skip
    elif seconds is None:
        typer.echo(f"{output}: model is up to date (bot files unchanged); use --force to retrain")
    else:
        typer.echo(f"trained {len(spec.intents)} intents, {examples} examples in {seconds:.2f}s -> {output}")


def predict(
    texts: Annotated[
        list[str] | None, typer.Argument(help="Messages to classify; read from stdin when none.")
    ] = None,
    bot: Annotated[
        Path | None,
        typer.Option("--bot", "-b", help="Bot YAML or model folder (default: the demo bot)."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Print the intent of each message (JSON lines with --json)."""
    if not texts and sys.stdin is not None and sys.stdin.isatty():  # else it seemed to hang
        typer.echo("reading messages from the terminal, one per line; Ctrl-D to end", err=True)
    messages = texts or stdin_lines()
    engine = open_engine(bot, builtin_plugins=(), load_entry_points=False, bot_plugins=False)
    for text in messages:
        match = engine.match(text)
        if json_output:
            candidates = [
                {"intent": c.intent, "confidence": shown_confidence(c.confidence, 4)}
                for c in match.candidates
            ]
            echo_json({
                "text": text,
                "intent": match.intent,
                "confidence": shown_confidence(match.confidence, 4),
                "fallback": match.intent is None and not match.ambiguous,  # ambiguous: the bot asks
                "ambiguous": match.ambiguous,
                "rule": match.rule,
                "candidates": candidates,
            })  # fmt: skip
        else:
            label = match.intent or ("(ambiguous)" if match.ambiguous else "(fallback)")
            typer.echo(f"{label}\t{shown_confidence(match.confidence):.3f}\t{_visible(text)}")


def _visible(text: str) -> str:
    """``text`` on one line of its column: a tab, a line break or another invisible character
    in a message is shown escaped (``\\t``, ``\\n``, ``\\u200b``) instead of breaking the columns."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


COMMANDS = {"validate": validate, "train": train, "predict": predict}
