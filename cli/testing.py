"""``kefu test``: accuracy, macro-F1 and out-of-scope metrics on labeled data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import kefu
from kefu.cli.common import BotArg, JsonOpt, echo_json, open_engine

__all__ = ["COMMANDS", "print_report"]


def run_test(
    path: BotArg = None,
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="Labeled test file: .jsonl, .csv or .yaml.")
    ] = None,
    dialogues: Annotated[
        Path | None, typer.Option("--dialogues", help="Scripted conversations to play (YAML, see docs).")
    ] = None,
    oos_label: Annotated[
        str, typer.Option("--oos-label", help="Intent name that marks out-of-scope rows.")
    ] = "out_of_scope",
    min_accuracy: Annotated[
        float | None, typer.Option("--min-accuracy", help="Exit 1 if accuracy is below this (0-1).")
    ] = None,
    min_f1: Annotated[
        float | None, typer.Option("--min-f1", help="Exit 1 if macro-F1 is below this (0-1).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes for large test files.")] = 1,
    json_output: JsonOpt = False,
) -> None:
    """Measure how well a bot recognizes labeled messages, or play scripted dialogues."""
    if dialogues is not None:
        _play(path, dialogues, json_output)
        return
    if data is None:
        raise kefu.SpecError.single(
            path or Path("."), 1, "give a labeled test file with --data or --dialogues"
        )
    rows = kefu.read_test_file(data, oos_label)
    engine = open_engine(path, builtin_plugins=(), load_entry_points=False)
    report = kefu.evaluate(kefu.predict_rows(engine, rows, n_jobs=jobs))
    if json_output:
        echo_json(report.to_dict())
    else:
        print_report(report)
    failed = (min_accuracy is not None and report.accuracy < min_accuracy) or (
        min_f1 is not None and report.macro_f1 < min_f1
    )
    if failed:
        typer.secho("below the required --min-accuracy / --min-f1", err=True, fg="red")
        raise typer.Exit(1)


def _play(path: Path | None, file: Path, json_output: bool) -> None:
    scripts = kefu.read_dialogues(file)
    engine = open_engine(path, seed=0)
    results = [kefu.run_dialogue(engine, d) for d in scripts]
    failed = [r for r in results if not r.passed]
    if json_output:
        echo_json({
            "dialogues": len(results),
            "passed": len(results) - len(failed),
            "failures": [{"name": r.dialogue.name, "problems": r.failures} for r in failed],
        })  # fmt: skip
    else:
        for result in results:
            mark = "ok  " if result.passed else "FAIL"
            typer.echo(f"{mark} {result.dialogue.name}")
            for problem in result.failures:
                typer.echo(f"     {problem}")
        typer.echo(f"{len(results) - len(failed)}/{len(results)} dialogues passed")
    if failed:
        raise typer.Exit(1)


def print_report(report: kefu.EvalReport) -> None:
    """The human-readable summary and per-intent table."""
    typer.echo(f"rows: {report.total} ({report.in_scope} in scope, {report.out_of_scope} out of scope)")
    typer.echo(f"accuracy:           {report.accuracy:.4f}")
    typer.echo(f"macro-F1:           {report.macro_f1:.4f}")
    typer.echo(f"in-scope accuracy:  {report.in_scope_accuracy:.4f}")
    if report.out_of_scope:
        typer.echo(f"out-of-scope recall:    {report.oos_recall:.4f}")
        typer.echo(f"out-of-scope precision: {report.oos_precision:.4f}")
    typer.echo("")
    typer.echo(f"{'intent':<32}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for score in report.per_intent:
        typer.echo(
            f"{score.intent:<32}{score.precision:>10.3f}{score.recall:>10.3f}{score.f1:>10.3f}{score.support:>9}"
        )
    if report.confusions:
        typer.echo("\nmost confused (expected -> predicted):")
        for expected, predicted, texts in report.confusions[:5]:
            typer.echo(f"  {expected} -> {predicted} ({len(texts)}): {' | '.join(texts[:3])}")


COMMANDS = {"test": run_test}
