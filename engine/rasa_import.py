"""Rasa NLU training data -> a ``BotDraft``: YAML (Rasa 2/3), Markdown (Rasa 1.x) and JSON.

Examples lose their entity markup (``[深蓝](color:蓝色)`` -> ``深蓝``); each annotated
entity becomes a kefu entity (its lookup values gathered from annotations and lookup
tables, or its ``regex`` of the same name) and an optional slot of every intent that
annotates it; one known only by annotated values is reported, as kefu finds just those.
Rasa synonyms become ``nlp.synonyms`` and also join the lookup values they name.

Responses come from the domain's ``responses`` (Rasa 2/3) or ``templates`` (Rasa 1.x):
an intent answers with the ``utter_`` actions that follow it in rules and stories (YAML
or Rasa 1.x Markdown), or else with ``utter_<intent>``. A response's variations become
the intent's alternative responses; when several ``utter_`` actions follow an intent,
each variation of the first is followed, on new lines, by the first text of the others.
Custom actions are not imported; nor are a response's buttons, image, custom payload and the
like (its text is), nor variations with a ``condition`` or ``channel`` (kefu would say them
always), nor forms: the report has a warning for each kind found.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kefu.bot_regex import RegexError, compile_regex
from kefu.builtin_entities import BUILTIN_FINDERS
from kefu.errors import SpecError
from kefu.importers import (
    BotDraft,
    EntityDraft,
    IntentDraft,
    first_lone_surrogate,
    node_line,
    node_list,
    node_mapping,
    node_text,
    read_text,
    read_yaml_node,
    source_files,
)
from kefu.normalize import SURROGATE
from kefu.yamlsource import lone_surrogate

__all__ = ["read_rasa"]

RASA_SUFFIXES = (".yml", ".yaml", ".md", ".json")
SECTION_KINDS = ("intent", "synonym", "regex", "lookup")
# `[text](entity)`, `[text](entity:value)`, `[text]{"entity": …}` and `[text][{…}, {…}]`;
# the first three exactly as Rasa's own entities_parser reads them.
_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+?)\]"
    r"(?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\}|\[(?P<dicts>\s*\{.*?\}\s*)\])"
)
_MD_HEADER = re.compile(r"^##\s*(intent|synonym|regex|lookup)\s*:\s*(.+?)\s*$")
_MD_ITEM = re.compile(r"^\s*[-*+]\s?(.*?)\s*$")
_MD_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# `* greet`, `* inform{"city": "北京"}`, `* affirm OR thankyou`, `* greet: 你好` (end-to-end tests)
_MD_STORY_INTENT = re.compile(r"^\s*\*\s*([^\s{:]+(?:\s+OR\s+[^\s{:]+)*)")
_MD_STORY_OR = re.compile(r"\s+OR\s+")
_MD_STORY_ACTION = re.compile(r"^\s*-\s*([\w./-]+)\s*$")  # not `- slot{...}`
_RASA_SLOT = re.compile(r"\{(\w+)\}")

Items = list[tuple[str, int]]
"""Section entries with the line each was written on."""


@dataclass
class _Answers:
    """What the domain, rules and stories say: response texts, and the actions after each intent."""

    responses: dict[str, list[str]] = field(default_factory=dict)
    """``utter_`` action -> its texts."""
    actions: dict[str, list[list[str]]] = field(default_factory=dict)
    """intent -> each run of ``utter_`` actions that follows it somewhere."""
    dropped: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """key of a response variation that is not imported -> (file:line, response) of each variation with it."""
    where: dict[str, str] = field(default_factory=dict)
    """``utter_`` action -> the file:line of its first text."""
    custom: dict[str, tuple[str, str]] = field(default_factory=dict)
    """intent -> the first action (not ``utter_``) that answers it, and its file:line."""

    def follow(self, intent: str, actions: list[tuple[str, str]]) -> None:
        """Record that ``actions`` (a run of consecutive actions, with their file:line) follow ``intent``."""
        # Only the leading utter_ actions: what a custom action would say is not in the files.
        run = [a for a, _ in itertools.takewhile(lambda action: action[0].startswith("utter_"), actions)]
        if run and run not in self.actions.setdefault(intent, []):
            self.actions[intent].append(run)
        if not run and actions:
            self.custom.setdefault(intent, actions[0])


def read_rasa(path: str | Path) -> BotDraft:
    """Rasa NLU data in a file, or in every .yml/.yaml/.md/.json file under a folder; with
    the responses of a domain, rules and stories found beside it."""
    root = Path(path)
    draft = BotDraft()
    answers = _Answers()
    readers: dict[str, Callable[[Path, BotDraft], bool]] = {
        ".json": _read_json,
        ".md": lambda file, draft: _read_markdown(file, draft, answers),
        ".yml": lambda file, draft: _read_yaml(file, draft, answers),
        ".yaml": lambda file, draft: _read_yaml(file, draft, answers),
    }
    found = [
        file
        for file in source_files(root, RASA_SUFFIXES, recursive=True)
        if _reader(readers, file)(file, draft)
    ]
    if not found:
        raise SpecError.single(
            root,
            1,
            "no Rasa NLU data (YAML with `nlu:`, Markdown with `## intent:`, JSON with `rasa_nlu_data`)",
        )
    for entity in draft.entities.values():
        entity.values = _with_synonyms(entity.values, draft.synonyms)
    if not answers.responses and (domain := _domain_above(root)) is not None:
        draft.warnings.append(
            f"{root}: no responses imported, every intent gets a placeholder reply: the domain {domain} "
            f"is outside what was imported; import {domain.parent} to take its responses"
        )
    used = _add_responses(draft, answers)
    draft.warnings += _unused_warning(answers, used)
    draft.warnings += _dropped_warnings(answers.dropped)
    draft.warnings += [_annotated_only(e) for e in draft.entities.values() if not (e.patterns or e.listed)]
    draft.warnings += [_roles_warning(e) for e in draft.entities.values() if e.roles]
    return draft


def _annotated_only(entity: EntityDraft) -> str:
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
    folded = [unicodedata.normalize("NFKC", text).casefold() for text in texts]  # as finders read text
    for kind, finder in BUILTIN_FINDERS.items():
        if folded and all(
            any((s, e) == (0, len(t)) for s, e, _ in finder(t, datetime.date.today)) for t in folded
        ):
            return kind
    return None


def _domain_above(root: Path) -> Path | None:
    """A Rasa domain (``domain.yml``, or Rasa 3's ``domain/`` folder) in a folder above ``root``:
    what ``kefu import rasa data/`` or ``data/nlu.yml`` leaves out."""
    for folder in list(root.absolute().parents)[:3]:  # data/nlu/faq.yml is as deep as projects go
        for name in ("domain.yml", "domain.yaml", "domain"):
            if (folder / name).exists():
                return folder / name
    return None


# A response variation with one of these is said only in some conversations; kefu would say it
# in all, so the variation is skipped rather than imported as an unconditional alternative.
_CONDITIONAL_KEYS = ("condition", "channel")


def _dropped_warnings(dropped: dict[str, list[tuple[str, str]]]) -> list[str]:
    """One warning per kind of response content that was not imported, at its first place."""
    warnings = []
    for key, found in dropped.items():
        (where, name), count = found[0], f"{len(found)} response variation{'s' if len(found) > 1 else ''}"
        if key in _CONDITIONAL_KEYS:
            warnings.append(
                f"{where}: {count} with `{key}` skipped (e.g. in {name}): kefu has no conditional "
                "responses and would say them in every conversation"
            )
        else:
            warnings.append(
                f"{where}: `{key}` of {count} not imported (e.g. in {name}): "
                "kefu imports a response's text only"
            )
    return warnings


def _reader(
    readers: dict[str, Callable[[Path, BotDraft], bool]], file: Path
) -> Callable[[Path, BotDraft], bool]:
    """The reader for ``file``'s suffix (a file named on its own can have any suffix)."""
    reader = readers.get(file.suffix.lower())
    if reader is None:
        raise SpecError.single(
            file,
            1,
            f"not a Rasa file: the name must end in {', '.join(RASA_SUFFIXES)} (it ends in {file.suffix!r})",
        )
    return reader


def _add_responses(draft: BotDraft, answers: _Answers) -> set[str]:
    """Each intent's responses from the ``utter_`` actions that follow it (see the module doc);
    the names of the actions whose texts were taken."""
    used: set[str] = set()
    for intent in draft.intents.values():
        runs = answers.actions.get(intent.name) or [[f"utter_{intent.name}"]]
        if intent.name in answers.custom and not answers.actions.get(intent.name):
            action, where = answers.custom[intent.name]
            draft.warnings.append(
                f"{where}: intent {intent.name!r} is answered by the action {action}, which is not imported: "
                "its reply is not in the files (fill in the placeholder, or call your code from a plugin)"
            )
        for run in runs:
            missing = [a for a in run if not answers.responses.get(a)]
            if missing:
                if run != [f"utter_{intent.name}"]:  # the naming convention is only a guess
                    names = ", ".join(missing)
                    draft.warnings.append(f"intent {intent.name!r}: no text for {names} in the domain")
                continue
            tail = [answers.responses[a][0] for a in run[1:]]
            intent.responses += ["\n".join([first, *tail]) for first in answers.responses[run[0]]]
            used.update(run)
        for response in intent.responses:
            slots = ", ".join(f"{{{slot}}}" for slot in dict.fromkeys(_RASA_SLOT.findall(response)))
            if slots:
                draft.warnings.append(
                    f"intent {intent.name!r}: response {response!r} names Rasa slots ({slots}); "
                    "they are kept as plain text (write kefu placeholders by hand)"
                )
    return used


def _unused_warning(answers: _Answers, used: set[str]) -> list[str]:
    """The warning for domain responses that answer no imported intent, so are not imported."""
    unused = [name for name, texts in answers.responses.items() if texts and name not in used]
    if not unused:
        return []
    shown = ", ".join(unused[:5]) + (" …" if len(unused) > 5 else "")
    hints = [
        hint
        for prefix, hint in (
            ("utter_ask_", "a form's utter_ask_<slot> is a slot's `prompt`"),
            ("utter_default", "utter_default is the bot's `fallback`"),
        )
        if any(name.startswith(prefix) for name in unused)
    ]
    count = f"{len(unused)} response{'s' if len(unused) > 1 else ''}"
    return [
        f"{answers.where[unused[0]]}: {count} not imported, as no rule, story or intent name leads to "
        f"them ({shown}){'; ' if hints else ''}{'; '.join(hints)}"
    ]


def _with_synonyms(values: dict[str, list[str]], synonyms: dict[str, str]) -> dict[str, list[str]]:
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


# -- shared by all three formats ---------------------------------------------------------


def _add_section(file: Path, kind: str, name: str, items: Items, draft: BotDraft) -> None:
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
            _add_lookup(file, line, name, text, draft, is_file=text.endswith(".txt"))


def _add_lookup(file: Path, line: int, name: str, entry: str, draft: BotDraft, *, is_file: bool) -> None:
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
        _use_entity(draft, intent, entity, text, value)


def _annotations(file: Path, line: int, match: re.Match[str]) -> list[tuple[str, str | None, list[str]]]:
    """(entity, value, its roles and groups) of one annotation; value None means the text itself."""
    if match["entity"] is not None:
        return [(match["entity"].strip(), match["value"].strip() if match["value"] else None, [])]
    source = "{" + match["dict"] + "}" if match["dict"] is not None else "[" + match["dicts"] + "]"
    try:
        data = json.loads(source)
    except json.JSONDecodeError as exc:
        raise SpecError.single(file, line, f"invalid entity annotation {match[0]!r}: {exc.msg}") from None
    found = []
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict) or not isinstance(item.get("entity"), str):
            raise SpecError.single(file, line, f'entity annotation {match[0]!r} needs an "entity" name')
        value = item.get("value")
        found.append((item["entity"], None if value is None else str(value), _roles(item)))
    return found


def _roles(annotation: dict[str, Any]) -> list[str]:
    """An annotation's Rasa role and group, as ``role 寄件`` and ``group 1``."""
    return [f"{key} {annotation[key]}" for key in ("role", "group") if annotation.get(key) is not None]


def _roles_warning(entity: EntityDraft) -> str:
    """The warning for an entity whose annotations have roles or groups, which kefu has not."""
    where = next(iter(entity.roles.values()))
    return (
        f"{where}: entity {entity.name!r} is annotated with {', '.join(entity.roles)}: kefu fills one slot "
        "per entity and cannot tell its roles apart; give each role an entity of its own"
    )


def _use_entity(draft: BotDraft, intent: IntentDraft, entity: str, text: str, value: str | None) -> None:
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


# -- Rasa 2/3 YAML -----------------------------------------------------------------------


def _read_yaml(file: Path, draft: BotDraft, answers: _Answers) -> bool:
    root = read_yaml_node(file)
    if not isinstance(root, yaml.MappingNode):
        return False
    top = node_mapping(file, root, "a Rasa file")
    for key in ("responses", "templates"):  # the domain (templates: Rasa 1.x)
        if isinstance(responses := top.get(key), yaml.MappingNode):
            _yaml_responses(file, responses, answers)
    if isinstance(forms := top.get("forms"), yaml.MappingNode) and forms.value:
        draft.warnings.append(_forms_warning(file, forms))
    for key in ("rules", "stories"):
        if isinstance(steps := top.get(key), yaml.SequenceNode):
            _yaml_steps(file, steps, answers)
    if "nlu" not in top:
        return False  # domain, stories, rules, config
    for item in node_list(file, top["nlu"], "`nlu`"):
        fields = node_mapping(file, item, "an `nlu` item")
        kind = next((k for k in SECTION_KINDS if k in fields), None)
        if kind is None:
            raise SpecError.single(
                file, node_line(item), "an `nlu` item needs intent, synonym, regex or lookup"
            )
        name = node_text(file, fields[kind], f"`{kind}`").strip()
        if "examples" not in fields:
            raise SpecError.single(file, node_line(item), f"{kind} {name!r} has no `examples`")
        _add_section(file, kind, name, _yaml_examples(file, fields["examples"], draft), draft)
    return True


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


def _yaml_responses(file: Path, node: yaml.MappingNode, answers: _Answers) -> None:
    """``utter_x: [{text: …}, …]`` (or plain texts); variations without text are skipped, and
    what else a variation holds is recorded in ``answers.dropped``."""
    for name, variations in node_mapping(file, node, "`responses`").items():
        texts = answers.responses.setdefault(name, [])
        for item in variations.value if isinstance(variations, yaml.SequenceNode) else []:
            if isinstance(item, yaml.MappingNode):
                fields = node_mapping(file, item, "a response")
                for key in fields:
                    if key not in ("text", "id"):  # an id only names the variation
                        answers.dropped.setdefault(key, []).append((f"{file}:{node_line(item)}", name))
                if fields.keys() & set(_CONDITIONAL_KEYS):
                    continue
                item = fields.get("text")
            if isinstance(item, yaml.ScalarNode) and str(item.value).strip():
                texts.append(str(item.value).strip())
                answers.where.setdefault(name, f"{file}:{node_line(item)}")


def _forms_warning(file: Path, forms: yaml.MappingNode) -> str:
    """What the report says about a domain's forms, which are not imported."""
    name, form = forms.value[0]
    required = form.value if isinstance(form, yaml.MappingNode) else []
    slots = next(
        (v for k, v in required if isinstance(k, yaml.ScalarNode) and k.value == "required_slots"), None
    )
    if isinstance(slots, yaml.SequenceNode):  # Rasa 3: a list of slot names
        names = [str(n.value) for n in slots.value if isinstance(n, yaml.ScalarNode)]
    elif isinstance(slots, yaml.MappingNode):  # Rasa 2: slot name -> its mappings
        names = [str(k.value) for k, _ in slots.value if isinstance(k, yaml.ScalarNode)]
    else:
        names = []
    asks = f", which asks for {', '.join(names)}" if names else ""
    count = f"{len(forms.value)} form{'s' if len(forms.value) > 1 else ''}"
    return (
        f"{file}:{node_line(name)}: {count} not imported (e.g. {name.value}{asks}): in kefu an intent asks "
        "for a slot it marks `required: true` with a `prompt`; add those to the intents that start the form"
    )


Step = tuple[tuple[str, ...], str | None, str]
"""One step of a rule or story: the intents it accepts (several for ``or``), or an action;
and its file:line."""


def _yaml_steps(file: Path, node: yaml.SequenceNode, answers: _Answers) -> None:
    """The ``steps`` of each rule or story: which actions follow which intent."""
    for entry in node.value:
        fields = node_mapping(file, entry, "a rule or story") if isinstance(entry, yaml.MappingNode) else {}
        steps = fields.get("steps")
        if isinstance(steps, yaml.SequenceNode):
            _follow_steps([_yaml_step(file, step) for step in steps.value], answers)


def _yaml_step(file: Path, node: yaml.Node) -> Step:
    """An ``intent``, ``action`` or ``or`` step (an ``or`` of intents lets any of them go on);
    other kinds of step (slot_was_set, active_loop, checkpoint...) as neither."""
    where = f"{file}:{node_line(node)}"
    fields = node_mapping(file, node, "a step") if isinstance(node, yaml.MappingNode) else {}
    texts = {k: str(v.value) for k, v in fields.items() if isinstance(v, yaml.ScalarNode)}
    if "intent" in texts:
        return (texts["intent"],), None, where
    if isinstance(alternatives := fields.get("or"), yaml.SequenceNode):
        intents = tuple(_yaml_step(file, item)[0] for item in alternatives.value)
        return tuple(name for names in intents for name in names), None, where
    return (), texts.get("action"), where


def _follow_steps(steps: list[Step], answers: _Answers) -> None:
    """The actions between each intent step and the next."""
    for index, (intents, _, _) in enumerate(steps):
        actions = []
        for next_intents, action, where in steps[index + 1 :]:
            if next_intents:
                break
            if action is not None:  # other steps (slot_was_set, active_loop, ...) pass by
                actions.append((action, where))
        for intent in intents:
            answers.follow(intent, actions)


# -- Rasa 1.x Markdown -------------------------------------------------------------------


def _read_markdown(file: Path, draft: BotDraft, answers: _Answers) -> bool:
    # Comments may span lines; blanking them keeps every later line number right.
    text = _MD_COMMENT.sub(lambda m: "\n" * m[0].count("\n"), read_text(file))
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
        _add_section(file, kind, name, entries, draft)
    for name, reference, number in lookup_files:
        _add_lookup(file, number, name, reference, draft, is_file=True)
    if not sections:
        _markdown_stories(file, text, answers)
    return bool(sections)


def _markdown_stories(file: Path, text: str, answers: _Answers) -> None:
    """Rasa 1.x stories: ``## story`` headings, ``* intent`` (or ``* a OR b``) lines, then
    ``- action`` lines."""
    steps: list[Step] = []
    for number, line in enumerate([*text.splitlines(), "##"], start=1):
        intent, action = _MD_STORY_INTENT.match(line), _MD_STORY_ACTION.match(line)
        if line.startswith("#"):
            _follow_steps(steps, answers)
            steps = []
        elif intent:
            steps.append((tuple(_MD_STORY_OR.split(intent[1].strip())), None, f"{file}:{number}"))
        elif action:
            steps.append(((), action[1], f"{file}:{number}"))


# -- Rasa JSON ---------------------------------------------------------------------------


def _read_json(file: Path, draft: BotDraft) -> bool:
    text = read_text(file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError.single(file, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise SpecError.single(file, 1, "invalid JSON: nested too deeply") from None
    half = first_lone_surrogate(data)
    if half is not None:  # half a character: the bot kefu writes could not hold it
        raise SpecError.single(file, _json_line(text, half), str(lone_surrogate(half)))
    if not isinstance(data, dict) or "rasa_nlu_data" not in data:
        return False
    nlu = _json_object(file, text, data["rasa_nlu_data"], "rasa_nlu_data")
    for key in ("common_examples", "intent_examples", "entity_examples"):
        for example in _json_list(file, text, nlu, key):
            _json_example(file, text, _json_object(file, text, example, key), draft)
    for synonym in _json_list(file, text, nlu, "entity_synonyms"):
        entry = _json_object(file, text, synonym, "entity_synonyms")
        value = _json_text(file, text, entry, "value")
        variants = [(str(v), _json_line(text, v)) for v in _json_list(file, text, entry, "synonyms")]
        _add_section(file, "synonym", value, variants, draft)
    for feature in _json_list(file, text, nlu, "regex_features"):
        entry = _json_object(file, text, feature, "regex_features")
        pattern = _json_text(file, text, entry, "pattern")
        regex = [(pattern, _json_line(text, pattern))]
        _add_section(file, "regex", _json_text(file, text, entry, "name"), regex, draft)
    for table in _json_list(file, text, nlu, "lookup_tables"):
        _json_lookup(file, text, _json_object(file, text, table, "lookup_tables"), draft)
    return True


def _json_lookup(file: Path, text: str, table: dict[str, Any], draft: BotDraft) -> None:
    """A lookup table: a list of elements, or the name of a file of them."""
    name = _json_text(file, text, table, "name")
    elements = table.get("elements")
    if isinstance(elements, str):
        _add_lookup(file, _json_line(text, elements), name, elements, draft, is_file=True)
        return
    words = [(str(e), _json_line(text, e)) for e in _json_list(file, text, table, "elements")]
    _add_section(file, "lookup", name, words, draft)


def _json_example(file: Path, text: str, example: dict[str, Any], draft: BotDraft) -> None:
    plain = _json_text(file, text, example, "text")
    line = _json_line(text, plain)
    if not example.get("intent"):
        draft.warnings.append(f"{file}:{line}: example {plain!r} has no intent; skipped")
        return
    intent = draft.intent(str(example["intent"]))
    intent.examples.append(plain.strip())
    for entity in _json_list(file, text, example, "entities"):
        entry = _json_object(file, text, entity, "entities")
        start, end = entry.get("start"), entry.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(plain)):
            raise SpecError.single(file, line, f"entity start/end {start}/{end} do not fit {plain!r}")
        value, name = entry.get("value"), _json_text(file, text, entry, "entity")
        _use_entity(draft, intent, name, plain[start:end], None if value is None else str(value))
        for role in _roles(entry):
            draft.entity(name).roles.setdefault(role, f"{file}:{line}")


def _json_line(text: str, value: Any) -> int:
    """Best guess at the line where ``value`` is written: its first occurrence, else line 1."""
    readable = json.dumps(value, ensure_ascii=False)
    # A lone surrogate can only have been written as an escape.
    escaped = SURROGATE.sub(lambda half: f"\\u{ord(half.group()):04x}", readable)
    for written in (readable, json.dumps(value), escaped):
        at = text.find(written)
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return 1


def _json_object(file: Path, text: str, value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError.single(file, _json_line(text, what), f"each entry of `{what}` must be an object")
    return value


def _json_list(file: Path, text: str, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError.single(file, _json_line(text, key), f"`{key}` must be a list")
    return value


def _json_text(file: Path, text: str, data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        where = _json_line(text, next(iter(data.values()), key))
        raise SpecError.single(
            file, where, f"`{key}` must be a non-empty string (in {json.dumps(data)[:80]})"
        )
    return value
