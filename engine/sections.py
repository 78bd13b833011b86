"""A bot file (YAML v1) checked into spec objects: its top level and its ``intents``.

The other sections are checked in ``kefu.settings_sections`` (``plugins`` in
``kefu.plugin_settings``). See docs/intents.md for the format. Checks that need every
file (duplicate intents, unknown entities, contexts nobody opens) live in ``kefu.loader``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from kefu.checks import Check, FileChecker, describe, dotted, word_list, word_problem
from kefu.normalize import normalize
from kefu.settings_sections import SECTION_CHECKS, check_text, integer_in, number_in, sent_as_written
from kefu.spec import IntentSpec, OutputContext, SlotSpec
from kefu.templates import TemplateError, placeholders
from kefu.yamlsource import PathKey, SourceFile

__all__ = ["FORMAT_VERSION", "FileResult", "check_file"]

FORMAT_VERSION = 1
INTENT_KEYS = (
    "name", "examples", "responses", "patterns", "keywords", "threshold",
    "slots", "contexts", "action", "payload", "title",
)  # fmt: skip
SLOT_KEYS = ("entity", "required", "prompt", "invalid_prompt", "regex", "values")


@dataclass
class FileResult:
    """What one file contributes, plus what the cross-file checks need to know."""

    checker: FileChecker
    sections: dict[str, Any] = field(default_factory=dict)
    intents: list[IntentSpec] = field(default_factory=list)
    example_paths: list[tuple[str, str, PathKey]] = field(default_factory=list)
    """(intent, normalized example, path) for every example, to find cross-intent duplicates."""
    references: list[tuple[str, PathKey, str]] = field(default_factory=list)
    """(kind, path, name) of names defined elsewhere: "entity", "context", "param", and
    "keywords" (an intent with keywords, whose threshold needs the bot's keyword_score)."""
    slots: list[tuple[PathKey, SlotSpec]] = field(default_factory=list)
    """(path, slot) of every slot, to check its ``values`` and ``regex`` against its entity."""


def check_file(src: SourceFile) -> FileResult:
    """Check one parsed file; problems are recorded on the checker, never raised."""
    result = FileResult(FileChecker(src))
    c, data = result.checker, src.data
    if src.problems and data is None:  # unreadable or not YAML; a duplicate key still has data
        return result
    if data is None:
        c.problem((), "file is empty (expected `version: 1` and bot sections)")
        return result
    if not isinstance(data, dict):
        c.problem((), f"a bot file must be a mapping, not {describe(data)}")
        return result
    c.check_keys((), data, [*SECTION_CHECKS, "intents", "version"])
    c.version(data, FORMAT_VERSION)
    for name, check in SECTION_CHECKS.items():
        if name in data:
            result.sections[name] = check(c, (name,), data[name])
    if "intents" in data:
        _intents(result, ("intents",), data["intents"])
    return result


_CHINESE = re.compile(r"[\u3400-\u9fff]")


def _intents(result: FileResult, path: PathKey, value: Any) -> None:
    if not isinstance(value, list):
        result.checker.problem(path, f"`intents` must be a list of intents, not {describe(value)}")
        return
    for i, item in enumerate(value):
        intent = _intent(result, (*path, i), item)
        if intent is not None:
            result.intents.append(intent)


def _intent(result: FileResult, path: PathKey, value: Any) -> IntentSpec | None:
    c = result.checker
    if value is None:
        c.problem(path, f"`{dotted(path)}` must be a mapping, not empty")
        return None
    data = c.mapping(path, value, INTENT_KEYS)
    if "name" not in data:
        if isinstance(value, dict):
            c.problem(path, "intent needs a `name`")
        return None
    name = c.text((*path, "name"), data["name"])
    if name is None or not c.visible_name((*path, "name"), "intent", name):
        return None
    examples, example_lines = _examples(result, path, name, data.get("examples"))
    slots = _slots(result, (*path, "slots"), data.get("slots"))
    inputs, outputs = _contexts(c, (*path, "contexts"), data.get("contexts"))
    result.references += [("context", (*path, "contexts", "in"), ctx) for ctx in inputs]
    responses = c.texts((*path, "responses"), data.get("responses"), single_ok=True)
    allowed = {slot.name for slot in slots}
    for i, template in enumerate(responses):
        _placeholders(result, (*path, "responses", i), template, allowed, inputs)
    fields = c.fields(path, data, INTENT_CHECKS)
    if fields.get("keywords"):
        result.references.append(("keywords", (*path, "keywords"), name))
    return IntentSpec(
        name=name,
        examples=examples,
        responses=responses,
        slots=slots,
        input_contexts=inputs,
        output_contexts=outputs,
        file=str(c.src.path),
        line=c.src.line(path),
        example_lines=example_lines,
        **fields,
    )


def _examples(
    result: FileResult, path: PathKey, name: str, value: Any
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The intent's usable examples (one copy of each) and the line of each."""
    c, where = result.checker, (*path, "examples")
    if value is not None and not isinstance(value, list):
        c.problem(where, f"`examples` must be a list of text, not {describe(value)}")
        return (), ()
    seen: set[str] = set()
    kept: list[str] = []
    lines: list[int] = []
    before = len(c.problems)
    for i, item in enumerate(value or []):
        example = c.text((*where, i), item)
        if example is None:
            continue
        key = normalize(example)
        if not key:
            c.problem((*where, i), f"example {example!r} has no letters or digits")
        elif key not in seen:  # a repeat inside one intent is harmless; keep one copy
            seen.add(key)
            kept.append(example)
            lines.append(c.src.line((*where, i)))
            result.example_paths.append((name, key, (*where, i)))
    if not kept:
        usable = " usable" if len(c.problems) > before else ""
        c.problem(path, f"intent {name!r} has no{usable} examples")
    return tuple(kept), tuple(lines)


def _patterns(c: FileChecker, path: PathKey, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    paths = [(*path, i) for i in range(len(items))] if isinstance(value, list) else [path]
    checked = (c.normalized_pattern(where, item) for where, item in zip(paths, items, strict=True))
    return tuple(pattern for pattern in checked if pattern is not None)


def _keyword_problem(word: str) -> str | None:
    """Why an intent keyword cannot be used as written, or None: ``!!!`` could never match,
    and ``C++`` reads as ``c``, which would raise the intent for every ``C盘`` question."""
    return word_problem(word, normalize(word), "normalizing drops symbols", "raise this intent")


_keyword_list = word_list("keyword", _keyword_problem, single_ok=True)


def _keywords(c: FileChecker, path: PathKey, value: Any) -> tuple[str, ...]:
    words = (normalize(k) for k in _keyword_list(c, path, value))
    return tuple(word for word in words if word)


def _payload(c: FileChecker, path: PathKey, value: Any) -> Any:
    data = c.mapping(path, value, None)
    try:
        json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        c.problem(path, f"`payload` must hold only text, numbers, lists and mappings: {exc}")
        return None
    return data


INTENT_CHECKS: dict[str, Check] = {
    "patterns": _patterns,
    "keywords": _keywords,
    "threshold": number_in(0.0, 1.0),
    "action": check_text,
    "payload": _payload,
    "title": check_text,
}


def _slots(result: FileResult, path: PathKey, value: Any) -> tuple[SlotSpec, ...]:
    c = result.checker
    slots = []
    for name, body in c.mapping(path, value, None).items():
        where = (*path, name)
        data = c.mapping(where, body, SLOT_KEYS)
        c.visible_name(where, "slot", str(name), at_key=True)
        if "entity" not in data:
            c.problem(where, f"slot {name!r} needs an `entity`")
            continue
        entity = c.text((*where, "entity"), data["entity"])
        if entity is None:
            continue
        result.references.append(("entity", (*where, "entity"), entity))
        fields = c.fields(where, data, SLOT_CHECKS)
        for key in ("prompt", "invalid_prompt"):
            if key in fields:
                sent_as_written(c, (*where, key), fields[key])
        if not fields.get("required"):
            for key in ("prompt", "invalid_prompt"):
                if key in fields:
                    message = f"slot {name!r} has a `{key}` but is not required, so it is never asked"
                    c.problem((*where, key), f"{message} (add `required: true`, or drop the {key})")
        elif "prompt" not in fields and not _CHINESE.search(str(name)):
            # The default question is 请提供 + the slot's name, fine for 订单号 only.
            c.problem(where, f"slot {name!r} is required and has no `prompt`: the bot would ask 请提供{name}")
        slots.append(SlotSpec(name=str(name), entity=entity, **fields))
        result.slots.append((where, slots[-1]))
    return tuple(slots)


SLOT_CHECKS: dict[str, Check] = {
    "required": FileChecker.flag,
    "prompt": check_text,
    "invalid_prompt": check_text,
    "regex": FileChecker.regex,
    "values": lambda c, p, v: c.texts(p, v),
}


def _contexts(c: FileChecker, path: PathKey, value: Any) -> tuple[tuple[str, ...], tuple[OutputContext, ...]]:
    data = c.mapping(path, value, ("in", "out"))
    texts = c.texts((*path, "in"), data.get("in"), single_ok=True)
    inputs = tuple(name for name in texts if c.visible_name((*path, "in"), "context", name))
    outputs = []
    raw = data.get("out")
    items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    for i, item in enumerate(items):
        where = (*path, "out", i) if isinstance(raw, list) else (*path, "out")
        if isinstance(item, str):
            name = c.text(where, item)
            if name is not None and c.visible_name(where, "context", name):
                outputs.append(OutputContext(name))
            continue
        body = c.mapping(where, item, ("name", "lifespan", "ttl"))
        if "name" not in body:
            if isinstance(item, dict):
                c.problem(where, "output context needs a `name`")
            continue
        fields = c.fields(where, body, CONTEXT_CHECKS)
        if "name" in fields and c.visible_name((*where, "name"), "context", fields["name"]):
            outputs.append(OutputContext(**fields))
    return inputs, tuple(outputs)


CONTEXT_CHECKS: dict[str, Check] = {"name": check_text, "lifespan": integer_in(1), "ttl": number_in(0.001)}


def _placeholders(
    result: FileResult, path: PathKey, template: str, slots: set[str], inputs: tuple[str, ...]
) -> None:
    """A template may name the intent's own slots and ``context.param`` of its input contexts."""
    c = result.checker
    try:
        names = placeholders(template)
    except TemplateError as exc:
        c.problem(path, f"bad template {template!r}: {exc}")
        return
    for name in names:
        context, _, param = name.partition(".")
        if not param and name not in slots:
            known = ", ".join(sorted(slots)) or "none"
            c.problem(path, f"template names {{{name}}}, but the intent has no such slot (slots: {known})")
        elif param and context not in inputs:
            c.problem(
                path,
                f"template names {{{name}}}, but {context!r} is not an input context of the intent",
            )
        elif param:
            result.references.append(("param", path, name))
