"""ChatterBot corpora -> a ``BotDraft`` (``kefu.importers.write_bot`` writes it as a bot)."""

from __future__ import annotations

from pathlib import Path

import yaml

from kefu.errors import SpecError
from kefu.import_sources import node_line, node_list, node_mapping, node_text, read_yaml_node, source_files
from kefu.importers import BotDraft, unique_texts

__all__ = ["read_chatterbot"]


def read_chatterbot(path: str | Path) -> BotDraft:
    """ChatterBot corpus YAML (a file, or every .yml/.yaml in a folder) as a draft.

    Each file is one intent, named by its first category (else the file name): the first
    utterance of each conversation is an example, the second a response. A category's
    answers thus become one intent's interchangeable replies (reported when its questions
    had answers of their own); split a file by hand where an answer must fit its question.
    ChatterBot answers each later utterance with the next one too; an intent has no
    follow-up turns, so those are left out with a warning (pairing them into the same
    intent would make any of its answers a reply to any question).
    """
    draft = BotDraft()
    for file in source_files(Path(path), (".yml", ".yaml"), recursive=False):
        root = read_yaml_node(file)
        if root is None:
            draft.warnings.append(f"{file}:1: empty file skipped")
            continue
        top = node_mapping(file, root, "a ChatterBot corpus file")
        if "conversations" not in top:
            raise SpecError.single(file, node_line(root), "not a ChatterBot corpus: no `conversations`")
        categories = [node_text(file, n, "a category") for n in _items(file, top.get("categories"))]
        intent = draft.intent(categories[0] if categories else file.stem)
        longer: list[tuple[int, list[str]]] = []
        answers: dict[str, tuple[int, set[str]]] = {}  # question -> its first line, its answers
        for conversation in node_list(file, top["conversations"], "`conversations`"):
            turns = [
                node_text(file, n, "an utterance") for n in node_list(file, conversation, "a conversation")
            ]
            if turns:
                intent.examples.append(turns[0])
            if len(turns) > 1:
                intent.responses.append(turns[1])
                answers.setdefault(turns[0], (node_line(conversation), set()))[1].add(turns[1])
            if len(turns) > 2:
                longer.append((node_line(conversation), turns))
        if longer:
            draft.warnings.append(_longer_conversations(file, longer))
        if mixed := _mixed_answers(file, intent.name, answers, unique_texts(intent.responses)):
            draft.warnings.append(mixed)
    return draft


def _mixed_answers(
    file: Path, name: str, answers: dict[str, tuple[int, set[str]]], every: list[str]
) -> str | None:
    """The warning for a file whose questions have answers of their own, which one intent mixes:
    ChatterBot answers a question with its own answers, kefu an intent with any of its replies
    (``every`` answer of the file, in file order)."""
    for question, (line, said) in answers.items():
        if other := [answer for answer in every if answer not in said]:
            return (
                f"{file}:{line}: {len(answers)} questions with answers of their own became one intent "
                f"{name!r}, which may give any of its {len(every)} answers to any of them (e.g. {question!r} "
                f"-> {other[0]!r}); split the file by question where an answer must fit its question"
            )
    return None


def _longer_conversations(file: Path, longer: list[tuple[int, list[str]]]) -> str:
    """The warning for conversations whose utterances after the second were left out."""
    line, turns = longer[0]
    count = f"{len(longer)} conversation{'s' if len(longer) > 1 else ''}"
    rest = ", ".join(repr(t) for t in turns[2:])
    return (
        f"{file}:{line}: {count} with more than two utterances: only the first two were imported, "
        f"as example and response (e.g. {turns[0]!r} -> {turns[1]!r}; left out: {rest}); "
        "put a later exchange in a conversation of its own to keep it"
    )


def _items(path: Path, node: yaml.Node | None) -> list[yaml.Node]:
    """A list that may be missing, or written as one scalar."""
    if node is None:
        return []
    return [node] if isinstance(node, yaml.ScalarNode) else node_list(path, node, "`categories`")
