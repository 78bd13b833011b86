"""The bot owner's tools (``kefu tune``, ``explain``, ``lint``, ``test``, ``chat``) as a user
meets them: each in a fresh process, where only what the command imports itself is loaded."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

DEMO_BOT = Path(str(resources.files("kefu.intents")))
DEV = DEMO_BOT / "tests" / "dev.jsonl"
KEFU = [sys.executable, "-c", "import sys; sys.argv[0] = 'kefu'; from kefu.cli import main; main()"]


def kefu(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the console script in a new interpreter."""
    done = subprocess.run(
        [*KEFU, *args], input=stdin, capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        # kefu.tuning was read as an attribute of the lazy kefu package: an AttributeError
        # traceback in every fresh process, though the in-process tests passed
        (
            ["tune", str(DEMO_BOT), "--data", str(DEV)],
            "threshold  margin  in-scope acc  oos recall  answered",
        ),
        (["explain", str(DEMO_BOT), "转人工"], "normalized:   转人工"),
        (["lint", str(DEMO_BOT)], "0 error(s), 0 warning(s)"),
    ],
    ids=["tune", "explain", "lint"],
)
def test_each_tool_runs_in_a_fresh_process(args: list[str], first_line: str) -> None:
    code, out, err = kefu(*args)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == first_line
