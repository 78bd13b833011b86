"""bench/instructions.py compares this checkout with another revision laid out as the
installed package: that layout must import as the real one does."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _instructions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_instructions", ROOT / "bench" / "instructions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_layout_is_pyprojects() -> None:
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    expected = {folder: package.replace(".", "/") for package, folder in setuptools["package-dir"].items()}
    layout = _instructions().PACKAGE_DIRS
    assert layout == expected


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git repository")
def test_a_revision_is_laid_out_as_an_importable_kefu(tmp_path: Path) -> None:
    tree = _instructions().baseline("HEAD", tmp_path)
    probe = (
        "import kefu, kefu.cli, kefu.plugins, kefu.intents; from pathlib import Path; "
        "print(kefu.__file__); print(len(list(Path(kefu.intents.__file__).parent.glob('*.yaml'))))"
    )
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    where, bot_files = done.stdout.split()
    assert Path(where).is_relative_to(tree)
    assert int(bot_files) == len(list((ROOT / "intents").glob("*.yaml"))) > 0
