"""The ``kefu`` command line, run the way a user runs it."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kefu
from kefu.cli import build_app

DEMO_BOT = Path(str(resources.files("kefu.intents")))
HELDOUT = DEMO_BOT / "tests" / "heldout.jsonl"

BROKEN = """
version: 1
bot: {threshhold: 0.4}
intents:
  - name: a
    examples: [你好]
    patterns: ['(']
  - name: a
    examples: []
"""


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_validate_reports_every_problem_with_file_and_line(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BROKEN})
    code, _, err = run("validate", str(bot))
    assert code == 1
    path = bot / "bot.yaml"
    assert err.splitlines() == [
        f"{path}:2: unknown key 'threshhold' (did you mean 'threshold'?); known: "
        + ", ".join(sorted(kefu.spec.BotSettings.__dataclass_fields__)),
        f"{path}:6: invalid regex '(': missing ) at position 1",
        f"{path}:7: duplicate intent name 'a' (first defined at {path}:4)",
        f"{path}:7: intent 'a' has no examples",
    ]
    assert "Traceback" not in err


def test_validate_ok_and_json(write_bot: Callable[..., Path]) -> None:
    code, out, _ = run("validate", str(DEMO_BOT))
    assert code == 0 and out.startswith("ok: ")
    bot = write_bot(**{"bot.yaml": BROKEN})
    code, out, _ = run("validate", str(bot), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and len(report["problems"]) == 4


def test_train_then_skip_when_unchanged(tmp_path: Path) -> None:
    out_dir = tmp_path / "model"
    code, out, _ = run("train", str(DEMO_BOT), "-o", str(out_dir))
    assert code == 0 and out.startswith("trained ")
    assert (out_dir / "model.json").is_file()
    code, out, _ = run("train", str(DEMO_BOT), "-o", str(out_dir))
    assert code == 0 and "up to date" in out
    code, out, _ = run("predict", "我的快递到哪了", "--bot", str(out_dir), "--json")
    assert json.loads(out)["intent"] == "order_status"


@pytest.mark.parametrize("damage", ["arrays", "bot copy"])
def test_train_retrains_a_damaged_model_instead_of_calling_it_up_to_date(tmp_path: Path, damage: str) -> None:
    out_dir = tmp_path / "model"
    assert run("train", str(DEMO_BOT), "-o", str(out_dir))[0] == 0
    if damage == "arrays":
        (out_dir / "arrays.npz").write_bytes((out_dir / "arrays.npz").read_bytes()[:100])
    else:
        shutil.rmtree(out_dir / "bot")
    code, out, _ = run("train", str(DEMO_BOT), "-o", str(out_dir))
    assert code == 0 and out.startswith("trained ")  # was "up to date", and every load then failed
    code, out, _ = run("predict", "我的快递到哪了", "--bot", str(out_dir), "--json")
    assert code == 0 and json.loads(out)["intent"] == "order_status"


def test_predict_json_and_fallback() -> None:
    code, out, _ = run("predict", "我的快递到哪了", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["intent"] == "order_status" and result["fallback"] is False
    code, out, _ = run("predict", "今天股市怎么样")
    assert code == 0 and out.startswith("(fallback)")


def test_predict_keeps_each_message_on_its_own_line_and_column() -> None:
    # A tab or line break in a message broke the columns, or the line in two.
    code, out, _ = run("predict", "你好\t世界", "退款\n申请", "零\u200b宽")
    assert code == 0
    assert [line.split("\t")[2] for line in out.splitlines()] == ["你好\\t世界", "退款\\n申请", "零\\u200b宽"]


def test_predict_reads_lines_from_stdin() -> None:
    code, out, _ = run("predict", "--json", stdin="你好\n\n转人工\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(x["text"], x["intent"]) for x in lines] == [("你好", "greeting"), ("转人工", "human")]


def test_user_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    code, _, err = run("predict", "hi", "--bot", str(tmp_path / "nope"))
    assert code == 1
    assert err.strip() == f"{tmp_path / 'nope'}:1: no such file or directory"
    code, _, err = run("test", str(DEMO_BOT), "--data", str(tmp_path / "missing.jsonl"))
    assert code == 1 and "no such test file" in err


def test_test_command_meets_the_demo_floors() -> None:
    code, out, _ = run("test", str(DEMO_BOT), "--data", str(HELDOUT), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["in_scope_accuracy"] >= 0.90
    assert report["oos_recall"] >= 0.70


def test_min_accuracy_gate_exits_1() -> None:
    code, _, err = run("test", str(DEMO_BOT), "--data", str(HELDOUT), "--min-accuracy", "0.999")
    assert code == 1 and "below the required" in err


def test_chat_repl_session_and_clean_exit() -> None:
    script = "你好\n/debug\n我的订单到哪了\n/session\n/reset\n/quit\n"
    code, out, _ = run("chat", stdin=script)
    assert code == 0
    assert "order_status" in out  # /debug shows the intent
    assert '"pending"' in out  # /session prints the session as JSON
    assert "new conversation" in out


def test_chat_session_before_the_first_message_says_there_is_none() -> None:
    code, out, _ = run("chat", stdin="/session\n/reset\n/session\n")  # it printed `null`
    lines = out.splitlines()
    assert code == 0 and "null" not in out
    assert lines[1] == "你: (no conversation in session 'cli' yet: say something first)"


def test_chat_says_an_intent_without_responses_gave_no_text(write_bot: Callable[..., Path]) -> None:
    # The engine leaves the text to a program or a plugin; chat showed nothing at all.
    bot = write_bot(
        **{
            "bot.yaml": """
            version: 1
            intents:
              - name: greet
                examples: [你好, 在吗]
                responses: [您好]
              - name: invoice
                examples: [我要开发票, 发票怎么开]
            """
        }
    )
    code, out, _ = run("chat", str(bot), stdin="我要开发票\n你好\n")
    assert code == 0
    assert out.splitlines()[1:3] == [
        "你: (no text: intent invoice has no `responses`, and no plugin filled one in)",
        "你: kefu: 您好",
    ]


def test_chat_ends_cleanly_on_ctrl_d() -> None:
    code, out, _ = run("chat", stdin="你好\n")  # stdin ends: EOF, like Ctrl-D
    assert code == 0 and "Traceback" not in out


def test_chat_skips_blank_lines() -> None:
    # Each blank line was sent as a message: three fallbacks, and the conversation went to a human.
    code, out, _ = run("chat", stdin="\n  \n\u3000\n你好\n")
    greeting = out.splitlines()[1]  # the prompt four times, then the reply to 你好
    greetings = kefu.load_spec(DEMO_BOT).intent("greeting").responses
    assert (code, out.splitlines()[-1]) == (0, "你: ")
    assert greeting.removeprefix("你: " * 4 + "小客: ") in greetings


@pytest.mark.parametrize("command", [" /quit", "\t/q"])
def test_chat_takes_a_command_with_spaces_around_it(command: str) -> None:
    # " /quit" was sent to the bot as a message, which answered it and went on.
    code, out, _ = run("chat", stdin=f"{command}\n你好\n")
    assert (code, out.splitlines()[1:]) == (0, ["你: "])


def test_chat_debug_lists_candidates_as_precisely_as_the_confidence() -> None:
    # "confidence=0.998" stood above "candidates: return_request 1.00, ...".
    match = kefu.Engine.from_path(DEMO_BOT, builtin_plugins=(), load_entry_points=False).match("我想退")
    code, out, _ = run("chat", stdin="/debug\n我想退\n")
    # cut to 3 decimals, not rounded: a fallback at 0.69994 read 0.700 beside a threshold of 0.7
    shown = ", ".join(
        f"{c.intent} {math.floor(c.confidence * 1000 + 1e-9) / 1000:.3f}" for c in match.candidates[:3]
    )
    assert code == 0 and f"  candidates: {shown}" in out.splitlines()


def test_chat_shows_the_payload_a_customer_gets() -> None:
    # The buttons of order_status never showed: the owner could not see what the customer would.
    buttons = kefu.load_spec(DEMO_BOT).intent("order_status").payload
    code, out, _ = run("chat", stdin="我的订单到哪了\n2024112712345678\n")
    lines = out.splitlines()
    # order_status has several reply variants, picked at random: each names the order
    assert code == 0 and lines[2].startswith("你: 小客: ") and "2024112712345678" in lines[2]
    assert lines[3] == f"  payload: {json.dumps(buttons, ensure_ascii=False)}"
    assert "payload" not in lines[1]  # the question for the order number has none


def test_console_script_version() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from kefu.cli import main; main()", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == f"kefu {kefu.__version__}"


@pytest.mark.parametrize("delay", [0.05, 0.1, 0.2, 0.3])
def test_ctrl_c_while_the_command_line_starts_exits_130_without_a_traceback(delay: float) -> None:
    """Ctrl-C during the first half second (importing the commands) printed a KeyboardInterrupt
    traceback; later, typer ends quietly with 130. The child says when kefu itself is imported:
    what comes before that (Python starting) is not kefu's to catch."""
    script = "import sys, kefu; print('started', flush=True); from kefu.cli import main; main()"
    child = subprocess.Popen(
        [sys.executable, "-c", script, "validate", str(DEMO_BOT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "started\n"
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert err == ""  # no KeyboardInterrupt traceback, nor anything else
    # 130 as typer gives a Ctrl-C in a command, unless validating was already done: then
    # 0, or killed by the signal when it came while Python shut down (its handlers are
    # back to the default by then, and there is nothing left to interrupt)
    done = child.returncode in (0, -signal.SIGINT) and out.startswith("ok: ")
    assert child.returncode == 130 or done, (child.returncode, out)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["chat", "--help"], ["validate", str(DEMO_BOT)]])
def test_main_gives_ctrl_c_back_when_it_returns(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A program that calls ``kefu.cli.main()`` itself gets its SIGINT handler back, not one
    that ends the process with 130: --help and --version used to return before the root
    command restored it."""
    from kefu.cli import main

    monkeypatch.setattr(sys, "argv", ["kefu", *args])
    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code in (0, None)
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        signal.signal(signal.SIGINT, before)
    assert capsys.readouterr().out


@pytest.mark.parametrize("args", [["--help"], ["chat", "--help"], ["test", "--help"]])
def test_help_works(args: list[str]) -> None:
    code, out, _ = run(*args)
    assert code == 0 and "Usage" in out


def test_test_says_where_a_report_cannot_go_and_leaves_the_file_alone(tmp_path: Path) -> None:
    taken = tmp_path / "notes.txt"
    taken.write_text("我的笔记", encoding="utf-8")
    code, _, err = run("test", str(DEMO_BOT), "--data", str(HELDOUT), "--out", str(taken))
    assert code == 1
    assert err.strip() == f"cannot write the report to {taken}: File exists"
    assert taken.read_text(encoding="utf-8") == "我的笔记"


def test_a_report_that_cannot_be_written_whole_leaves_the_old_one(tmp_path: Path) -> None:
    """report.json was written in place: at the file-size limit an 8 KB stump replaced it."""
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.json").write_text('{"accuracy": 0.9}', encoding="utf-8")
    (out / "report.md").write_text("# 上次的报告", encoding="utf-8")
    limit = 4096  # below the new report.json, above the old one

    def small_files() -> None:  # in the child only; Python ignores SIGXFSZ, so writes fail
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "kefu.cli", "test", str(DEMO_BOT), "--data", str(HELDOUT)]
    done = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, preexec_fn=small_files, check=False
    )
    # (jieba may complain above it that its own cache could not be written at this limit)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == f"cannot write the report to {out}: File too large"
    assert (out / "report.json").read_text(encoding="utf-8") == '{"accuracy": 0.9}'
    assert (out / "report.md").read_text(encoding="utf-8") == "# 上次的报告"
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]  # no temp file left


LONG_NAME = "x" * 5000  # longer than any file name the system takes (ENAMETOOLONG)


READ = "cannot read file: File name too long"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", LONG_NAME], READ),
        (["train", LONG_NAME, "-o", "model"], READ),
        (["explain", LONG_NAME, "你好"], READ),
        (["lint", LONG_NAME], READ),
        (["chat", LONG_NAME], READ),
        (["predict", "--bot", LONG_NAME, "你好"], READ),
        (["export", "jsonl", LONG_NAME], READ),
        (["plugins", LONG_NAME], READ),
        (["import", "csv", LONG_NAME, "-o", "out"], READ),
        (
            ["import", "rasa", str(Path(__file__).parent / "data" / "rasa3"), "-o", LONG_NAME],
            "cannot write the bot: File name too long",
        ),
    ],
    ids=lambda value: (
        "-".join(a for a in value if a != LONG_NAME and "/" not in a) if isinstance(value, list) else ""
    ),
)
def test_a_path_too_long_for_the_system_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code == 1 and "Traceback" not in err
    assert err.strip() == f"{LONG_NAME}:1: {message}"


def test_a_plugins_folder_too_long_for_the_system_is_reported_as_failed() -> None:
    code, out, err = run("plugins", "--plugins-dir", LONG_NAME)
    assert code == 0 and "Traceback" not in err
    assert "plugins folder does not exist" in out


def test_a_missing_plugins_folder_is_said_not_silently_skipped(
    write_bot: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    """`plugins: {dir: ...}` naming no folder (a typo) left the bot without its business
    rules, and only `kefu plugins` said so; a plugin file that fails to import was logged."""
    bot = write_bot(**{"bot.yaml": "version: 1\nplugins: {dir: no_such_plugins}\nintents:\n"
                       "  - name: a\n    examples: [你好, 在吗]\n"})  # fmt: skip
    code, out, err = run("validate", str(bot))
    assert code == 0 and out.startswith("ok: ")
    folder = bot / "no_such_plugins"
    assert err == f"warning: plugins folder {folder} (plugins.dir) is not a folder: the bot runs without it\n"
    with caplog.at_level("ERROR", logger="kefu.manager"):
        kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    assert (
        f"plugins folder {bot / 'no_such_plugins'} does not exist: no plugin is loaded from it"
        in caplog.messages
    )


def test_a_plugins_folder_that_is_a_file_is_reported_as_one(tmp_path: Path) -> None:
    file = tmp_path / "plugins.py"
    file.write_text("", encoding="utf-8")
    code, out, _ = run("plugins", "--plugins-dir", str(file))
    assert code == 0
    assert (
        f"FAILED plugins.py  [{file}]: plugins folder is a file, not a folder" in out
    )  # was: does not exist


def test_test_refuses_zero_workers() -> None:
    code, _, err = run("test", str(DEMO_BOT), "--data", str(HELDOUT), "-j", "0")
    assert code == 2 and "Traceback" not in err
    assert "'--jobs'" in err and "must be 1 or more, or -1 for every core" in err


@pytest.mark.parametrize("command", [["test"], ["tune"]])
def test_minus_one_worker_means_every_core_as_in_the_library(command: list[str]) -> None:
    # Refused by the CLI (min=1), though n_jobs=-1 is what the library documents.
    code, out, err = run(*command, str(DEMO_BOT), "--data", str(HELDOUT), "-j", "-1", "--json")
    assert code == 0, err
    rows = len(kefu.read_test_file(HELDOUT))
    result = json.loads(out)
    assert result["total"] == rows if command == ["test"] else 0 < result["recommended"]["threshold"] < 1


def test_predict_reads_bytes_that_are_not_utf8_and_writes_valid_utf8() -> None:
    # The console script in a strict UTF-8 locale: invalid stdin bytes and a CRLF line end.
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv[0] = 'kefu'; from kefu.cli import main; main()",
            "predict",
            "--json",
        ],
        input=b"\xff\xfe\xe9\x80\x80\xe6\xac\xbe\r\n",
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert json.loads(done.stdout.decode("utf-8"))["text"] == "\ufffd\ufffd退款"


# --- kefu export -o ----------------------------------------------------------------------

EXPORT_BOT = {
    "a.yaml": "version: 1\nintents:\n  - name: greet\n    examples: [你好, 在吗]\n",
    "b.yml": "version: 1\nintents:\n  - name: bye\n    examples: [再见]\n",
}
EXPORTED = "".join(
    json.dumps({"text": text, "intent": intent}, ensure_ascii=False) + "\n"
    for text, intent in [("你好", "greet"), ("在吗", "greet"), ("再见", "bye")]
)


def _export_bot(folder: Path) -> dict[str, bytes]:
    """Write EXPORT_BOT into ``folder``/bot; returns every file there with its bytes."""
    (folder / "bot").mkdir()
    for name, text in EXPORT_BOT.items():
        (folder / "bot" / name).write_text(text, encoding="utf-8")
    return _contents(folder / "bot")


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# fmt: off
# Run from the folder holding bot/: BOT, the -o value, a link made there to bot/a.yaml, and
# the bot file the error names (as the loader lists it).
BOT_FILE_TARGETS = [
    pytest.param("bot", "bot/a.yaml", None, "bot/a.yaml", id="the-path-as-listed"),
    # another spelling of the path, to a .yml file
    pytest.param("bot", "./bot/../bot/b.yml", None, "bot/b.yml", id="another-spelling"),
    # a one-file bot, exported over itself by its absolute path
    pytest.param("bot/a.yaml", "{tmp}/bot/a.yaml", None, "bot/a.yaml", id="one-file-bot-absolute"),
    # a link elsewhere that leads to a bot file: writing through it would replace the bot file
    pytest.param("bot", "examples.jsonl", "symbolic", "bot/a.yaml", id="symbolic-link"),
    pytest.param("bot", "examples.jsonl", "hard", "bot/a.yaml", id="hard-link"),
]
# fmt: on


@pytest.mark.parametrize(("bot", "output", "link", "source"), BOT_FILE_TARGETS)
def test_export_refuses_to_overwrite_a_bot_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bot: str, output: str, link: str | None, source: str
) -> None:
    before = _export_bot(tmp_path)
    monkeypatch.chdir(tmp_path)
    output = output.format(tmp=tmp_path)
    if link == "symbolic":
        Path(output).symlink_to(tmp_path / "bot" / "a.yaml")
    elif link == "hard":
        os.link(tmp_path / "bot" / "a.yaml", output)
    code, stdout, stderr = run("export", "jsonl", bot, "-o", output)
    assert (code, stdout) == (1, "")
    message = f"is the bot file {source}; refusing to overwrite it: export to another file"
    assert stderr == f"{Path(output)}:1: {message}\n"  # the path as Path spells it: ./ dropped
    assert _contents(tmp_path / "bot") == before  # unchanged, and no temporary file left


def test_export_replaces_another_existing_file(tmp_path: Path) -> None:
    # Like `kefu test --out` with its report files: exporting again refreshes the export.
    _export_bot(tmp_path)
    target = tmp_path / "examples.jsonl"
    target.write_text("旧的导出\n", encoding="utf-8")
    target.chmod(0o640)
    code, stdout, _ = run("export", "jsonl", str(tmp_path / "bot"), "-o", str(target))
    assert (code, stdout) == (0, f"exported 3 examples of 2 intents -> {target}\n")
    assert target.read_text(encoding="utf-8") == EXPORTED
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # its permissions are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot", "examples.jsonl"]


def test_export_writes_into_a_named_pipe_and_leaves_it_a_pipe(tmp_path: Path) -> None:
    # A pipe or a device (-o /dev/stdout, /dev/null) is written to, as any program writes to
    # it; it was replaced by a regular file (as root, /dev/null became one).
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    _export_bot(tmp_path)
    pipe = tmp_path / "examples.jsonl"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a reader waiting, so the write can open
    try:
        code, stdout, _ = run("export", "jsonl", str(tmp_path / "bot"), "-o", str(pipe))
        assert (code, stdout) == (0, f"exported 3 examples of 2 intents -> {pipe}\n")
        assert stat.S_ISFIFO(pipe.stat().st_mode)
        assert os.read(reader, 1 << 16).decode("utf-8") == EXPORTED
    finally:
        os.close(reader)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot", "examples.jsonl"]


@contextlib.contextmanager
def _file_size_limit(size: int) -> Iterator[None]:
    """Writes past ``size`` bytes fail with EFBIG, as a full disk fails them with ENOSPC."""
    resource = pytest.importorskip("resource")
    if not hasattr(signal, "SIGXFSZ"):
        pytest.skip("no file size limit on this system")
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_export_that_fails_half_way_leaves_the_old_file_whole(tmp_path: Path) -> None:
    _export_bot(tmp_path)
    target = tmp_path / "examples.jsonl"
    target.write_text("旧的导出\n", encoding="utf-8")
    with _file_size_limit(len(EXPORTED.encode()) // 2):
        code, _, stderr = run("export", "jsonl", str(tmp_path / "bot"), "-o", str(target))
    assert (code, stderr) == (1, f"{target}:1: cannot write file: File too large\n")
    assert target.read_text(encoding="utf-8") == "旧的导出\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot", "examples.jsonl"]


@pytest.mark.parametrize("output", ["bot/examples.yaml", "bot/../bot/examples.yml"])
def test_export_refuses_a_new_yaml_file_in_the_bot_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    before = _export_bot(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = run("export", "jsonl", "bot", "-o", output)
    assert (code, stdout) == (1, "")
    message = "would become part of the bot in bot: every *.yaml there is loaded; export elsewhere"
    assert stderr == f"{Path(output)}:1: {message}\n"
    assert _contents(tmp_path / "bot") == before
    assert run("export", "jsonl", "bot", "-o", "bot/examples.jsonl")[0] == 0  # not a bot file: fine


def test_export_to_dash_writes_standard_output_not_a_file_named_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The summary calls standard output "-"; `-o -` wrote a file by that name.
    _export_bot(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = run("export", "jsonl", "bot", "-o", "-")
    assert (code, stdout) == (0, EXPORTED)
    assert stderr == "exported 3 examples of 2 intents -> standard output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot"]


def test_predict_drops_the_byte_order_mark_of_a_file_on_stdin() -> None:
    # Messages saved by Notepad: the first text came back as "\ufeff你好", with an invisible
    # character no one typed.
    code, out, _ = run("predict", "--json", stdin="\ufeff你好\r\n转人工\r\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(x["text"], x["intent"]) for x in lines] == [("你好", "greeting"), ("转人工", "human")]


@pytest.mark.parametrize(
    "args",
    [["validate", "{model}"], ["train", "{model}", "-o", "{tmp}/again"], ["export", "jsonl", "{model}"]],
    ids=lambda args: args[0],
)
def test_commands_that_need_bot_files_name_a_saved_model_as_one(tmp_path: Path, args: list[str]) -> None:
    # They said "{model}:1: directory holds no .yaml bot files", of a folder full of a bot.
    model = tmp_path / "model"
    assert run("train", str(DEMO_BOT), "-o", str(model))[0] == 0
    code, out, err = run(*(arg.format(model=model, tmp=tmp_path) for arg in args))
    assert (code, out) == (1, "")
    copy = model / "bot"
    assert (
        err
        == f"{model}:1: is a saved model, not a bot's YAML files; the model keeps a copy of them in {copy}\n"
    )
    assert run("validate", str(copy))[0] == 0  # and that copy is a bot
