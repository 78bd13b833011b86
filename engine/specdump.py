"""A ``BotSpec`` back to bot-file YAML (for bots built in code, which have no files), and the YAML
writer kefu uses for every file it generates."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import yaml

from kefu.spec import BotSettings, BotSpec, IntentSpec, MatcherSettings, NlpSettings, SessionSettings

__all__ = ["dump_spec", "dump_yaml"]

# YAML reads U+0085, U+2028 and U+2029 as line breaks: PyYAML wrote them raw inside plain or
# single-quoted scalars, where loading folds them (``a\x85b`` came back as ``a b``). Only double
# quotes can escape them (\N, \L, \P).
_YAML_BREAKS = re.compile("[\x85\u2028\u2029]")


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` whose strings load back exactly."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if _YAML_BREAKS.search(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """``data`` as YAML that loads back equal (Chinese kept readable, keys in their order)."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


def dump_spec(spec: BotSpec) -> str:
    """YAML that ``load_spec`` reads back into an equal spec (paths and file info aside)."""
    data: dict[str, Any] = {"version": 1}
    for key, value, default in (
        ("bot", spec.settings, BotSettings()),
        ("matcher", spec.matcher, MatcherSettings()),
        ("sessions", spec.sessions, SessionSettings()),
    ):
        changed = _changed(value, default)
        if changed:
            data[key] = changed
    nlp = _nlp(spec.nlp)
    if nlp:
        data["nlp"] = nlp
    if spec.entities:
        data["entities"] = {e.name: _entity(e) for e in spec.entities}
    config = {
        name: {k: v for k, v in s.items() if k != "_base_dir"} for name, s in spec.plugins.config.items()
    }
    if config:
        data["plugins"] = config
    data["intents"] = [_intent(i) for i in spec.intents]
    return dump_yaml(data)


def _changed(value: Any, default: Any) -> dict[str, Any]:
    out = {}
    for field in dataclasses.fields(value):
        current = getattr(value, field.name)
        if current != getattr(default, field.name):
            out[field.name] = list(current) if isinstance(current, tuple) else current
    return out


def _nlp(nlp: NlpSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if nlp.user_dict:
        out["user_dict"] = list(nlp.user_dict)
    if nlp.synonyms:
        out["synonyms"] = dict(nlp.synonyms)
    if nlp.stopwords:
        out["stopwords"] = list(nlp.stopwords)
    if nlp.hmm != NlpSettings().hmm:
        out["hmm"] = nlp.hmm
    return out


def _entity(entity: Any) -> dict[str, Any]:
    if entity.builtin:
        return {"builtin": entity.builtin}
    if entity.regex:
        return {"regex": entity.regex}
    return {"values": {canonical: list(synonyms) for canonical, synonyms in entity.values}}


def _intent(intent: IntentSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": intent.name, "examples": list(intent.examples)}
    if intent.title:
        out["title"] = intent.title
    if intent.responses:
        out["responses"] = list(intent.responses)
    if intent.slots:
        out["slots"] = {
            s.name: _changed(s, type(s)(s.name, s.entity)) | {"entity": s.entity} for s in intent.slots
        }
    contexts: dict[str, Any] = {}
    if intent.input_contexts:
        contexts["in"] = list(intent.input_contexts)
    if intent.output_contexts:
        contexts["out"] = [
            {k: v for k, v in dataclasses.asdict(c).items() if v is not None} for c in intent.output_contexts
        ]
    if contexts:
        out["contexts"] = contexts
    for key in ("patterns", "keywords"):
        if getattr(intent, key):
            out[key] = list(getattr(intent, key))
    for key in ("threshold", "action", "payload"):
        if getattr(intent, key) is not None:
            out[key] = getattr(intent, key)
    return out
