"""Entity extraction: built-ins, lookup lists, regexes, overlaps, slot answers, bad input.

Dates count from an injected today, Friday 2026-11-27 (its week runs Mon 11-23 to
Sun 11-29).
"""

from __future__ import annotations

import datetime
import pickle
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import kefu
from kefu.entities import EntityExtractor, EntityValue
from kefu.settings_sections import BUILTIN_ENTITIES
from kefu.spec import EntitySpec

HangGuard = Callable[..., AbstractContextManager[None]]

FRIDAY = datetime.date(2026, 11, 27)

COLORS = EntitySpec(
    "color",
    values=(
        ("深蓝色", ("藏青色", "navy")),
        ("蓝色", ("蓝", "blue")),
        ("红色", ("红", "red")),
    ),
)
SKU = EntitySpec("sku", regex=r"SKU-(\d+)")
PHONE = EntitySpec("phone", builtin="mobile")


def today() -> datetime.date:
    return FRIDAY


def extractor(*entities: EntitySpec) -> EntityExtractor:
    return EntityExtractor(entities, today=today)


def found(value: EntityValue | None) -> tuple[str, str, int, int] | None:
    """What a user would notice: the value, the text it came from and where."""
    if value is None:
        return None
    return value.value, value.text, value.start, value.end


# --- order_id -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a plain id inside a sentence
        ("我的订单2024112712345678还没到", ("2024112712345678", "2024112712345678", 4, 20)),
        # full-width digits: ASCII value, surface text and offsets as typed
        (
            "订单号：２０２４１１２７１２３４５６７８",
            ("2024112712345678", "２０２４１１２７１２３４５６７８", 4, 20),
        ),
        # 12 and 20 digits are the bounds
        ("202411271234", ("202411271234", "202411271234", 0, 12)),
        ("20241127123456789012", ("20241127123456789012", "20241127123456789012", 0, 20)),
        # letters next to the digits do not matter
        ("DD2024112712345678", ("2024112712345678", "2024112712345678", 2, 18)),
        # the first of two ids
        ("2024112711111111和2024112722222222", ("2024112711111111", "2024112711111111", 0, 16)),
        # 11 digits is a mobile, 21 digits is nothing
        ("13812345678", None),
        ("202411271234567890123", None),
        # a mobile with its 86 / 0086 country code is still a phone number
        ("8613812345678", None),
        ("008613812345678", None),
        # too short
        ("订单12345", None),
        # an ID-card number whose check digit is X is no order id with an X after it
        ("查订单 11010519491231002X", None),
        ("身份证11010519491231002x", None),
        ("订单２０２４１１２７１２３４５６７８９Ｘ", None),
        # ... but an order id with any other letter after it still is
        ("2024112712345678a", ("2024112712345678", "2024112712345678", 0, 16)),
    ],
)
def test_order_id(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "order_id")) == expected


# --- mobile -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", ("13812345678", "13812345678", 2, 13)),  # plain
        ("138 1234 5678", ("13812345678", "138 1234 5678", 0, 13)),  # 3-4-4 with spaces
        ("138-1234-5678", ("13812345678", "138-1234-5678", 0, 13)),  # 3-4-4 with dashes
        ("+86 13812345678", ("13812345678", "+86 13812345678", 0, 15)),  # +86 prefix
        ("+86 138 1234 5678", ("13812345678", "+86 138 1234 5678", 0, 17)),  # both
        ("0086-19912345678", ("19912345678", "0086-19912345678", 0, 16)),  # 0086 prefix
        ("8613812345678", ("13812345678", "8613812345678", 0, 13)),  # 86 glued on
        ("１３８１２３４５６７８", ("13812345678", "１３８１２３４５６７８", 0, 11)),  # full-width
        ("138　1234　5678", ("13812345678", "138　1234　5678", 0, 13)),  # ideographic spaces
        ("12812345678", None),  # 12x is not a mobile prefix
        ("138123456789", None),  # 12 digits
        ("2024113812345678", None),  # inside a longer run
        ("138-1234 5678", None),  # two different separators
    ],
)
def test_mobile(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "mobile")) == expected


def test_builtin_under_another_name() -> None:
    values = extractor(PHONE).extract("请打138 1234 5678")
    assert values == [EntityValue("phone", "13812345678", "138 1234 5678", 2, 15)]


# --- amount -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("退我99元", ("99", "99元", 2, 5)),
        ("¥99.9", ("99.9", "¥99.9", 0, 5)),
        ("￥ 99", ("99", "￥ 99", 0, 4)),  # full-width yen and a space
        ("三百块", ("300", "三百块", 0, 3)),
        ("两千五百元", ("2500", "两千五百元", 0, 5)),
        ("两千五块钱", ("2500", "两千五块钱", 0, 5)),  # short form: 两千五 = 2500
        ("1.5万元", ("15000", "1.5万元", 0, 5)),
        ("一点五万元", ("15000", "一点五万元", 0, 5)),
        ("2千块", ("2000", "2千块", 0, 3)),
        ("五块五", ("5.5", "五块五", 0, 3)),  # 五 after 块 is 5 毛
        ("3元5角", ("3.5", "3元5角", 0, 4)),
        ("十块钱", ("10", "十块钱", 0, 3)),
        ("一百零八元", ("108", "一百零八元", 0, 5)),
        ("15,000元", ("15000", "15,000元", 0, 7)),
        ("0.50元", ("0.5", "0.50元", 0, 5)),  # no trailing zero
        ("价格，300元", ("300", "300元", 3, 7)),  # the comma before is not part of it
        ("rmb 300", ("300", "rmb 300", 0, 7)),
        ("300RMB", ("300", "300RMB", 0, 6)),
        ("人民币三百元", ("300", "人民币三百元", 0, 6)),
        ("３００元", ("300", "３００元", 0, 4)),
        ("3块5个", ("3", "3块", 0, 2)),  # 5个 is a count, not 5 毛
        ("我们一块儿去", None),  # 一块儿 means "together"
        ("几十块", None),  # vague
        ("一百多块", None),  # vague
        ("三百", None),  # no currency word
        ("3k", None),
    ],
)
def test_amount(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (".5元", ("0.5", ".5元", 0, 3)),  # was 5: ten times too much
        ("单价 .99 元", ("0.99", ".99 元", 3, 8)),  # was 99
        ("¥.5", ("0.5", "¥.5", 0, 3)),
        (".5万元", ("5000", ".5万元", 0, 4)),
        ("3.15元", ("3.15", "3.15元", 0, 5)),
        ("1.5.3元", None),  # a version, as before
        (".5.3元", None),  # likewise, not 5.3
        ("v.5元", ("5", "5元", 2, 4)),  # after a letter the dot is not a decimal point
    ],
)
def test_amount_with_a_leading_decimal_point(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    "text", ["-50元", "退款-50元", "-¥50", "¥-50元", "rmb-50", "−50元", "－50元", "-.5元"]
)
def test_a_negative_amount_is_no_amount(text: str) -> None:
    """A price, budget or refund is never negative: not 50 with the sign silently dropped."""
    assert EntityExtractor(()).extract_one(text, "amount") is None


def test_a_dash_after_a_number_is_no_minus_sign() -> None:
    found_value = EntityExtractor(()).extract_one("满300-50元", "amount")  # 50 off above 300
    assert found(found_value) == ("50", "50元", 5, 8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("负50元", None),  # was 50: 负 is the word for minus
        ("负五十元", None),
        ("余额为负50元", None),
        ("负 50元", None),  # a space after 负
        ("负¥50", None),
        ("¥负50元", None),
        ("负1.5万元", None),
        ("负责退款50元", ("50", "50元", 4, 7)),  # 负 inside a word, away from the number
        ("负担50元运费", ("50", "50元", 2, 5)),
        ("运费自负10元", ("10", "10元", 4, 7)),  # 自负 is "pay it yourself", not minus
        ("背负10万元贷款", ("100000", "10万元", 2, 6)),  # 背负 is "carry (a debt)"
    ],
)
def test_fu_before_an_amount_is_a_minus_sign(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # both ends of a range: no amount rather than one end (all were 60, or 50)
        ("50-60元", None),
        ("50~60元", None),
        ("50～60元", None),  # full-width tilde
        ("50到60元", None),
        ("五十到六十元", None),
        ("50至60块", None),
        ("50—60元", None),  # em dash
        ("50 - 60 元", None),
        ("50元-60元", None),
        ("50元到60元", None),
        ("¥50-60", None),  # ¥ in front of the low end counts for both
        ("¥50-¥60", None),
        ("一百多到两百元", None),
        ("1-1.5万元", None),
        ("预算100到200块之间", None),
        # a range next to a single amount leaves the amount
        ("50-60元的不要，要100元的", ("100", "100元", 11, 15)),
        # a dash from a larger number to a smaller one is a subtraction, as in 满300-50元
        ("每满200 - 20元", ("20", "20元", 8, 11)),
        # ranges that are not money, and dashes in dates, phones and order ids
        ("3-5天到账，退50元", ("50", "50元", 8, 11)),
        ("12-20退款50元", ("50", "50元", 7, 10)),
        ("2026-12-05退50元", ("50", "50元", 11, 14)),
        ("电话138-1234-5678，退50元", ("50", "50元", 17, 20)),
        ("订单2024112712345678退50元", ("50", "50元", 19, 22)),
        # 到 after an amount is "to", not a range, unless money follows it
        ("100元到账了吗", ("100", "100元", 0, 4)),
        ("充值100元到13812345678", ("100", "100元", 2, 6)),
    ],
)
def test_a_range_is_no_amount(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a dash after a model name with Latin letters is a hyphen, not a range or a minus
        ("iphone15-50元", ("50", "50元", 9, 12)),  # was no amount
        ("P40-200元", ("200", "200元", 4, 8)),  # was no amount
        ("mate60pro-50元", ("50", "50元", 10, 13)),  # was no amount
        ("ｉＰｈｏｎｅ１５－５０元", ("50", "５０元", 9, 12)),  # full-width, offsets as typed
        ("iphone-50元", ("50", "50元", 7, 10)),  # after letters alone too
        ("买iphone15-¥50的壳", ("50", "¥50", 10, 13)),
        # a range after a model name is still a range
        ("iphone15-50-60元", None),
        # bare digits before the dash are the low end of a range, as before
        ("15-50元", None),
        ("iphone 15-50元", None),  # after a space 15 stands alone
        # after a currency word the dash stays a minus
        ("rmb-50元", None),
        ("退款-50元", None),
    ],
)
def test_a_dash_after_a_model_name_is_a_hyphen(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # two amounts joined by - or 减: 300 and 50 off, which one is meant is unknown (were 300)
        ("满300元-50元", None),
        ("满300元减50元", None),
        ("满300元立减50元", None),
        ("满三百元减五十元", None),
        ("¥300-¥50", None),
        ("¥300-50", None),  # ¥ in front of the first counts for both, as in ranges
        # only the discount is written as money: 300 is a condition, 50 the amount (as before)
        ("满300-50元", ("50", "50元", 5, 8)),
        ("满300减50元", ("50", "50元", 5, 8)),
        ("立减50元", ("50", "50元", 2, 5)),
        # two amounts apart are not joined: the first, as before
        ("我付了300元，退我50元", ("300", "300元", 3, 7)),
    ],
)
def test_a_promotion_of_two_amounts_is_no_amount(
    text: str, expected: tuple[str, str, int, int] | None
) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # alternatives, like ranges, are no single amount (were 50 or 60)
        ("50元或60元", None),
        ("50或60元", None),
        ("五十或者六十元", None),
        ("50元还是60元", None),
        ("50元或是60元", None),
        ("¥50或60", None),
        # 或 and 还是 that do not join two amounts
        ("100元还是太贵了", ("100", "100元", 0, 4)),
        ("50元或以上", ("50", "50元", 0, 3)),
        ("两件或者三件，共50元", ("50", "50元", 8, 11)),
    ],
)
def test_alternatives_are_no_amount(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a range with one vague end is still a range (were the other end)
        ("几十到一百元", None),
        ("十几到二十元", None),
        ("几百到一千块", None),
        ("50元到几百元", None),
        ("二十几到三十元", None),
        ("一百来到两百块", None),
        ("几十或一百元", None),
        # 几 elsewhere makes nothing vague
        ("几个人一共付了50元", ("50", "50元", 7, 10)),
        ("几点到账？100元", ("100", "100元", 5, 9)),
    ],
)
def test_a_range_with_a_vague_end_is_no_amount(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 多 or 几 after the money: "five-something", not 5 (were the whole yuan)
        ("五块多", None),
        ("三块多钱", None),
        ("十元多一点", None),
        ("五块几", None),
        ("3块几毛", None),
        ("退我50元多，谢谢", None),
        ("¥50多", None),
        # 多 or 几 before the unit, as before
        ("几百元", None),
        ("十几块钱", None),
        ("二十几元", None),
        ("三四十元", None),
        ("一百多块", None),
        ("两百来块", None),
        # questions about a plain amount
        ("50元多久到账", ("50", "50元", 0, 3)),
        ("退50元几天到账", ("50", "50元", 1, 4)),
        ("50元几点到", ("50", "50元", 0, 3)),
    ],
)
def test_a_vague_amount_is_no_amount(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(EntityExtractor(()).extract_one(text, "amount")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("几" * 100_000 + "元", None, id="vague numerals"),
        pytest.param("几十到" * 30_000 + "一百元", None, id="vague ranges"),
        pytest.param("1或" * 50_000 + "2元", None, id="choices"),
        pytest.param("1元减" * 30_000 + "1元", None, id="promotions"),
        pytest.param("-" * 100_000 + "50元", None, id="dashes"),
        pytest.param("1-" * 50_000 + "2元", None, id="digits and dashes"),
        pytest.param("a1-" * 30_000 + "50元", "50", id="model names and dashes"),
        pytest.param("a" * 100_000 + "-50元", "50", id="letters and a dash"),
        pytest.param("50元" + "多" * 100_000, "50", id="many 多"),
    ],
)
def test_long_amount_like_input_is_read_in_one_pass(
    text: str, expected: str | None, hang_guard: HangGuard
) -> None:
    with hang_guard():
        value = EntityExtractor(()).extract_one(text, "amount")
    assert (value.value if value else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十块零五毛", "10.5"),
        ("两块五毛五", "2.55"),  # 五 after 毛 is 5 分
        ("5块5毛5", "5.55"),
        ("五块五毛五分钱", "5.55"),
        ("3元50分", "3.5"),
        ("3元5分", "3.05"),
        ("3元零5分", "3.05"),
        ("一块零五", "1.05"),  # 零 stands for the empty 毛 place
        ("三块五毛钱", "3.5"),
        ("1点5元", "1.5"),  # digits around 点, as 一点五 is read
        ("退我一点5元", "1.5"),
    ],
)
def test_mao_and_fen_are_added_not_dropped(text: str, expected: str) -> None:
    """Each of these was read smaller: 10, 2.5, 5.5, 3, or 5 for 1点5元."""
    value = EntityExtractor(()).extract_one(text, "amount")
    assert (value.value if value else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 分钟 is minutes, not 分: 3元50分钟 was 3.5
        ("3元50分钟", "3"),
        ("3元5分钟", "3"),
        ("2.8块20分钟", "2.8"),
        # a digit after the money that counts something else: 5元一天 was 5.1, 92块2毛一天 92.21
        ("5元一天", "5"),
        ("停车费5元一小时", "5"),
        ("2元3天", "2"),
        ("5元12天", "5"),
        ("10元5公斤", "10"),
        ("退我5块18单", "5"),
        ("92块2毛一天", "92.2"),
        ("8块8角5间", "8.8"),
        ("十三块零五毛一斤", "13.5"),  # was 13.05
        ("3块零8毛2只", "3.8"),
        # a price per unit keeps its 毛 and 分: 五块五一斤 was 5
        ("五块五一斤", "5.5"),
        ("九元六两个", "9.6"),
        ("三块五毛九一个", "3.59"),
        ("七块三每斤", "7.3"),
        # a digit after the money followed by other words is its 毛
        ("67块5运费", "67.5"),
        ("余额还有4块5毛1对吧", "4.51"),
        ("1块50", "1.5"),
        ("3块05", "3.05"),
        # o'clock: 8点 and then 100元 (8.1, for a moment today); a decimal 点 takes two digits
        ("晚上8点100元", "100"),
        ("43点17元", "43.17"),
        # a number with a fraction gets no 毛 added: 9.9元5角 was 10.4
        ("9.9元5角", "9.9"),
        ("人民币9.8元八月", "9.8"),
    ],
)
def test_only_the_money_is_read_around_counts_times_and_units(text: str, expected: str) -> None:
    assert [v.value for v in EntityExtractor(()).extract_all(text, "amount")] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "1e5元",  # read as 5
        "1E5元",
        "1e-5元",
        "5e3块",  # read as 3
        "十十元",  # read as 20
        "一百一百元",  # 200
        "五十五十元",  # 100
        "九十九十九元",  # 189
        "一亿一亿元",  # 10000000100000000
        "十10元",  # 20
        "1万20000元",
        "¥1e5",  # read as 1
    ],
)
def test_a_number_that_is_no_numeral_is_no_amount(text: str) -> None:
    assert EntityExtractor(()).extract_one(text, "amount") is None


def test_a_long_amount_keeps_every_digit() -> None:
    """Forty 1s came back as 28 1s and 12 0s (the decimal module's default precision)."""
    digits = "1" * 40
    assert [v.value for v in EntityExtractor(()).extract_all(f"退{digits}元", "amount")] == [digits]
    assert [v.value for v in EntityExtractor(()).extract_all(f"{digits}.5元", "amount")] == [f"{digits}.5"]


@pytest.mark.parametrize("text", ["$100", "＄100", "€5", "50%", "#3", "№3"])
def test_a_bare_number_marked_as_something_else_is_no_amount(text: str) -> None:
    """A yuan slot took $100 as 100 yuan (100美元 was already refused)."""
    assert extractor().parse_value(text, "amount") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [(".5", "0.5"), ("  .99元", "0.99"), ("-50", None), ("- 50", None), ("¥-50", None), ("-¥50", None)],
)
def test_a_bare_amount_keeps_its_decimal_point_and_refuses_a_minus(text: str, expected: str | None) -> None:
    value = extractor().parse_value(text, "amount")
    assert (value.value if value else None) == expected


# --- date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", "2026-11-27"),
        ("今日", "2026-11-27"),
        ("明天能到吗", "2026-11-28"),
        ("明日", "2026-11-28"),
        ("后天", "2026-11-29"),
        ("大后天", "2026-11-30"),  # not 后天
        ("昨天", "2026-11-26"),
        ("前天", "2026-11-25"),
        ("大前天", "2026-11-24"),
        # plain weekday: this week's if not past, else next week's
        ("周五", "2026-11-27"),  # today
        ("周六", "2026-11-28"),
        ("周日", "2026-11-29"),
        ("星期天", "2026-11-29"),
        ("礼拜七", "2026-11-29"),
        ("周一", "2026-11-30"),  # this Monday is past
        ("周3", "2026-12-02"),
        # 这/本: this week even if past; 下, 下下, 上 move by weeks
        ("这周三", "2026-11-25"),
        ("本周日", "2026-11-29"),
        ("下周一", "2026-11-30"),
        ("下个星期五", "2026-12-04"),
        ("下下周一", "2026-12-07"),
        ("上个礼拜天", "2026-11-22"),
        # month and day; without a year the nearest one
        ("11月3号", "2026-11-03"),
        ("11月3日", "2026-11-03"),
        ("十一月三号", "2026-11-03"),
        ("12月31号", "2026-12-31"),
        ("1月5号", "2027-01-05"),  # next January is nearer than last
        ("2024年11月3日", "2024-11-03"),
        ("二零二四年十一月三十号", "2024-11-30"),
        ("2024-11-03", "2024-11-03"),
        ("2024/11/3", "2024-11-03"),
        ("2024.11.3", "2024-11-03"),
        # day alone: this month if not past, else the next month that has it
        ("27号", "2026-11-27"),
        ("30号", "2026-11-30"),
        ("下下个月3号", "2027-01-03"),  # was next month
        ("下下月3号", "2027-01-03"),
        ("上上个月3号", "2026-09-03"),  # was last month
        ("上上周三", "2026-11-11"),  # was last week
        ("下下下周三", None),  # not 下下周 (or 下周) from inside it
        ("下下下个周一", None),  # nor the plain 周一 after 个
        ("上周的周三", "2026-11-18"),  # last week's: these were read as the coming 周三
        ("上周周三", "2026-11-18"),
        ("上一个周三", "2026-11-18"),
        ("下周的星期二", "2026-12-01"),
        ("上上上个礼拜三", None),
        ("24年1月1日", "2024-01-01"),  # a two-digit year was dropped: 2027-01-01
        ("99年3月5号", "1999-03-05"),  # the nearest such year
        ("两千零二十四年1月1号", "2024-01-01"),
        ("二四年1月1号", "2024-01-01"),
        ("2024年的1月1日", "2024-01-01"),  # 的 or a space after the year: it was dropped (2027)
        ("24年 1月1日", "2024-01-01"),
        ("去年的1月1日", "2025-01-01"),
        ("5年的1月1日", None),
        ("5年1月1日", None),  # no year it can read: no date, rather than another year's
        ("12345年1月1日", None),
        ("3号", "2026-12-03"),
        ("31号", "2026-12-31"),  # November has no 31st
        ("下个月3号", "2026-12-03"),
        ("上月3号", "2026-10-03"),
        # impossible dates are not dates
        ("2月30号", None),
        ("2026-02-29", None),
        ("13月1号", None),
        ("11月32号", None),
        ("这个月31号", None),
        # 号 and 周 that are not dates
        ("一周三次", None),
        ("坐3号线", None),
        ("5号电池", None),
        ("第3号", None),
        ("7日无理由退货", None),
        ("3日内发货", None),
    ],
)
def test_date(text: str, expected: str | None) -> None:
    value = extractor().extract_one(text, "date")
    assert (value.value if value else None) == expected


@pytest.mark.parametrize(
    ("text", "expected", "surface"),
    [
        # Today is 2026-11-27. The year word was dropped and the nearest date taken:
        # each of these was a year off.
        ("明年11月3号", "2027-11-03", "明年11月3号"),  # not the 3 November just past
        ("来年十一月三号", "2027-11-03", "来年十一月三号"),
        ("去年12月1号", "2025-12-01", "去年12月1号"),  # not the 1 December coming
        ("今年1月5号", "2026-01-05", "今年1月5号"),  # not next January
        ("前年5月1号", "2024-05-01", "前年5月1号"),
        ("后年5月1号", "2028-05-01", "后年5月1号"),
        ("大后年5月1号", "2029-05-01", "大后年5月1号"),  # not 后年
        ("大前年5月1号", "2023-05-01", "大前年5月1号"),  # not 前年
    ],
)
def test_a_year_word_before_month_and_day_names_the_year(text: str, expected: str, surface: str) -> None:
    value = extractor().extract_one(text, "date")
    assert value is not None
    assert (value.value, value.text) == (expected, surface)


def test_date_span_and_datetime_today() -> None:
    # today may return a datetime: the value is still a plain date
    ex = EntityExtractor((), today=lambda: datetime.datetime(2026, 11, 27, 23, 59))
    value = ex.extract_one("那就2026年12月1号吧", "date")
    assert value == EntityValue("date", "2026-12-01", "2026年12月1号", 2, 12)
    assert found(ex.extract_one("明天", "date")) == ("2026-11-28", "明天", 0, 2)


def test_today_is_only_asked_when_a_date_is_written() -> None:
    calls: list[int] = []

    def counting_today() -> datetime.date:
        calls.append(1)
        return FRIDAY

    ex = EntityExtractor((EntitySpec("when", builtin="date"),), today=counting_today)
    assert ex.extract("你好，我想退货") == []
    assert calls == []
    assert [v.value for v in ex.extract("今天或明天")] == ["2026-11-27", "2026-11-28"]


# --- lookup lists and regexes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("深蓝色的", ("深蓝色", "深蓝色", 0, 3)),  # longest first, not 蓝色
        ("要蓝色", ("蓝色", "蓝色", 1, 3)),
        ("蓝的吧", ("蓝色", "蓝", 0, 1)),  # a synonym gives the canonical value
        ("藏青色", ("深蓝色", "藏青色", 0, 3)),
        ("NAVY please", ("深蓝色", "NAVY", 0, 4)),  # case-folded
        ("ＢＬＵＥ", ("蓝色", "ＢＬＵＥ", 0, 4)),  # full-width letters
        ("我要Red的", ("红色", "Red", 2, 5)),
        ("bored", None),  # red inside an English word
        ("navyblue", None),
        ("绿色", None),
    ],
)
def test_lookup(text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(extractor(COLORS).extract_one(text, "color")) == expected


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        # with a group the value is group 1, the span the whole match
        (SKU, "货号SKU-123", ("123", "SKU-123", 2, 9)),
        # the regex sees NFKC text, so full-width digits match \d as ASCII
        (SKU, "SKU-１２３", ("123", "SKU-１２３", 0, 7)),
        # case is kept for regexes: the author wrote SKU
        (SKU, "sku-123", None),
        # without a group the value is the whole match
        (EntitySpec("code", regex=r"[A-Z]{2}\d{4}"), "券码AB1234", ("AB1234", "AB1234", 2, 8)),
        # an optional group that did not take part: the whole match
        (EntitySpec("size", regex=r"(\d+)码|均码"), "均码", ("均码", "均码", 0, 2)),
        # empty matches are not values
        (EntitySpec("stars", regex=r"\**"), "好评", None),
        # nor is an empty group: a required slot was filled with "" on "SKU"
        (EntitySpec("sku", regex=r"SKU-?(\d*)"), "SKU", None),
        (EntitySpec("sku", regex=r"SKU-?(\d*)"), "SKU7", ("7", "SKU7", 0, 4)),
        # control and format characters are not echoed back (a terminal escape, NUL, U+202E)
        (EntitySpec("name", regex=r"我叫(\S+)"), "我叫张\x00三", ("张三", "我叫张\x00三", 0, 5)),
        (EntitySpec("name", regex=r"我叫(\S+)"), "我叫\u202e三张", ("三张", "我叫\u202e三张", 0, 5)),
        (EntitySpec("name", regex=r"我叫(\S+)"), "我叫\x1b\u200b", None),
        (EntitySpec("name", regex=r"我叫(\S+)"), "我叫👨\u200d👩", ("👨\u200d👩", "我叫👨\u200d👩", 0, 5)),
    ],
)
def test_regex(spec: EntitySpec, text: str, expected: tuple[str, str, int, int] | None) -> None:
    assert found(extractor(spec).extract_one(text, spec.name)) == expected


# --- extract: everything at once, overlaps ------------------------------------------------


def test_extract_a_whole_message() -> None:
    ex = extractor(
        EntitySpec("order_id", builtin="order_id"),
        EntitySpec("amount", builtin="amount"),
        EntitySpec("date", builtin="date"),
        PHONE,
        COLORS,
    )
    text = "订单2024112712345678的蓝色外套，明天能退99元吗？电话138 1234 5678"
    assert ex.extract(text) == [
        EntityValue("order_id", "2024112712345678", "2024112712345678", 2, 18),
        EntityValue("color", "蓝色", "蓝色", 19, 21),
        EntityValue("date", "2026-11-28", "明天", 24, 26),
        EntityValue("amount", "99", "99元", 28, 31),
        EntityValue("phone", "13812345678", "138 1234 5678", 35, 48),
    ]


@pytest.mark.parametrize(
    ("entities", "text", "expected"),
    [
        # the longer value wins whichever entity it belongs to
        (
            (EntitySpec("date", builtin="date"), EntitySpec("promo", values=(("周三特价", ()),))),
            "周三特价还有吗",
            [("promo", "周三特价", 0, 4)],
        ),
        # equally long: the entity declared first
        (
            (EntitySpec("number", regex=r"\d+"), EntitySpec("order_id", builtin="order_id")),
            "2024112712345678",
            [("number", "2024112712345678", 0, 16)],
        ),
        (
            (EntitySpec("order_id", builtin="order_id"), EntitySpec("number", regex=r"\d+")),
            "2024112712345678",
            [("order_id", "2024112712345678", 0, 16)],
        ),
        # a shorter value elsewhere survives
        (
            (EntitySpec("number", regex=r"\d+"), EntitySpec("amount", builtin="amount")),
            "2件共300元",
            [("number", "2", 0, 1), ("amount", "300", 3, 7)],
        ),
    ],
)
def test_overlaps_longest_first(
    entities: tuple[EntitySpec, ...], text: str, expected: list[tuple[str, str, int, int]]
) -> None:
    values = extractor(*entities).extract(text)
    assert [(v.entity, v.value, v.start, v.end) for v in values] == expected


def test_extract_only_reports_declared_entities() -> None:
    # built-ins can be asked for by name, but extract() lists declared entities only
    assert extractor(COLORS).extract("订单2024112712345678明天到") == []
    assert extractor().extract("订单2024112712345678明天到") == []


def test_offsets_survive_normalization_that_changes_length() -> None:
    # ﬁ becomes "fi" and ß becomes "ss": offsets still point into the original text
    text = "ﬁß蓝色，¼ 13812345678"
    values = extractor(COLORS, PHONE).extract(text)
    assert [(v.value, v.text, v.start, v.end) for v in values] == [
        ("蓝色", "蓝色", 2, 4),
        ("13812345678", "13812345678", 7, 18),
    ]


# --- parse_value: a whole message as the answer to a slot prompt ------------------------


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        ("order_id", "2024112712345678", "2024112712345678"),
        ("order_id", "是2024112712345678", "2024112712345678"),
        ("order_id", "订单号：2024112712345678", "2024112712345678"),
        ("order_id", "2024112711111111和2024112722222222", None),  # which one?
        ("order_id", "不记得了", None),
        ("color", "蓝色的吧", "蓝色"),
        ("color", "蓝色，就要蓝色", "蓝色"),  # the same value twice is one answer
        ("color", "蓝色还是红色呢", None),  # two answers
        ("date", "明天", "2026-11-28"),
        ("date", "下周一吧", "2026-11-30"),
        ("amount", "300", "300"),  # a bare number answers "how much?"
        ("amount", "三百。", "300"),
        ("amount", "退300元", "300"),
        ("amount", "大概300吧", None),  # a number in a sentence needs 元 or ¥
        ("mobile", "+86 138 1234 5678", "13812345678"),
    ],
)
def test_parse_value(entity: str, text: str, expected: str | None) -> None:
    value = extractor(COLORS).parse_value(text, entity)
    assert (value.value if value else None) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024112712345678",  # an order id pasted at "how much?": refund of 2 quadrillion yuan
        "13812345678",  # a mobile number
        "202411271234",  # the shortest order id, 12 digits
    ],
)
def test_a_bare_order_id_or_mobile_is_no_amount(text: str) -> None:
    assert extractor().parse_value(text, "amount") is None


def test_parse_value_keeps_the_span() -> None:
    value = extractor().parse_value("  ３００ ", "amount")
    assert value == EntityValue("amount", "300", "３００", 2, 5)


def test_unknown_entity_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="colour"):
        extractor(COLORS).extract_one("蓝色", "colour")
    with pytest.raises(KeyError, match="colour"):
        extractor(COLORS).parse_value("蓝色", "colour")


def test_declared_entity_shadows_builtin_name() -> None:
    ex = extractor(EntitySpec("date", values=(("周末", ("礼拜六",)),)))
    assert found(ex.extract_one("明天或周末", "date")) == ("周末", "周末", 3, 5)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (EntitySpec("x", builtin="weather"), "entity 'x': unknown builtin 'weather'"),
        (EntitySpec("y", regex="([a-z]"), "entity 'y': invalid regex"),
    ],
)
def test_bad_specs_are_value_errors(spec: EntitySpec, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EntityExtractor((spec,))


def test_every_builtin_the_loader_accepts_works_by_name() -> None:
    samples = {"order_id": "2024112712345678", "mobile": "13812345678", "amount": "3元"}
    samples["date"] = "2026-11-27"
    assert set(samples) == set(BUILTIN_ENTITIES)
    ex = EntityExtractor(())
    for name, text in samples.items():
        value = ex.extract_one(text, name)
        assert value is not None
        assert value.entity == name


def test_extractor_pickles() -> None:
    ex = EntityExtractor((COLORS, SKU, PHONE))
    copy = pickle.loads(pickle.dumps(ex))
    assert copy.extract("蓝色 SKU-7 13812345678") == ex.extract("蓝色 SKU-7 13812345678")


# --- bad input: never raises, never hangs -----------------------------------------------

ALL = (
    EntitySpec("order_id", builtin="order_id"),
    EntitySpec("mobile", builtin="mobile"),
    EntitySpec("amount", builtin="amount"),
    EntitySpec("date", builtin="date"),
    COLORS,
    SKU,
)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("\ud800", id="lone surrogate"),
        pytest.param("\udfff好\ud800", id="surrogates around a word"),
        pytest.param("😀🙏🏻👍" * 100, id="emoji"),
        pytest.param("\x00\x01\x1b[31m\n\t\r", id="control characters"),
        pytest.param("1" * 100_000, id="100 KB of digits"),
        pytest.param("一" * 100_000, id="100 KB of numerals"),
        pytest.param("1," * 50_000, id="digits and commas"),
        pytest.param("元块¥rmb" * 20_000, id="currency without numbers"),
        pytest.param("月号周期" * 20_000, id="date words without numbers"),
        pytest.param("\u0301" * 1000 + "ﬁ" * 1000, id="combining marks and ligatures"),
    ],
)
def test_odd_input_gives_no_values(text: str) -> None:
    ex = extractor(*ALL)
    assert ex.extract(text) == []
    for entity in ("order_id", "mobile", "amount", "date", "color", "sku"):
        assert ex.extract_one(text, entity) is None
    for entity in ("order_id", "mobile", "date", "color", "sku"):
        assert ex.parse_value(text, entity) is None


def test_surrogate_next_to_a_value() -> None:
    ex = extractor(*ALL)
    assert ex.extract("订单\ud8002024112712345678") == [
        EntityValue("order_id", "2024112712345678", "2024112712345678", 3, 19)
    ]


def test_many_values_in_a_long_message() -> None:
    text = "3号" * 20_000
    values = extractor(*ALL).extract(text)
    assert len(values) == 20_000
    assert values[-1] == EntityValue("date", "2026-12-03", "3号", 39_998, 40_000)


def test_dates_in_a_conversation_count_from_the_engines_clock(write_bot: Callable[..., Path]) -> None:
    """明天 counted from the machine's date, while the session followed Engine(clock=...)."""
    bot = write_bot(
        **{
            "bot.yaml": """version: 1
bot: {threshold: 0.3}
intents:
  - name: book
    examples: [我要预约, 帮我约个时间, 预约上门]
    slots:
      when: {entity: date, required: true, prompt: 哪天方便？}
    responses: ["已为您预约 {when}"]
"""
        }
    )
    new_years_eve = datetime.datetime(2024, 12, 31, 12).timestamp()
    engine = kefu.Engine.from_path(bot, clock=lambda: new_years_eve, seed=0)
    assert engine.reply("我要预约", session_id="a").text == "哪天方便？"
    assert engine.reply("明天", session_id="a").text == "已为您预约 2025-01-01"
    assert engine.reply("帮我约个时间 后天", session_id="b").text == "已为您预约 2025-01-02"


REFUND_BOT = """version: 1
bot: {threshold: 0.3}
intents:
  - name: refund
    examples: [我要退款, 申请退款, 退钱]
    slots:
      money: {entity: amount, required: true, prompt: 退多少钱？}
    responses: ["已为您申请退款 {money} 元"]
"""
"""A bot whose one intent asks for an amount."""


def test_an_amount_slot_asks_again_for_a_range_or_a_negative_amount(write_bot: Callable[..., Path]) -> None:
    """The bot asks rather than filing a refund for one end of a range, or for 50 when told 负50."""
    bot = write_bot(**{"bot.yaml": REFUND_BOT})
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    assert engine.reply("我要退款50到60元", session_id="a").text == "退多少钱？"
    assert engine.reply("50-60元吧", session_id="a").text == "退多少钱？"
    assert engine.reply("负50元", session_id="a").text == "退多少钱？"
    assert engine.reply("55元", session_id="a").text == "已为您申请退款 55 元"
    assert engine.reply("申请退款负五十元", session_id="b").text == "退多少钱？"


def test_an_amount_slot_asks_again_for_two_amounts_and_takes_the_one_after_a_model_name(
    write_bot: Callable[..., Path],
) -> None:
    """50或60元, 满300元减50元 and 几十到一百元 name no single sum; iphone15-50元 names 50."""
    bot = write_bot(**{"bot.yaml": REFUND_BOT})
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    assert engine.reply("我要退款50或60元", session_id="a").text == "退多少钱？"
    assert engine.reply("满300元减50元", session_id="a").text == "退多少钱？"
    assert engine.reply("几十到一百元", session_id="a").text == "退多少钱？"
    assert engine.reply("iphone15-50元", session_id="a").text == "已为您申请退款 50 元"
    assert engine.reply("申请退款五块多", session_id="b").text == "退多少钱？"
    assert engine.reply("P40-200元", session_id="b").text == "已为您申请退款 200 元"


def test_a_first_message_with_two_different_amounts_asks_instead_of_taking_the_first(
    write_bot: Callable[..., Path],
) -> None:
    """付300元退50元 filed a refund of 300; the same amount twice still counts once."""
    bot = write_bot(**{"bot.yaml": REFUND_BOT})
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    assert engine.reply("我要退款，付300元退50元", session_id="a").text == "退多少钱？"
    assert engine.reply("50元", session_id="a").text == "已为您申请退款 50 元"
    assert engine.reply("我要退款50元，就退50块", session_id="b").text == "已为您申请退款 50 元"


def test_a_slot_takes_the_one_value_it_accepts_when_the_message_names_others(
    write_bot: Callable[..., Path],
) -> None:
    """不要黑的，要蓝色: 黑色 is not on offer, so 蓝色 is meant (was asked: only the first was tried)."""
    bot = write_bot(
        **{
            "bot.yaml": """version: 1
bot: {threshold: 0.3}
entities:
  color: {values: {黑色: [黑的], 蓝色: [蓝的], 红色: [红的]}}
intents:
  - name: exchange
    examples: [我要换颜色, 换个颜色, 换成别的颜色]
    slots:
      color: {entity: color, required: true, prompt: 换成什么颜色？, values: [蓝色, 红色]}
    responses: ["已为您换成{color}"]
"""
        }
    )
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    assert engine.reply("我要换颜色，不要黑的，要蓝色", session_id="a").text == "已为您换成蓝色"
    assert engine.reply("我要换颜色，蓝色或者红色", session_id="b").text == "换成什么颜色？"
