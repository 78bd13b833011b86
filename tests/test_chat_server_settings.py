"""The example chat server's settings check themselves: from ``KEFU_CHAT_*`` variables, in
code (``Settings(...)``), and when the server starts (a message and exit status 1, as for
a bad bot file).
"""

from __future__ import annotations

import math
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from chat_server.launch import running_server
from chat_server.settings import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chat_server"
HEADER = "invalid chat server settings:\n"


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(ValueError, match=r"^invalid chat server settings:") as caught:
        Settings.from_env(env)
    return str(caught.value)


def run_server(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python examples/chat_server`` as the README starts it; the timeout only stops a
    server that started anyway (the old behaviour) instead of hanging the test run."""
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--log-level", "warning", *args],
        env={**os.environ, "KEFU_LOAD_PLUGINS": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        # 0 would make the outbox unbounded (asyncio.Queue(0)): the opposite of what it says
        ("OUTBOX_SIZE", "0", "must be a whole number, at least 1"),
        ("OUTBOX_SIZE", "-5", "must be a whole number, at least 1"),
        # 0 chats per agent: nobody could ever be served
        ("AGENT_MAX_CHATS", "0", "must be a whole number, at least 1"),
        # a burst of 0: every message would be rate-limited
        ("VISITOR_BURST", "0", "must be a whole number, at least 1"),
        ("AGENT_BURST", "-1", "must be a whole number, at least 1"),
        ("FLOOD_STRIKES", "0", "must be a whole number, at least 1"),
        # -1: every connection would be refused as "server is full"
        ("MAX_CONNECTIONS", "-1", "must be a whole number, at least 1"),
        ("MAX_FRAME_BYTES", "0", "must be a whole number, at least 1"),
        ("HARD_FRAME_BYTES", "0", "must be a whole number, at least 1"),
        # a size is a whole number
        ("OUTBOX_SIZE", "64.5", "must be a whole number, at least 1"),
        # 70000 silently listened on 70000 - 65536 = 4464
        ("PORT", "70000", "must be a whole number from 0 to 65535 (0: any free port)"),
        ("PORT", "-1", "must be a whole number from 0 to 65535 (0: any free port)"),
        ("PORT", "8000.0", "must be a whole number from 0 to 65535 (0: any free port)"),
        ("PORT", "http", "must be a whole number from 0 to 65535 (0: any free port)"),
        # nan and inf passed float(); a negative timeout closed every visitor as stalled
        ("SEND_TIMEOUT", "nan", "must be a number above 0 (not inf or nan)"),
        ("SEND_TIMEOUT", "-1", "must be a number above 0 (not inf or nan)"),
        ("VISITOR_RATE", "inf", "must be a number above 0 (not inf or nan)"),
        ("AGENT_RATE", "0", "must be a number above 0 (not inf or nan)"),
        ("AGENT_RATE", "fast", "must be a number above 0 (not inf or nan)"),
        # a token of spaces is a typo, not a password
        ("AGENT_TOKEN", "  ", "must not be empty or blank (unset means no token)"),
    ],
)
def test_a_bad_variable_is_named_with_its_value_and_range(variable: str, value: str, why: str) -> None:
    name = f"KEFU_CHAT_{variable}"
    assert refusal({name: value}) == f"{HEADER}  {name}={value!r}: {why}"


def test_every_bad_variable_is_reported_at_once_in_the_fields_order() -> None:
    env = {
        "KEFU_CHAT_SEND_TIMEOUT": "inf",
        "KEFU_CHAT_PORT": "99999",
        "KEFU_CHAT_OUTBOX_SIZE": "0",
        "KEFU_CHAT_MAX_CONNECTIONS": "many",
    }
    assert refusal(env) == HEADER + (
        "  KEFU_CHAT_PORT='99999': must be a whole number from 0 to 65535 (0: any free port)\n"
        "  KEFU_CHAT_OUTBOX_SIZE='0': must be a whole number, at least 1\n"
        "  KEFU_CHAT_SEND_TIMEOUT='inf': must be a number above 0 (not inf or nan)\n"
        "  KEFU_CHAT_MAX_CONNECTIONS='many': must be a whole number, at least 1"
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        # the soft limit above the hard one could never be reached
        (
            {"KEFU_CHAT_MAX_FRAME_BYTES": "100000"},
            "KEFU_CHAT_MAX_FRAME_BYTES='100000': must be at most KEFU_CHAT_HARD_FRAME_BYTES (65536)",
        ),
        # lowering the hard limit alone: the default soft limit is named as such
        (
            {"KEFU_CHAT_HARD_FRAME_BYTES": "1000"},
            "KEFU_CHAT_MAX_FRAME_BYTES (default 20096): must be at most KEFU_CHAT_HARD_FRAME_BYTES (1000)",
        ),
    ],
)
def test_the_frame_limit_must_not_exceed_the_hard_one(env: dict[str, str], line: str) -> None:
    assert refusal(env) == f"{HEADER}  {line}"


@pytest.mark.parametrize(
    ("kwargs", "line"),
    [
        ({"outbox_size": 0}, "outbox_size=0: must be a whole number, at least 1"),
        ({"agent_max_chats": -3}, "agent_max_chats=-3: must be a whole number, at least 1"),
        ({"port": 65536}, "port=65536: must be a whole number from 0 to 65535 (0: any free port)"),
        # True is an int to Python, not a port
        ({"port": True}, "port=True: must be a whole number from 0 to 65535 (0: any free port)"),
        ({"max_connections": "10"}, "max_connections='10': must be a whole number, at least 1"),
        ({"send_timeout": math.nan}, "send_timeout=nan: must be a number above 0 (not inf or nan)"),
        ({"visitor_rate": -math.inf}, "visitor_rate=-inf: must be a number above 0 (not inf or nan)"),
        # "" would be a token nobody can send
        ({"agent_token": ""}, "agent_token='': must not be empty or blank (unset means no token)"),
        (
            {"max_frame_bytes": 8192, "hard_frame_bytes": 4096},
            "max_frame_bytes=8192: must be at most hard_frame_bytes (4096)",
        ),
    ],
)
def test_settings_built_in_code_are_checked_by_field_name(kwargs: dict[str, Any], line: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid chat server settings:") as caught:
        Settings(**kwargs)
    assert str(caught.value) == f"{HEADER}  {line}"


@pytest.mark.parametrize(
    ("field", "lowest", "too_low"),
    [
        ("outbox_size", 1, 0),  # one frame at a time is allowed
        ("port", 0, -1),  # 0: any free port
        ("max_frame_bytes", 1, 0),
        ("send_timeout", 0.001, 0.0),
        ("visitor_rate", 1e-9, -1e-9),
    ],
)
def test_the_lowest_allowed_value_is_accepted_and_the_next_one_down_refused(
    field: str, lowest: Any, too_low: Any
) -> None:
    assert getattr(Settings(**{field: lowest}), field) == lowest
    with pytest.raises(ValueError, match=f"  {field}="):
        Settings(**{field: too_low})


def test_edges_and_spelling_that_mean_one_number_are_accepted() -> None:
    env = {
        "KEFU_CHAT_PORT": " 65535 ",  # int() ignores surrounding spaces: so do we
        "KEFU_CHAT_MAX_CONNECTIONS": "10_000",
        "KEFU_CHAT_VISITOR_RATE": "1e-3",
        "KEFU_CHAT_MAX_FRAME_BYTES": "65536",  # equal to the hard limit is fine
        "KEFU_CHAT_AGENT_TOKEN": "",  # empty means the default: no token
        "KEFU_CHAT_OUTBOX_SIZE": "",
    }
    settings = Settings.from_env(env)
    got = (settings.port, settings.max_connections, settings.visitor_rate, settings.max_frame_bytes)
    assert got == (65535, 10_000, 0.001, 65536)
    assert (settings.agent_token, settings.outbox_size) == (None, 64)
    with pytest.raises(ValueError, match=r"KEFU_CHAT_PORT='65536'"):
        Settings.from_env({**env, "KEFU_CHAT_PORT": "65536"})


def readme_settings() -> tuple[dict[str, str], list[str], str]:
    """The README's settings table as variables and defaults, and its console example."""
    text = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    defaults: dict[str, str] = {}
    for names, default in re.findall(r"^\| (`KEFU_CHAT_.*?) \| (.*?) \|", text, re.MULTILINE):
        variables = re.findall(r"`([A-Z_]+)`", names)
        # `KEFU_CHAT_VISITOR_RATE`, `_BURST`: the second shares the first's prefix
        variables = [v if v.startswith("KEFU") else variables[0].rsplit("_", 1)[0] + v for v in variables]
        values = [v.strip(" `").removesuffix(" /s") for v in default.split(",")]
        if len(values) == len(variables) and not default.startswith(("the ", "unset")):
            defaults.update(zip(variables, values, strict=True))
    console = re.search(r"```console\n\$ (.*?)\n(.*?)```", text, re.DOTALL)
    assert console is not None
    return defaults, shlex.split(console[1]), console[2]


def test_the_readme_defaults_are_valid_and_its_bad_example_says_what_it_shows() -> None:
    defaults, command, output = readme_settings()
    assert len(defaults) == 14  # every setting but the bot, Redis and the token
    assert Settings.from_env(defaults) == Settings()
    env = dict(word.split("=", 1) for word in command if "=" in word)
    assert command[len(env) :] == ["python", "examples/chat_server"]
    assert refusal(env) + "\n" == output


def test_the_server_started_with_bad_variables_exits_1_with_the_message_and_no_traceback() -> None:
    _, command, output = readme_settings()
    env = dict(word.split("=", 1) for word in command if "=" in word)
    done = run_server(env)
    assert (done.returncode, done.stderr, done.stdout) == (1, output, "")


def test_the_server_started_with_a_bad_bot_file_exits_1_naming_the_file(tmp_path: Path) -> None:
    bot = tmp_path / "bot.yaml"
    bot.write_text("bot: [\n", encoding="utf-8")
    done = run_server({}, "--bot", str(bot), "--port", "8000")
    assert done.returncode == 1
    assert done.stderr.startswith(f"{bot}:2: invalid YAML: ")
    assert done.stderr.count("\n") == 1  # one line, no traceback


def unknown(variable: str, setting: str | None = None) -> str:
    """The warning about ``variable``, which is no setting (``setting``: the one suggested)."""
    hint = f" (did you mean {setting}?)" if setting else ""
    return f"{variable} is not a chat server setting{hint}: ignored"


@pytest.mark.parametrize(
    ("env", "warnings"),
    [
        # the typo from the bug report: the server listened on 8000 without a word
        ({"KEFU_CHAT_PROT": "9000"}, [unknown("KEFU_CHAT_PROT", "KEFU_CHAT_PORT")]),
        # the value is never shown: it may be a password
        ({"KEFU_CHAT_AGENT_TOKN": "s3cret"}, [unknown("KEFU_CHAT_AGENT_TOKN", "KEFU_CHAT_AGENT_TOKEN")]),
        ({"KEFU_CHAT_port": "9000"}, [unknown("KEFU_CHAT_port", "KEFU_CHAT_PORT")]),
        # nothing close (perhaps another tool's variable): named without a guess
        ({"KEFU_CHAT_THEME": "dark"}, [unknown("KEFU_CHAT_THEME")]),
        # one warning each, in name order; settings and other prefixes are not mentioned
        (
            {
                "KEFU_CHAT_VISITOR_RATES": "1",
                "KEFU_CHAT_MAX_FRAME_BYTE": "",
                "KEFU_CHAT_OUTBOX_SIZE": "16",
                "KEFU_LOAD_PLUGINS": "",
                "KEFU_CHATTY": "1",
            },
            [
                unknown("KEFU_CHAT_MAX_FRAME_BYTE", "KEFU_CHAT_MAX_FRAME_BYTES"),
                unknown("KEFU_CHAT_VISITOR_RATES", "KEFU_CHAT_VISITOR_RATE"),
            ],
        ),
        # settings only: not a word
        ({"KEFU_CHAT_PORT": "9000", "KEFU_CHAT_AGENT_TOKEN": "s3cret"}, []),
    ],
)
def test_a_kefu_chat_variable_that_is_no_setting_is_warned_about_and_ignored(
    env: dict[str, str], warnings: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="chat_server.settings"):
        settings = Settings.from_env(env)
    assert [record.getMessage() for record in caplog.records] == warnings
    assert "s3cret" not in caplog.text
    assert settings.port == int(env.get("KEFU_CHAT_PORT", "8000"))


def test_the_server_warns_about_a_misspelled_variable_and_starts(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with running_server({"KEFU_LOAD_PLUGINS": "", "KEFU_CHAT_PROT": "9000"}, log=log):
        output = log.read_text(encoding="utf-8")
    assert unknown("KEFU_CHAT_PROT", "KEFU_CHAT_PORT") + "\n" in output


@pytest.mark.parametrize(
    ("env", "flags", "port"),
    [
        # the bug report: --port 9000 did not start, for a variable it replaces
        ({"KEFU_CHAT_PORT": "abc"}, {"port": 9000}, 9000),
        ({"KEFU_CHAT_PORT": "70000"}, {"port": 9000}, 9000),
        # a good variable loses to the flag too
        ({"KEFU_CHAT_PORT": "8001"}, {"port": 9000}, 9000),
        # no flag: the variable counts
        ({"KEFU_CHAT_PORT": "8001"}, {}, 8001),
    ],
)
def test_a_flag_wins_over_its_variable_which_is_not_even_checked(
    env: dict[str, str], flags: dict[str, Any], port: int
) -> None:
    assert Settings.from_env(env, flags=flags).port == port


def test_bad_variables_without_a_flag_are_still_all_reported_and_bad_flags_named_as_flags() -> None:
    env = {"KEFU_CHAT_PORT": "abc", "KEFU_CHAT_OUTBOX_SIZE": "0", "KEFU_CHAT_SEND_TIMEOUT": "nan"}
    assert refusal_with_flags(env, {"port": 9000}) == HEADER + (
        "  KEFU_CHAT_OUTBOX_SIZE='0': must be a whole number, at least 1\n"
        "  KEFU_CHAT_SEND_TIMEOUT='nan': must be a number above 0 (not inf or nan)"
    )
    assert refusal_with_flags({"KEFU_CHAT_PORT": "8001"}, {"port": 70000}) == (
        f"{HEADER}  --port=70000: must be a whole number from 0 to 65535 (0: any free port)"
    )


def refusal_with_flags(env: dict[str, str], flags: dict[str, Any]) -> str:
    with pytest.raises(ValueError, match=r"^invalid chat server settings:") as caught:
        Settings.from_env(env, flags=flags)
    return str(caught.value)


def test_the_server_given_a_flag_ignores_a_bad_variable_for_it() -> None:
    # Started with --port: KEFU_CHAT_PORT is not read; the other bad variable still stops it.
    done = run_server({"KEFU_CHAT_PORT": "abc", "KEFU_CHAT_OUTBOX_SIZE": "0"}, "--port", "9000")
    expected = f"{HEADER}  KEFU_CHAT_OUTBOX_SIZE='0': must be a whole number, at least 1\n"
    assert (done.returncode, done.stderr, done.stdout) == (1, expected, "")
    # --help needs no setting at all
    done = run_server({"KEFU_CHAT_PORT": "abc"}, "--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert "--port PORT           Port (default: KEFU_CHAT_PORT, else 8000)." in done.stdout


def test_the_server_listens_on_the_flags_port_whatever_its_variable_says(tmp_path: Path) -> None:
    # running_server passes --host and --port: the old server refused to start over KEFU_CHAT_PORT.
    env = {"KEFU_LOAD_PLUGINS": "", "KEFU_CHAT_PORT": "abc", "KEFU_CHAT_HOST": "256.0.0.1"}
    with (
        running_server(env, log=tmp_path / "server.log") as url,
        urllib.request.urlopen(f"{url}/healthz", timeout=10) as answer,
    ):
        assert answer.status == 200  # on the port and host given by the flags


def test_a_bad_log_level_is_a_usage_error_and_trace_is_one_of_the_levels() -> None:
    # Both ended in a ValueError traceback from logging.basicConfig ("Unknown level").
    done = run_server({}, "--log-level", "loud")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.endswith(
        "argument --log-level: invalid choice: 'loud' "
        "(choose from 'critical', 'error', 'warning', 'info', 'debug', 'trace')\n"
    )
    # TRACE is uvicorn's level below debug; the bad variable makes the server stop right
    # after logging is set up, so the test need not start it.
    done = run_server({"KEFU_CHAT_OUTBOX_SIZE": "0"}, "--log-level", "TRACE")
    expected = f"{HEADER}  KEFU_CHAT_OUTBOX_SIZE='0': must be a whole number, at least 1\n"
    assert (done.returncode, done.stderr) == (1, expected)


def test_port_0_serves_on_a_free_port_and_prints_that_port(tmp_path: Path) -> None:
    # Refused before: the server printed its address before it listened, so :0 would show.
    log = tmp_path / "server.log"
    command = [sys.executable, str(EXAMPLE), "--port", "0", "--log-level", "warning"]
    env = {**os.environ, "KEFU_LOAD_PLUGINS": ""}
    with log.open("wb") as out, subprocess.Popen(command, env=env, stdout=out, stderr=out) as server:
        try:
            url = ""
            for _ in range(600):  # the first line comes once the bot is loaded
                found = re.search(r"visitor widget: (http://127\.0\.0\.1:(\d+))/", log.read_text("utf-8"))
                if found:
                    url = found[1]
                    break
                assert server.poll() is None, log.read_text("utf-8")
                threading.Event().wait(0.2)
            assert url and int(url.rsplit(":", 1)[1]) > 0
            for _ in range(100):
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
                        assert answer.status == 200
                        break
                except OSError:
                    threading.Event().wait(0.2)
            else:
                raise AssertionError(f"nothing answered at {url}: {log.read_text('utf-8')}")
        finally:
            server.terminate()


def test_an_address_the_server_cannot_listen_on_is_one_line_before_the_bot_loads() -> None:
    # Was: the addresses printed, the bot loaded, then uvicorn's error and exit status 3.
    done = run_server({}, "--host", "nosuch.invalid", "--port", "8000")
    assert (done.returncode, done.stdout) == (1, "")
    # The resolver's words vary ("Name or service not known", "... in name resolution"): one line.
    assert done.stderr.startswith("cannot listen on nosuch.invalid:8000: ")
    assert done.stderr.count("\n") == 1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_server({}, "--host", "127.0.0.1", "--port", str(port))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"cannot listen on 127.0.0.1:{port}: Address already in use\n"
