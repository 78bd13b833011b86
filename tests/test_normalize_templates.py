"""Text normalization (what training and matching both see) and response templates."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

import kefu
from kefu.normalize import DEFAULT_MAX_LENGTH, clean
from kefu.templates import TemplateError, placeholders, render

# --- normalize ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits become ASCII
        ("订单号：１２３４５６", "订单号 123456"),  # full-width colon is punctuation
        ("\u3000你好\u3000", "你好"),  # the ideographic space is whitespace
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana become full-width
        ("①② ﬁne Ⅳ", "12 fine iv"),  # compatibility forms: circled digits, ligatures, numerals
        ("iPhone IPHONE", "iphone iphone"),  # case folding
        ("Straße", "strasse"),  # casefold, not just lower()
        ("cafe\u0301", "café"),  # a combining accent is composed, not split off
        ("你好！！😀\t\n世界", "你好 世界"),  # a run of punctuation, emoji and whitespace: one space
        ("【限时】满100减20～", "限时 满100减20"),  # CJK brackets and the wave dash
        ("a_b-c.d", "a b c d"),  # the underscore counts as punctuation too
        ("x\x00y\x07z\x1b", "x y z"),  # control characters
        ("你\u200b好\ufeff", "你 好"),  # zero-width space, byte-order mark
        ("👨\u200d👩\u200d👧", ""),  # an emoji sequence alone
        ("  \t ", ""),  # only whitespace
        ("！？。…", ""),  # only punctuation
        ("", ""),  # empty
        ("𠀀好", "𠀀好"),  # a CJK character outside the BMP is a letter
        ("a\ud800b", "a b"),  # a lone surrogate (from broken JSON) is not a letter
        ("\udfff你好", "你好"),  # a lone low surrogate at the start
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert kefu.normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "max_length", "expected"),
    [
        ("a" * 600, DEFAULT_MAX_LENGTH, "a" * 500),  # the default limit is 500 characters
        ("abcdef", 3, "abc"),
        ("ＡＢＣＤ", 2, "ab"),  # truncated before width folding
        ("ab!!cd", 3, "ab"),  # the cut leaves trailing punctuation, which is stripped
        ("你好", 2, "你好"),  # exactly at the limit
        ("!!你好", 2, ""),  # only punctuation survives the cut
    ],
)
def test_normalize_truncates_to_max_length(text: str, max_length: int, expected: str) -> None:
    assert kefu.normalize(text, max_length=max_length) == expected


@pytest.mark.parametrize(
    ("text", "max_length", "expected"),
    [
        ("你好", 500, "你好"),  # valid text is unchanged
        ("ＡＢＣ", 500, "ＡＢＣ"),  # clean does not fold width (normalize does)
        ("abcdef", 4, "abcd"),  # truncated
        ("a\ud800b", 500, "a\ufffdb"),  # one U+FFFD per lone surrogate
        ("\ud800" * 5, 3, "\ufffd" * 3),  # never longer than max_length
    ],
)
def test_clean(text: str, max_length: int, expected: str) -> None:
    assert clean(text, max_length) == expected


def test_clean_replaces_lone_surrogates() -> None:
    # The result can be logged, stored and sent as UTF-8; only the surrogates were replaced.
    text = clean("a\ud800b\udfffc")
    assert text.encode("utf-8").decode("utf-8") == text
    assert text.replace("\ufffd", "") == "abc"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "not NoneType (None)"),  # was normalized to the text "none"
        (12315, "not int (12315)"),
        (b"\xe9\x80\x80", "decode it first"),  # was normalized to "b xe9 x80 x80"
    ],
)
def test_normalize_refuses_what_is_not_text(value: object, message: str) -> None:
    with pytest.raises(
        TypeError, match=r"text must be a str, .*" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        kefu.normalize(value)  # type: ignore[arg-type]


# --- templates ----------------------------------------------------------------------------

VALUES = {"order_id": "123456789012", "颜色": "红色", "order.order_id": "998877", "a": "A"}


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("订单 {order_id} 已发货", VALUES, "订单 123456789012 已发货"),  # a slot
        ("您选的是{颜色}", VALUES, "您选的是红色"),  # a Chinese slot name
        ("上一单 {order.order_id}", VALUES, "上一单 998877"),  # a context parameter
        ("{ order_id }", VALUES, "123456789012"),  # spaces inside the braces are ignored
        ("{a}{a}", VALUES, "AA"),  # the same slot twice
        ("订单 {order_id} 已发货", {}, "订单  已发货"),  # a missing value renders as ''
        ("{order.phone}", VALUES, ""),  # a missing context parameter too
        ("{{order_id}}", VALUES, "{order_id}"),  # doubled braces are literal
        ("{{{a}}}", VALUES, "{A}"),  # a literal brace around a placeholder
        ("满{{100}}减20", {}, "满{100}减20"),
        ("没有占位符", VALUES, "没有占位符"),
        ("", VALUES, ""),
        ("{a}", {"a": "{order_id}"}, "{order_id}"),  # a value is never expanded again
        ("{x.__class__}", {"x": "1"}, ""),  # no attribute access: only keys of ``values``
    ],
)
def test_render(template: str, values: Mapping[str, str], expected: str) -> None:
    assert render(template, values) == expected


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("订单 {order_id} 已发货", ["order_id"]),
        ("{a} {order.order_id} {a}", ["a", "order.order_id", "a"]),  # in order, repeats kept
        ("{ 颜色 }", ["颜色"]),  # stripped; Chinese names are valid
        ("{_x}", ["_x"]),  # a leading underscore is a letter
        ("{{a}} {{b}}", []),  # literal braces are not placeholders
        ("{{{a}}}", ["a"]),
        ("", []),
    ],
)
def test_placeholders(template: str, names: list[str]) -> None:
    assert placeholders(template) == names


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("订单 {order_id", "unmatched '{' (write {{ for a literal brace)"),
        ("订单 order_id}", "unmatched '}' (write }} for a literal brace)"),
        ("{a}}", "unmatched '}' (write }} for a literal brace)"),  # one closing brace too many
        ("{{a}", "unmatched '}' (write }} for a literal brace)"),  # `{{` is a literal, so `}` is alone
        ("}{", "unmatched '}' (write }} for a literal brace)"),  # the first problem is reported
        ("{}", "invalid placeholder {}"),
        ("{  }", "invalid placeholder {}"),
        ("{1a}", "invalid placeholder {1a}"),  # a name cannot start with a digit
        ("{a-b}", "invalid placeholder {a-b}"),
        ("{a b}", "invalid placeholder {a b}"),
        ("{a.}", "invalid placeholder {a.}"),
        ("{.a}", "invalid placeholder {.a}"),
        ("{a.b.c}", "invalid placeholder {a.b.c}"),  # at most context.parameter
        ("{a} {0}", "invalid placeholder {0}"),  # str.format's positional fields are not allowed
    ],
)
def test_malformed_template_raises(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        placeholders(template)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)  # callers may catch the built-in
