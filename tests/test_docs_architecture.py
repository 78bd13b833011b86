"""docs/architecture.md describes every module of the library."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_module_table_names_every_engine_module() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Modules (engine/)", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    described = {name for row in rows for name in re.findall(r"`(\w+)`", row.split(" | ")[0])}
    modules = {p.stem for p in (ROOT / "engine").glob("*.py")} - {"__init__", "_version"}
    assert sorted(modules - described) == []
    assert sorted(described - modules) == []  # no row for a module that is gone
