"""Import files saved in other encodings than UTF-8, as Windows tools save them.

A byte order mark names its encoding, so such a file is read; a file without one that is
not UTF-8 is refused with the encoding it reads as, so the user knows what to convert from.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import kefu
from kefu.chatterbot_import import read_chatterbot
from kefu.importers import BotDraft, write_bot
from kefu.rasa_import import read_rasa
from kefu.table_import import read_csv, read_jsonl

Reader = Callable[[Path], BotDraft]

GB18030_ADVICE = (
    "it reads as GB18030 (GBK), what Chinese Windows saves by default: convert it to UTF-8, "
    "e.g. iconv -f GB18030 -t UTF-8 (Excel: save as 'CSV UTF-8'; Big5 files: -f BIG5)"
)

ENCODED = [
    # Excel's "Unicode Text" and PowerShell 5's `>` write UTF-16 LE with a BOM
    pytest.param(read_csv, "faq.csv", "text,intent\r\n你好,问候\r\n上门取件,取件\r\n", "utf-16-le",
                 id="csv-utf-16-le"),
    pytest.param(read_jsonl, "faq.jsonl",
                 '{"text": "你好", "intent": "问候"}\n{"text": "上门取件", "intent": "取件"}\n', "utf-16-be",
                 id="jsonl-utf-16-be"),
    # YAML allows UTF-16 and UTF-32 with a BOM
    pytest.param(read_chatterbot, "问候.yml", "conversations:\n- - 你好\n  - 您好\n- - 上门取件\n",
                 "utf-32-le", id="chatterbot-utf-32-le"),
    pytest.param(read_rasa, "nlu.yml", "nlu:\n- intent: 问候\n  examples: |\n    - 你好\n    - 上门取件\n",
                 "utf-16-le", id="rasa-utf-16-le"),
]  # fmt: skip
BOMS = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}


@pytest.mark.parametrize(("reader", "name", "text", "encoding"), ENCODED)
def test_a_file_with_a_byte_order_mark_is_read_in_its_encoding(
    tmp_path: Path, reader: Reader, name: str, text: str, encoding: str
) -> None:
    # 上 is U+4E0A: in UTF-16 LE one of its bytes is a line feed
    source = tmp_path / name
    source.write_bytes(BOMS[encoding] + text.encode(encoding))
    write_bot(reader(source), tmp_path / "bot")
    examples = [e for i in kefu.load_spec(tmp_path / "bot").intents for e in i.examples]
    assert examples == ["你好", "上门取件"]


@pytest.mark.parametrize(
    ("reader", "name", "text", "encoding", "expected"),
    [
        # Excel's plain "CSV" on Chinese Windows: the first Chinese byte is on line 2
        pytest.param(read_csv, "faq.csv", "text,intent\n你好,问候\n", "gbk",
                     "faq.csv:2: file is not UTF-8 (byte 0xc4); " + GB18030_ADVICE, id="csv-gbk"),
        # Notepad's "ANSI" on Chinese Windows, a Rasa 1.x Markdown file
        pytest.param(read_rasa, "nlu.md", "## intent:问候\n- 你好\n", "gb18030",
                     "nlu.md:1: file is not UTF-8 (byte 0xce); " + GB18030_ADVICE,
                     id="rasa-markdown-gb18030"),
        # not Chinese at all: the byte 0xff cannot start a GB18030 character either
        pytest.param(read_jsonl, "faq.jsonl", '{"text": "\xff", "intent": "a"}\n', "latin-1",
                     "faq.jsonl:1: file is not UTF-8 (byte 0xff): save it as UTF-8", id="jsonl-latin-1"),
        # a UTF-16 BOM on a file cut in the middle of a character
        pytest.param(read_csv, "faq.csv", "text,intent\n你好,问候\n", "utf-16-le-cut",
                     "faq.csv:2: file is not valid UTF-16 (it starts with a UTF-16 byte order mark): "
                     "save it again as UTF-8", id="csv-utf-16-cut"),
    ],
)  # fmt: skip
def test_a_file_in_another_encoding_names_it(
    tmp_path: Path, reader: Reader, name: str, text: str, encoding: str, expected: str
) -> None:
    source = tmp_path / name
    if encoding == "utf-16-le-cut":
        source.write_bytes(b"\xff\xfe" + text.encode("utf-16-le")[:-1])
    else:
        source.write_bytes(text.encode(encoding))
    with pytest.raises(kefu.SpecError) as caught:
        reader(source)
    assert str(caught.value) == f"{tmp_path}/{expected}"
