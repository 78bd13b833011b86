"""The demo bot's scripted conversations, one pytest case each; and the format's errors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

import kefu

DIALOGUES = Path(str(resources.files("kefu.intents"))) / "tests" / "dialogues.yaml"
SCRIPTS = kefu.read_dialogues(DIALOGUES)


def test_the_demo_bot_ships_at_least_20_dialogues() -> None:
    assert len(SCRIPTS) >= 20


@pytest.mark.parametrize("dialogue", SCRIPTS, ids=[d.name for d in SCRIPTS])
def test_demo_dialogue(demo_engine: kefu.Engine, dialogue: kefu.Dialogue) -> None:
    result = kefu.run_dialogue(demo_engine, dialogue)
    assert result.failures == []


def test_the_documented_example_passes_on_the_demo_bot(demo_engine: kefu.Engine, tmp_path: Path) -> None:
    import re

    docs = (Path(__file__).resolve().parent.parent / "docs" / "intents.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(version: 1\ndialogues:.*?)```", docs, re.S)
    assert example is not None
    (tmp_path / "dialogues.yaml").write_text(example.group(1), encoding="utf-8")
    (dialogue,) = kefu.read_dialogues(tmp_path / "dialogues.yaml")
    assert len(dialogue.steps) == 4 and kefu.run_dialogue(demo_engine, dialogue).failures == []


def test_a_failing_expectation_names_file_line_and_what_the_bot_said(
    demo_engine: kefu.Engine, tmp_path: Path
) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "version: 1\ndialogues:\n  - name: x\n    steps:\n      - user: 你好\n        intent: human\n"
    )
    [dialogue] = kefu.read_dialogues(path)
    [failure] = kefu.run_dialogue(demo_engine, dialogue).failures
    assert failure.startswith(f"{path}:5: '你好': expected intent 'human', got 'greeting' (bot said ")


@pytest.mark.parametrize(
    ("expectation", "failure"),
    [
        ("slots: {}", "expected no slots, got {'order_id': '2024112712345678'}"),
        ("contexts: []", "expected no contexts open, open: ['order']"),
    ],
)
def test_empty_slots_or_contexts_expect_none(
    demo_engine: kefu.Engine, tmp_path: Path, expectation: str, failure: str
) -> None:
    """They passed whatever the bot did: a test meant to say "nothing is open" checked nothing."""
    path = tmp_path / "d.yaml"
    step = "      - user: 订单2024112712345678到哪了\n"
    path.write_text(f"version: 1\ndialogues:\n  - steps:\n{step}        {expectation}\n", encoding="utf-8")
    [dialogue] = kefu.read_dialogues(path)
    [problem] = kefu.run_dialogue(demo_engine, dialogue).failures
    assert failure in problem
    # and where the reply has none, they pass
    path.write_text(
        f"version: 1\ndialogues:\n  - steps:\n      - user: 你好\n        {expectation}\n", encoding="utf-8"
    )
    [dialogue] = kefu.read_dialogues(path)
    assert kefu.run_dialogue(demo_engine, dialogue).failures == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 2\ndialogues: [{steps: [{user: a}]}]\n", ":1: `version` must be 1 \\(got 2\\)"),
        # true == 1 and 1.0 == 1 in Python: both were taken, as bot files never did
        ("version: true\ndialogues: [{steps: [{user: a}]}]\n", ":1: `version` must be 1 \\(got True\\)"),
        ("version: 1.0\ndialogues: [{steps: [{user: a}]}]\n", ":1: `version` must be 1 \\(got 1.0\\)"),
        ("dialogues: [{steps: [{user: a}]}]\n", ":1: `version` must be 1 \\(got missing\\)"),
        ("version: 1\ndialogues: []\n", ":2: `dialogues` must be a non-empty list"),
        ("version: 1\ndialogues:\n  - name: x\n", ":3: a dialogue needs `steps`: a non-empty list"),
        ("version: 1\ndialogues:\n  - steps:\n      - intent: a\n", ":4: a step needs `user`"),
        ("version: 1\ndialogues:\n  - steps:\n      - {user: a, intnet: b}\n", "unknown key 'intnet'"),
        # expectations of the wrong kind are reported here, not as a TypeError mid-run
        (
            "version: 1\ndialogues:\n  - steps:\n      - {user: a, slots: [order_id]}\n",
            r":4: `dialogues\[0\]\.steps\[0\]\.slots` must be a mapping, not a list",
        ),
        (
            "version: 1\ndialogues:\n  - steps:\n      - {user: a, contexts: 5}\n",
            r":4: `dialogues\[0\]\.steps\[0\]\.contexts` must be a list of text",
        ),
        (
            "version: 1\ndialogues:\n  - steps:\n      - {user: a, contexts: [[1]]}\n",
            r":4: `dialogues\[0\]\.steps\[0\]\.contexts\[0\]` must be text, not a list",
        ),
        ("version: 1\ndialogues:\n  - steps:\n      - {user: a, handoff: 'yes'}\n", "must be true or false"),
    ],
)
def test_invalid_dialogue_files_are_reported(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(kefu.SpecError, match=problem):
        kefu.read_dialogues(path)
