"""The README's two commands are the ones CI and the Chinese quick start use."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from kefu.spec import BotSettings, MatcherSettings, SessionSettings

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
    # The daily loop's first command: every intent needs as many examples as folds.
    cross_validated = json.loads(kefu("test", "mybot/", "--cv", "5", "--json"))
    assert cross_validated["total"] == 15


def test_the_chinese_quick_start_tours_the_same_bot() -> None:
    def bot_without_comments(readme: str) -> object:
        found = re.search(r"```yaml\n# mybot/bot.yaml\n(.*?)```", readme, re.S)
        assert found is not None
        return yaml.safe_load(found.group(1))

    english = bot_without_comments((ROOT / "README.md").read_text(encoding="utf-8"))
    chinese = bot_without_comments((ROOT / "README.zh-CN.md").read_text(encoding="utf-8"))
    assert chinese == english


def _documented_defaults(section: str) -> dict[str, str]:
    """``key -> default`` from the table under ``## `section` `` in docs/intents.md."""
    text = (ROOT / "docs" / "intents.md").read_text(encoding="utf-8")
    body = text.split(f"## `{section}`", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", body, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("section", "settings"),
    [("bot", BotSettings), ("matcher", MatcherSettings), ("sessions", SessionSettings)],
)
def test_the_bot_file_reference_lists_every_setting_with_its_real_default(
    section: str, settings: type
) -> None:
    documented = _documented_defaults(section)
    fields = {f.name: f.default for f in dataclasses.fields(settings)}
    assert sorted(documented) == sorted(fields)
    for key, shown in documented.items():
        value = fields[key]
        if isinstance(value, (bool, int, float)) or (isinstance(value, tuple) and len(value) == 2):
            # a YAML-readable default, written as the bot file would write it
            written = yaml.safe_load(shown.strip("`"))
            assert (tuple(written) if isinstance(written, list) else written) == value, key
        elif isinstance(value, str) and len(value) < 20:
            assert shown == f"`{value}`", key


def _table_rows(readme: str, heading: str) -> list[str]:
    """The rows of the first table under ``heading``, header and rule left out."""
    body = readme.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| |")]


BOX = {"README.md": "## What else is in the box", "README.zh-CN.md": "## 还有什么"}


@pytest.mark.parametrize("readme", sorted(BOX))
def test_the_readme_names_every_benchmark_script(readme: str) -> None:
    rows = _table_rows((ROOT / readme).read_text(encoding="utf-8"), BOX[readme])
    named = set(re.findall(r"`(\w+\.py)`", next(row for row in rows if "`bench/`" in row)))
    scripts = {p.name for p in (ROOT / "bench").glob("*.py")} - {"benchlib.py"}  # shared plumbing
    assert named == scripts


def test_the_chinese_readme_points_to_the_same_documents() -> None:
    def targets(readme: str) -> list[list[str]]:
        rows = _table_rows((ROOT / readme).read_text(encoding="utf-8"), BOX[readme])
        return [re.findall(r"\]\(([^)]+)\)", row) for row in rows]

    english = targets("README.md")
    assert ["docs/intents.md"] in english
    assert targets("README.zh-CN.md") == english  # row by row, in the same order
