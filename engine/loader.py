"""Bot files (YAML v1) -> a validated ``BotSpec``.

A bot is one YAML file or a directory of them (``*.yaml`` / ``*.yml`` directly inside,
read in name order; sub-folders are ignored, even one named ``*.yaml``). A ``*.yaml`` entry
that cannot be read, such as a broken symbolic link, is a problem, not skipped. Every
problem in every file is collected and raised at once as a ``SpecError`` of
``file:line: message`` lines, so a bot with any problem never loads partially.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kefu._version import __version__
from kefu.bot_regex import compile_regex, fullmatch
from kefu.builtin_entities import BUILTIN_FINDERS, BUILTIN_SHAPES
from kefu.checks import dead_literal
from kefu.entities import EntityExtractor
from kefu.errors import Problem, SpecError
from kefu.normalize import NORMALIZATION, fold
from kefu.sections import FORMAT_VERSION, FileResult, check_file
from kefu.settings_sections import BUILTIN_ENTITIES
from kefu.spec import (
    BotSettings,
    BotSpec,
    EntitySpec,
    IntentSpec,
    MatcherSettings,
    NlpSettings,
    PluginSettings,
    SessionSettings,
    SlotSpec,
)
from kefu.yamlsource import PathKey, SourceFile, read_yaml

__all__ = ["bot_files", "fingerprint", "load_spec", "path_mode"]


def bot_files(path: str | Path) -> list[Path]:
    """The YAML files that make up the bot at ``path`` (a file or a directory)."""
    root = Path(path)
    if stat.S_ISDIR(path_mode(root)):
        return _folder_files(root)
    if problem := _name_problem(root):
        raise SpecError.single(root, 1, problem)
    return [root]


def path_mode(path: Path) -> int:
    """``path``'s file type and mode (links followed); ``SpecError`` saying why it cannot be
    read: missing, a broken link, or a name no file can have (too long, a NUL byte)."""
    try:
        return path.stat().st_mode
    except OSError as exc:
        raise SpecError.single(path, 1, _unreadable(path, exc)) from None
    except ValueError as exc:  # a NUL byte, or half a character: the system cannot take the name
        raise SpecError.single(path, 1, f"cannot read file: {exc}") from None


def _folder_files(root: Path) -> list[Path]:
    """The bot files directly inside ``root``. A ``*.yaml`` entry that is not a file or a
    folder is a problem: skipping it would load the bot without the intents it seems to hold."""
    try:
        entries = sorted(p for p in root.iterdir() if p.suffix in {".yaml", ".yml"})
    except OSError as exc:
        raise SpecError.single(root, 1, f"cannot list directory: {exc.strerror or exc}") from None
    files: list[Path] = []
    problems: list[Problem] = []
    for entry in entries:
        try:
            mode = entry.stat().st_mode
        except OSError as exc:
            problems.append(Problem(str(entry), 1, _unreadable(entry, exc)))
            continue
        if stat.S_ISREG(mode) and (problem := _name_problem(entry)):
            problems.append(Problem(str(entry), 1, problem))
        elif stat.S_ISREG(mode):
            files.append(entry)
        elif not stat.S_ISDIR(mode):  # a sub-folder is ignored, whatever its name
            problems.append(Problem(str(entry), 1, "cannot read file: not a regular file"))
    if problems:
        raise SpecError(problems)
    if not files:
        raise SpecError.single(root, 1, "directory holds no .yaml bot files")
    return files


def _name_problem(file: Path) -> str:
    """What is wrong with the name of bot file ``file`` ("" if nothing): a name that is not
    UTF-8 cannot be written into the model, reports or JSON output, which all name files."""
    try:
        file.name.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not UTF-8: rename the file"
    return ""


def _unreadable(path: Path, exc: OSError) -> str:
    """Why ``path``, whose ``stat`` raised ``exc``, cannot be read."""
    try:
        link = path.is_symlink()
    except OSError:  # the name itself is refused (too long): no link to describe
        link = False
    if not link:
        if exc.errno == errno.ENOENT:
            return "no such file or directory"
        return f"cannot read file: {exc.strerror or exc}"
    if exc.errno == errno.ELOOP:
        return "cannot read file: broken symbolic link (it loops back on itself)"
    try:
        target = os.readlink(path)
    except OSError:  # removed since the stat: the message need not name the target
        return f"cannot read file: broken symbolic link ({exc.strerror or exc})"
    return f"cannot read file: broken symbolic link to {target} ({exc.strerror or exc})"


def fingerprint(files: Iterable[Path], raw: Iterable[bytes]) -> str:
    """A digest of the bot files' names and bytes and of the kefu version reading them (and
    of its text normalization, which one version number did not follow)."""
    digest = hashlib.sha256(f"kefu {__version__} format {FORMAT_VERSION} {NORMALIZATION}\n".encode())
    for file, data in zip(files, raw, strict=True):
        digest.update(file.name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def load_spec(path: str | Path) -> BotSpec:
    """Load and validate the bot at ``path``; raise ``SpecError`` listing every problem."""
    files = bot_files(path)
    results = [check_file(read_yaml(file)) for file in files]
    problems = [p for r in results for p in r.checker.problems]
    sections = _merge_sections(results, problems)
    intents = [intent for r in results for intent in r.intents]
    entities: tuple[EntitySpec, ...] = sections.get("entities", ())
    settings: BotSettings = sections.get("bot", BotSettings())
    problems += _cross_check(results, intents, entities, settings)
    if not problems and not intents:
        problems.append(Problem(str(files[0]), 1, "bot has no intents"))
    if problems:
        raise SpecError(problems)
    return BotSpec(
        settings=settings,
        nlp=sections.get("nlp", NlpSettings()),
        matcher=sections.get("matcher", MatcherSettings()),
        entities=entities,
        intents=tuple(intents),
        sessions=sections.get("sessions", SessionSettings()),
        plugins=sections.get("plugins", PluginSettings()),
        files=tuple(str(f) for f in files),
        fingerprint=fingerprint(files, (r.checker.src.raw for r in results)),
    )


def _merge_sections(results: list[FileResult], problems: list[Problem]) -> dict[str, Any]:
    """Each section but ``intents`` may appear in one file only."""
    sections: dict[str, Any] = {}
    owner: dict[str, Path] = {}
    for result in results:
        src = result.checker.src
        for name, value in result.sections.items():
            if name in sections:
                line = src.key_line((name,))
                message = f"`{name}` is already defined in {owner[name]}"
                problems.append(Problem(str(src.path), line, message))
                continue
            sections[name], owner[name] = value, src.path
    return sections


def _cross_check(
    results: list[FileResult],
    intents: list[IntentSpec],
    entities: tuple[EntitySpec, ...],
    settings: BotSettings,
) -> list[Problem]:
    """Checks that need the whole bot: duplicates and names defined in another place."""
    problems: list[Problem] = []
    first_intent: dict[str, IntentSpec] = {}
    for intent in intents:
        if intent.name in first_intent:
            other = first_intent[intent.name]
            message = f"duplicate intent name {intent.name!r} (first defined at {other.file}:{other.line})"
            problems.append(Problem(intent.file, intent.line, message))
        else:
            first_intent[intent.name] = intent
        if intent.name == settings.out_of_scope_label:
            message = f"intent name {intent.name!r} is reserved for out-of-scope messages"
            problems.append(Problem(intent.file, intent.line, message))
    problems += _duplicate_examples(results)
    problems += _unresolved_references(results, intents, entities)
    problems += _impossible_slot_values(results, entities)
    problems += _unreachable_keywords(results, intents, settings)
    return problems


def _unreachable_keywords(
    results: list[FileResult], intents: list[IntentSpec], settings: BotSettings
) -> list[Problem]:
    """A keyword hit raises an intent to ``keyword_score``: below the intent's threshold
    that never answers, and the keywords would do nothing."""
    thresholds: dict[str, float] = {}
    for intent in intents:
        thresholds.setdefault(
            intent.name, settings.threshold if intent.threshold is None else intent.threshold
        )
    problems = []
    for result in results:
        src = result.checker.src
        for kind, path, name in result.references:
            threshold = thresholds.get(name, 0.0)
            if kind == "keywords" and threshold > settings.keyword_score:
                message = (
                    f"intent {name!r} has keywords, but a keyword hit gives it `bot.keyword_score` "
                    f"{settings.keyword_score:g}, below its threshold {threshold:g}: its keywords "
                    "would never answer it (raise keyword_score or lower the threshold)"
                )
                problems.append(Problem(str(src.path), src.line(path), message))
    return problems


def _duplicate_examples(results: list[FileResult]) -> list[Problem]:
    owner: dict[str, str] = {}
    problems = []
    for result in results:
        for intent, key, path in result.example_paths:
            first = owner.setdefault(key, intent)
            if first != intent:
                line = result.checker.src.line(path)
                message = f"example {key!r} of intent {intent!r} is also an example of {first!r}"
                problems.append(Problem(str(result.checker.src.path), line, message))
    return problems


def _unresolved_references(
    results: list[FileResult], intents: list[IntentSpec], entities: tuple[EntitySpec, ...]
) -> list[Problem]:
    entity_names = {e.name for e in entities} | set(BUILTIN_ENTITIES)
    refused = _declared_entity_names(results) - entity_names
    opened = {ctx.name for intent in intents for ctx in intent.output_contexts}
    params = {
        f"{ctx.name}.{slot.name}"
        for intent in intents
        for ctx in intent.output_contexts
        for slot in intent.slots
    }
    problems = []
    for result in results:
        src = result.checker.src
        for kind, path, name in result.references:
            if kind == "entity" and name in refused:
                continue  # its own problem says why: calling it unknown would report it twice
            if kind == "entity" and name not in entity_names:
                known = ", ".join(sorted(entity_names)) or "none declared"
                message = f"slot uses unknown entity {name!r} (entities: {known})"
            elif kind == "context" and name not in opened:
                message = f"input context {name!r} is never opened by any intent's `contexts.out`"
            elif kind == "param" and name not in params:
                message = f"template names {{{name}}}, but no intent opening that context has that slot"
            else:
                continue
            problems.append(Problem(str(src.path), src.line(path), message))
    return problems


def _declared_entity_names(results: list[FileResult]) -> set[str]:
    """Every name under ``entities:``, including entities refused for their regex or builtin."""
    names: set[str] = set()
    for result in results:
        data = result.checker.src.data
        section = data.get("entities") if isinstance(data, dict) else None
        if isinstance(section, dict):
            names.update(str(name) for name in section)
    return names


def _impossible_slot_values(results: list[FileResult], entities: tuple[EntitySpec, ...]) -> list[Problem]:
    """A slot of a lookup entity receives only the entity's canonical values: a slot value
    that is none of them (a synonym, a typo), or a slot regex that matches none of them, is
    an answer the slot can never take, and its question would be asked until the bot gave up."""
    lookups = {e.name: e for e in entities if e.builtin is None and e.regex is None}
    # The built-ins answer to their own names too, unless a declared entity takes the name.
    builtins: dict[str, str | None] = {name: name for name in BUILTIN_FINDERS}
    builtins.update({e.name: e.builtin for e in entities})
    problems = []
    for result in results:
        src = result.checker.src
        for where, slot in result.slots:
            kind = builtins.get(slot.entity)
            if kind is not None:
                problems += _impossible_builtin_values(src, where, slot, kind)
            entity = lookups.get(slot.entity)
            if entity is None:
                continue
            canonical = dict.fromkeys(value for value, _ in entity.values)  # a set, kept in order
            for i, value in enumerate(slot.values):
                if value not in canonical:
                    line = src.line((*where, "values", i))
                    problems.append(Problem(str(src.path), line, _not_canonical(slot, entity, value)))
            pattern = compile_regex(slot.regex) if slot.regex is not None else None
            if pattern is not None and not any(fullmatch(pattern, v, "slot regex") for v in canonical):
                message = (
                    f"slot {slot.name!r}: regex {slot.regex!r} matches none of the values of entity "
                    f"{entity.name!r} ({_listed(canonical)}), so the slot can never be filled"
                )
                problems.append(Problem(str(src.path), src.line((*where, "regex")), message))
    return problems


def _impossible_builtin_values(src: SourceFile, where: PathKey, slot: SlotSpec, kind: str) -> list[Problem]:
    """A slot of a built-in entity receives values in one shape (``99``, ``2026-11-28``):
    a slot value in another shape, or a slot regex needing a character those values never
    hold, could never be the answer, and the question would be asked until the bot gave up."""
    chars, shown = BUILTIN_SHAPES[kind]
    problems = []
    for i, value in enumerate(slot.values):
        given = _builtin_value(kind, value)
        if given == value:
            continue
        if given is not None:
            message = f"slot {slot.name!r}: the built-in {kind} gives {value!r} as {given!r}, so write that"
        else:
            message = (
                f"slot {slot.name!r}: {value!r} is no value of the built-in {kind} (its values look "
                f"like {shown}), so the slot can never take it"
            )
        problems.append(Problem(str(src.path), src.line((*where, "values", i)), message))
    dead = dead_literal(slot.regex, lambda literal: literal in chars) if slot.regex is not None else None
    if dead is not None:
        message = (
            f"slot {slot.name!r}: regex {slot.regex!r} can never match a value of the built-in {kind}, "
            f"which never holds {dead!r} (its values look like {shown})"
        )
        problems.append(Problem(str(src.path), src.line((*where, "regex")), message))
    return problems


def _builtin_value(kind: str, text: str) -> str | None:
    """The value a slot of the built-in ``kind`` receives when ``text`` answers its question
    (None for none, or for several). A date must be written as one (2026-11-28, 2026/11/28):
    明天 has no fixed value."""
    if kind == "date" and fold(text).strip("0123456789-/."):
        return None
    found = _BUILTINS.parse_value(text, kind)
    return found.value if found is not None else None


_BUILTINS = EntityExtractor(())
"""The built-in entities, read as a slot reads its answer."""


def _not_canonical(slot: SlotSpec, entity: EntitySpec, value: str) -> str:
    """Why ``value`` in ``slot.values`` can never be the slot's value."""
    owner = next((canonical for canonical, words in entity.values if value in words), None)
    if owner is not None:
        return (
            f"slot {slot.name!r}: {value!r} is a synonym of {owner!r} in entity {entity.name!r}; "
            f"the slot receives {owner!r}, so write that"
        )
    known = _listed(canonical for canonical, _ in entity.values)
    return (
        f"slot {slot.name!r}: {value!r} is not a value of entity {entity.name!r} ({known}), "
        "so the slot can never take it"
    )


def _listed(values: Iterable[str], most: int = 10) -> str:
    """``values`` joined by commas, the first ``most`` of a long list and how many more."""
    values = list(values)
    more = f", and {len(values) - most} more" if len(values) > most else ""
    return ", ".join(values[:most]) + more
