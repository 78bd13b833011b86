"""``kefu import FORMAT PATH -o DIR|FILE.yaml`` and ``kefu export jsonl BOT``: other tools' training data."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

import kefu
from kefu.chatterbot_import import read_chatterbot
from kefu.cli.common import JsonOpt, echo_json, load_bot_files
from kefu.filewrite import replace_file
from kefu.importers import BotDraft, export_jsonl, write_bot
from kefu.rasa_import import read_rasa
from kefu.table_import import read_csv, read_jsonl

__all__ = ["COMMANDS"]


class SourceFormat(str, Enum):
    """The formats ``kefu import`` reads."""

    rasa = "rasa"
    chatterbot = "chatterbot"
    csv = "csv"
    jsonl = "jsonl"


class TargetFormat(str, Enum):
    """The formats ``kefu export`` writes."""

    jsonl = "jsonl"


READERS: dict[SourceFormat, Callable[[Path], BotDraft]] = {
    SourceFormat.rasa: read_rasa,
    SourceFormat.chatterbot: read_chatterbot,
    SourceFormat.csv: read_csv,
    SourceFormat.jsonl: read_jsonl,
}


def import_bot(
    source: Annotated[
        SourceFormat,
        typer.Argument(
            help="Format of the data: rasa (NLU YAML, Markdown or JSON), chatterbot (corpus YAML), "
            "csv (a text,intent[,response] or 问题,意图[,回复] header; comma, semicolon or tab "
            "separated) or jsonl ({text, intent[, response]} lines).",
            metavar="FORMAT",
            show_default=False,
        ),
    ],
    path: Annotated[
        Path,
        typer.Argument(
            help="File or folder to import, e.g. a Rasa project (NLU data, plus responses from "
            "its domain, rules and stories) or a folder of ChatterBot .yml files.",
            metavar="PATH",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Folder to write the kefu bot (bot.yaml, intents.yaml) to, or a file ending in .yaml "
            "or .yml to write it as that one file.",
        ),
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace bot.yaml and intents.yaml if the folder already has them, or the .yaml file.",
        ),
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Turn Rasa, ChatterBot, CSV or JSONL training data into a kefu bot that loads as written."""
    if _same_file(output, path):  # --force would replace the source with the bot
        raise kefu.SpecError.single(output, 1, "is what is being imported: write the bot elsewhere")
    report = write_bot(READERS[source](path), output, overwrite=force)
    if json_output:
        echo_json(report.to_dict())
        return
    for warning in report.warnings:
        typer.secho(f"warning: {warning}", err=True, fg="yellow")
    typer.echo(
        f"imported {report.intents} intents, {report.examples} examples, "
        f"{report.entities} entities -> {output}"
    )


def export_bot(
    target: Annotated[
        TargetFormat,
        typer.Argument(
            help="Format to write: jsonl, one {text, intent} line per example.",
            metavar="FORMAT",
            show_default=False,
        ),
    ],
    bot: Annotated[
        Path, typer.Argument(help="Bot YAML file or folder to export.", metavar="BOT", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write, replaced if it exists (never one of the bot's own files); "
            "without it, or with -, the lines go to standard output.",
        ),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Write a bot's examples as labeled data (the summary goes to stderr when the data goes to stdout)."""
    if output == Path("-"):  # what the summary calls standard output: it wrote a file named "-"
        output = None
    spec = load_bot_files(bot)
    lines = [line + "\n" for line in export_jsonl(spec)]
    if output is None:
        typer.echo("".join(lines), nl=False)
    else:
        _check_not_a_bot_file(output, spec, bot)
        try:
            replace_file(output, "".join(lines).encode("utf-8"))
        except OSError as exc:
            raise kefu.SpecError.single(output, 1, f"cannot write file: {exc.strerror or exc}") from None
    warnings = [f"{len(spec.entities)} entities are not exported: JSONL holds only text and intent"]
    summary: dict[str, Any] = {
        "output": str(output) if output is not None else "-",
        "intents": len(spec.intents),
        "examples": len(lines),
        "entities": 0,
        "warnings": warnings if spec.entities else [],
    }
    to_stderr = output is None
    if json_output:
        typer.echo(json.dumps(summary, ensure_ascii=False), err=to_stderr)
        return
    for warning in summary["warnings"]:
        typer.secho(f"warning: {warning}", err=True, fg="yellow")
    where = "standard output" if to_stderr else str(output)
    typer.echo(f"exported {len(lines)} examples of {len(spec.intents)} intents -> {where}", err=to_stderr)


def _same_file(first: Path, second: Path) -> bool:
    """Whether both name one existing file or folder (an output not there yet is no source)."""
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):  # missing, or a name no file can have
        return False


def _check_not_a_bot_file(output: Path, spec: kefu.BotSpec, bot: Path) -> None:
    """Refuse to export over a file the bot was read from, however ``output`` names it
    (another spelling of the path, a symbolic or hard link), or to a new ``*.yaml`` file
    in the bot's folder, which the next load would read as part of the bot."""
    for source in spec.files:
        with contextlib.suppress(OSError):  # an output that is not there yet is no bot file
            if os.path.samefile(output, source):
                message = f"is the bot file {source}; refusing to overwrite it: export to another file"
                raise kefu.SpecError.single(output, 1, message)
    if output.suffix in {".yaml", ".yml"} and bot.is_dir():
        with contextlib.suppress(OSError):
            if os.path.samefile(output.absolute().parent, bot):
                message = (
                    f"would become part of the bot in {bot}: every *.yaml there is loaded; export elsewhere"
                )
                raise kefu.SpecError.single(output, 1, message)


COMMANDS = {"import": import_bot, "export": export_bot}
