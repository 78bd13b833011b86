"""Rasa NLU data in YAML (Rasa 2/3) and Markdown (Rasa 1.x) -> a ``BotDraft``'s intents and entities.

Examples lose their entity markup (``[深蓝](color:蓝色)`` -> ``深蓝``); each annotated
entity becomes a kefu entity (its lookup values gathered from annotations and lookup
tables, or its ``regex`` of the same name) and an optional slot of every intent that
annotates it; one known only by annotated values is reported, as kefu finds just those.
Rasa synonyms become ``nlp.synonyms`` and also join the lookup values they name. The
sections, lookups and entities are added here for every format (``kefu.rasa_json`` reads
the JSON one).
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import yaml

from kefu.bot_regex import RegexError, compile_regex
from kefu.builtin_entities import BUILTIN_FINDERS
from kefu.errors import SpecError
from kefu.import_sources import node_line, node_list, node_mapping, node_text, read_text
from kefu.importers import BotDraft, EntityDraft, IntentDraft
from kefu.normalize import fold

__all__ = [
    "Items",
    "add_lookup",
    "add_section",
    "annotated_only_warning",
    "annotation_roles",
    "read_markdown_nlu",
    "read_yaml_nlu",
    "roles_warning",
    "use_entity",
    "with_synonyms",
]

SECTION_KINDS = ("intent", "synonym", "regex", "lookup")

# `[text](entity)`, `[text](entity:value)`, `[text]{"entity": …}` and `[text][{…}, {…}]`;
# the first three exactly as Rasa's own entities_parser reads them.
_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+?)\]"
    r"(?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\}|\[(?P<dicts>\s*\{.*?\}\s*)\])"
)
_MD_HEADER = re.compile(r"^##\s*(intent|synonym|regex|lookup)\s*:\s*(.+?)\s*$")
_MD_ITEM = re.compile(r"^\s*[-*+]\s?(.*?)\s*$")

Items = list[tuple[str, int]]
"""Section entries with the line each was written on."""


def read_yaml_nlu(file: Path, node: yaml.Node, draft: BotDraft) -> None:
    """The items of a YAML file's ``nlu`` list: intents, synonyms, regexes and lookups."""
    for item in node_list(file, node, "`nlu`"):
        fields = node_mapping(file, item, "an `nlu` item")
        kind = next((k for k in SECTION_KINDS if k in fields), None)
        if kind is None:
            raise SpecError.single(
                file, node_line(item), "an `nlu` item needs intent, synonym, regex or lookup"
            )
        name = node_text(file, fields[kind], f"`{kind}`").strip()
        if "examples" not in fields:
            raise SpecError.single(file, node_line(item), f"{kind} {name!r} has no `examples`")
        add_section(file, kind, name, _yaml_examples(file, fields["examples"], draft), draft)


def _yaml_examples(file: Path, node: yaml.Node, draft: BotDraft) -> Items:
    """A ``|`` block of ``- example`` lines, or (Rasa 3) a list of texts or ``{text: …}`` items."""
    if isinstance(node, yaml.ScalarNode):
        # A block scalar's node starts at its `|`; the text begins on the next line.
        first = node_line(node) + (1 if node.style in ("|", ">") else 0)
        items = []
        for offset, raw in enumerate(str(node.value).splitlines()):
            line, text = first + offset, raw.strip()
            if text.startswith("-"):
                items.append((text[1:].strip(), line))
            elif text:
                draft.warnings.append(f"{file}:{line}: skipped {text!r}: examples are written `- example`")
        return items
    items = []
    for item in node_list(file, node, "`examples`"):
        if isinstance(item, yaml.MappingNode):
            fields = node_mapping(file, item, "an example")
            if "text" not in fields:
                raise SpecError.single(file, node_line(item), "an example needs `text`")
            item = fields["text"]
        items.append((node_text(file, item, "an example").strip(), node_line(item)))
    return items


def read_markdown_nlu(file: Path, text: str, draft: BotDraft) -> bool:
    """The ``## intent:``, ``## synonym:``, ``## regex:`` and ``## lookup:`` sections of a
    Markdown file's ``text`` (comments blanked); whether it had any."""
    sections: list[tuple[str, str, Items]] = []
    lookup_files: list[tuple[str, str, int]] = []
    items: Items | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _MD_HEADER.match(line)
        if header:
            items = []
            sections.append((header[1], header[2], items))
        elif line.startswith("#"):
            items = None  # a story or any other heading ends the NLU section
        elif items is not None and line.strip():
            item = _MD_ITEM.match(line)
            if item:
                items.append((item[1], number))
            elif sections[-1][0] == "lookup":  # Rasa 1.x: a lookup section may name a file
                lookup_files.append((sections[-1][1], line.strip(), number))
    for kind, name, entries in sections:
        add_section(file, kind, name, entries, draft)
    for name, reference, number in lookup_files:
        add_lookup(file, number, name, reference, draft, is_file=True)
    return bool(sections)


def add_section(file: Path, kind: str, name: str, items: Items, draft: BotDraft) -> None:
    """One intent, synonym, regex or lookup section of any of the formats."""
    if kind == "intent":
        intent = draft.intent(name)
        for text, line in items:
            _add_example(file, line, text, intent, draft)
    elif kind == "synonym":
        for text, line in items:
            draft.add_synonym(text, name, f"{file}:{line}")
    elif kind == "regex":
        for text, line in items:
            draft.entity(name).patterns.append(_checked_regex(file, line, text))
    else:
        for text, line in items:
            add_lookup(file, line, name, text, draft, is_file=text.endswith(".txt"))


def add_lookup(file: Path, line: int, name: str, entry: str, draft: BotDraft, *, is_file: bool) -> None:
    """One lookup table entry: a value, or a file of values (one per line)."""
    draft.entity(name).listed = True
    for word in _lookup_file(file, line, entry) if is_file else [entry]:
        draft.entity(name).add_value(word)


def _add_example(file: Path, line: int, marked: str, intent: IntentDraft, draft: BotDraft) -> None:
    """An example with inline entity markup: the plain text joins the intent, entities the bot."""
    mentions: list[tuple[str, str, str | None]] = []

    def plain(match: re.Match[str]) -> str:
        for entity, value, roles in _annotations(file, line, match):
            mentions.append((entity, match["text"], value))
            for role in roles:
                draft.entity(entity).roles.setdefault(role, f"{file}:{line}")
        return match["text"]

    intent.examples.append(_ANNOTATION.sub(plain, marked).strip())
    for entity, text, value in mentions:
        use_entity(draft, intent, entity, text, value)


def _annotations(file: Path, line: int, match: re.Match[str]) -> list[tuple[str, str | None, list[str]]]:
    """(entity, value, its roles and groups) of one annotation; value None means the text itself."""
    if match["entity"] is not None:
        return [(match["entity"].strip(), match["value"].strip() if match["value"] else None, [])]
    source = "{" + match["dict"] + "}" if match["dict"] is not None else "[" + match["dicts"] + "]"
    try:
        data = json.loads(source)
    except json.JSONDecodeError as exc:
        raise SpecError.single(file, line, f"invalid entity annotation {match[0]!r}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # the other things json.loads refuses
        why = "nested too deeply" if isinstance(exc, RecursionError) else "a number of more than 4,300 digits"
        raise SpecError.single(file, line, f"invalid entity annotation {match[0][:60]!r}...: {why}") from None
    found = []
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict) or not isinstance(item.get("entity"), str):
            raise SpecError.single(file, line, f'entity annotation {match[0]!r} needs an "entity" name')
        value = item.get("value")
        found.append((item["entity"], None if value is None else str(value), annotation_roles(item)))
    return found


def annotation_roles(annotation: dict[str, Any]) -> list[str]:
    """An annotation's Rasa role and group, as ``role 寄件`` and ``group 1``."""
    return [f"{key} {annotation[key]}" for key in ("role", "group") if annotation.get(key) is not None]


def use_entity(draft: BotDraft, intent: IntentDraft, entity: str, text: str, value: str | None) -> None:
    draft.entity(entity).add_value(text, value)
    if entity not in intent.entities:
        intent.entities.append(entity)


def _checked_regex(file: Path, line: int, pattern: str) -> str:
    try:
        compile_regex(pattern)
    except RegexError as exc:
        raise SpecError.single(file, line, f"invalid regex {pattern!r}: {exc}") from None
    return pattern


def _lookup_file(file: Path, line: int, reference: str) -> list[str]:
    """The words of a lookup file, found next to ``file`` or in a folder above it (Rasa's project root)."""
    target = Path(reference)
    candidates = (
        [target] if target.is_absolute() else [d / target for d in (file.parent, *file.parent.parents)]
    )
    for candidate in candidates:
        if candidate.is_file():
            return [word.strip() for word in read_text(candidate).splitlines() if word.strip()]
    raise SpecError.single(file, line, f"lookup file {reference!r} not found next to this file or above it")


def with_synonyms(values: dict[str, list[str]], synonyms: dict[str, str]) -> dict[str, list[str]]:
    """Lookup values with Rasa's synonyms folded in, as Rasa maps extracted values.

    A value that is a synonym's variant joins that synonym's canonical value, and a
    canonical value gains the synonym's variants.
    """
    merged: dict[str, list[str]] = {}
    for value, variants in values.items():
        canonical = synonyms.get(value, value)
        words = merged.setdefault(canonical, [])
        words += [w for w in (value, *variants) if w != canonical and w not in words]
    for variant, canonical in synonyms.items():
        if canonical in merged and variant != canonical and variant not in merged[canonical]:
            merged[canonical].append(variant)
    return merged


def annotated_only_warning(entity: EntityDraft) -> str:
    """The warning for an entity known only by the values annotated in examples: Rasa's model
    learned to find others from them, kefu's lookup finds exactly those."""
    texts = [text for value, variants in entity.values.items() for text in (value, *variants)]
    shown = ", ".join(texts[:3]) + (" …" if len(texts) > 3 else "")
    builtin = _fitting_builtin(texts)
    advice = f"`builtin: {builtin}` finds any such value" if builtin else "add a lookup table or a regex"
    return (
        f"entity {entity.name!r} has only the values annotated in examples ({shown}): kefu finds just "
        f"those, where Rasa's model learned to find others; {advice}"
    )


def _fitting_builtin(texts: list[str]) -> str | None:
    """The built-in entity that finds each of ``texts`` whole (a mobile, an order id...), if any."""
    folded = [fold(text) for text in texts]  # as finders read text
    for kind, finder in BUILTIN_FINDERS.items():
        if folded and all(
            any((s, e) == (0, len(t)) for s, e, _ in finder(t, datetime.date.today)) for t in folded
        ):
            return kind
    return None


def roles_warning(entity: EntityDraft) -> str:
    """The warning for an entity whose annotations have roles or groups, which kefu has not."""
    where = next(iter(entity.roles.values()))
    return (
        f"{where}: entity {entity.name!r} is annotated with {', '.join(entity.roles)}: kefu fills one slot "
        "per entity and cannot tell its roles apart; give each role an entity of its own"
    )
