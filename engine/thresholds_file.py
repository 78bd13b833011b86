"""Write tuned thresholds into a bot's YAML file by position, changing nothing else.

The file is composed into its node tree and only the text of ``bot.threshold`` and
``bot.ambiguity_margin`` is replaced (or the keys added); the result is read back before
it atomically replaces the file.
"""

from __future__ import annotations

import codecs
import copy
import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from kefu.errors import SpecError
from kefu.filewrite import replace_file
from kefu.yaml_lines import compose
from kefu.yamlsource import SourceFile, parse_yaml, read_yaml, syntax_error

__all__ = ["write_thresholds"]


def write_thresholds(files: Sequence[str | Path], threshold: float, margin: float) -> Path:
    """Set ``bot.threshold`` and ``bot.ambiguity_margin`` in the file that has the ``bot:``
    section (else add the section to the first file that can take it) and return that file.

    Only the two values change: comments, key order, quoting, line endings and a byte-order
    mark stay as they were. The edit is read back before the file is replaced (atomically);
    ``SpecError`` at the ``bot:`` line if it would change anything else.
    """
    values = {"threshold": threshold, "ambiguity_margin": margin}
    if not all(0.0 <= v <= 1.0 for v in values.values()):  # also refuses nan, as the bot file does
        raise ValueError(f"threshold and margin must be numbers from 0 to 1, not {threshold} and {margin}")
    if not files:
        raise ValueError("write_thresholds needs the bot's files (kefu.load_spec(path).files)")
    src = _bot_file(files)
    text = src.raw.decode("utf-8-sig")
    edited = _apply(text, _edits(src, text, {k: _number(v) for k, v in values.items()}))
    _check_edit(src, edited, values)
    if edited != text:
        bom = codecs.BOM_UTF8 if src.raw.startswith(codecs.BOM_UTF8) else b""
        _replace_file(src.path, bom + edited.encode("utf-8"))
    return src.path


def _bot_file(files: Sequence[str | Path]) -> SourceFile:
    """The first file with a ``bot`` key; failing that, the first whose top level is a mapping
    (or empty), which gets a new section."""
    sources = []
    for name in files:
        src = read_yaml(Path(name))
        if isinstance(src.data, dict) and "bot" in src.data:
            if src.problems:  # a broken file: its data is not what the file says
                raise SpecError(src.problems)
            return src
        sources.append(src)
    for src in sources:
        if not src.problems and (src.data is None or isinstance(src.data, dict)):
            return src
    raise SpecError.single(
        Path(files[0]), 1, "no file of this bot has a `bot:` section or room for one to write thresholds into"
    )


def _number(value: float) -> str:
    """``value`` as YAML that reads back as exactly ``value``: short (``0.35``, ``0``) when it
    can be; PyYAML reads an exponent without a dot (``1e-05``) as text, so one gets a dot."""
    text = f"{value:g}"
    if float(text) != value:
        text = repr(float(value))
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text


# The loader's parser (libyaml when PyYAML has it): the pure-Python one rejects files the loader
# accepts (a tab before an end-of-line comment). Its marks count characters of ``text`` too, and
# ``_check_edit`` reads the result back, so a misplaced edit is refused, never written.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Edit = tuple[int, int, str]
"""Replace ``text[start:end]`` with a string; an insertion has ``start == end``."""


def _edits(src: SourceFile, text: str, values: dict[str, str]) -> list[Edit]:
    """Where ``values`` go in ``text``: over the old values, into the ``bot`` mapping, or as a
    new ``bot:`` line."""
    try:
        root = compose(text, _LOADER)
    except yaml.YAMLError as exc:  # the file read without problems, so this should not happen
        raise SpecError.single(src.path, *syntax_error(text, exc)) from None
    newline = "\r\n" if "\r\n" in text else "\n"
    section = "{" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}"
    if not isinstance(root, yaml.MappingNode):  # an empty file, or only comments
        return [_lines_insert(text, len(text), 0, [f"bot: {section}"], newline)]
    found = _lookup(root, "bot")
    if found is None:
        return [_new_section(text, root, section, newline)]
    key, bot = found
    if isinstance(bot, yaml.ScalarNode) and isinstance(src.data, dict) and src.data.get("bot") is None:
        # ``bot:`` left empty (``bot: 5`` or ``bot: text`` is no mapping to write into)
        return [_replace(src, text, key, bot, section)]
    if not isinstance(bot, yaml.MappingNode):
        raise SpecError.single(src.path, key.start_mark.line + 1, "`bot` must be a mapping")
    return _bot_edits(src, text, key, bot, values, newline)


def _bot_edits(
    src: SourceFile, text: str, key: yaml.Node, bot: yaml.MappingNode, values: dict[str, str], newline: str
) -> list[Edit]:
    edits, missing = [], {}
    for name, value in values.items():
        pair = _lookup(bot, name)
        if pair is None:
            missing[name] = value
        else:
            edits.append(_replace(src, text, *pair, value))
    if missing and bot.flow_style:
        edits.append(_flow_insert(text, bot, missing))
    elif missing:  # new lines right under ``bot:``, indented like its first key
        lines = [f"{k}: {v}" for k, v in missing.items()]
        at = _line_end(text, key.end_mark.index)
        edits.append(_lines_insert(text, at, bot.value[0][0].start_mark.column, lines, newline))
    return edits


def _lookup(mapping: yaml.MappingNode, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The first ``name:`` key of ``mapping`` (quoted or not) and its value."""
    for key, value in mapping.value:
        if isinstance(key, yaml.ScalarNode) and key.tag == "tag:yaml.org,2002:str" and key.value == name:
            return key, value
    return None


_PROPERTIES = re.compile(r"(?:[&!]\S*\s+)*")
_ALIAS = re.compile(r"\s*:(?:\s+|#[^\n]*)*(\*[^\s,\[\]{}]+)")


def _replace(src: SourceFile, text: str, key: yaml.Node, value: yaml.Node, new: str) -> Edit:
    """Replace the scalar ``value`` of ``key``, keeping its anchor or tag and the line breaks
    a block scalar (``|``) ends with."""
    start, end = value.start_mark.index, value.end_mark.index
    if start < key.end_mark.index:  # an alias: the node is the anchored one, elsewhere
        alias = _ALIAS.match(text, key.end_mark.index)
        if alias is None:
            raise SpecError.single(src.path, key.start_mark.line + 1, "cannot find this value to replace")
        return (*alias.span(1), new)
    properties = _PROPERTIES.match(text, start, end)
    start = properties.end() if properties else start
    content = text[start:end]
    tail = content[len(content.rstrip()) :]
    return (start, end, f"{' ' if start == end else ''}{new}{tail}")


def _flow_insert(text: str, mapping: yaml.MappingNode, entries: dict[str, str]) -> Edit:
    """Add ``entries`` first in a ``{...}`` mapping, right after its ``{`` (an anchor or tag
    before it cannot hold a brace)."""
    added = ", ".join(f"{k}: {v}" for k, v in entries.items())
    brace = text.index("{", mapping.start_mark.index) + 1
    return (brace, brace, f"{added}, " if mapping.value else added)


def _new_section(text: str, root: yaml.MappingNode, section: str, newline: str) -> Edit:
    """Add ``bot: section`` to the top level: first in ``{...}``; else on a line of its own
    after ``version:``, or before the first key."""
    if root.flow_style:
        return _flow_insert(text, root, {"bot": section})
    first_key, first_value = root.value[0]
    if first_key.value == "version" and isinstance(first_value, yaml.ScalarNode):
        at = _line_end(text, first_value.end_mark.index)
    else:
        at = text.rfind("\n", 0, first_key.start_mark.index) + 1
    return _lines_insert(text, at, first_key.start_mark.column, [f"bot: {section}"], newline)


def _line_end(text: str, index: int) -> int:
    """Where the line holding ``index`` ends, after its line break."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _lines_insert(text: str, at: int, column: int, lines: list[str], newline: str) -> Edit:
    """Insert whole ``lines`` at ``at`` (a line start, or the end of a last line without a break)."""
    before = newline if at == len(text) and text and not text.endswith("\n") else ""
    return (at, at, before + "".join(f"{' ' * column}{ln}{newline}" for ln in lines))


def _apply(text: str, edits: list[Edit]) -> str:
    """``text`` with ``edits`` (which must not overlap) made."""
    parts, done = [], 0
    for start, end, new in sorted(edits, key=lambda e: e[0]):  # stable: equal starts keep order
        if start < done:
            raise AssertionError(f"overlapping edits at {start}")
        parts += [text[done:start], new]
        done = end
    return "".join(parts) + text[done:]


def _check_edit(src: SourceFile, edited: str, values: dict[str, float]) -> None:
    """Read ``edited`` back: it must parse and equal the old data with only ``values`` set."""
    written = parse_yaml(src.path, edited)
    expected = copy.deepcopy(src.data) if isinstance(src.data, dict) else {}
    expected["bot"] = {**(expected.get("bot") or {}), **values}
    if written.problems:
        reason = (
            f"the edited file would not read (line {written.problems[0].line}: {written.problems[0].message})"
        )
    elif written.data != expected:
        reason = "the edit would change other values too (an anchor they share?)"
    else:
        return
    shown = ", ".join(f"bot.{k} {_number(v)}" for k, v in values.items())
    raise SpecError.single(
        src.path, src.key_line(("bot",)), f"cannot write {shown} here: {reason}; set them by hand"
    )


def _replace_file(path: Path, data: bytes) -> None:
    """``replace_file``, its ``OSError`` as a ``SpecError`` naming the bot file."""
    try:
        replace_file(path, data)
    except OSError as exc:
        raise SpecError.single(path, 1, f"cannot write file: {exc.strerror or exc}") from None
