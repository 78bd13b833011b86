"""Options of ``kefu test`` and ``kefu tune`` that make no sense, or no sense together:
each is refused before any work with one usage error (exit 2), never silently ignored."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import build_app

DEMO_BOT = Path(str(resources.files("kefu.intents")))
HELDOUT = str(DEMO_BOT / "tests" / "heldout.jsonl")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def usage_error(err: str) -> str:
    """The message inside typer's error box, its lines joined."""
    lines = [line.strip("│ ") for line in err.splitlines() if line.startswith("│")]
    return " ".join(lines)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--min-accuracy", "nan"),  # passed every gate: no comparison with nan is true
        ("--min-accuracy", "90"),  # a percentage meant as 0.9: no run could pass
        ("--min-accuracy", "-0.1"),  # a gate no run could fail
        ("--min-f1", "nan"),
        ("--min-f1", "inf"),
    ],
)
def test_test_gates_must_be_shares_between_0_and_1(option: str, value: str) -> None:
    code, out, err = run("test", str(DEMO_BOT), "--data", HELDOUT, option, value)
    assert (code, out) == (2, "")
    assert usage_error(err) == f"Invalid value for '{option}': must be between 0 and 1, got {value}"


DIALOGUES = str(DEMO_BOT / "tests" / "dialogues.yaml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # nothing to measure: was "<bot>:1: give either ...", a bot file problem with exit 1
        (["test", str(DEMO_BOT)], "give --data FILE (labeled messages), --cv K (cross-validation) "
                                  "or --dialogues FILE (scripted conversations)"),
        (["tune", str(DEMO_BOT)], "give --data FILE (labeled messages) or --cv K (cross-validation)"),
        # both: one of them would be ignored
        (["test", "--data", HELDOUT, "--cv", "3"], "give --data FILE or --cv K, not both"),
        (["tune", "--data", HELDOUT, "--cv", "3"], "give --data FILE or --cv K, not both"),
        # cross-validation has no out-of-scope rows for the label to name
        (["test", "--cv", "3", "--oos-label", "其他"],
         "--oos-label names the out-of-scope rows of a --data file; --cv has none"),
        (["tune", "--cv", "3", "--oos-label", "其他"],
         "--oos-label names the out-of-scope rows of a --data file; --cv has none"),
        # a CI gate beside --dialogues passed without measuring anything
        (["test", "--dialogues", DIALOGUES, "--min-accuracy", "0.9"],
         "--dialogues plays scripted conversations and would ignore --min-accuracy: "
         "give those to a second kefu test with --data or --cv"),
        (["test", "--dialogues", DIALOGUES, "--data", HELDOUT, "--out", "report", "-j", "2"],
         "--dialogues plays scripted conversations and would ignore --data, --out, --jobs: "
         "give those to a second kefu test with --data or --cv"),
    ],
)  # fmt: skip
def test_test_and_tune_refuse_options_that_clash(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert (code, out) == (2, "")
    assert usage_error(err) == message


def test_tune_refuses_a_floor_the_balanced_objective_would_ignore() -> None:
    code, out, err = run("tune", str(DEMO_BOT), "--data", HELDOUT, "--floor", "0.8")
    assert (code, out) == (2, "")  # was the balanced pick, as if no floor had been asked for
    assert usage_error(err) == "--floor is for --objective accuracy or oos; balanced has no floor"


def test_tune_refuses_write_to_a_saved_model_before_the_sweep(tmp_path: Path) -> None:
    # The refusal comes first: it came after the sweep (minutes with --cv on a big bot), so
    # here the missing dev file was reported and --write only on the next try.
    model = tmp_path / "model"
    assert run("train", str(DEMO_BOT), "-o", str(model))[0] == 0
    code, out, err = run("tune", str(model), "--data", str(tmp_path / "dev.jsonl"), "--write")
    assert (code, out, err) == (1, "", f"{model}:1: --write needs your own bot's YAML file or folder\n")


def test_tune_says_when_the_data_has_no_out_of_scope_rows_to_weigh(tmp_path: Path) -> None:
    # Without out-of-scope rows there is no recall to weigh: the objective and its floor went
    # unused while the output said "recommended for accuracy" and "no setting reaches --floor".
    lines = Path(HELDOUT).read_text(encoding="utf-8").splitlines(keepends=True)
    in_scope = tmp_path / "in_scope.jsonl"
    in_scope.write_text("".join(line for line in lines if '"out_of_scope"' not in line), encoding="utf-8")
    code, out, err = run(
        "tune", str(DEMO_BOT), "--data", str(in_scope), "--objective", "accuracy", "--floor", "0.8"
    )
    assert code == 0
    assert out.splitlines()[-1].startswith(
        "recommended without out-of-scope rows (the highest threshold within 0.01 of the best "
        "in-scope accuracy): threshold "
    )
    assert "--floor" not in out
    assert err == (
        f"warning: {in_scope} has no out-of-scope rows, so --objective accuracy was not used: "
        "give a dev file with out-of-scope rows to weigh them\n"
    )


def test_test_gates_say_which_one_failed_and_by_how_much() -> None:
    # A CI log showed "below the required --min-accuracy / --min-f1", and no numbers.
    code, out, err = run("test", str(DEMO_BOT), "--data", HELDOUT, "--json", "--min-accuracy", "0.999",
                         "--min-f1", "0.5")  # fmt: skip
    report = json.loads(out)
    assert code == 1
    assert err == f"accuracy {report['accuracy']:.4f} is below the required --min-accuracy 0.999\n"
    code, out, err = run("test", str(DEMO_BOT), "--data", HELDOUT, "--json", "--min-f1", "0.999")
    assert (code, err) == (
        1,
        f"macro-F1 {json.loads(out)['macro_f1']:.4f} is below the required --min-f1 0.999\n",
    )


@pytest.mark.parametrize(
    ("contexts", "warned"),
    [
        (["ordr"], ["ordr"]),  # a typo: the explanation read as if the context did not help
        # named once however often it is given; "order", which follow-up intents need, not at all
        (["ordr", "order", "ordr"], ["ordr"]),
    ],
)
def test_explain_warns_about_a_context_the_bot_does_not_have(contexts: list[str], warned: list[str]) -> None:
    options = [arg for name in contexts for arg in ("-c", name)]
    code, _, err = run("explain", str(DEMO_BOT), "那运费呢", *options)
    assert code == 0
    assert err.splitlines() == [
        f"warning: no intent of the bot opens or needs the context '{name}' "
        "(its contexts: order, product, refund)"
        for name in warned
    ]


@pytest.mark.parametrize("command", ["test", "tune"])
def test_an_empty_oos_label_is_refused_not_replaced_by_the_default(command: str) -> None:
    code, out, err = run(command, str(DEMO_BOT), "--data", HELDOUT, "--oos-label", "")
    assert (code, out) == (2, "")
    assert (
        usage_error(err)
        == "Invalid value for '--oos-label': must name the intent of out-of-scope rows, not be empty"
    )
