"""Rasa rules and stories (YAML, and Rasa 1.x Markdown) -> the actions that follow each intent."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kefu.import_sources import node_line, node_mapping
from kefu.rasa_responses import Answers

__all__ = ["read_markdown_stories", "read_yaml_steps"]

# `* greet`, `* inform{"city": "北京"}`, `* affirm OR thankyou`, `* greet: 你好` (end-to-end tests)
_MD_STORY_INTENT = re.compile(r"^\s*\*\s*([^\s{:]+(?:\s+OR\s+[^\s{:]+)*)")
_MD_STORY_OR = re.compile(r"\s+OR\s+")
_MD_STORY_ACTION = re.compile(r"^\s*-\s*([\w./-]+)\s*$")  # not `- slot{...}`

Step = tuple[tuple[str, ...], str | None, str]
"""One step of a rule or story: the intents it accepts (several for ``or``), or an action;
and its file:line."""


def read_yaml_steps(file: Path, node: yaml.SequenceNode, answers: Answers) -> None:
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


def _follow_steps(steps: list[Step], answers: Answers) -> None:
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


def read_markdown_stories(file: Path, text: str, answers: Answers) -> None:
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
