"""``kefu tune``, ``kefu explain`` and ``kefu lint``: the bot owner's daily tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import kefu
from kefu.cli.common import (
    BotArg,
    JsonOpt,
    OptionClash,
    demo_bot,
    echo_json,
    fraction,
    open_engine,
    shown_confidence,
    workers,
)
from kefu.cli.testing import predictions_for, unknown_json

__all__ = ["COMMANDS"]


def tune(
    path: BotArg = None,
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="Labeled dev file (.jsonl, .csv, .yaml).")
    ] = None,
    cv: Annotated[
        int | None, typer.Option("--cv", min=2, help="Cross-validate with this many folds instead.")
    ] = None,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="balanced: best mean of in-scope accuracy and out-of-scope recall; accuracy: best in-scope "
            "accuracy with out-of-scope recall >= --floor; oos: best out-of-scope recall with in-scope "
            "accuracy >= --floor.",
        ),
    ] = "balanced",
    floor: Annotated[
        float | None,
        typer.Option("--floor", callback=fraction, help="The floor for --objective accuracy or oos (0-1)."),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the recommendation into the bot file.")
    ] = False,
    oos_label: Annotated[
        str | None,
        typer.Option(
            "--oos-label", help="Intent name of out-of-scope rows (default: the bot's, out_of_scope)."
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", callback=workers, help="Worker processes (-1: every core).")
    ] = 1,
    json_output: JsonOpt = False,
) -> None:
    """Sweep the fallback threshold and ambiguity margin and recommend a pair."""
    # Imported here: kefu.tuning is no attribute of the lazy kefu package until imported, and
    # at the top it would load NumPy for every command (`kefu --help`, `kefu validate`).
    from kefu.tuning import OBJECTIVES

    if objective not in OBJECTIVES:
        raise typer.BadParameter(f"must be one of {', '.join(OBJECTIVES)}", param_hint="'--objective'")
    if floor is not None and objective == "balanced":
        raise OptionClash("--floor is for --objective accuracy or oos; balanced has no floor")
    if write and (
        path is None or Path(path).resolve() == demo_bot().resolve() or kefu.saved_fingerprint(path)
    ):
        # Refused before the sweep, which can take minutes with --cv, not after it.
        raise kefu.SpecError.single(path or demo_bot(), 1, "--write needs your own bot's YAML file or folder")
    engine, predictions = predictions_for(path, data, cv, oos_label, jobs, progress=not json_output)
    from kefu.tuning import THRESHOLDS, highest_threshold

    # Above keyword_score the bot would not load (a keyword could never answer its intent).
    points = kefu.sweep(predictions, [t for t in THRESHOLDS if t <= highest_threshold(engine.spec)])
    best = kefu.recommend(points, objective, floor)
    target = None
    if write:
        target = kefu.write_thresholds(engine.spec.files, best.threshold, best.margin)
    if objective != "balanced" and all(p.oos_recall is None for p in points):
        # recommend() has no out-of-scope recall to weigh, so it ignores the objective: the
        # output said "recommended for accuracy" and "no setting reaches --floor" instead.
        where = f"{data} has" if data is not None else "cross-validation has"
        typer.secho(
            f"warning: {where} no out-of-scope rows, so --objective {objective} was not used: "
            "give a dev file with out-of-scope rows to weigh them",
            err=True,
            fg="yellow",
        )
    measured = not all(p.row.oos for p in predictions)
    if not measured:  # only a --data file can be all out of scope
        # In-scope accuracy read 0.000 at every setting, and the recommendation looked weighed.
        typer.secho(
            f"warning: {data} has no in-scope rows, so in-scope accuracy was not measured and the "
            "recommendation weighs out-of-scope recall alone: give a dev file with in-scope rows too",
            err=True,
            fg="yellow",
        )
    if json_output:
        written = str(target) if target else None
        unknown = unknown_json(engine, predictions)
        echo_json({"recommended": vars(best), "objective": objective, "written": written,
                   "points": [vars(p) for p in points], "unknown_intents": unknown})  # fmt: skip
        return
    _print_sweep(points, best, objective, floor, measured=measured)
    if target:
        typer.echo(f"written to {target}")


def _print_sweep(
    points: list[kefu.TuningPoint],
    best: kefu.TuningPoint,
    objective: str,
    floor: float | None,
    *,
    measured: bool = True,
) -> None:
    """The sweep's table and its recommendation; in-scope columns are "-" unless ``measured``."""
    typer.echo(f"{'threshold':>9} {'margin':>7} {'in-scope acc':>13} {'oos recall':>11} {'answered':>9}")
    for p in points:
        if p.margin in (best.margin, 0.0):
            oos = f"{p.oos_recall:.3f}" if p.oos_recall is not None else "-"
            mark = "  <- recommended" if p == best else ""
            accuracy, answered = (
                (f"{p.in_scope_accuracy:.3f}", f"{p.answered:.3f}") if measured else ("-", "-")
            )
            typer.echo(f"{p.threshold:>9.2f} {p.margin:>7.2f} {accuracy:>13} {oos:>11} {answered:>9}{mark}")
    if best.oos_recall is None:
        typer.echo(
            "\nrecommended without out-of-scope rows (the highest threshold within 0.01 of the best "
            f"in-scope accuracy): threshold {best.threshold:g}, ambiguity_margin {best.margin:g}"
        )
        return
    typer.echo(
        f"\nrecommended for {objective}: threshold {best.threshold:g}, ambiguity_margin {best.margin:g}"
    )
    reached = best.oos_recall if objective == "accuracy" else best.in_scope_accuracy
    if floor is not None and reached < floor:
        typer.secho(f"no setting reaches --floor {floor:g}; this is the closest", fg="yellow")


def explain(
    bot: Annotated[Path, typer.Argument(help="Bot YAML file or folder, or a saved model folder.")],
    text: Annotated[str, typer.Argument(help="The message to explain.")],
    context: Annotated[
        list[str] | None, typer.Option("--context", "-c", help="Treat this context as open.")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Show how a message was read and why it got its answer."""
    engine = open_engine(bot, builtin_plugins=(), load_entry_points=False, bot_plugins=False)
    _warn_unknown_contexts(engine.spec, context or [])
    result = kefu.explain(engine, text, tuple(context or ()))
    if json_output:
        echo_json(result.to_dict())
        return
    typer.echo(f"normalized:   {result.normalized}")
    limit = engine.spec.settings.max_input_length
    if len(text) > limit:  # else the rest of a pasted message seemed to count
        typer.echo(
            f"{'':14}(of {len(text)} characters, the bot reads the first {limit}: bot.max_input_length)"
        )
    typer.echo(f"segmented:    {' / '.join(result.tokens)}")
    if result.unknown_words:
        shown = " | ".join(result.unknown_words)
        effect = "they lower confidence" if engine.spec.matcher.count_unknown else "count_unknown is off"
        typer.echo(f"unknown words: {shown}  (the bot never saw these words; {effect})")
    # A space in a feature shown as ␣: "char: 退款=0.33  char:款 =0.34" read as if spaces split them.
    typer.echo("features:     " + "  ".join(f"{_visible(f)}={w:.2f}" for f, w in result.features[:8]))
    if result.contributions:
        typer.echo("pushed up:    " + "  ".join(f"{_visible(f)}=+{w:.2f}" for f, w in result.contributions))
    typer.echo("candidates:")
    for c in result.candidates:
        nearest = " | ".join(f"{e['text']} ({e['cosine']:.2f})" for e in c["nearest_examples"])
        typer.echo(f"  {c['intent']:<28} {shown_confidence(c['confidence']):.3f}   nearest: {nearest}")
    typer.echo(f"decision:     {result.decision}")
    if engine.spec.plugins.config or engine.spec.plugins.dir:  # handoff_keywords answered before the match
        typer.echo(f"{'':14}(plugins do not run here: the bot's may answer differently, see kefu chat)")


def _visible(feature: str) -> str:
    """A feature name with its spaces (word edges, word pairs) shown as ␣."""
    kind, _, term = feature.partition(":")
    return f"{kind}:{term.replace(' ', '␣')}"


def _warn_unknown_contexts(spec: kefu.BotSpec, contexts: list[str]) -> None:
    # A misspelled context changes nothing, and the explanation then read as if the
    # follow-up intent did not match with the context open.
    known = {c for i in spec.intents for c in i.input_contexts} | {
        c.name for i in spec.intents for c in i.output_contexts
    }
    for name in dict.fromkeys(contexts):
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            typer.secho(
                f"warning: no intent of the bot opens or needs the context '{name}' (its contexts: {listed})",
                err=True,
                fg="yellow",
            )


def lint(path: BotArg = None, json_output: JsonOpt = False) -> None:
    """Find near-duplicate examples, thin or overlapping intents, and patterns that match nothing."""
    engine = open_engine(path, builtin_plugins=(), load_entry_points=False, bot_plugins=False)
    findings = kefu.lint(engine.model)
    errors = [f for f in findings if f.level == "error"]
    if json_output:
        echo_json([vars(f) for f in findings])
    else:
        for finding in findings:
            typer.secho(str(finding), fg="red" if finding.level == "error" else "yellow")
        typer.echo(f"{len(errors)} error(s), {len(findings) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(1)


COMMANDS = {"tune": tune, "explain": explain, "lint": lint}
