"""Read YAML files into plain data while remembering the line of every value.

PyYAML forgets where a value came from once it is constructed, but validation must
say ``file:line: message``. We compose the node tree ourselves and keep a map from
each value's path (``("intents", 3, "examples", 0)``) to its 1-based line.

The plain reading every bot-data reader shares lives here too: a file's UTF-8 text
(``read_source``), the lines of a JSON Lines text (``json_lines``) and the check for
escaped half-characters (``lone_surrogate``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kefu.errors import Problem, SpecError
from kefu.fileread import read_regular_file
from kefu.normalize import SURROGATE
from kefu.yaml_lines import compose, error_line, line_at

__all__ = [
    "DuplicateKeyError",
    "SourceFile",
    "join_surrogate_pairs",
    "json_line",
    "json_lines",
    "lone_surrogate",
    "parse_yaml",
    "read_bytes",
    "read_limited",
    "read_source",
    "read_yaml",
    "syntax_error",
]

PathKey = tuple[Any, ...]


@dataclass
class SourceFile:
    """One parsed YAML file: its data, the line of each value, and any problems found."""

    path: Path
    data: Any = None
    lines: dict[PathKey, int] = field(default_factory=dict)
    key_lines: dict[PathKey, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    raw: bytes = b""
    node_count: int = 0
    number_text: dict[PathKey, str] = field(default_factory=dict)
    """How each unquoted number was written (``007``, ``1_000``, ``12:30``), for a field that
    wants text: PyYAML reads those as 7, 1000 and 750."""

    def line(self, path: Iterable[Any]) -> int:
        """Line of the value at ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def key_line(self, path: Iterable[Any]) -> int:
        """Line of the mapping key that ends ``path`` (falls back to the value's line)."""
        key = tuple(path)
        return self.key_lines.get(key, self.line(key))

    def problem(self, path: Iterable[Any], message: str, *, at_key: bool = False) -> None:
        """Record a problem at the line of ``path``."""
        line = self.key_line(path) if at_key else self.line(path)
        self.problems.append(Problem(str(self.path), line, message))


_constructor = yaml.constructor.SafeConstructor()
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
# libyaml's parser composes the node tree about ten times faster when PyYAML has it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Aliases can make a tiny file expand without bound ("billion laughs"); real bots are far smaller.
MAX_NODES = 2_000_000


# Bot, test and dialogue files are read whole; the biggest real ones are a few MB. The bound
# turns a device named as input (/dev/zero) into an error instead of reading until memory ends.
MAX_FILE_BYTES = 256 * 2**20


# Bot data is a few levels deep; a limit well below Python's recursion limit turns a
# pathologically nested file into a problem at its line instead of a RecursionError.
MAX_DEPTH = 100
_TOO_DEEP = f"values nested too deeply (at most {MAX_DEPTH} levels)"


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _merged(node: yaml.MappingNode, path: PathKey, src: SourceFile) -> list[tuple[yaml.Node, yaml.Node]]:
    """The pairs ``node`` takes in through merge keys (``<<: *base``, ``<<: [*a, *b]``), the
    earlier merge first, a merged mapping's own merges included (YAML 1.1 merge keys)."""
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        if not all(isinstance(source, yaml.MappingNode) for source in sources):
            line = key_node.start_mark.line + 1
            src.problems.append(Problem(str(src.path), line, "`<<` merges mappings only (`<<: *anchor`)"))
            continue
        for source in sources:
            assert isinstance(source, yaml.MappingNode)
            pairs += [(k, v) for k, v in source.value if k.tag != _MERGE] + _merged(source, path, src)
            src.node_count += len(source.value)  # merges of merges can multiply, as aliases can
            if src.node_count > MAX_NODES:
                raise _TooLarge
    return pairs


def _convert(node: yaml.Node, path: PathKey, src: SourceFile) -> Any:
    src.node_count += 1
    if src.node_count > MAX_NODES:
        raise _TooLarge
    if len(path) > MAX_DEPTH:
        raise _TooDeep(node.start_mark.line + 1)
    src.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        own = [(k, v) for k, v in node.value if k.tag != _MERGE]
        for inherited, (key_node, value_node) in [(False, pair) for pair in own] + [
            (True, pair) for pair in _merged(node, path, src)
        ]:
            key = _convert(key_node, (*path, "<key>"), src)
            if isinstance(key, (int, float)):  # bool too: YAML 1.1 reads `on:` and `no:` as booleans
                key = key_node.value  # keys in bot files are names: `007:` stays "007", `on:` "on"
            if not isinstance(key, (str, int, float, bool)) or key is None:
                src.problem((*path, "<key>"), f"mapping keys must be text, not {type(key).__name__}")
                continue
            if key in result:
                if not inherited:  # a merged key is overridden by the mapping's own, as in YAML
                    src.problems.append(
                        Problem(str(src.path), key_node.start_mark.line + 1, f"duplicate key {key!r}")
                    )
                continue
            key_path: PathKey = (*path, key)
            src.key_lines[key_path] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, (*path, key), src)
        src.lines.pop((*path, "<key>"), None)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), src) for i, item in enumerate(node.value)]
    if node.tag == _TIMESTAMP:
        # Nothing in a bot file is a date, but an unquoted 2024-11-27 in an example or a
        # dictionary word is read as one (and 2024-02-30 made PyYAML raise ValueError):
        # keep the text as written.
        return node.value
    try:
        value = _constructor.construct_object(node, deep=True)
    except (ValueError, KeyError, IndexError):
        # An integer of more than 4,300 digits (Python refuses to convert it), or a value
        # an explicit tag cannot read (PyYAML raises KeyError for `!!bool abc`, IndexError
        # for `!!int ""`): as text it is still a fine example, and a field that wants a
        # number or a bool says so, at this line.
        return node.value
    if isinstance(value, str) and SURROGATE.search(value):
        return _join_surrogates(value, path, src)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        src.number_text[path] = node.value
    return value


def lone_surrogate(text: str) -> str | None:
    """What is wrong with ``text`` if it holds a lone UTF-16 surrogate, else None.

    JSON and YAML ``\\u`` escapes can name half of a character; UTF-8 cannot store it, so
    saving a model or printing a reply would fail long after the file was read.
    """
    found = SURROGATE.search(text)
    if found is None:
        return None
    return f"lone surrogate \\u{ord(found.group()):04x} (half of a character): write the character itself"


def join_surrogate_pairs(text: str) -> str:
    """``text`` with each \\u-escaped surrogate pair (as JSON tools write emoji) joined into
    its one character; lone surrogates stay as they are."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _join_surrogates(text: str, path: PathKey, src: SourceFile) -> str:
    """``text`` with its surrogate pairs joined; a lone surrogate left over is reported at its line."""
    joined = join_surrogate_pairs(text)
    problem = lone_surrogate(joined)
    if problem:
        src.problem(path, problem)
    return joined


def _compose(text: str) -> yaml.Node | None:
    try:
        return compose(text, _LOADER)
    except yaml.YAMLError:
        # Parse again in pure Python: its messages name the problem more plainly.
        return compose(text, yaml.SafeLoader)


def read_limited(path: Path) -> bytes:
    """A bot, test or dialogue file's bytes (``read_regular_file``): ``OSError`` if it cannot
    be read or is not a regular file, ``FileTooLarge`` beyond ``MAX_FILE_BYTES``."""
    return read_regular_file(path, MAX_FILE_BYTES)


def read_bytes(path: Path) -> bytes:
    """A file's bytes (``read_limited``); ``SpecError`` at line 1 saying why they cannot be read."""
    try:
        return read_limited(path)
    except OSError as exc:
        raise SpecError.single(path, 1, f"cannot read file: {exc.strerror or exc}") from None
    except ValueError as exc:  # too big, or a name the system cannot take (NUL, half a character)
        raise SpecError.single(path, 1, f"cannot read file: {exc}") from None


def read_source(path: Path) -> tuple[bytes, str]:
    """A file's bytes and UTF-8 text; ``SpecError`` if unreadable, or at the line of an undecodable byte."""
    raw = read_bytes(path)
    try:
        return raw, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError.single(path, line, f"file is not UTF-8 (byte 0x{raw[exc.start]:02x})") from None


_LINE_BREAK = re.compile(r"\r\n?|\n")


def json_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text, split where a text-mode file splits (\\n, \\r\\n, \\r).

    Not ``str.splitlines()``: a JSON string may hold a raw U+2028 or U+0085, which it breaks at.
    """
    return _LINE_BREAK.split(text)


class DuplicateKeyError(ValueError):
    """A JSON object that names one of the keys kefu reads twice (``json.loads`` keeps the last)."""


def json_line(line: str, read: frozenset[str]) -> Any:
    """One JSON value; ``DuplicateKeyError`` if it is an object naming one of the keys in
    ``read`` twice: ``{"text": "a", "text": "b"}`` was read as "b" without a word, as YAML
    files are not. Keys kefu does not read (a labelling tool's own) may repeat."""
    repeated: list[list[str]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        twice = []
        for key, value in pairs:
            if key in record:
                twice.append(key)
            record[key] = value
        repeated.append(twice)  # the object read last is the outermost
        return record

    value = json.loads(line, object_pairs_hook=pairs_hook)
    twice = [key for key in repeated[-1] if key in read] if isinstance(value, dict) else []
    if twice:
        raise DuplicateKeyError(f"duplicate key {twice[0]!r}")
    return value


def read_yaml(path: Path) -> SourceFile:
    """Parse one YAML file; syntax and encoding problems land in ``problems``, never raise."""
    try:
        raw, text = read_source(path)
    except SpecError as exc:
        return SourceFile(path, problems=exc.problems)
    src = parse_yaml(path, text)
    src.raw = raw
    return src


def parse_yaml(path: Path, text: str) -> SourceFile:
    """Parse YAML ``text`` already read from ``path`` (``raw`` stays empty); syntax problems
    land in ``problems``, never raise."""
    src = SourceFile(path)
    try:
        node = _compose(text)
        src.data = None if node is None else _convert(node, (), src)
    except _TooLarge:
        src.data = None
        src.problems.append(Problem(str(path), 1, f"file expands to more than {MAX_NODES} values"))
    except _TooDeep as exc:
        src.data = None
        src.problems.append(Problem(str(path), exc.line, _TOO_DEEP))
    except RecursionError:  # composing itself recursed too deep (before _convert could count)
        src.data = None
        src.problems.append(Problem(str(path), 1, _TOO_DEEP))
    except yaml.YAMLError as exc:
        src.problems.append(Problem(str(path), *syntax_error(text, exc)))
    return src


def syntax_error(text: str, exc: yaml.YAMLError) -> tuple[int, str]:
    """The line of a YAML syntax error in ``text``, and what to say about it."""
    if isinstance(exc, yaml.reader.ReaderError):
        # Not a MarkedYAMLError: it carries the character's offset instead of a line.
        line = line_at(text, exc.position)
        return line, f"invalid YAML: character U+{exc.character:04X} is not allowed"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, hint = error_line(text, mark.index) if mark is not None else (1, "")
        return line, f"invalid YAML: {exc.problem or exc.context or 'syntax error'}{hint}"
    return 1, f"invalid YAML: {exc}"
