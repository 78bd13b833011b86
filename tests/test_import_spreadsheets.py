"""CSV files as spreadsheet tools save them: Chinese headers, `;` or tab delimiters, extra columns."""

from __future__ import annotations

from pathlib import Path

import pytest

import kefu
from kefu.importers import write_bot
from kefu.table_import import read_csv

CASES = [
    # a Chinese team's sheet: 问题/意图/回复 headers, Excel's BOM and CRLF
    pytest.param(
        "\ufeff问题,意图,回复\r\n我的快递到哪了,查物流,正在配送中\r\n怎么退款,退款,\r\n",
        [("查物流", ("我的快递到哪了",), ("正在配送中",)),
         ("退款", ("怎么退款",), ("（请为意图 退款 填写回复）",))],
        [],
        id="chinese-header",
    ),
    # Excel where the comma is the decimal mark separates with `;`; a comma inside a text is plain
    pytest.param(
        "Text;Intent;Response\n快递到了吗,还没到;查物流;请稍等\n",
        [("查物流", ("快递到了吗,还没到",), ("请稍等",))],
        [],
        id="semicolon-delimiter",
    ),
    # Excel's "Unicode Text" separates by tabs; 答案 is another name of the response column
    pytest.param(
        "例句\t意图\t答案\n运费多少\t运费\t满99包邮\n",
        [("运费", ("运费多少",), ("满99包邮",))],
        [],
        id="tab-delimiter",
    ),
    # columns kefu has no place for are named in the report, not dropped without a word
    pytest.param(
        "编号,text,intent,来源,\n1,你好,greet,客服记录,\n",
        [("greet", ("你好",), ("（请为意图 greet 填写回复）",))],
        ["data.csv:1: columns 编号, 来源 not imported: kefu reads text, intent and response"],
        id="other-columns-are-reported",
    ),
    # a cell with a line break (Alt+Enter) in a file saved with CRLF: the reply says \n, as a
    # reply written in YAML does, and a lone CR of old Mac files too
    pytest.param(
        'text,intent,response\r\n"信用卡\r\n丢了",挂失,"请拨打\r\n95555\r冻结"\r\n',
        [("挂失", ("信用卡\n丢了",), ("请拨打\n95555\n冻结",))],
        [],
        id="line-break-in-a-cell",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected", "warnings"), CASES)
def test_spreadsheet_csv(
    tmp_path: Path,
    text: str,
    expected: list[tuple[str, tuple[str, ...], tuple[str, ...]]],
    warnings: list[str],
) -> None:
    source = tmp_path / "data.csv"
    source.write_text(text, encoding="utf-8")
    report = write_bot(read_csv(source), tmp_path / "bot")
    spec = kefu.load_spec(tmp_path / "bot")
    assert [(i.name, i.examples, i.responses) for i in spec.intents] == expected
    assert [w.replace(f"{tmp_path}/", "") for w in report.warnings] == warnings


UNCLOSED = (
    'unclosed quote: the text from this " to the end of the file would be one value; '
    'close it (a " inside a quoted value is written "")'
)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        # the same column under its English and its Chinese name
        pytest.param(
            "问题,text,intent\n你好,在吗,greet\n",
            1,
            "CSV header has the column `text` twice (问题, text): keep one",
            id="column-twice-in-two-languages",
        ),
        # a text holding the delimiter, unquoted, in a `;` file
        pytest.param(
            "text;intent\n你好;在吗;greet\n",
            2,
            "row has 3 fields, the header 2: put a text that contains a semicolon in double quotes",
            id="semicolon-in-an-unquoted-text",
        ),
        # an unclosed quote in a `;` file still loses the rest of the file
        pytest.param(
            'text;intent;response\n退款;refund;"1-3天到账\n发货;ship;48小时\n',
            2,
            UNCLOSED,
            id="unclosed-quote-with-semicolons",
        ),
    ],
)
def test_spreadsheet_csv_errors(tmp_path: Path, text: str, line: int, expected: str) -> None:
    source = tmp_path / "data.csv"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(kefu.SpecError) as caught:
        read_csv(source)
    assert str(caught.value) == f"{source}:{line}: {expected}"
