"""The ``kefu`` console script when its standard streams are closed or cannot be written:
what a user meets starting it from cron, a service manager or a full disk."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import IO

import pytest

DEMO_BOT = Path(str(resources.files("kefu.intents")))
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


@pytest.mark.parametrize(
    "args",
    [
        ["validate", str(DEMO_BOT)],  # one line of output
        ["predict", "你好", "--json"],  # a JSON line per message
        ["export", "jsonl", str(DEMO_BOT)],  # the data itself goes to stdout
        ["chat"],  # the greeting and the prompt
    ],
    ids=lambda args: args[0],
)
def test_output_that_cannot_be_written_is_one_line_and_exit_1(args: list[str]) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "wb") as full:  # every write fails: No space left on device
        code, _, err = kefu(*args, stdout=full)
    assert (code, err) == (1, "cannot write to standard output: No space left on device\n")


def test_predict_at_a_terminal_says_it_is_reading_messages() -> None:
    # With no message arguments at a terminal it waited, saying nothing, as if hung.
    pty = pytest.importorskip("pty")
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [*KEFU, "predict"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        os.write(controller, "你好\n".encode() + b"\x04")  # a line, then Ctrl-D
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()  # still waiting for the end of input: fail, do not hang the suite
            raise
    finally:
        os.close(terminal)
        os.close(controller)
    assert process.returncode == 0
    assert err.decode("utf-8") == "reading messages from the terminal, one per line; Ctrl-D to end\n"
    label, confidence, text = out.decode("utf-8").rstrip("\n").split("\t")
    assert (label, text) == ("greeting", "你好") and 0.99 <= float(confidence) <= 1.0


def test_a_lone_carriage_return_ends_a_line_on_stdin() -> None:
    """Files saved with CR line ends (and some terminals' Enter) were one long message:
    `a\\rb` was classified as one text, and `/quit` after a CR was sent to the bot."""
    done = subprocess.run(
        [*KEFU, "predict"], input="我要退款\r你好\r".encode(), capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0
    assert [line.split("\t")[-1] for line in done.stdout.decode("utf-8").splitlines()] == ["我要退款", "你好"]
    chat = subprocess.run(
        [*KEFU, "chat"],
        input="你好\r/quit\r我要退款\n".encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert chat.returncode == 0 and chat.stdout.decode("utf-8").count("小客:") == 1  # it quit before 我要退款
