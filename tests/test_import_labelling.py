"""JSON Lines from labelling tools: extra fields, other field names, numbers as labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import kefu
from kefu.importers import write_bot
from kefu.table_import import read_jsonl

CASES = [
    # ids, scores and annotations beside text and intent were dropped without a word
    pytest.param(
        [{"id": 1, "text": "你好", "intent": "greet", "score": 0.98},
         {"text": "在吗", "intent": "greet"},
         {"id": 3, "text": "转人工", "intent": "human", "entities": [{"start": 0, "end": 3}]}],
        [("greet", ("你好", "在吗")), ("human", ("转人工",))],
        ["data.jsonl:1: fields id, score, entities not imported (2 lines): "
         "kefu reads text, intent and response"],
        id="extra-fields-are-reported",
    ),
    # a number written as a JSON number: an order number as text, intent ids as labels (0 too)
    pytest.param(
        [{"text": 12306, "intent": "查车次"}, {"text": "查订单", "intent": 0}],
        [("查车次", ("12306",)), ("0", ("查订单",))],
        [],
        id="whole-numbers-as-text",
    ),
    # a line with text and intent all empty is a blank row, whatever else it holds
    pytest.param(
        [{"text": "你好", "intent": "greet"}, {"id": 2, "text": "", "intent": ""}],
        [("greet", ("你好",))],
        ["data.jsonl:2: field id not imported (1 line): kefu reads text, intent and response"],
        id="an-empty-labelled-line-is-skipped",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "expected", "warnings"), CASES)
def test_labelling_tool_jsonl(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    expected: list[tuple[str, tuple[str, ...]]],
    warnings: list[str],
) -> None:
    source = tmp_path / "data.jsonl"
    source.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    report = write_bot(read_jsonl(source), tmp_path / "bot")
    assert [(i.name, i.examples) for i in kefu.load_spec(tmp_path / "bot").intents] == expected
    assert [w.replace(f"{tmp_path}/", "") for w in report.warnings] == warnings


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # another tool's field names: the line was skipped and the import said nothing
        pytest.param(
            [{"text": "你好", "intent": "greet"}, {"sentence": "在吗", "label": "greet"}],
            "data.jsonl:2: row has no `text` (it has sentence, label)",
            id="other-field-names",
        ),
        # a nested label (doccano, Label Studio) is no intent
        pytest.param(
            [{"text": "你好", "label": ["greet"]}],
            "data.jsonl:1: row has no `intent` (it has label)",
            id="nested-label",
        ),
    ],
)
def test_labelling_tool_jsonl_errors(tmp_path: Path, rows: list[dict[str, Any]], expected: str) -> None:
    source = tmp_path / "data.jsonl"
    source.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(kefu.SpecError) as caught:
        read_jsonl(source)
    assert str(caught.value) == f"{tmp_path}/{expected}"
