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
