"""An import of a file with nothing in it names that file, not the output folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import kefu
from kefu.importers import BotDraft, write_bot
from kefu.table_import import read_csv, read_jsonl

Reader = Callable[[Path], BotDraft]


@pytest.mark.parametrize(
    ("reader", "name", "text", "expected"),
    [
        # a sheet saved before anyone filled it in: the header alone
        (read_csv, "faq.csv", "问题,意图,回复\r\n", "no row under the header has a text and an intent"),
        # Excel's empty rows under the header
        (read_csv, "faq.csv", "text,intent\n,\n,\n", "no row under the header has a text and an intent"),
        # an export that wrote nothing
        (read_jsonl, "data.jsonl", "", "no line has a text and an intent"),
        (read_jsonl, "data.jsonl", '\n{"text": "", "intent": ""}\n', "no line has a text and an intent"),
    ],
    ids=["csv-header-only", "csv-empty-rows", "jsonl-empty", "jsonl-blank-lines"],
)
def test_an_empty_source_is_named(
    tmp_path: Path, reader: Reader, name: str, text: str, expected: str
) -> None:
    # It said "bot:1: nothing to import: no intent has a usable example", blaming the output folder.
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    with pytest.raises(kefu.SpecError) as caught:
        write_bot(reader(source), tmp_path / "bot")
    assert str(caught.value) == f"{source}:1: nothing to import: {expected}"
    assert not (tmp_path / "bot").exists()
