"""Options and helpers shared by the commands."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

import kefu

__all__ = [
    "BotArg",
    "JsonOpt",
    "OptionClash",
    "PluginsDirOpt",
    "demo_bot",
    "echo_json",
    "fraction",
    "load_bot_files",
    "open_engine",
    "workers",
]


def demo_bot() -> Path:
    """Where the bundled demo bot's YAML files are installed."""
    return Path(str(resources.files("kefu.intents")))


BotArg = Annotated[
    Path | None,
    typer.Argument(
        help="Bot YAML file or folder, or a saved model folder. Defaults to the bundled demo bot.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")]
PluginsDirOpt = Annotated[
    Path | None,
    typer.Option("--plugins-dir", help="Also load loose plugin .py files from this folder."),
]


class OptionClash(typer.BadParameter):
    """A usage error (exit 2) about options given together or left out; the message is the
    whole sentence, not typer's "Invalid value: ...", since no one value is invalid."""

    def format_message(self) -> str:
        """The message as written."""
        return self.message


def fraction(value: float | None) -> float | None:
    """Option callback refusing a share outside 0-1: ``--min-accuracy 90`` meant 0.9, and
    nan passed every gate, since no comparison with it is true."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise typer.BadParameter(f"must be between 0 and 1, got {value:g}")
    return value


def workers(value: int) -> int:
    """Option callback for ``--jobs``: 1 or more processes, or -1 for one per core (as the
    library takes it); 0 and other negative numbers mean nothing."""
    if value < 1 and value != -1:
        raise typer.BadParameter(f"must be 1 or more, or -1 for every core, got {value}")
    return value


def load_bot_files(path: Path) -> kefu.BotSpec:
    """``kefu.load_spec`` for the commands that need a bot's YAML files, not a model: a saved
    model folder is named as one, with where its copy of the files is, where the loader
    said only that the folder "holds no .yaml bot files"."""
    try:
        return kefu.load_spec(path)
    except kefu.SpecError:
        # Only a folder the loader found no YAML in, holding a kefu model.json: a bot folder
        # with a stray copy of one keeps its own problems.
        if kefu.saved_fingerprint(path) is None or any(path.glob("*.y*ml")):
            raise
    message = f"is a saved model, not a bot's YAML files; the model keeps a copy of them in {path / 'bot'}"
    raise kefu.SpecError.single(path, 1, message)


def open_engine(path: Path | None, plugins_dir: Path | None = None, **options: Any) -> kefu.Engine:
    """An engine for ``path`` (or the demo bot); a missing path is a ``SpecError`` saying so."""
    return kefu.Engine.from_path(path or demo_bot(), plugins_dir=plugins_dir, **options)


def shown_confidence(value: float, digits: int = 3) -> float:
    """``value`` cut (not rounded) to ``digits`` decimals, as the CLI shows confidences: a
    fallback at 0.69994 against a threshold of 0.7 read "0.700"."""
    from kefu.explain import cut  # here: `kefu --help` imports no NumPy

    return cut(value, digits)


def echo_json(data: Any) -> None:
    """Print one JSON document (Chinese kept readable)."""
    typer.echo(json.dumps(data, ensure_ascii=False))


def stdin_lines() -> list[str]:
    """Non-empty lines from standard input; none when it is closed, as when it is empty."""
    if sys.stdin is None:  # started with it closed (`kefu predict <&-`): Python sets None
        return []
    lines = [line.rstrip("\r\n") for line in sys.stdin]  # CRLF files too
    if lines:  # a file saved by Notepad starts with a byte-order mark: not part of the message
        lines[0] = lines[0].removeprefix("\ufeff")
    return [line for line in lines if line.strip()]
