"""A Rasa project -> a ``BotDraft``: NLU data in YAML (Rasa 2/3), Markdown (Rasa 1.x) and
JSON, with the responses of its domain, rules and stories.

This module finds the files, hands each to its readers and adds the warnings of the
report: ``kefu.rasa_nlu`` reads YAML and Markdown NLU data (examples, entities, synonyms;
what every format shares), ``kefu.rasa_json`` the JSON format, ``kefu.rasa_responses``
the domain (and turns responses into each intent's replies) and ``kefu.rasa_stories``
the rules and stories that say which response follows which intent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import yaml

from kefu.errors import SpecError
from kefu.import_sources import node_mapping, read_text, read_yaml_node, source_files
from kefu.importers import BotDraft
from kefu.rasa_json import read_json
from kefu.rasa_nlu import (
    annotated_only_warning,
    read_markdown_nlu,
    read_yaml_nlu,
    roles_warning,
    with_synonyms,
)
from kefu.rasa_responses import (
    Answers,
    add_responses,
    dropped_warnings,
    forms_warning,
    read_yaml_responses,
    unused_warning,
)
from kefu.rasa_stories import read_markdown_stories, read_yaml_steps

__all__ = ["read_rasa"]

RASA_SUFFIXES = (".yml", ".yaml", ".md", ".json")
_MD_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ON_ITS_OWN = "import the folder on its own to use it"
# Folders of a project Rasa does not train on (`rasa train` reads data/), and why.
HELD_OUT = {
    "tests": f"Rasa tests the bot with it (`rasa test`) and does not train on it; {_ON_ITS_OWN}",
    "train_test_split": (
        "`rasa data split nlu` wrote it: its training part repeats the NLU data, and Rasa keeps its "
        f"test part out of training; {_ON_ITS_OWN}"
    ),
}


def read_rasa(path: str | Path) -> BotDraft:
    """Rasa NLU data in a file, or in every .yml/.yaml/.md/.json file under a folder; with
    the responses of a domain, rules and stories found beside it."""
    root = Path(path)
    draft = BotDraft()
    answers = Answers()
    readers: dict[str, Callable[[Path, BotDraft], bool]] = {
        ".json": read_json,
        ".md": lambda file, draft: _read_markdown(file, draft, answers),
        ".yml": lambda file, draft: _read_yaml(file, draft, answers),
        ".yaml": lambda file, draft: _read_yaml(file, draft, answers),
    }
    held_out: list[Path] = []
    files = source_files(root, RASA_SUFFIXES, recursive=True, held_out=HELD_OUT, skipped=held_out)
    found = [file for file in files if _reader(readers, file)(file, draft)]
    if not found:
        outside = f" outside {', '.join(sorted({f'{d.name}/' for d in held_out}))}" if held_out else ""
        raise SpecError.single(
            root,
            1,
            f"no Rasa NLU data{outside} "
            "(YAML with `nlu:`, Markdown with `## intent:`, JSON with `rasa_nlu_data`)",
        )
    draft.warnings += [f"{folder}: not imported: {HELD_OUT[folder.name]}" for folder in held_out]
    for entity in draft.entities.values():
        entity.values = with_synonyms(entity.values, draft.synonyms)
    if not answers.responses and (domain := _domain_above(root)) is not None:
        draft.warnings.append(
            f"{root}: no responses imported, every intent gets a placeholder reply: the domain {domain} "
            f"is outside what was imported; import {domain.parent} to take its responses"
        )
    used = add_responses(draft, answers)
    draft.warnings += unused_warning(answers, used)
    draft.warnings += dropped_warnings(answers.dropped)
    draft.warnings += [
        annotated_only_warning(e) for e in draft.entities.values() if not (e.patterns or e.listed)
    ]
    draft.warnings += [roles_warning(e) for e in draft.entities.values() if e.roles]
    return draft


def _domain_above(root: Path) -> Path | None:
    """The domain (``domain.yml``, or Rasa 3's ``domain/`` folder) of the Rasa project whose
    ``data/`` folder holds ``root``: what ``kefu import rasa data/`` or ``data/nlu.yml`` leaves out.

    Only the folder that holds that ``data/`` folder is a project root, as ``rasa init`` lays
    it out: a domain further up, or beside a folder of another name, may be another project's.
    """
    path = root.absolute()
    # data/nlu/faq.yml is as deep as projects go
    data = next((f for f in [path, *path.parents][:3] if f.name == "data" and f.is_dir()), None)
    if data is None:
        return None
    return next(
        (data.parent / n for n in ("domain.yml", "domain.yaml", "domain") if (data.parent / n).exists()), None
    )


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


def _read_yaml(file: Path, draft: BotDraft, answers: Answers) -> bool:
    root = read_yaml_node(file)
    if not isinstance(root, yaml.MappingNode):
        return False
    top = node_mapping(file, root, "a Rasa file")
    for key in ("responses", "templates"):  # the domain (templates: Rasa 1.x)
        if isinstance(responses := top.get(key), yaml.MappingNode):
            read_yaml_responses(file, responses, answers)
    if isinstance(forms := top.get("forms"), yaml.MappingNode) and forms.value:
        draft.warnings.append(forms_warning(file, forms))
    for key in ("rules", "stories"):
        if isinstance(steps := top.get(key), yaml.SequenceNode):
            read_yaml_steps(file, steps, answers)
    if "nlu" not in top:
        return False  # domain, stories, rules, config
    read_yaml_nlu(file, top["nlu"], draft)
    return True


def _read_markdown(file: Path, draft: BotDraft, answers: Answers) -> bool:
    # Comments may span lines; blanking them keeps every later line number right.
    text = _MD_COMMENT.sub(lambda m: "\n" * m[0].count("\n"), read_text(file))
    if read_markdown_nlu(file, text, draft):
        return True
    read_markdown_stories(file, text, answers)
    return False
