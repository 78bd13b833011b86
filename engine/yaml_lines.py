"""Line numbers of YAML nodes and syntax errors, counted as editors count lines.

YAML 1.1 breaks lines at NEL, LS and PS (U+0085, U+2028, U+2029) as well as at ``\\n``
and ``\\r``; editors, ``grep -n`` and Python's text files do not. Text pasted from web
pages or word processors holds them, and from the first one on, PyYAML's line numbers
point below the line the author sees. Here lines end at ``\\n``, ``\\r\\n`` and ``\\r`` only.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import Any

import yaml

__all__ = ["compose", "each_node", "error_line", "line_at"]

_YAML_ONLY_BREAK = re.compile("[\x85\u2028\u2029]")
_LINE_END = re.compile(r"\r\n|\r|\n")
_BREAK_NAMES = {
    "\x85": "U+0085, a next-line mark",
    "\u2028": "U+2028, a line separator",
    "\u2029": "U+2029, a paragraph separator",
}


def compose(text: str, loader: Any) -> yaml.Node | None:
    """``yaml.compose`` with every node's marks on the lines an editor shows."""
    root = yaml.compose(text, Loader=loader)
    if root is not None and _YAML_ONLY_BREAK.search(text):
        _renumber(root, _line_starts(text))
    return root


def line_at(text: str, index: int) -> int:
    """The 1-based line of character ``index`` of ``text``."""
    return bisect.bisect_right(_line_starts(text), index)


def error_line(text: str, index: int) -> tuple[int, str]:
    """The line of a syntax error at character ``index``, and a hint when YAML saw a line
    break there that the author does not see: then the line that holds it (that line or
    the one before), else ``(line, "")``."""
    starts = _line_starts(text)
    line = bisect.bisect_right(starts, index)
    for number in (line - 1, line):
        if 1 <= number <= len(starts):
            end = starts[number] if number < len(starts) else len(text)
            found = _YAML_ONLY_BREAK.search(text, starts[number - 1], end)
            if found:
                name = _BREAK_NAMES[found.group()]
                return (
                    number,
                    f" (this line holds {name}, which YAML reads as a line break:"
                    " delete it, or put that text in quotes)",
                )
    return line, ""


def _line_starts(text: str) -> list[int]:
    return [0, *(found.end() for found in _LINE_END.finditer(text))]


def each_node(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node of the tree under ``root``, each once (an alias's node is shared)."""
    stack, seen = [root], set()
    while stack:  # not recursive: the tree may be deep, and aliases may share or loop
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)


def _renumber(root: yaml.Node, starts: list[int]) -> None:
    """Set each mark's line from its character index (columns stay as YAML counted them)."""
    for node in each_node(root):
        for name in ("start_mark", "end_mark"):
            mark = getattr(node, name)
            line = bisect.bisect_right(starts, mark.index) - 1
            setattr(node, name, yaml.Mark(mark.name, mark.index, line, mark.column, None, 0))
