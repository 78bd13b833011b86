"""Foreign training data -> kefu bot files: the draft every reader fills, and writing it.

The readers live beside this module: ``kefu.chatterbot_import`` (ChatterBot corpora),
``kefu.table_import`` (CSV and JSON Lines) and ``kefu.rasa_import`` (Rasa projects); they
read their files through ``kefu.import_sources``.
Every reader returns a ``BotDraft``: intents with their examples, responses and the
entities they use, plus entities, synonyms and warnings. ``write_bot`` turns a draft into
a kefu folder (``bot.yaml`` + ``intents.yaml``), or one ``.yaml`` file, that loads with
``kefu.load_spec`` as written: entity names lose whitespace and braces, an example claimed
by two intents stays with the first, intents left without examples are dropped, and
intents without responses get a placeholder to fill in. Whatever was changed on the way
is listed in the report.
``export_jsonl`` goes the other way: one ``{"text", "intent"}`` line per example.
"""

from __future__ import annotations

import contextlib
import json
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kefu.bot_regex import RegexError, compile_regex, fullmatch
from kefu.checks import without_invisible
from kefu.dagcut import splitting_char
from kefu.errors import SpecError
from kefu.loader import load_spec
from kefu.normalize import fold, normalize
from kefu.spec import BotSettings, BotSpec
from kefu.specdump import dump_yaml

__all__ = [
    "BotDraft",
    "EntityDraft",
    "ImportReport",
    "IntentDraft",
    "export_jsonl",
    "safe_name",
    "unique_texts",
    "write_bot",
]

PLACEHOLDER_RESPONSE = "（请为意图 {name} 填写回复）"
OUTPUT_FILES = ("bot.yaml", "intents.yaml")
BOT_SUFFIXES = (".yaml", ".yml")
DATA_FILE_SUFFIXES = frozenset((".json", ".jsonl", ".csv", ".tsv", ".txt", ".md", ".xlsx", ".xls", ".toml"))
"""Output names that read as a file of another format: ``-o bot.json`` made a folder
called bot.json. Other dotted names (``mybot.v2``) are folders as asked."""
_UNSAFE_NAME = re.compile(r"[\s{}]+")


@dataclass
class IntentDraft:
    """One intent being imported: examples and responses in file order, and the entities it uses."""

    name: str
    examples: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)


@dataclass
class EntityDraft:
    """One entity being imported: regex patterns, or lookup values (canonical -> variants)."""

    name: str
    patterns: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    listed: bool = False
    """Whether values came from a list of them (a lookup table), not only from annotated examples."""
    roles: dict[str, str] = field(default_factory=dict)
    """Rasa's roles and groups of the entity (``role 寄件``) -> the file:line of the first."""

    def add_value(self, text: str, value: str | None = None) -> None:
        """Record that ``text`` was written for the canonical ``value`` (itself when None)."""
        canonical = text if value is None else value
        variants = self.values.setdefault(canonical, [])
        if text != canonical and text not in variants:
            variants.append(text)


@dataclass
class BotDraft:
    """A bot read from foreign files, before it is made valid and written as kefu YAML."""

    intents: dict[str, IntentDraft] = field(default_factory=dict)
    entities: dict[str, EntityDraft] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    """variant -> canonical, as kefu's ``nlp.synonyms``."""
    warnings: list[str] = field(default_factory=list)

    def intent(self, name: str) -> IntentDraft:
        """The intent called ``name``, created on first use (files may add to one intent)."""
        return self.intents.setdefault(name, IntentDraft(name))

    def entity(self, name: str) -> EntityDraft:
        """The entity called ``name``, created on first use."""
        return self.entities.setdefault(name, EntityDraft(name))

    def add_synonym(self, variant: str, canonical: str, where: str) -> None:
        """Map ``variant`` to ``canonical``; a variant keeps its first target (warned at ``where``)."""
        first = self.synonyms.setdefault(variant, canonical)
        if first != canonical:
            self.warnings.append(
                f"{where}: synonym {variant!r} -> {canonical!r} ignored; it already means {first!r}"
            )


@dataclass(frozen=True)
class ImportReport:
    """What ``write_bot`` wrote: counts of the loaded result and every change it made."""

    folder: Path
    """The bot's folder, or its one ``.yaml`` file."""
    intents: int
    examples: int
    entities: int
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the CLI's ``--json`` summary)."""
        return {
            "output": str(self.folder),
            "intents": self.intents,
            "examples": self.examples,
            "entities": self.entities,
            "warnings": list(self.warnings),
        }


# -- writing kefu files ------------------------------------------------------------------


def write_bot(draft: BotDraft, folder: str | Path, *, overwrite: bool = False) -> ImportReport:
    """Write ``draft`` as ``bot.yaml`` + ``intents.yaml`` in ``folder`` and check that it loads;
    a ``folder`` whose name ends in ``.yaml`` or ``.yml`` (and is no folder) gets the bot as
    that one file, which kefu loads just as well.

    The folder must not hold other YAML files (they would become part of the bot); the
    files are replaced only with ``overwrite``. Raises ``SpecError`` when nothing is
    left to import or the output is in the way.
    """
    out = Path(folder)
    single = out.suffix in BOT_SUFFIXES and not out.is_dir()
    if single:
        _check_file(out, overwrite)
    else:
        _check_folder(out, overwrite)
    warnings = list(draft.warnings)
    intents = _intent_documents(draft, warnings)
    if not intents:
        raise SpecError.single(out, 1, "nothing to import: no intent has a usable example")
    entities, entity_names = _entity_documents(draft, warnings)
    for intent, used in intents:
        slots = unique_texts(entity_names[e] for e in used if e in entity_names)
        if slots:
            intent["slots"] = {name: {"entity": name, "required": False} for name in slots}
    synonyms = _synonym_pairs(draft, warnings)
    name = (out.resolve().stem if single else out.resolve().name).strip() or "kefu"  # "　" names no bot
    bot = _bot_document(name, synonyms, entities)
    listed = [intent for intent, _ in intents]
    documents = (
        {out: {**bot, "intents": listed}}
        if single
        else {out / "bot.yaml": bot, out / "intents.yaml": {"version": 1, "intents": listed}}
    )
    # What --force replaces is kept until the new bot is known to load.
    previous = {path: path.read_bytes() for path in documents if path.is_file()}
    target = out.parent if single else out
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path, document in documents.items():
            _dump(path, document)
        spec = load_spec(out)  # the promise of this module: what we write loads as written
    except BaseException as exc:  # Ctrl-C between the two files too: never half an import
        _restore(list(documents), previous)
        if created:  # a failed import leaves no empty folder behind
            with contextlib.suppress(OSError):
                target.rmdir()
        if isinstance(exc, OSError):
            raise SpecError.single(out, 1, f"cannot write the bot: {exc.strerror or exc}") from None
        raise
    return ImportReport(out, len(spec.intents), spec.example_count, len(spec.entities), tuple(warnings))


def _restore(paths: list[Path], previous: dict[Path, bytes]) -> None:
    """Put back the files a failed import replaced, and remove the ones it added."""
    for path in paths:
        with contextlib.suppress(OSError):
            if path in previous:
                path.write_bytes(previous[path])
            else:
                path.unlink(missing_ok=True)


def _output_mode(out: Path) -> int | None:
    """``out``'s file type and mode, None when it does not exist yet."""
    try:
        return out.stat().st_mode
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # a name the system refuses: too long, a NUL byte
        raise SpecError.single(
            out, 1, f"cannot write the bot: {getattr(exc, 'strerror', None) or exc}"
        ) from None


def _check_folder(out: Path, overwrite: bool) -> None:
    mode = _output_mode(out)
    if mode is None and out.suffix.lower() in DATA_FILE_SUFFIXES:
        raise SpecError.single(
            out,
            1,
            f"kefu writes a bot as a folder or one .yaml file, not {out.suffix}: name it {out.stem}.yaml",
        )
    if mode is not None and not stat.S_ISDIR(mode):
        raise SpecError.single(out, 1, "output must be a folder or a .yaml file, not another file")
    existing = sorted(p.name for p in out.glob("*") if p.suffix in BOT_SUFFIXES) if mode is not None else []
    others = [name for name in existing if name not in OUTPUT_FILES]
    if others:
        raise SpecError.single(out, 1, f"output folder already holds other bot files: {', '.join(others)}")
    if existing and not overwrite:
        raise SpecError.single(out, 1, f"output folder already holds {', '.join(existing)} (use --force)")


def _check_file(out: Path, overwrite: bool) -> None:
    mode = _output_mode(out)
    if mode is not None and not stat.S_ISREG(mode):
        raise SpecError.single(out, 1, "output must be a folder or a .yaml file, not another file")
    if mode is not None and not overwrite:
        raise SpecError.single(out, 1, "output file already exists (use --force to replace it)")


def _intent_documents(draft: BotDraft, warnings: list[str]) -> list[tuple[dict[str, Any], list[str]]]:
    """Valid intents (safe unique names, each example in one intent only, a response each)
    and the draft entities each one uses."""
    reserved = BotSettings().out_of_scope_label
    taken: set[str] = set()
    owner: dict[str, str] = {}  # normalized example -> the intent that keeps it
    documents: list[tuple[dict[str, Any], list[str]]] = []
    for draft_intent in draft.intents.values():
        # kefu takes any other name; an invisible character (U+200B, a tab) it refuses
        name = _unique(without_invisible(draft_intent.name).strip() or "intent", taken)
        if name == reserved:
            name = _unique(f"imported_{reserved}", taken)
            warnings.append(f"intent {reserved!r} renamed to {name!r}: kefu reserves it for test files")
        elif name != draft_intent.name:
            warnings.append(f"intent {draft_intent.name!r} renamed to {name!r}")
        taken.add(name)
        examples = _claim_examples(name, draft_intent.examples, owner, warnings)
        if not examples:
            warnings.append(f"intent {name!r} dropped: it has no usable examples")
            continue
        responses = unique_texts(_escape_braces(r) for r in draft_intent.responses if r.strip())
        fallback = [PLACEHOLDER_RESPONSE.format(name=_escape_braces(name))]
        document = {"name": name, "examples": examples, "responses": responses or fallback}
        documents.append((document, draft_intent.entities))
    return documents


def _claim_examples(name: str, examples: list[str], owner: dict[str, str], warnings: list[str]) -> list[str]:
    """The examples ``name`` keeps: none without letters or digits, none another intent has."""
    kept: dict[str, str] = {}  # normalized -> first spelling; kefu keeps one of each too
    dropped: set[str] = set()
    for example in examples:
        key = normalize(example)
        if not key:
            warnings.append(f"example {example!r} of intent {name!r} dropped: it has no letters or digits")
            continue
        first = owner.setdefault(key, name)
        if first == name:
            kept.setdefault(key, example)
        elif key not in dropped:
            dropped.add(key)
            warnings.append(f"example {example!r} of intent {name!r} dropped: it is already in {first!r}")
    return list(kept.values())


def _entity_documents(
    draft: BotDraft, warnings: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """kefu entities (a regex when the source had one, else lookup values) and draft -> kefu names."""
    documents: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for entity in draft.entities.values():
        name = _unique(safe_name(entity.name), set(documents))
        document = _entity_document(name, entity, warnings)
        if document is not None:
            documents[name], names[entity.name] = document, name
            if name != entity.name:  # the report's other lines, and the source, use the old name
                warnings.append(
                    f"entity {entity.name!r} renamed to {name!r}: it names a slot, written {{{name}}}"
                )
    return documents, names


def _entity_document(name: str, entity: EntityDraft, warnings: list[str]) -> dict[str, Any] | None:
    if entity.patterns:
        pattern = _nfkc_pattern(name, _joined(entity.patterns), warnings)
        if pattern is None:
            return None
        try:
            compiled = compile_regex(pattern)
        except RegexError as exc:
            warnings.append(f"entity {name!r} dropped: invalid regex {pattern!r}: {exc}")
            return None
        owner = f"imported entity {name!r}"
        unmatched = [value for value in entity.values if not fullmatch(compiled, value, owner)]
        if unmatched:
            shown = ", ".join(unmatched[:5]) + (" …" if len(unmatched) > 5 else "")
            warnings.append(f"entity {name!r} is a regex; values it does not match are not found: {shown}")
        return {"regex": pattern}
    values = _distinct_words(name, {v: w for v, w in entity.values.items() if v.strip()}, warnings)
    if not values:
        warnings.append(f"entity {name!r} dropped: it has no values or patterns")
        return None
    return {"values": values}


def _distinct_words(name: str, values: dict[str, list[str]], warnings: list[str]) -> dict[str, list[str]]:
    """Lookup values as a bot file may hold them: each word (a value or one of its variants)
    under one value only, compared as the extractor reads them (case, width and Traditional
    forms ignored), and none blank. Rasa told VIP and vip, or ＸＬ and XL, apart; kefu would
    only ever give the first, so the bot file refuses the second: it joins the first value
    (its variants too) or, as a variant of another value, is left out, with a warning."""
    owner: dict[str, str] = {}  # folded word -> the value it gives
    kept: dict[str, list[str]] = {}
    for value, variants in values.items():
        first = owner.setdefault(fold(value), value)
        if first != value:
            warnings.append(
                f"entity {name!r}: value {value!r} joins {first!r}, the same word as the extractor reads it"
            )
        words = kept.setdefault(first, [])
        for variant in variants:
            if not variant.strip():
                warnings.append(f"entity {name!r}: a blank text of value {value!r} left out")
                continue
            holder = owner.setdefault(fold(variant), first)
            if holder != first:
                warnings.append(
                    f"entity {name!r}: {variant!r} left out of {value!r}: it already gives {holder!r}"
                )
            elif variant != first and variant not in words:
                words.append(variant)
    return kept


def _joined(patterns: list[str]) -> str:
    unique = unique_texts(patterns)
    return unique[0] if len(unique) == 1 else "|".join(f"(?:{p})" for p in unique)


def _bot_document(name: str, synonyms: dict[str, str], entities: dict[str, Any]) -> dict[str, Any]:
    """``bot.yaml``: the bot's own replies spelled out to edit; tuned numbers stay kefu's defaults."""
    defaults = BotSettings()
    bot = {"name": name, "fallback": list(defaults.fallback), "clarify": defaults.clarify,
           "handoff_reply": defaults.handoff_reply}  # fmt: skip
    document: dict[str, Any] = {"version": 1, "bot": bot}
    if synonyms:
        document["nlp"] = {"synonyms": synonyms}
    if entities:
        document["entities"] = entities
    return document


def _nfkc_pattern(name: str, pattern: str, warnings: list[str]) -> str | None:
    """``pattern`` as it can match in kefu, where entity regexes run on NFKC text: written in
    NFKC form when NFKC changes it (编号：, [Ａ-Ｚ], which Rasa matched on the raw text; in
    every alternative of a ``|``), unless that would change the regex syntax (（ becomes a
    group's paren); then None, with a warning, as the bot written would not load."""
    if unicodedata.normalize("NFKC", pattern) == pattern:
        return pattern
    changed = [unicodedata.normalize("NFKC", ch) for ch in pattern if unicodedata.normalize("NFKC", ch) != ch]
    if any(_REGEX_SYNTAX & set(text) for text in changed):
        warnings.append(f"entity {name!r} dropped: regex {pattern!r} holds full-width regex syntax")
        return None
    nfkc = unicodedata.normalize("NFKC", pattern)
    warnings.append(f"entity {name!r}: regex {pattern!r} written as {nfkc!r} (kefu matches it on NFKC text)")
    return nfkc


_REGEX_SYNTAX = frozenset("\\.^$*+?{}[]|()")


def _synonym_pairs(draft: BotDraft, warnings: list[str]) -> dict[str, str]:
    """The draft's synonyms a message can hold and that change it (not the same word once
    normalized), as a bot file may hold them: a one-word variant jieba never gives whole
    (café), a variant written twice once normalized (VIP, vip) and a pair closing a circle
    (发货 -> 寄出 -> 发货) are left out with a warning, or the bot written would not load."""
    pairs: dict[str, str] = {}
    followed: dict[str, str] = {}  # normalized variant -> normalized canonical, of the pairs kept
    written: dict[str, str] = {}  # normalized variant -> the variant as written
    for variant, canonical in draft.synonyms.items():
        key, target = normalize(variant), normalize(canonical)
        if not key or not target or key == target:
            continue
        split = splitting_char(key) if " " not in key else None
        node, visited = target, {key}
        while node in followed and node not in visited:
            visited.add(node)
            node = followed[node]
        if split is not None:
            why = f"jieba never gives {variant!r} whole (it splits words at {split!r})"
        elif key in written and followed[key] == target:
            continue  # VIP: 会员 and vip: 会员 are one synonym
        elif key in written:
            why = f"it is {written[key]!r} again once normalized"
        elif node in visited:
            why = "it would close a circle of synonyms"
        else:
            pairs[variant], followed[key], written[key] = canonical, target, variant
            continue
        warnings.append(f"synonym {variant!r} -> {canonical!r} left out: {why}")
    return pairs


def _dump(path: Path, document: dict[str, Any]) -> None:
    text = dump_yaml(document)
    path.write_text("# Written by `kefu import`; see docs/intents.md.\n" + text, encoding="utf-8")


def safe_name(name: str) -> str:
    """``name`` as a kefu entity name, which also names a slot that replies write as ``{name}``:
    whitespace and braces become ``_``, invisible characters (U+200B) go."""
    return _UNSAFE_NAME.sub("_", without_invisible(name).strip()) or "intent"


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… when it is taken (names that differed only by spaces)."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def unique_texts(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _escape_braces(text: str) -> str:
    """Foreign replies are plain text; in a kefu template a brace would start a placeholder."""
    return text.replace("{", "{{").replace("}", "}}")


# -- export ------------------------------------------------------------------------------


def export_jsonl(spec: BotSpec) -> Iterator[str]:
    """One ``{"text", "intent"}`` JSON line (without newline) per example of ``spec``."""
    for intent in spec.intents:
        for example in intent.examples:
            yield json.dumps({"text": example, "intent": intent.name}, ensure_ascii=False)
