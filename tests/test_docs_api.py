"""docs/api.md, the Python API reference: it names every public name, and what it writes
about each (signatures, properties, attributes, base classes, fields) is what the code has.

The reference lines are the ``python`` code blocks whose first line is one: ``class Name``
or ``class Name(Base, ...)``, ``[kefu.]Name[.member](params) [-> T]`` (a signature, which
may run over several lines), ``Name.member -> T`` (a property) and ``Name.member: T`` (an
attribute). Example code starts otherwise (``import kefu``) and is not checked.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import kefu

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api.md"

CLASS_LINE = re.compile(r"class (\w+)(?:\((.*)\))?")
SIGNATURE_LINE = re.compile(r"((?:kefu\.)?\w+(?:\.\w+)?)(\(.*\))(?: -> (.+))?")
PROPERTY_LINE = re.compile(r"(\w+\.\w+) -> (.+)")
ATTRIBUTE_LINE = re.compile(r"((?:kefu\.)?\w+(?:\.\w+)?): (.+)")
REFERENCE_START = re.compile(r"class \w|kefu\.\w|[A-Z]\w*[.(]")


def code_blocks(text: str, language: str = "python") -> list[list[str]]:
    """The lines of each fenced code block written in ``language``."""
    return [block.splitlines() for block in re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)]


def reference_lines(text: str) -> list[str]:
    """Every reference line of the doc, a signature spread over lines joined into one."""
    lines: list[str] = []
    for block in code_blocks(text):
        if not block or not REFERENCE_START.match(block[0]):
            continue  # example code
        pending = ""
        for line in block:
            pending = f"{pending} {line.strip()}" if pending else line.strip()
            if pending.count("(") == pending.count(")"):
                lines.append(re.sub(r"\s+", " ", pending).replace("( ", "(").replace(" )", ")"))
                pending = ""
        assert not pending, f"unclosed parenthesis in {pending!r}"
    return lines


def documented_name(line: str) -> str:
    """The qualified name a reference line is about, without ``kefu.``: ``Engine.reply``."""
    match = CLASS_LINE.fullmatch(line) or re.match(r"(?:kefu\.)?(\w+(?:\.\w+)?)", line)
    assert match is not None, line
    return match.group(1)


def headings(text: str) -> list[str]:
    """The names written in backticks in ``###`` headings, without ``kefu.``."""
    found = re.findall(r"^###+ (.*)$", text, re.M)
    return [name.removeprefix("kefu.") for heading in found for name in re.findall(r"`([^`]+)`", heading)]


def resolve(name: str) -> tuple[Any, str | None]:
    """``(owner, member)`` for ``Engine.reply``, ``(function, None)`` for ``load_spec``."""
    head, _, member = name.removeprefix("kefu.").partition(".")
    assert head in kefu.__all__, f"{head} is not a public name of kefu (kefu.__all__)"
    return getattr(kefu, head), member or None


class Shown:
    """A default as the doc writes it: its repr is the text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def shown_default(value: Any, module: Any) -> Shown:
    """How the doc writes a default: a function by its dotted name (``time.time``), a long
    tuple by the module constant holding it (``DEFAULT_PLUGINS``), anything else as repr."""
    if callable(value) and hasattr(value, "__qualname__"):
        return Shown(f"{value.__module__}.{value.__qualname__}")
    if isinstance(value, tuple) and value:
        names = [name for name, held in vars(module).items() if held is value and name.isupper()]
        if names:
            return Shown(names[0])
    return Shown(repr(value))


def annotation(value: Any) -> str:
    """An annotation as source text (kefu's modules keep them as strings)."""
    return value if isinstance(value, str) else inspect.formatannotation(value)


def real_signature(owner: Any, member: str | None) -> tuple[str, str | None]:
    """``(params, return)`` of a function, method or class as the doc writes them:
    parameters without annotations (and without ``self``), defaults as ``shown_default``."""
    module = sys.modules[owner.__module__]
    target = owner if member is None else getattr(owner, member)
    static = None if member is None else inspect.getattr_static(owner, member)
    assert not isinstance(static, property), f"{owner.__name__}.{member} is a property: write `-> T`"
    signature = inspect.signature(target)
    parameters = list(signature.parameters.values())
    if inspect.isfunction(static):
        parameters = parameters[1:]  # self; a classmethod comes bound, without cls
    shown = [
        p.replace(
            annotation=inspect.Parameter.empty,
            default=p.default if p.default is p.empty else shown_default(p.default, module),
        )
        for p in parameters
    ]
    params = str(signature.replace(parameters=shown, return_annotation=inspect.Signature.empty))
    returns = None
    if not inspect.isclass(target) and signature.return_annotation is not inspect.Signature.empty:
        returns = annotation(signature.return_annotation)
    return params, returns


def instance_attributes(cls: type) -> set[str]:
    """Public attributes the class's own ``__init__`` assigns (``self.store = ...``)."""
    init = cls.__dict__.get("__init__")
    if init is None or dataclasses.is_dataclass(cls):  # a dataclass's fields have a table
        return set()
    tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and not node.attr.startswith("_")
    }


def public_members(cls: type) -> set[str]:
    """What a user reads on ``cls`` besides dataclass fields: methods, properties,
    attributes, kefu's own (not ``object``'s, ``Exception``'s or ``Protocol``'s)."""
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    own = {
        name
        for klass in cls.__mro__
        if klass.__module__.startswith("kefu")
        for name in vars(klass)
        if not name.startswith("_")
    }
    return (own | instance_attributes(cls)) - fields


TEXT = API.read_text(encoding="utf-8")
LINES = reference_lines(TEXT)
DOCUMENTED = {documented_name(line) for line in LINES}
STORES = ("MemoryStore", "RedisStore")  # they implement SessionStore's methods, documented once


def test_every_public_name_is_documented() -> None:
    named = DOCUMENTED | set(headings(TEXT))
    assert sorted(set(kefu.__all__) - named) == []
    functions = [n for n in kefu.__all__ if inspect.isfunction(getattr(kefu, n))]
    # A function needs its signature written, not only a heading.
    assert sorted(n for n in functions if not any(re.match(rf"kefu\.{n}\(", line) for line in LINES)) == []


@pytest.mark.parametrize("name", [n for n in kefu.__all__ if inspect.isclass(getattr(kefu, n))])
def test_every_method_property_and_attribute_of_a_public_class_is_documented(name: str) -> None:
    members = public_members(getattr(kefu, name))
    if name in STORES:
        members -= public_members(kefu.SessionStore)
    assert sorted(m for m in members if f"{name}.{m}" not in DOCUMENTED) == []


def test_every_engine_method_and_property_is_documented() -> None:
    """The brief's own list, spelled out: the Engine is what most users read about."""
    members = [n for n in dir(kefu.Engine) if not n.startswith("_")] + sorted(
        instance_attributes(kefu.Engine)
    )
    assert {"reply", "areply", "match_many", "plugin_errors", "store", "clock"} <= set(members)
    assert sorted(m for m in members if f"Engine.{m}" not in DOCUMENTED) == []


@pytest.mark.parametrize("line", [line for line in LINES if SIGNATURE_LINE.fullmatch(line)])
def test_a_signature_in_the_doc_is_the_real_one(line: str) -> None:
    found = SIGNATURE_LINE.fullmatch(line)
    assert found is not None
    name, params, returns = found.groups()
    owner, member = resolve(name)
    assert (params, returns) == real_signature(owner, member)
    if inspect.isclass(owner) and owner.__name__ == "SessionStore" and member is not None:
        for store in STORES:  # the stores kefu ships take what the protocol says
            assert real_signature(getattr(kefu, store), member)[0] == params, store


@pytest.mark.parametrize("line", [line for line in LINES if PROPERTY_LINE.fullmatch(line)])
def test_a_property_in_the_doc_is_one_and_returns_what_it_says(line: str) -> None:
    found = PROPERTY_LINE.fullmatch(line)
    assert found is not None
    owner, member = resolve(found.group(1))
    assert member is not None
    static = inspect.getattr_static(owner, member)
    assert isinstance(static, property), f"{line}: not a property"
    assert annotation(static.fget.__annotations__["return"]) == found.group(2)


@pytest.mark.parametrize(
    "line",
    [line for line in LINES if ATTRIBUTE_LINE.fullmatch(line) and not SIGNATURE_LINE.fullmatch(line)],
)
def test_an_attribute_in_the_doc_exists(line: str) -> None:
    found = ATTRIBUTE_LINE.fullmatch(line)
    assert found is not None
    owner, member = resolve(found.group(1))
    if member is None:  # kefu.__version__: str
        assert type(owner).__name__ == found.group(2)
    else:
        assert member in instance_attributes(owner) or member in vars(owner), line


@pytest.mark.parametrize("line", [line for line in LINES if CLASS_LINE.fullmatch(line)])
def test_a_class_line_names_the_real_base_classes(line: str) -> None:
    found = CLASS_LINE.fullmatch(line)
    assert found is not None
    cls = getattr(kefu, found.group(1))
    bases = [base.__name__ for base in cls.__bases__ if base is not object]
    assert (found.group(2) or "") == ", ".join(bases)


def test_every_reference_line_is_checked() -> None:
    """A line none of the checks above reads (a typo in its shape) would silently pass."""
    kinds = (CLASS_LINE, SIGNATURE_LINE, PROPERTY_LINE, ATTRIBUTE_LINE)
    assert [line for line in LINES if not any(kind.fullmatch(line) for kind in kinds)] == []


def field_rows(section: str) -> list[tuple[str, str]]:
    """``(field, type)`` of each row of the field table under ``### `section` ``."""
    heading = f"\n### `{section}`\n"
    assert heading in TEXT, f"no heading {heading.strip()}"
    body = TEXT.split(heading, 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", body, re.M)
    return [(field, kind.replace("\\|", "|")) for field, kind in rows]


@pytest.mark.parametrize("name", [n for n in kefu.__all__ if dataclasses.is_dataclass(getattr(kefu, n))])
def test_the_field_table_of_a_value_lists_its_fields_in_order_with_their_types(name: str) -> None:
    fields = dataclasses.fields(getattr(kefu, name))
    assert field_rows(name) == [(f.name, annotation(f.type)) for f in fields]


def slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (code blocks left out)."""
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    seen: Counter[str] = Counter()
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", prose, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return anchors


@pytest.mark.parametrize("target", sorted(set(re.findall(r"\]\(([^)\s]+)\)", TEXT))))
def test_a_link_leads_to_a_file_and_heading_that_exist(target: str) -> None:
    if re.match(r"[a-z]+:", target):
        return  # a web address: not this repository's to check
    path, _, anchor = target.partition("#")
    file = (API.parent / path).resolve() if path else API
    assert file.exists(), f"{target}: no such file"
    if anchor:
        assert anchor in slugs(file.read_text(encoding="utf-8")), f"{target}: no such heading"
