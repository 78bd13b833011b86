"""The README's two commands are the ones CI and the Chinese quick start use."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands(readme: str) -> list[str]:
    return re.findall(r"```bash\n(python3 -m venv[^\n]+)\n```", readme)


def test_readme_starts_with_the_try_and_develop_commands() -> None:
    try_it, develop = _commands((ROOT / "README.md").read_text(encoding="utf-8"))[:2]
    assert try_it.endswith("pip install . && kefu chat")
    assert develop.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    develop = _commands((ROOT / "README.md").read_text(encoding="utf-8"))[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert develop in ci.splitlines()


def test_chinese_quick_start_has_the_same_commands() -> None:
    english = _commands((ROOT / "README.md").read_text(encoding="utf-8"))[:2]
    chinese = _commands((ROOT / "README.zh-CN.md").read_text(encoding="utf-8"))[:2]
    assert chinese == english


def test_the_five_minute_tour_works_as_written(tmp_path: Path) -> None:
    """The README's bot file and commands, run as a newcomer would."""
    import json

    from typer.testing import CliRunner

    from kefu.cli import build_app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bot_yaml = re.search(r"```yaml\n# mybot/bot.yaml\n(.*?)```", readme, re.S)
    assert bot_yaml is not None
    (tmp_path / "mybot").mkdir()
    (tmp_path / "mybot" / "bot.yaml").write_text(bot_yaml.group(1), encoding="utf-8")

    def kefu(*args: str) -> str:
        result = CliRunner().invoke(build_app(), [a.replace("mybot/", f"{tmp_path}/mybot/") for a in args])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert kefu("validate", "mybot/").startswith("ok: 3 intents")
    kefu("train", "mybot/", "-o", str(tmp_path / "model"))
    predicted = json.loads(kefu("predict", "钱啥时候退给我", "--bot", str(tmp_path / "model"), "--json"))
    assert predicted["intent"] == "refund"
    assert "decision:" in kefu("explain", "mybot/", "钱啥时候退给我")
    assert kefu("lint", "mybot/").splitlines()[-1].startswith("0 error(s)")
