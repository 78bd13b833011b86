"""``kefu test``: accuracy, macro-F1 and out-of-scope metrics on labeled data, cross-validation,
or scripted dialogues."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

import kefu
from kefu.cli.common import BotArg, JsonOpt, OptionClash, echo_json, fraction, open_engine, workers
from kefu.reports import one_line

__all__ = ["COMMANDS", "predictions_for", "print_report", "unknown_intents", "unknown_json"]

PROGRESS_FROM = 1000  # rows; smaller files finish before a bar would help
NAMED_UNKNOWN = 5  # unknown intents the warning names before "and N more"


def run_test(
    path: BotArg = None,
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="Labeled test file: .jsonl, .csv or .yaml.")
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option("--cv", min=2, help="Cross-validate with this many folds on the bot's own examples."),
    ] = None,
    dialogues: Annotated[
        Path | None, typer.Option("--dialogues", help="Scripted conversations to play (YAML, see docs).")
    ] = None,
    oos_label: Annotated[
        str | None,
        typer.Option(
            "--oos-label", help="Intent name of out-of-scope rows (default: the bot's, out_of_scope)."
        ),
    ] = None,
    min_accuracy: Annotated[
        float | None,
        typer.Option("--min-accuracy", callback=fraction, help="Exit 1 if accuracy is below this (0-1)."),
    ] = None,
    min_f1: Annotated[
        float | None,
        typer.Option("--min-f1", callback=fraction, help="Exit 1 if macro-F1 is below this (0-1)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for report.json, report.md (and PNG plots).")
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            callback=workers,
            help="Worker processes for large files and folds (-1: every core).",
        ),
    ] = 1,
    json_output: JsonOpt = False,
) -> None:
    """Measure how well a bot recognizes labeled messages, or play scripted dialogues."""
    if dialogues is not None:
        _refuse_with_dialogues(data=data, cv=cv, oos_label=oos_label, min_accuracy=min_accuracy,
                               min_f1=min_f1, out=out, jobs=jobs if jobs != 1 else None)  # fmt: skip
        _play(path, dialogues, json_output)
        return
    if data is None and cv is None:
        raise OptionClash(
            "give --data FILE (labeled messages), --cv K (cross-validation) "
            "or --dialogues FILE (scripted conversations)"
        )
    engine, predictions = predictions_for(path, data, cv, oos_label, jobs, progress=not json_output)
    report = kefu.evaluate(predictions)
    written = kefu.write_report(report, out, segment=engine.segment) if out is not None else []
    if json_output:
        unknown = unknown_json(engine, predictions)
        echo_json({**report.to_dict(), "unknown_intents": unknown, "files": [str(p) for p in written]})
    else:
        print_report(report, engine.segment)
        for file in written:
            typer.echo(f"wrote {file}")
    gates = [("accuracy", report.accuracy, "--min-accuracy", min_accuracy),
             ("macro-F1", report.macro_f1, "--min-f1", min_f1)]  # fmt: skip
    failed = [
        (name, got, option, floor) for name, got, option, floor in gates if floor is not None and got < floor
    ]
    for name, got, option, floor in failed:  # which gate, and by how much: CI logs show only this
        if name == "macro-F1" and not report.in_scope:  # a gate that cannot be checked fails, saying why
            why = "no row of the data is in scope"
            typer.secho(f"macro-F1 cannot be checked against {option} {floor:g}: {why}", err=True, fg="red")
        else:
            typer.secho(f"{name} {got:.4f} is below the required {option} {floor:g}", err=True, fg="red")
    if failed:
        raise typer.Exit(1)


def predictions_for(
    path: Path | None, data: Path | None, cv: int | None, oos_label: str | None, jobs: int, *, progress: bool
) -> tuple[kefu.Engine, list[kefu.Prediction]]:
    """The bot's predictions on a test file, or out-of-fold predictions with ``cv`` folds."""
    if data is None and cv is None:
        raise OptionClash("give --data FILE (labeled messages) or --cv K (cross-validation)")
    if data is not None and cv is not None:
        raise OptionClash("give --data FILE or --cv K, not both")
    if cv is not None and oos_label is not None:
        raise OptionClash("--oos-label names the out-of-scope rows of a --data file; --cv has none")
    if oos_label is not None and not oos_label.strip():  # it fell back to the default unsaid
        raise typer.BadParameter(
            "must name the intent of out-of-scope rows, not be empty", param_hint="'--oos-label'"
        )
    engine = open_engine(path, builtin_plugins=(), load_entry_points=False, bot_plugins=False)
    if cv is not None:
        return engine, kefu.cross_validate(engine.spec, cv, n_jobs=jobs)
    assert data is not None
    oos_label = oos_label or engine.spec.settings.out_of_scope_label
    rows = kefu.read_test_file(data, oos_label)
    _warn_unknown(data, engine, rows, oos_label)
    _warn_unknown_contexts(data, engine.spec, rows)
    if not progress or len(rows) < PROGRESS_FROM:
        return engine, kefu.predict_rows(engine, rows, n_jobs=jobs)
    from joblib import effective_n_jobs

    from kefu.bulk import MIN_TEXTS_PER_WORKER

    # Chunks big enough to give every worker its minimum share: 500-row chunks never
    # reached match_many's threshold, so -j was ignored whenever the bar was shown.
    size = 500 if jobs == 1 else max(500, effective_n_jobs(jobs) * MIN_TEXTS_PER_WORKER)
    predictions: list[kefu.Prediction] = []
    with typer.progressbar(length=len(rows), label="matching", file=sys.stderr) as bar:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            predictions += kefu.predict_rows(engine, chunk, n_jobs=jobs)
            bar.update(len(chunk))
    return engine, predictions


def unknown_intents(engine: kefu.Engine, rows: Sequence[kefu.TestRow]) -> dict[str, int]:
    """In-scope rows labeled with an intent the bot does not have: intent -> rows, most rows first."""
    known = {intent.name for intent in engine.spec.intents}
    return dict(Counter(r.intent for r in rows if not r.oos and r.intent not in known).most_common())


def unknown_json(engine: kefu.Engine, predictions: Sequence[kefu.Prediction]) -> list[dict[str, Any]]:
    """``unknown_intents`` as the ``--json`` output lists them."""
    unknown = unknown_intents(engine, [p.row for p in predictions])
    return [{"intent": name, "rows": rows} for name, rows in unknown.items()]


def _warn_unknown(data: Path, engine: kefu.Engine, rows: Sequence[kefu.TestRow], oos_label: str) -> None:
    # The bot can never get such a row right: a typo in a label silently lowered accuracy and
    # moved the threshold kefu tune recommends.
    unknown = unknown_intents(engine, rows)
    if not unknown:
        return
    named = ", ".join(f"{name} ({count})" for name, count in list(unknown.items())[:NAMED_UNKNOWN])
    more = f" and {len(unknown) - NAMED_UNKNOWN} more" if len(unknown) > NAMED_UNKNOWN else ""
    typer.secho(
        f"warning: {sum(unknown.values())} row(s) of {data} are labeled with intents the bot does not have: "
        f"{named}{more}. The bot cannot get them right; a typo? Out-of-scope rows need the intent "
        f'{oos_label} or "oos": true.',
        err=True,
        fg="yellow",
    )


def _warn_unknown_contexts(data: Path, spec: kefu.BotSpec, rows: Sequence[kefu.TestRow]) -> None:
    # A misspelled context opens nothing: its follow-up rows were silently counted wrong.
    known = {c for i in spec.intents for c in i.input_contexts} | {
        c.name for i in spec.intents for c in i.output_contexts
    }
    unknown = Counter(c for row in rows for c in dict.fromkeys(row.contexts) if c not in known)
    if unknown:
        count = sum(any(c in unknown for c in row.contexts) for row in rows)
        named = ", ".join(f"{name} ({n})" for name, n in unknown.most_common())
        typer.secho(
            f"warning: {count} row(s) of {data} name contexts no intent of the bot opens or needs, so "
            f"they open nothing: {named}. The bot's contexts: {', '.join(sorted(known)) or 'none'}",
            err=True,
            fg="yellow",
        )


def _refuse_with_dialogues(**options: object) -> None:
    """Playing dialogues reads none of the options that measure labeled messages: a CI job
    given `--dialogues d.yaml --min-accuracy 0.9` passed without checking any accuracy."""
    given = [f"--{name.replace('_', '-')}" for name, value in options.items() if value is not None]
    if given:
        raise OptionClash(
            f"--dialogues plays scripted conversations and would ignore {', '.join(given)}: "
            "give those to a second kefu test with --data or --cv"
        )


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
            typer.echo(f"{'ok  ' if result.passed else 'FAIL'} {result.dialogue.name}")
            for problem in result.failures:
                typer.echo(f"     {problem}")
        typer.echo(f"{len(results) - len(failed)}/{len(results)} dialogues passed")
    if failed:
        raise typer.Exit(1)


def print_report(report: kefu.EvalReport, segment: Callable[[str], list[str]] | None = None) -> None:
    """The human-readable summary, per-intent table, confusions and histogram."""
    typer.echo(f"rows: {report.total} ({report.in_scope} in scope, {report.out_of_scope} out of scope)")
    # With no in-scope rows there is no intent to score: 0.0000 read as a bot that got them all wrong.
    unmeasured = "-  (no in-scope rows)"
    typer.echo(f"accuracy:           {report.accuracy:.4f}")
    typer.echo(f"macro-F1:           {f'{report.macro_f1:.4f}' if report.in_scope else unmeasured}")
    typer.echo(f"in-scope accuracy:  {f'{report.in_scope_accuracy:.4f}' if report.in_scope else unmeasured}")
    if report.out_of_scope:
        typer.echo(f"out-of-scope recall:    {report.oos_recall:.4f}")
        typer.echo(f"out-of-scope precision: {report.oos_precision:.4f}")
    typer.echo("")
    typer.echo(f"{'intent':<32}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for s in report.per_intent:
        typer.echo(f"{s.intent:<32}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.support:>9}")
    if report.confusions:
        typer.echo("\nmost confused (expected -> predicted), with how each sentence was segmented:")
        for expected, predicted, texts in report.confusions[:5]:
            typer.echo(f"  {expected} -> {predicted} ({len(texts)})")
            for text in texts[:3]:
                typer.echo(f"      {one_line(text)}  [{' / '.join(segment(text)) if segment else ''}]")
    typer.echo("\nconfidence   right  wrong")
    for low, high, right, wrong in report.histogram:
        typer.echo(
            f"  {low:.1f}-{high:.1f}  {right:>6} {wrong:>6}  {'#' * min(40, right)}{'x' * min(20, wrong)}"
        )


COMMANDS = {"test": run_test}
