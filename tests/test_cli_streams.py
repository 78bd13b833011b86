"""The ``kefu`` console script when its standard streams are closed or cannot be written:
what a user meets starting it from cron, a service manager or a full disk."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import IO

import pytest

KEFU = [sys.executable, "-c", "import sys; sys.argv[0] = 'kefu'; from kefu.cli import main; main()"]


def kefu(
    *args: str, stdin_closed: bool = False, stdout: IO[bytes] | int = subprocess.PIPE
) -> tuple[int, str, str]:
    """Run the console script; ``stdin_closed`` starts it with no file descriptor 0 at all."""
    done = subprocess.run(
        [*KEFU, *args],
        stdin=None if stdin_closed else subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        preexec_fn=(lambda: os.close(0)) if stdin_closed else None,  # `kefu ... <&-`
        timeout=120,
        check=False,
    )
    out = done.stdout.decode("utf-8") if done.stdout is not None else ""
    return done.returncode, out, done.stderr.decode("utf-8")


@pytest.mark.parametrize(
    ("args", "stdout"),
    [
        # nothing to classify, as with an empty stdin: no lines, no RuntimeError traceback
        (["predict", "--json"], ""),
        # the chat starts and ends at once, as with Ctrl-D: no "input(): lost sys.stdin"
        (["chat"], "小客 is ready. commands: /debug (toggle details), /session (show as JSON), "
                   "/reset, /reload, /quit\n\n"),
    ],
    ids=["predict", "chat"],
)  # fmt: skip
def test_a_closed_stdin_is_the_end_of_input(args: list[str], stdout: str) -> None:
    code, out, err = kefu(*args, stdin_closed=True)
    assert (code, out, err) == (0, stdout, "")
