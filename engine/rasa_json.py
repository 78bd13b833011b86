"""Rasa NLU data in JSON (``rasa_nlu_data``) -> a ``BotDraft``, through ``kefu.rasa_nlu``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kefu.errors import SpecError
from kefu.import_sources import LONG_NUMBER, first_lone_surrogate, long_number_line, read_text
from kefu.importers import BotDraft
from kefu.normalize import SURROGATE
from kefu.rasa_nlu import add_lookup, add_section, annotation_roles, use_entity
from kefu.yamlsource import lone_surrogate

__all__ = ["read_json"]


def read_json(file: Path, draft: BotDraft) -> bool:
    """Rasa NLU data in a JSON file; False for JSON that holds none."""
    text = read_text(file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError.single(file, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except ValueError:  # the one other thing json.loads refuses
        raise SpecError.single(file, long_number_line(text), LONG_NUMBER) from None
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
        add_section(file, "synonym", value, variants, draft)
    for feature in _json_list(file, text, nlu, "regex_features"):
        entry = _json_object(file, text, feature, "regex_features")
        pattern = _json_text(file, text, entry, "pattern")
        regex = [(pattern, _json_line(text, pattern))]
        add_section(file, "regex", _json_text(file, text, entry, "name"), regex, draft)
    for table in _json_list(file, text, nlu, "lookup_tables"):
        _json_lookup(file, text, _json_object(file, text, table, "lookup_tables"), draft)
    return True


def _json_lookup(file: Path, text: str, table: dict[str, Any], draft: BotDraft) -> None:
    """A lookup table: a list of elements, or the name of a file of them."""
    name = _json_text(file, text, table, "name")
    elements = table.get("elements")
    if isinstance(elements, str):
        add_lookup(file, _json_line(text, elements), name, elements, draft, is_file=True)
        return
    words = [(str(e), _json_line(text, e)) for e in _json_list(file, text, table, "elements")]
    add_section(file, "lookup", name, words, draft)


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
        use_entity(draft, intent, name, plain[start:end], None if value is None else str(value))
        for role in annotation_roles(entry):
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
