"""``kefu.evaluate``: every report number checked against sklearn.metrics on the same predictions,
and the test-file readers (JSONL, CSV, YAML) with their errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

import kefu
from kefu.evaluate import Prediction, TestRow

HELDOUT = Path(str(resources.files("kefu.intents"))) / "tests" / "heldout.jsonl"
OOS = "out_of_scope"


def predicted(text: str, intent: str, guess: str | None, confidence: float, oos: bool = False) -> Prediction:
    """A hand-made prediction: ``guess`` None is a fallback."""
    return Prediction(TestRow(text, intent, oos or intent == OOS), guess, confidence, top=guess)


# Every kind of right and wrong answer, with confidences on the histogram's bin edges.
HAND_MADE = [
    predicted("退款多久到账", "refund", "refund", 0.92),
    predicted("钱什么时候退", "refund", "shipping", 0.71),  # the most frequent confusion ...
    predicted("退款到哪了", "refund", "shipping", 0.55),  # ... twice
    predicted("我要退款", "refund", None, 0.3),  # in scope but fell back
    predicted("快递到哪了", "shipping", "shipping", 0.88),
    predicted("几天能到", "shipping", "shipping", 1.0),  # 1.0 belongs to the top bin
    predicted("开发票", "invoice", "invoice", 0.6),
    predicted("发票抬头", "invoice", "refund", 0.7),
    predicted("人工客服在哪", "invoice", "human", 0.5),  # predicted an intent absent from the data
    predicted("在吗", "greeting", None, 0.45),  # an intent never predicted: precision 0
    predicted("今天天气", OOS, None, 0.2),  # out of scope, rightly rejected
    predicted("讲个笑话", "chitchat", None, 0.0, oos=True),  # `"oos": true` with another label
    predicted("股票涨吗", OOS, "shipping", 0.65),  # out of scope, wrongly answered
]


def truth_and_guess(predictions: Sequence[Prediction]) -> tuple[list[str], list[str]]:
    """sklearn's view: out-of-scope rows and fallbacks both become the out-of-scope label."""
    y_true = [OOS if p.row.oos else p.row.intent for p in predictions]
    y_pred = [p.intent or OOS for p in predictions]
    return y_true, y_pred


def check_against_sklearn(predictions: Sequence[Prediction]) -> kefu.EvalReport:
    report = kefu.evaluate(predictions)
    y_true, y_pred = truth_and_guess(predictions)
    labels = sorted({t for t in y_true if t != OOS})
    assert report.total == len(predictions)
    assert report.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    macro = f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)
    assert report.macro_f1 == pytest.approx(macro)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    expected: list[object] = [
        (label, pytest.approx(p), pytest.approx(r), pytest.approx(f), int(s))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]
    assert [(s.intent, s.precision, s.recall, s.f1, s.support) for s in report.per_intent] == expected
    in_scope = [i for i, t in enumerate(y_true) if t != OOS]
    assert report.in_scope == len(in_scope)
    assert report.in_scope_accuracy == pytest.approx(
        accuracy_score([y_true[i] for i in in_scope], [y_pred[i] for i in in_scope])
    )
    oos_p, oos_r, _, oos_support = precision_recall_fscore_support(
        y_true, y_pred, labels=[OOS], zero_division=0
    )
    assert report.out_of_scope == int(oos_support[0])
    assert report.oos_recall == pytest.approx(oos_r[0])
    assert report.oos_precision == pytest.approx(oos_p[0])
    return report


def expected_histogram(predictions: Sequence[Prediction]) -> list[tuple[int, int]]:
    """(right, wrong) per tenth of confidence, counted by comparing with each bin's edges."""
    counts = [[0, 0] for _ in range(10)]
    for p in predictions:
        index = next(i for i in range(10) if p.confidence < (i + 1) / 10 or i == 9)
        counts[index][0 if p.correct else 1] += 1
    return [(right, wrong) for right, wrong in counts]


def check_confusions_and_histogram(report: kefu.EvalReport, predictions: Sequence[Prediction]) -> None:
    y_true, y_pred = truth_and_guess(predictions)
    mistakes = Counter((t, g) for t, g in zip(y_true, y_pred, strict=True) if t != g)
    shown = {(e, p): len(texts) for e, p, texts in report.confusions}
    assert shown == dict(mistakes.most_common(10))
    counts = [len(texts) for _, _, texts in report.confusions]
    assert counts == sorted(counts, reverse=True)  # most frequent first
    for expected, guess, texts in report.confusions:  # each pair lists exactly its sentences
        assert texts == [p.row.text for p, t, g in zip(predictions, y_true, y_pred, strict=True)
                         if (t, g) == (expected, guess)]  # fmt: skip
    assert [(r, w) for _, _, r, w in report.histogram] == expected_histogram(predictions)
    assert sum(r + w for _, _, r, w in report.histogram) == len(predictions)
    assert [(low, high) for low, high, _, _ in report.histogram] == [
        (i / 10, (i + 1) / 10) for i in range(10)
    ]


def test_hand_made_predictions_match_sklearn() -> None:
    report = check_against_sklearn(HAND_MADE)
    check_confusions_and_histogram(report, HAND_MADE)
    # Spelled out once, so a wrong mapping in the helper cannot hide a wrong report.
    assert (report.total, report.in_scope, report.out_of_scope) == (13, 10, 3)
    assert report.accuracy == pytest.approx(6 / 13)
    assert report.oos_recall == pytest.approx(2 / 3)
    assert report.oos_precision == pytest.approx(2 / 4)
    assert [s.intent for s in report.per_intent] == ["greeting", "invoice", "refund", "shipping"]
    assert report.confusions[0] == ("refund", "shipping", ["钱什么时候退", "退款到哪了"])


@pytest.mark.parametrize(
    ("confidence", "bin_index"),
    [
        (0.0, 0),  # the lowest edge
        (0.3, 3),  # an edge belongs to the bin it starts (0.3*10 is 3.0000000000000004)
        (0.6, 6),
        (0.7, 7),  # 0.7*10 is 7.000000000000001
        (0.2999, 2),
        (0.9999, 9),
        (1.0, 9),  # the top bin includes 1.0
    ],
)
def test_histogram_bin_edges(confidence: float, bin_index: int) -> None:
    histogram = kefu.evaluate([predicted("你好", "greeting", "greeting", confidence)]).histogram
    assert [i for i, (_, _, right, _) in enumerate(histogram) if right] == [bin_index]


def test_demo_bot_on_its_heldout_file_matches_sklearn(demo_engine: kefu.Engine) -> None:
    rows = kefu.read_test_file(HELDOUT)
    predictions = kefu.predict_rows(demo_engine, rows)
    assert [p.row for p in predictions] == rows
    # Batch matching gives each row the same verdict as matching it alone (follow-ups with their contexts).
    assert [p.intent for p in predictions] == [demo_engine.match(r.text, r.contexts).intent for r in rows]
    assert any(r.contexts for r in rows) and any(r.oos for r in rows)
    report = check_against_sklearn(predictions)
    check_confusions_and_histogram(report, predictions)
    assert report.to_dict()["per_intent"][0] == vars(report.per_intent[0])


# -- test-file readers ---------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_jsonl_rows_with_oos_flag_contexts_and_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dev.jsonl",
        '{"text": "我要退款", "intent": "refund"}\n'
        "\n"
        '{"text": "今天天气", "intent": "out_of_scope"}\n'
        '{"text": "讲个笑话", "intent": "chitchat", "oos": true}\n'
        '{"text": "那运费呢", "intent": "fee_followup", "contexts": ["order"]}\n'
        '{"text": "在吗", "intent": "greeting", "oos": false}\n',
    )
    assert kefu.read_test_file(path) == [
        TestRow("我要退款", "refund"),
        TestRow("今天天气", "out_of_scope", oos=True),
        TestRow("讲个笑话", "chitchat", oos=True),
        TestRow("那运费呢", "fee_followup", contexts=("order",)),
        TestRow("在吗", "greeting"),
    ]


def test_jsonl_text_may_hold_unicode_line_separators(tmp_path: Path) -> None:
    # Raw U+2028, U+2029 and U+0085 are valid inside a JSON string; str.splitlines() breaks at them.
    text = (
        '{"text": "退款\u2028多久\x85到账", "intent": "refund"}\r\n'
        '{"text": "在吗\u2029", "intent": "greeting"}\n'
    )
    assert kefu.read_test_file(write(tmp_path, "dev.jsonl", text)) == [
        TestRow("退款\u2028多久\x85到账", "refund"),
        TestRow("在吗\u2029", "greeting"),
    ]
    bad = write(tmp_path, "bad.jsonl", text + '{"text": 你好}\n')
    with pytest.raises(kefu.SpecError, match="invalid JSON") as caught:
        kefu.read_test_file(bad)
    assert str(caught.value).startswith(f"{bad}:3: ")


def test_csv_rows_with_bom_quotes_and_extra_columns(tmp_path: Path) -> None:
    text = 'id,text,intent,oos\n1,"退款，多久到账",refund,\n2,今天天气,out_of_scope,\n3,讲个笑话,chitchat,1\n'
    path = write(tmp_path, "dev.csv", text, encoding="utf-8-sig")  # Excel writes a BOM
    assert kefu.read_test_file(path) == [
        TestRow("退款，多久到账", "refund"),
        TestRow("今天天气", "out_of_scope", oos=True),
        TestRow("讲个笑话", "chitchat", oos=True),
    ]


def test_kefu_yaml_test_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dev.yaml",
        "version: 1\n# 开发集\ntests:\n  - {text: 我要退款, intent: refund}\n"
        "  - text: 今天天气\n    intent: out_of_scope\n",
    )
    assert kefu.read_test_file(path) == [
        TestRow("我要退款", "refund"),
        TestRow("今天天气", "out_of_scope", oos=True),
    ]


def test_oos_label_names_the_out_of_scope_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dev.jsonl",
        '{"text": "今天天气", "intent": "无关"}\n{"text": "我要退款", "intent": "out_of_scope"}\n',
    )
    assert [r.oos for r in kefu.read_test_file(path, oos_label="无关")] == [True, False]
    assert [r.oos for r in kefu.read_test_file(path)] == [False, True]


def test_the_ways_of_writing_oos_that_are_read(tmp_path: Path) -> None:
    jsonl = "".join(
        f'{{"text": "问{i}", "intent": "x", "oos": {value}}}\n'
        for i, value in enumerate(["true", "1", '"TRUE"', "false", "0", "null", '""'])
    )
    rows = kefu.read_test_file(write(tmp_path, "a.jsonl", jsonl))
    assert [row.oos for row in rows] == [True, True, True, False, False, False, False]
    csv_rows = kefu.read_test_file(
        write(tmp_path, "b.csv", "text,intent,oos\n甲,x,true\n乙,x,1\n丙,x,\n丁,x,False\n")
    )
    assert [row.oos for row in csv_rows] == [True, True, False, False]


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        # not JSON at all, after a good row and a blank line
        ("a.jsonl", '{"text": "你好", "intent": "greeting"}\n\n{"text": 你好}\n', 3, "invalid JSON"),
        # tab-separated text in a .txt file: the message says how such a file is read
        (
            "dev.txt",
            "我要退款\trefund\n",
            1,
            "invalid JSON: Expecting value: line 1 column 1 (char 0) (test files not named .csv, "
            ".yaml or .yml are read as JSON Lines)",
        ),
        # a row without an intent
        ("b.jsonl", '{"text": "你好", "intent": "greeting"}\n{"text": "在吗"}\n', 2, "each row needs"),
        # an intent that is not text
        ("c.jsonl", '{"text": "你好", "intent": 3}\n', 1, "each row needs"),
        # a JSON line that is a list, not an object
        ("d.jsonl", '["你好", "greeting"]\n', 1, "each row needs"),
        # half a character: the report could not be printed or saved
        (
            "l.jsonl",
            '{"text": "你好", "intent": "greeting"}\n{"text": "退\\udfff", "intent": "refund"}\n',
            2,
            "lone surrogate \\udfff (half of a character)",
        ),
        # an empty file
        ("e.jsonl", "\n", 1, "test file has no rows"),
        # an `oos` that is neither true nor false was read as false: scored as in scope
        (
            "p.jsonl",
            '{"text": "你好", "intent": "greeting"}\n{"text": "天气", "intent": "w", "oos": "yes"}\n',
            2,
            "`oos` must be true or false, not 'yes'",
        ),
        (
            "r.jsonl",
            '{"text": "天气", "intent": "w", "oos": 1.0}\n',
            1,
            "`oos` must be true or false, not 1.0",
        ),
        ("s.csv", "text,intent,oos\n你好,greeting,\n天气,w,Y\n", 3, "`oos` must be true or false, not 'Y'"),
        # a row without text (it counted as a miss, and tune could then pick threshold 0)
        (
            "t.jsonl",
            '{"text": "你好", "intent": "greeting"}\n{"text": "  ", "intent": "greeting"}\n',
            2,
            "row has no text",
        ),
        # a YAML test file is `version: 1`, as docs/intents.md says and dialogue files check
        (
            "v.yaml",
            "version: 2\ntests:\n  - {text: 你好, intent: greeting}\n",
            1,
            "`version` must be 1 (got 2)",
        ),
        ("w.yaml", "tests:\n  - {text: 你好, intent: greeting}\n", 1, "`version` must be 1 (got missing)"),
        # a field over the csv module's limit, on line 3 (not on the last line read before it)
        (
            "m.csv",
            "text,intent\n你好,greeting\n" + "退" * 140_000 + ",refund\n",
            3,
            "field larger than field limit",
        ),
        # text after a closing quote (read leniently as the text 退款")
        ("u.csv", 'text,intent\n"退"款",refund\n', 2, "invalid CSV: ',' expected after '\"' (a \" inside"),
        # ... and a header over it (csv.Error escaped kefu test)
        ("h.csv", "x" * 200_000 + "\ntext,intent\n你好,greeting\n", 1, "invalid CSV: field larger than"),
        # JSON nested past Python's recursion limit
        (
            "n.jsonl",
            '{"text": "你好", "intent": "greeting"}\n' + "[" * 100_000 + "\n",
            2,
            "nested too deeply",
        ),
        # an unclosed quote: the rows after it were read as the first row's intent, silently
        ("q.csv", 'text,intent\n我要退款,"refund\n怎么发货,shipping\n运费多少,fee\n', 2, "unclosed quote: "),
        # a CSV without the `intent` column
        ("f.csv", "text,label\n你好,greeting\n", 1, "needs a header with `text` and `intent`"),
        # a CSV row with an extra field: the text's unquoted comma made 请问怎么退款 its intent
        (
            "o.csv",
            "text,intent\n在吗,greeting\n你好,请问怎么退款,refund\n",
            3,
            "row has 3 fields, the header 2: put a text that contains a comma in double quotes",
        ),
        # a CSV header with `text` twice: the last one was read
        ("p.csv", "text,intent,text\n你好,greeting,在吗\n", 1, "has the column `text` twice"),
        # a CSV row with a missing field
        ("g.csv", "text,intent\n你好,greeting\n在吗\n", 3, "each row needs"),
        # a CSV row not labeled yet: the intent "", counted wrong and named as an unknown intent
        (
            "r.csv",
            "text,intent\n你好,greeting\n在吗,\n",
            3,
            "row has no intent: label it (out_of_scope if the bot should not answer it)",
        ),
        # an intent of spaces, likewise
        (
            "s.jsonl",
            '{"text": "在吗", "intent": " "}\n',
            1,
            "row has no intent: label it (out_of_scope if the bot should not answer it)",
        ),
        # a YAML file without `tests:`
        ("h.yaml", "version: 1\nexamples: []\n", 1, "needs `tests:"),
        # YAML that does not parse
        ("i.yaml", "tests: [\n", 2, "invalid YAML"),  # the line where the list was left open
        pytest.param(
            # csv.DictReader skips blank lines, so counting rows is not counting lines
            "j.csv",
            "text,intent\n你好,greeting\n\n在吗,greeting\n没有意图\n",
            5,
            "each row needs",
        ),
        pytest.param(
            # the second test of a YAML file, on line 6
            "k.yaml",
            "version: 1\ntests:\n  - {text: 你好, intent: greeting}\n\n  # 缺 intent\n  - {text: 在吗}\n",
            6,
            "each row needs",
        ),
    ],
    ids=lambda value: (
        value if isinstance(value, str) and value.endswith(("csv", "jsonl", "yaml", "txt")) else ""
    ),
)
def test_bad_rows_raise_spec_error_with_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(kefu.SpecError) as caught:
        kefu.read_test_file(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)


def test_missing_test_file(tmp_path: Path) -> None:
    with pytest.raises(kefu.SpecError, match="no such test file") as caught:
        kefu.read_test_file(tmp_path / "nope.jsonl")
    assert str(caught.value).startswith(f"{tmp_path / 'nope.jsonl'}:1: ")


def test_contexts_given_as_text_is_one_context_or_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.jsonl", '{"text": "那运费呢", "intent": "fee", "contexts": "order"}\n')
    try:
        rows, error = kefu.read_test_file(path), ""
    except kefu.SpecError as exc:
        rows, error = [], str(exc)
    assert error.startswith(f"{path}:1: ") if error else rows[0].contexts == ("order",)


@pytest.mark.parametrize("name", ["dev\x00.jsonl", "dev\ud800.jsonl"], ids=["nul-byte", "lone-surrogate"])
def test_a_test_file_name_no_file_can_have_is_a_spec_error(name: str) -> None:
    with pytest.raises(kefu.SpecError) as info:
        kefu.read_test_file(name)
    assert str(info.value).startswith(f"{name}:1: cannot read test file: ")


def test_a_test_file_that_is_a_folder_or_not_utf8_is_named_in_plain_words(tmp_path: Path) -> None:
    # Were "[Errno 21] Is a directory: 'dev'" and "'utf-8' codec can't decode byte 0x86 ...".
    folder = tmp_path / "dev"
    folder.mkdir()
    with pytest.raises(kefu.SpecError) as info:
        kefu.read_test_file(folder)
    assert str(info.value) == f"{folder}:1: cannot read test file: Is a directory"
    gbk = tmp_path / "dev.csv"
    gbk.write_bytes("text,intent\n你好,greeting\n退款,refund\n".encode("gbk"))
    with pytest.raises(kefu.SpecError) as info:
        kefu.read_test_file(gbk)
    assert str(info.value) == f"{gbk}:2: test file is not UTF-8 (byte 0xc4)"


def test_a_test_row_naming_a_key_twice_is_refused_at_its_line(tmp_path: Path) -> None:
    # json.loads keeps the last of the two without a word: the row was scored as "b".
    data = tmp_path / "dev.jsonl"
    data.write_text(
        '{"text": "我要退款", "intent": "refund"}\n{"text": "a", "intent": "x", "text": "b"}\n',
        encoding="utf-8",
    )
    with pytest.raises(kefu.SpecError, match=r"dev\.jsonl:2: invalid JSON: duplicate key 'text'"):
        kefu.read_test_file(data)


def test_keys_kefu_does_not_read_may_repeat_in_a_test_row(tmp_path: Path) -> None:
    # A labelling tool's own fields are none of kefu's business, nested or not.
    data = tmp_path / "dev.jsonl"
    data.write_text(
        '{"text": "我要退款", "intent": "refund", "meta": {"source": "a", "source": "b"}, '
        '"note": 1, "note": 2}\n',
        encoding="utf-8",
    )
    assert [(r.text, r.intent) for r in kefu.read_test_file(data)] == [("我要退款", "refund")]
