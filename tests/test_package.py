"""``import kefu`` itself: every public name is there, and reading one imports only what it needs."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import kefu

DEMO_BOT = Path(kefu.__file__).parent / "intents"


def run_python(code: str) -> str:
    """``code`` run in a fresh interpreter (nothing imported yet); what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def test_every_public_name_is_what_its_module_defines() -> None:
    assert sorted(kefu._MODULE_OF) == sorted(kefu.__all__)  # no name without a home, none unlisted
    for name in kefu.__all__:
        assert getattr(kefu, name) is getattr(importlib.import_module(kefu._MODULE_OF[name]), name)
    assert set(kefu.__all__) <= set(dir(kefu))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'kefu' has no attribute 'Engin'"):
        kefu.Engin  # type: ignore[attr-defined]  # noqa: B018


def test_import_kefu_loads_no_numerics() -> None:
    # All of NumPy, SciPy and jieba cost about half a second at every start.
    loaded = run_python("import sys, kefu; print(sorted({'numpy', 'scipy', 'jieba'} & set(sys.modules)))")
    assert loaded == "[]"


def test_kefu_validate_and_help_load_no_numerics() -> None:
    code = (
        "import sys\n"
        "from kefu.cli import main\n"
        "for argv in (['kefu', '--help'], ['kefu', 'validate', sys.argv[1]]):\n"
        "    sys.argv = argv\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "print('numpy' in sys.modules, 'scipy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(DEMO_BOT)], capture_output=True, text=True, timeout=120, check=True
    )
    assert "ok:" in done.stdout  # validate ran
    assert done.stdout.strip().splitlines()[-1] == "False False"


@pytest.mark.parametrize("function_first", [True, False], ids=["function-first", "module-first"])
def test_a_submodule_never_hides_the_function_of_its_name(function_first: bool) -> None:
    # kefu.lint, kefu.evaluate, kefu.explain and kefu.normalize are modules and functions:
    # importing the module (any kefu code does) must leave kefu.lint the function.
    names = ("lint", "evaluate", "explain", "normalize")
    read = "[kefu." + ", kefu.".join(names) + "]\n"
    imports = "".join(f"import kefu.{name}\n" for name in names)
    code = (
        "import kefu, types\n"
        + (read + imports if function_first else imports)
        + "print([callable(getattr(kefu, n)) and not isinstance(getattr(kefu, n), types.ModuleType)"
        + f" for n in {names!r}], kefu.normalize('ＡＢ'))\n"
    )
    assert run_python(code) == "[True, True, True, True] ab"
