"""Which reply answers each imported Rasa intent: the domain's responses, and the runs of
``utter_`` actions that rules and stories (``kefu.rasa_stories``) put after it.

Responses come from the domain's ``responses`` (Rasa 2/3) or ``templates`` (Rasa 1.x):
an intent answers with the ``utter_`` actions that follow it in rules and stories, or
else with ``utter_<intent>``. A response's variations become the intent's alternative
responses; when several ``utter_`` actions follow an intent, each variation of the first
is followed, on new lines, by the first text of the others. A response's buttons, image,
custom payload and the like (its text is imported), variations with a ``condition`` or
``channel``, forms and custom actions are reported, not imported.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kefu.import_sources import node_line, node_mapping
from kefu.importers import BotDraft

__all__ = [
    "Answers",
    "add_responses",
    "dropped_warnings",
    "forms_warning",
    "read_yaml_responses",
    "unused_warning",
]

_RASA_SLOT = re.compile(r"\{(\w+)\}")

# A response variation with one of these is said only in some conversations; kefu would say it
# in all, so the variation is skipped rather than imported as an unconditional alternative.
_CONDITIONAL_KEYS = ("condition", "channel")


@dataclass
class Answers:
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


def read_yaml_responses(file: Path, node: yaml.MappingNode, answers: Answers) -> None:
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


def forms_warning(file: Path, forms: yaml.MappingNode) -> str:
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


def add_responses(draft: BotDraft, answers: Answers) -> set[str]:
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


def unused_warning(answers: Answers, used: set[str]) -> list[str]:
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


def dropped_warnings(dropped: dict[str, list[tuple[str, str]]]) -> list[str]:
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
