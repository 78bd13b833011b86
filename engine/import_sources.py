"""Reading the files an import reads: their text, YAML node trees, and which files a folder holds.

Text is UTF-8, or UTF-16/32 with a byte order mark, as the tools teams export from save it;
any other encoding is an error at the line of its first undecodable byte (naming GB18030
when the file reads as that). YAML is composed as written (no types resolved) with every
node's line, so the readers can name ``file:line``. A folder's files skip hidden folders
and installed packages, and any folder the reader holds out (Rasa's ``tests/``).
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import yaml

from kefu.errors import SpecError
from kefu.loader import path_mode
from kefu.normalize import SURROGATE
from kefu.yaml_lines import compose, each_node
from kefu.yamlsource import join_surrogate_pairs, lone_surrogate, read_bytes, syntax_error

__all__ = [
    "LONG_NUMBER",
    "first_lone_surrogate",
    "long_number_line",
    "node_line",
    "node_list",
    "node_mapping",
    "node_text",
    "read_text",
    "read_yaml_node",
    "source_files",
]


LONG_NUMBER = "invalid JSON: a number of more than 4,300 digits (Python reads no longer ones)"
"""What a JSON source holding such a number is told: ``json.loads`` raises ``ValueError``."""


def long_number_line(text: str) -> int:
    """The line of ``text`` that holds the first number ``json.loads`` refuses as too long."""
    found = re.search(r"[0-9]{4301}", text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


# A byte order mark names its encoding (UTF-32's before UTF-16's, which it starts with):
# Excel's "Unicode Text", Notepad's "Unicode" and PowerShell 5's `>` write UTF-16 with one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_text(path: Path) -> str:
    """A file's text: UTF-8, or UTF-16/32 when it starts with a byte order mark.

    ``SpecError`` if unreadable, or at the line of an undecodable byte, naming the encoding
    the file reads as when that is GB18030 (what Chinese Windows tools save by default).
    """
    raw = read_bytes(path)
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    try:
        return raw.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].decode(encoding or "utf-8", errors="replace").count("\n") + 1
        raise SpecError.single(path, line, _not_decodable(raw, exc.start, encoding)) from None


def _not_decodable(raw: bytes, start: int, encoding: str | None) -> str:
    """What to say about a file that is not valid in the encoding it was read in."""
    if encoding is not None:
        bom = f"it starts with a {encoding} byte order mark"
        return f"file is not valid {encoding} ({bom}): save it again as UTF-8"
    problem = f"file is not UTF-8 (byte 0x{raw[start]:02x})"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return f"{problem}: save it as UTF-8"
    # Big5 text decodes as GB18030 too (as other characters): name it as the other possibility.
    return (
        f"{problem}; it reads as GB18030 (GBK), what Chinese Windows saves by default: convert it to "
        "UTF-8, e.g. iconv -f GB18030 -t UTF-8 (Excel: save as 'CSV UTF-8'; Big5 files: -f BIG5)"
    )


def read_yaml_node(path: Path) -> yaml.Node | None:
    """A YAML file's node tree (every scalar kept as written text), None when empty."""
    text = read_text(path)
    try:
        # BaseLoader resolves no types: `yes` and `1.10` stay the text the author wrote.
        root = compose(text, yaml.BaseLoader)
    except RecursionError:
        raise SpecError.single(path, 1, "invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        raise SpecError.single(path, *syntax_error(text, exc)) from None
    if root is not None:
        _whole_characters(path, root)
    return root


def _whole_characters(path: Path, root: yaml.Node) -> None:
    """Join \\u-escaped surrogate pairs in every scalar; a lone surrogate (half a character,
    which the bot kefu writes could not hold) is a ``SpecError`` at its line in the source."""
    for node in each_node(root):
        if isinstance(node, yaml.ScalarNode) and SURROGATE.search(node.value):
            node.value = join_surrogate_pairs(node.value)
            if problem := lone_surrogate(node.value):
                raise SpecError.single(path, node_line(node), problem)


def first_lone_surrogate(data: Any) -> str | None:
    """The first text in parsed JSON ``data`` that holds a lone surrogate, or None."""
    stack = [data]
    while stack:  # not recursive: the data may be deep
        value = stack.pop()
        if isinstance(value, str) and lone_surrogate(value):
            return value
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def node_line(node: yaml.Node) -> int:
    """The 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def node_mapping(path: Path, node: yaml.Node, what: str) -> dict[str, yaml.Node]:
    """The keys and value nodes of a YAML mapping; ``SpecError`` if ``node`` is not one."""
    if not isinstance(node, yaml.MappingNode):
        raise SpecError.single(path, node_line(node), f"{what} must be a mapping")
    return {str(key.value): value for key, value in node.value}


def node_list(path: Path, node: yaml.Node, what: str) -> list[yaml.Node]:
    """The items of a YAML list; ``SpecError`` if ``node`` is not one."""
    if not isinstance(node, yaml.SequenceNode):
        raise SpecError.single(path, node_line(node), f"{what} must be a list")
    return list(node.value)


def node_text(path: Path, node: yaml.Node, what: str) -> str:
    """The text of a YAML scalar; ``SpecError`` if ``node`` is a list or mapping."""
    if not isinstance(node, yaml.ScalarNode):
        raise SpecError.single(path, node_line(node), f"{what} must be text")
    return str(node.value)


def source_files(
    path: Path,
    suffixes: Iterable[str],
    *,
    recursive: bool,
    held_out: Collection[str] = (),
    skipped: list[Path] | None = None,
) -> list[Path]:
    """``path`` itself, or the files with one of ``suffixes`` in that folder, in name order.

    Hidden files and folders (``.rasa/``, ``.git/``) are skipped, and so are installed
    packages: a ``venv/`` inside a Rasa project holds Rasa's own starter-bot NLU data. So
    are folders below ``path`` named in ``held_out``; each that held such files is added to
    ``skipped``, for the caller to report.
    """
    if not stat.S_ISDIR(path_mode(path)):
        return [path]
    wanted = sorted(set(suffixes))
    files = []
    for folder, subfolders, names in os.walk(path):
        kept = [] if not recursive else [d for d in subfolders if not _skipped_folder(Path(folder, d))]
        if skipped is not None:
            skipped += [Path(folder, d) for d in kept if d in held_out and _holds(Path(folder, d), wanted)]
        subfolders[:] = [d for d in kept if d not in held_out]
        files += [Path(folder, n) for n in names if Path(n).suffix in wanted and not n.startswith(".")]
    files = sorted(f for f in files if f.is_file())
    if not files:
        outside = f" outside {', '.join(sorted({f'{d.name}/' for d in skipped}))}" if skipped else ""
        raise SpecError.single(path, 1, f"folder holds no {'/'.join(wanted)} files{outside}")
    return files


def _holds(folder: Path, suffixes: list[str]) -> bool:
    """Whether ``folder`` or a folder below it has a file with one of ``suffixes``."""
    return any(Path(n).suffix in suffixes for _, _, names in os.walk(folder) for n in names)


# What marks a folder of installed packages: a virtualenv, a conda environment, npm's folder.
_ENVIRONMENT_MARKS = ("pyvenv.cfg", "conda-meta")
_PACKAGE_FOLDERS = ("site-packages", "node_modules")


def _skipped_folder(folder: Path) -> bool:
    """A hidden folder, or one of installed packages (never a project's own data)."""
    return (
        folder.name.startswith(".")
        or folder.name in _PACKAGE_FOLDERS
        or any((folder / mark).exists() for mark in _ENVIRONMENT_MARKS)
    )
