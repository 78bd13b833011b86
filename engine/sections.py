"""The sections of a bot file (YAML v1), each checked and converted to spec objects.

See docs/intents.md for the format. Checks that need every file (duplicate intents,
unknown entities, contexts nobody opens) live in ``kefu.loader``.
"""

from __future__ import annotations

import importlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kefu.checks import Check, FileChecker, describe, dotted
from kefu.manager import DEFAULT_PLUGINS
from kefu.normalize import normalize
from kefu.spec import (
    BotSettings,
    EntitySpec,
    IntentSpec,
    MatcherSettings,
    NlpSettings,
    OutputContext,
    PluginSettings,
    SessionSettings,
    SlotSpec,
)
from kefu.templates import TemplateError, placeholders
from kefu.yamlsource import PathKey, SourceFile

__all__ = [
    "BUILTIN_ENTITIES",
    "FORMAT_VERSION",
    "FileResult",
    "bundled_data_files",
    "check_file",
    "checked_plugin_settings",
]

FORMAT_VERSION = 1
BUILTIN_ENTITIES = ("order_id", "mobile", "amount", "date")
HEADS = ("ensemble", "linear", "cosine")
STORES = ("memory", "redis")
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
    version = data.get("version")
    if type(version) is not int or version != FORMAT_VERSION:  # `true == 1` in Python
        where: PathKey = ("version",) if "version" in data else ()
        got = repr(data["version"]) if "version" in data else "missing"
        c.problem(where, f"`version` must be {FORMAT_VERSION} (got {got})")
    for name, check in SECTION_CHECKS.items():
        if name in data:
            result.sections[name] = check(c, (name,), data[name])
    if "intents" in data:
        _intents(result, ("intents",), data["intents"])
    return result


# Upper bounds where a bigger value would only fail later: the matcher keeps a table as
# long as the longest message it reads, and functools' match cache takes a C-sized maxsize.
MAX_INPUT_LENGTH = 100_000
MAX_CACHE_SIZE = 10_000_000


def _num(low: float, high: float | None = None) -> Check:
    return lambda c, p, v: c.number(p, v, low, high)


def _int(low: int, high: int | None = None) -> Check:
    return lambda c, p, v: c.integer(p, v, low, high)


def _text(c: FileChecker, p: PathKey, v: Any) -> Any:
    return c.text(p, v)


def _texts(c: FileChecker, p: PathKey, v: Any) -> Any:
    return c.texts(p, v, single_ok=True)


BOT_CHECKS: dict[str, Check] = {
    "name": _text,
    "threshold": _num(0.0, 1.0),
    "ambiguity_margin": _num(0.0, 1.0),
    "handoff_after_fallbacks": _int(0),
    "fallback": _texts,
    "clarify": _text,
    "handoff_reply": _text,
    "cancel_reply": _text,
    "max_input_length": _int(1, MAX_INPUT_LENGTH),
    "top_k": _int(1),
    "out_of_scope_label": _text,
    "slot_retries": _int(0),
    "cancel_words": _texts,
    "history_size": _int(1),
    "keyword_score": _num(0.0, 1.0),
}

MATCHER_CHECKS: dict[str, Check] = {
    "head": lambda c, p, v: c.choice(p, v, HEADS),
    "word_ngrams": FileChecker.ngram_range,
    "char_ngrams": FileChecker.ngram_range,
    "word_weight": _num(0.0),
    "char_weight": _num(0.0),
    "char_padding": FileChecker.flag,
    "sublinear_tf": FileChecker.flag,
    "c": _num(1e-6),
    "cosine_weight": _num(0.0),
    "count_unknown": FileChecker.flag,
    "cache_size": _int(0, MAX_CACHE_SIZE),
}

SESSION_CHECKS: dict[str, Check] = {
    "store": lambda c, p, v: c.choice(p, v, STORES),
    "max_sessions": _int(1),
    "idle_ttl": _num(1.0),
    "url": _text,
    "key_prefix": _text,
    "lock_timeout": _num(0.001),
    "lock_wait": _num(0.0),
    "end_grace": _num(0.0),
}


def _bot(c: FileChecker, path: PathKey, value: Any) -> BotSettings:
    data = c.fields(path, c.mapping(path, value, BOT_CHECKS), BOT_CHECKS)
    if "fallback" in data and not data["fallback"]:
        c.problem((*path, "fallback"), "`bot.fallback` needs at least one reply")
        del data["fallback"]
    if "clarify" in data and "{options}" not in data["clarify"]:
        c.problem((*path, "clarify"), "`bot.clarify` must contain {options}")
        del data["clarify"]
    for i, text in enumerate(data.get("fallback", ())):
        _sent_as_written(c, (*path, "fallback", i), text)
    for key in ("handoff_reply", "cancel_reply", "clarify"):
        if key in data:
            _sent_as_written(c, (*path, key), data[key].replace("{options}", ""))
    return BotSettings(**data)


_CHINESE = re.compile(r"[\u3400-\u9fff]")
_BRACES = re.compile(r"\{+[^{}]*\}+")


def _sent_as_written(c: FileChecker, path: PathKey, text: str) -> None:
    """The bot's own replies and slot questions are sent as written: a ``{name}`` in one
    would reach the customer as it stands, since only intent responses fill placeholders."""
    found = _BRACES.search(text)
    if found is not None:
        c.problem(
            path,
            f"`{dotted(path)}` is sent as written, so the customer would see {found[0]}: "
            "placeholders are filled in intent `responses` only",
        )


def _nlp(c: FileChecker, path: PathKey, value: Any) -> NlpSettings:
    data = c.mapping(path, value, ("user_dict", "synonyms", "stopwords", "hmm"))
    synonyms = c.mapping((*path, "synonyms"), data.get("synonyms"), None)
    pairs = []
    for variant, canonical in synonyms.items():
        where = (*path, "synonyms", variant)
        target = c.text(where, canonical)
        # Spaces pass (though such a synonym never applies): `kefu import` writes Rasa's
        # multi-word synonyms here, and a bot it writes must load.
        if target is not None and _has_word(c, where, str(variant)) and _has_word(c, where, target):
            pairs.append((normalize(str(variant)), normalize(target)))
    words = {key: c.texts((*path, key), data.get(key)) for key in ("user_dict", "stopwords")}
    for key, texts in words.items():
        for i, word in enumerate(texts):
            _one_word(c, (*path, key, i), word)
    hmm = c.flag((*path, "hmm"), data["hmm"]) if "hmm" in data else False
    return NlpSettings(
        user_dict=words["user_dict"],
        synonyms=tuple(pairs),
        stopwords=tuple(normalize(w) for w in words["stopwords"]),
        hmm=False if hmm is None else hmm,
    )


def _has_word(c: FileChecker, path: PathKey, word: str) -> bool:
    """Whether ``word`` keeps a letter or digit once normalized (！ does not)."""
    if normalize(word):
        return True
    c.problem(
        path,
        f"`{dotted(path[:2])}` {word!r} has no letters or digits, so it never matches a word of a message",
    )
    return False


def _one_word(c: FileChecker, path: PathKey, word: str) -> bool:
    """Whether ``word`` is one word once normalized: synonyms, stopwords and the user
    dictionary act on the words of a message, and punctuation or a space splits words."""
    key = normalize(word)
    if " " in key or not key:
        what = f"is {len(key.split())} words once normalized ({key!r})" if key else "has no letters or digits"
        c.problem(path, f"`{dotted(path[:2])}` {word!r} {what}, so it never matches a word of a message")
    return bool(key) and " " not in key


def _matcher(c: FileChecker, path: PathKey, value: Any) -> MatcherSettings:
    return MatcherSettings(**c.fields(path, c.mapping(path, value, MATCHER_CHECKS), MATCHER_CHECKS))


def _sessions(c: FileChecker, path: PathKey, value: Any) -> SessionSettings:
    data = c.fields(path, c.mapping(path, value, SESSION_CHECKS), SESSION_CHECKS)
    if data.get("store") == "redis" and "url" not in data:
        c.problem(path, "`sessions.store: redis` needs `url` (e.g. redis://localhost:6379/0)")
    return SessionSettings(**data)


def _plugins(c: FileChecker, path: PathKey, value: Any) -> PluginSettings:
    data = c.mapping(path, value, None)
    folder = c.text((*path, "dir"), data["dir"]) if "dir" in data else None
    config = {}
    base = c.src.path.parent
    for name, settings in data.items():
        if name != "dir":
            body = c.mapping((*path, name), settings, None)
            checks = _bundled_checks(str(name))
            if checks is not None:
                _plugin_fields(c, (*path, name), body, checks)
            # The plugin gets the settings as written (it converts them with the same checks);
            # `_base_dir` lets it resolve paths relative to the bot file.
            config[str(name)] = {**body, "_base_dir": str(base)}
    return PluginSettings(dir=(base / folder) if folder else None, config=config)


def _bundled_checks(name: str) -> Mapping[str, Check] | None:
    """The ``SETTINGS`` a bundled plugin's module declares, or None for any other plugin."""
    module = f"kefu.plugins.{name}"
    if module not in DEFAULT_PLUGINS:
        return None
    # Imported here, not at the top: plugin modules import kefu, which imports this module.
    checks: Mapping[str, Check] | None = getattr(importlib.import_module(module), "SETTINGS", None)
    return checks


def bundled_data_files(name: str) -> tuple[str, ...]:
    """The settings of a bundled plugin that name a data file (its ``DATA_FILES``)."""
    if f"kefu.plugins.{name}" not in DEFAULT_PLUGINS:
        return ()
    return tuple(getattr(importlib.import_module(f"kefu.plugins.{name}"), "DATA_FILES", ()))


def _plugin_fields(
    c: FileChecker, path: PathKey, body: dict[str, Any], checks: Mapping[str, Check]
) -> dict[str, Any]:
    if not checks and body:
        c.problem(path, f"plugin {path[-1]!r} takes no settings")
        return {}
    c.check_keys(path, body, checks)
    for key, item in body.items():
        if item is None and key in checks:  # `reply:` with nothing after it; None is never a setting
            c.problem((*path, key), f"`{dotted((*path, key))}` is empty; give a value or leave the key out")
    return c.fields(path, {k: v for k, v in body.items() if v is not None}, dict(checks))


def checked_plugin_settings(
    name: str, settings: Mapping[str, Any], checks: Mapping[str, Check]
) -> dict[str, Any]:
    """A bundled plugin's settings converted by its ``checks``; ``ValueError`` naming every problem.

    For ``make_plugin``: settings from a bot file were checked with their lines by the
    loader already, but settings given in code reach the plugin unchecked.
    """
    base = Path(str(settings.get("_base_dir", ".")))
    body = {k: v for k, v in settings.items() if k != "_base_dir"}
    checker = FileChecker(SourceFile(base / "settings", data=body))  # paths resolve against base
    checked = _plugin_fields(checker, ("plugins", name), body, checks)
    if checker.problems:
        raise ValueError("; ".join(p.message for p in checker.problems))
    return checked


def _entities(c: FileChecker, path: PathKey, value: Any) -> tuple[EntitySpec, ...]:
    out = []
    for name, body in c.mapping(path, value, None).items():
        entity = _entity(c, (*path, name), str(name), body)
        if entity is not None and c.visible_name((*path, name), "entity", str(name), at_key=True):
            out.append(entity)
    return tuple(out)


def _entity(c: FileChecker, path: PathKey, name: str, body: Any) -> EntitySpec | None:
    data = c.mapping(path, body, ("regex", "values", "builtin"))
    kinds = [k for k in ("regex", "values", "builtin") if k in data]
    if len(kinds) != 1:
        c.problem(path, f"entity {name!r} needs exactly one of regex, values, builtin")
        return None
    if "builtin" in data:
        builtin = c.choice((*path, "builtin"), data["builtin"], BUILTIN_ENTITIES)
        return EntitySpec(name, builtin=builtin) if builtin else None
    if "regex" in data:
        pattern = c.regex((*path, "regex"), data["regex"])
        return EntitySpec(name, regex=pattern) if pattern else None
    return EntitySpec(name, values=_lookup_values(c, (*path, "values"), data["values"]))


def _lookup_values(c: FileChecker, path: PathKey, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    values: tuple[tuple[str, tuple[str, ...]], ...]
    if isinstance(value, list):  # a plain list: each value is its own canonical form
        values = tuple((v, ()) for v in c.texts(path, value))
        paths = [[(*path, i)] for i in range(len(values))]
    else:
        mapping = c.mapping(path, value, None)
        values = tuple((str(k), c.texts((*path, k), words)) for k, words in mapping.items())
        paths = [
            [(*path, k), *((*path, k, j) for j in range(len(words)))]
            for k, (_, words) in zip(mapping, values, strict=True)
        ]
    _shared_words(c, values, paths)
    return values


def _shared_words(
    c: FileChecker, values: tuple[tuple[str, tuple[str, ...]], ...], paths: list[list[PathKey]]
) -> None:
    """A word listed for two values (compared as the extractor reads them, ignoring case
    and width) only ever gives the first: under the second it would be ignored."""
    owner: dict[str, str] = {}
    for (canonical, words), where in zip(values, paths, strict=True):
        for word, at in zip((canonical, *words), where, strict=True):
            first = owner.setdefault(unicodedata.normalize("NFKC", word).casefold(), canonical)
            if first == canonical:
                continue
            if word == canonical:  # case and width do not count: xl is XL
                c.problem(at, f"value {word!r} is already a word of {first!r}, so it is never given")
            else:
                c.problem(
                    at, f"{word!r} of {canonical!r} is already a word of {first!r}, which it always gives"
                )


SECTION_CHECKS: dict[str, Check] = {
    "bot": _bot,
    "nlp": _nlp,
    "matcher": _matcher,
    "entities": _entities,
    "sessions": _sessions,
    "plugins": _plugins,
}


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


def _keywords(c: FileChecker, path: PathKey, value: Any) -> tuple[str, ...]:
    words = (normalize(k) for k in c.texts(path, value, single_ok=True))
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
    "threshold": _num(0.0, 1.0),
    "action": _text,
    "payload": _payload,
    "title": _text,
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
                _sent_as_written(c, (*where, key), fields[key])
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
    "prompt": _text,
    "invalid_prompt": _text,
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


CONTEXT_CHECKS: dict[str, Check] = {"name": _text, "lifespan": _int(1), "ttl": _num(0.001)}


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
