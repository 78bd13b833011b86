"""Personal-data masking: mobile, ID-card and bank-card numbers, with checksums computed here."""

from __future__ import annotations

import datetime
import itertools
import random
import re
from collections.abc import Iterable

import pytest

from kefu.plugins.pii import find_pii, mask_pii, only_order_like_readings


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 defines it: position i (from 1, left) weighs 2**(18-i)."""
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(first17))
    return "0123456789X"[(12 - total % 11) % 11]


def id_card(region: str = "440305", birth: str = "19900307", sequence: str = "123") -> str:
    first17 = region + birth + sequence
    return first17 + id_check_char(first17)


def luhn_valid(number: str) -> bool:
    """Luhn as usually written: double every second digit from the right, add digit sums."""
    if not number.isdigit():
        return False
    digits = [int(c) for c in reversed(number)]
    return sum(d if i % 2 == 0 else sum(divmod(2 * d, 10)) for i, d in enumerate(digits)) % 10 == 0


def luhn_complete(partial: str) -> str:
    """``partial`` with the one check digit that makes it Luhn-valid."""
    return next(partial + d for d in "0123456789" if luhn_valid(partial + d))


def luhn_break(partial: str) -> str:
    """``partial`` with a last digit that makes it Luhn-invalid."""
    return next(partial + d for d in "0123456789" if not luhn_valid(partial + d))


def masked_id(number: str) -> str:
    return number[:3] + "*" * 11 + number[-4:]


# GB/T 2260 province codes of the mainland, written out rather than taken from the plugin.
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
}  # fmt: skip
ID_15 = "110105491231002"  # region 110105, born 1949-12-31, sequence 002: the GB example's


GB_EXAMPLE = "11010519491231002X"  # the worked example of GB 11643-1999
ID_PLAIN = id_card()
ID_X = next(n for n in (id_card(sequence=f"{s:03}") for s in range(1000)) if n.endswith("X")).lower()
MASKED_ID = masked_id(ID_PLAIN)
CARD_16 = luhn_complete("622202123456789")
CARD_19 = luhn_complete("621700123456789012")
# An ID-card number that is also Luhn-valid: the overlap rule must call it an ID card.
ID_AND_LUHN = next(n for n in (id_card(sequence=f"{s:03}") for s in range(1000)) if luhn_valid(n))


def test_constructed_numbers_are_what_the_tests_claim() -> None:
    assert id_check_char(GB_EXAMPLE[:17]) == "X"  # the standard's own example checks out
    assert luhn_valid("4111111111111111")  # the well-known Visa test number
    assert not luhn_valid("4111111111111112")
    assert luhn_valid(CARD_16)
    assert luhn_valid(CARD_19)
    assert len(CARD_16) == 16
    assert len(CARD_19) == 19


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Mobile numbers.
        pytest.param("我的手机13812345678", "我的手机138****5678", id="mobile plain"),
        pytest.param("电话:13812345678。", "电话:138****5678。", id="mobile in punctuation"),
        pytest.param("+86 138 1234 5678", "+86 138 **** 5678", id="mobile +86 spaced 3-4-4"),
        pytest.param("+8613812345678", "+86138****5678", id="mobile +86 glued"),
        pytest.param("8613812345678", "86138****5678", id="mobile 86 without plus"),
        pytest.param("0086-138-1234-5678", "0086-138-****-5678", id="mobile 0086 dashed"),
        pytest.param("138-1234-5678", "138-****-5678", id="mobile dashed"),
        pytest.param("tel19912345678x", "tel199****5678x", id="mobile between letters"),
        pytest.param("１３８１２３４５６７８", "１３８****５６７８", id="mobile full-width digits"),
        pytest.param("12812345678", "12812345678", id="second digit 2 is no mobile"),
        pytest.param("1381234567", "1381234567", id="ten digits"),
        pytest.param("138123456789", "138123456789", id="twelve digits"),
        pytest.param("013812345678", "013812345678", id="mobile glued to a digit before"),
        # ID cards.
        pytest.param(f"身份证{ID_PLAIN}。", f"身份证{masked_id(ID_PLAIN)}。", id="id card"),
        pytest.param(GB_EXAMPLE, "110***********002X", id="id card GB example, X"),
        pytest.param(ID_X, masked_id(ID_X), id="id card lower-case x"),
        pytest.param(ID_AND_LUHN, masked_id(ID_AND_LUHN), id="id card that also passes Luhn"),
        # ID cards as people write them out: region, birth date, sequence (6-8-4), or with
        # the birth date split again (6-4-4-4); these used to stay visible.
        pytest.param(
            f"身份证 {ID_PLAIN[:6]} {ID_PLAIN[6:14]} {ID_PLAIN[14:]}",
            f"身份证 {ID_PLAIN[:3]}*** ******** {ID_PLAIN[14:]}",
            id="id card 6-8-4 spaced",
        ),
        pytest.param(
            f"{ID_PLAIN[:6]}-{ID_PLAIN[6:14]}-{ID_PLAIN[14:]}",
            f"{ID_PLAIN[:3]}***-********-{ID_PLAIN[14:]}",
            id="id card 6-8-4 dashed",
        ),
        pytest.param(
            "110105 1949 1231 002X 13812345678",
            "110*** **** **** 002X 138****5678",
            id="id card 6-4-4-4 then a mobile",
        ),
        # Bank cards.
        pytest.param("4111 1111 1111 1111", "**** **** **** 1111", id="card spaced"),
        pytest.param("4111111111111111", "************1111", id="card plain"),
        pytest.param(
            f"卡号{CARD_16[:4]}-{CARD_16[4:8]}-{CARD_16[8:12]}-{CARD_16[12:]}",
            f"卡号****-****-****-{CARD_16[12:]}",
            id="card dashed",
        ),
        pytest.param(CARD_19, "*" * 15 + CARD_19[-4:], id="card 19 digits"),
        pytest.param(
            " ".join([CARD_19[:4], CARD_19[4:8], CARD_19[8:12], CARD_19[12:16], CARD_19[16:]]),
            f"**** **** **** ***{CARD_19[15]} {CARD_19[16:]}",
            id="card 19 digits 4-4-4-4-3",
        ),
        pytest.param("4111111111111112", "4111111111111112", id="card failing Luhn"),
        pytest.param("378282246310005", "378282246310005", id="15 digits are out of range"),
        # First-generation 15-digit ID numbers: region, YYMMDD, sequence; the birth date goes.
        pytest.param(f"身份证{ID_15}。", "身份证110*********002。", id="15-digit id"),
        pytest.param("110105 491231 002", "110*** ****** 002", id="15-digit id 6-6-3 spaced"),
        pytest.param(
            "１１０１０５－４９１２３１－００２", "１１０***－******－００２", id="15-digit id full width"
        ),
        pytest.param(f"{ID_15} 13812345678", "110*********002 138****5678", id="15-digit id then mobile"),
        pytest.param("", "", id="empty"),
        pytest.param("没有数字的消息", "没有数字的消息", id="no digit"),
    ],
)
def test_mask_pii(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


def not_luhn(numbers: Iterable[str]) -> str:
    """The first of ``numbers`` failing Luhn: an 18-digit run passing it is a bank card."""
    return next(n for n in numbers if not luhn_valid(n))


def bad_date_id(birth: str) -> str:
    return not_luhn(id_card(birth=birth, sequence=f"{s:03}") for s in range(1000))


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(
            not_luhn(ID_PLAIN[:17] + c for c in "0123456789" if c != ID_PLAIN[17]),
            id="wrong check character",
        ),
        pytest.param(bad_date_id("19490230"), id="February 30th"),
        pytest.param(bad_date_id("20990101"), id="born in the future"),
        pytest.param(bad_date_id("18991231"), id="born before 1900"),
        pytest.param(bad_date_id("19901301"), id="month 13"),
        pytest.param(bad_date_id("19900100"), id="day 0"),
    ],
)
def test_invalid_id_cards_stay(number: str) -> None:
    assert find_pii(f"号码{number}") == []
    assert mask_pii(number) == number


# The first 17 digits of the standard's example with any other check character than X.
GB_WRONG_X = "11010519491231003"
# A mobile and a card to glue after an ID number.
GLUED_CARD = "4111111111111111"
# A digit before the ID number's 17 digits that does not make them an 18-digit card.
DIGIT_BEFORE = next(d for d in "123456789" if not luhn_valid(d + GB_EXAMPLE[:17]))


def test_glued_numbers_are_what_the_tests_claim() -> None:
    assert id_check_char(GB_WRONG_X) != "X"
    assert ID_PLAIN[-1] != "X"
    assert luhn_valid(GLUED_CARD)


@pytest.mark.parametrize(
    ("text", "found", "masked"),
    [
        # The X ends the ID number: the digits after it are not part of it.
        pytest.param(f"{GB_EXAMPLE}123", [("id_card", 0, 18)], "110***********002X123", id="X then digits"),
        # An ID number and a mobile written with no space: both are masked.
        pytest.param(
            f"{GB_EXAMPLE}13812345678",
            [("id_card", 0, 18), ("mobile", 18, 29)],
            "110***********002X138****5678",
            id="X then mobile",
        ),
        pytest.param(
            f"{GB_EXAMPLE}{GLUED_CARD}",
            [("id_card", 0, 18), ("bank_card", 18, 34)],
            f"110***********002X{'*' * 12}{GLUED_CARD[-4:]}",
            id="X then card",
        ),
        pytest.param(f"{ID_X}0", [("id_card", 0, 18)], f"{masked_id(ID_X)}0", id="lower-case x then digit"),
        pytest.param(
            "１１０１０５１９４９１２３１００２Ｘ１２３",  # {GB_EXAMPLE}123
            [("id_card", 0, 18)],
            "１１０***********００２Ｘ１２３",
            id="full-width X then digits",
        ),
        # The letter is only a boundary when the check character really is X.
        pytest.param(f"{GB_WRONG_X}X123", [], f"{GB_WRONG_X}X123", id="wrong X then digits"),
        # A check digit has no boundary: an ID glued to more digits is no ID, as a mobile is not.
        pytest.param(f"{ID_PLAIN}123", [], f"{ID_PLAIN}123", id="check digit then digits"),
        pytest.param(
            f"{DIGIT_BEFORE}{GB_EXAMPLE}123", [], f"{DIGIT_BEFORE}{GB_EXAMPLE}123", id="digit before the ID"
        ),
    ],
)
def test_an_id_number_ending_in_x_may_run_into_digits(
    text: str, found: list[tuple[str, int, int]], masked: str
) -> None:
    assert find_pii(text) == found
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("110105490230002", id="February 30th"),
        pytest.param("110105491301002", id="month 13"),
        pytest.param("110105491200002", id="day 0"),
        pytest.param("710105491231002", id="71 is Taiwan, not a mainland province"),
        pytest.param("200105491231002", id="20 is no province"),
        pytest.param("202405061234567", id="an order number led by 2024"),
        pytest.param(f"{ID_15}8", id="16 digits"),
        pytest.param(f"1{ID_15}", id="a digit before"),
        pytest.param("110105 49123 1002", id="split 6-5-4"),
    ],
)
def test_only_the_valid_15_digit_layout_is_an_id_number(number: str) -> None:
    # Beside the valid number it differs from in one way, only the valid one is masked.
    text = f"号码{ID_15}，{number}"
    assert find_pii(text) == [("id_card", 2, 17)]
    assert mask_pii(text) == f"号码110*********002，{number}"


def test_a_15_digit_order_number_in_the_id_layout_is_masked_unless_kept() -> None:
    # One random 15-digit number in about a hundred reads as a first-generation ID number;
    # with no check character, nothing tells them apart: the safe side, as for Luhn.
    order = "320102850612731"
    assert order[:2] in PROVINCES  # 江苏, then born 1985-06-12, sequence 731
    assert find_pii(f"订单号{order}") == [("id_card", 3, 18)]
    assert mask_pii(f"订单号{order}") == "订单号320*********731"
    # Echoed back as the slot value it is, it stays: its only reading is order-like.
    assert only_order_like_readings(order)
    assert mask_pii(f"订单 {order} 已发货", cards_kept=[(3, 18)]) == f"订单 {order} 已发货"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("4111111111111111", True, id="a bank card"),
        pytest.param(ID_15, True, id="a 15-digit ID number: no check character"),
        pytest.param("4111111111111111 110105491231002", True, id="both"),
        pytest.param(ID_PLAIN, False, id="an 18-digit ID number"),
        pytest.param("13812345678", False, id="a mobile"),
        pytest.param(f"{ID_15} 13812345678", False, id="a 15-digit ID number and a mobile"),
    ],
)
def test_only_order_like_readings(text: str, expected: bool) -> None:
    assert only_order_like_readings(text) is expected


def test_order_number_failing_luhn_stays_and_passing_one_is_masked() -> None:
    failing = luhn_break("202406011234567")
    passing = luhn_complete("202406011234567")
    assert mask_pii(f"订单号{failing}") == f"订单号{failing}"
    assert mask_pii(f"订单号{passing}") == f"订单号{'*' * 12}{passing[-4:]}"  # the safe side


def test_find_pii_reports_kind_and_span() -> None:
    text = f"手机 +86 138-1234-5678，身份证{ID_PLAIN}，卡 4111 1111 1111 1111。"
    mobile_at = text.index("+86")
    id_at = text.index(ID_PLAIN)
    card_at = text.index("4111")
    assert find_pii(text) == [
        ("mobile", mobile_at, mobile_at + 17),
        ("id_card", id_at, id_at + 18),
        ("bank_card", card_at, card_at + 19),
    ]


@pytest.mark.parametrize(
    ("mobile", "id_card", "bank_card", "expected"),
    [
        pytest.param(True, True, True, f"138****5678 {MASKED_ID} ************1111", id="all"),
        pytest.param(False, True, True, f"13812345678 {MASKED_ID} ************1111", id="no mobile"),
        pytest.param(True, False, True, f"138****5678 {ID_PLAIN} ************1111", id="no id"),
        pytest.param(True, True, False, f"138****5678 {MASKED_ID} 4111111111111111", id="no card"),
        pytest.param(False, False, False, f"13812345678 {ID_PLAIN} 4111111111111111", id="none"),
    ],
)
def test_kinds_can_be_turned_off(mobile: bool, id_card: bool, bank_card: bool, expected: str) -> None:
    text = f"13812345678 {ID_PLAIN} 4111111111111111"
    assert mask_pii(text, mobile=mobile, id_card=id_card, bank_card=bank_card) == expected


def test_mask_character() -> None:
    assert mask_pii("13812345678", char="●") == "138●●●●5678"


@pytest.mark.parametrize(
    "char",
    [
        "",  # would delete the digits: the text would lose its layout
        "**",  # would lengthen the number
    ],
)
def test_mask_character_must_be_one_character(char: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"mask character must be one character, got {char!r}")):
        mask_pii("13812345678", char=char)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\ud800", id="lone surrogate"),
        pytest.param("\ud80013812345678\x00", id="mobile between a surrogate and a NUL"),
        pytest.param("1" * 100_000, id="100 KB of one digit"),
        pytest.param("1234 " * 20_000, id="100 KB of card-like groups"),
        pytest.param("+86 " * 25_000, id="100 KB of prefixes"),
    ],
)
def test_bad_input_never_raises_and_keeps_length(text: str) -> None:
    masked = mask_pii(text)
    assert len(masked) == len(text)
    assert isinstance(find_pii(text), list)


def test_random_digit_soup_keeps_invariants() -> None:
    # Spans are ordered and disjoint, masking only ever replaces digits, lengths stay.
    rng = random.Random(5)
    alphabet = "0123456789" * 4 + " -+X号"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        spans = find_pii(text)
        for (_, _, end), (_, start, _) in itertools.pairwise(spans):
            assert end <= start, text
        masked = mask_pii(text)
        assert len(masked) == len(text), text
        for before, after in zip(text, masked, strict=True):
            assert before == after or (after == "*" and (before.isdigit() or before in "Xx"))


# Numbers for the overlap cases, spelled out so a reader can check them by eye.
CARD_THEN_0086 = "6222 0212 3459 0086"  # a card whose last group is also a +86-style prefix
CARD_OF_ONES = "4111 1111 1111 1111"  # the Visa test number: 4111...1111 1000 holds two cards


def test_overlap_numbers_are_what_the_tests_claim() -> None:
    assert luhn_valid("6222021234567002138")  # the colleague's 19 digits pass
    assert not luhn_valid("6222021234567002")  # but its first 16 do not
    assert not luhn_valid("4111111111111111138")  # the Visa number and 138: no 19-digit card
    assert luhn_valid("1234567890123452")
    assert luhn_valid(CARD_THEN_0086.replace(" ", ""))
    assert not luhn_valid(CARD_THEN_0086.replace(" ", "") + "138")
    assert luhn_valid("1111111111111000")
    assert luhn_valid(ID_AND_LUHN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The report: read as a 19-digit card ending in 138, the mobile's middle stayed.
        pytest.param(
            "6222021234567002 138 1234 5678", "***************2 138 **** 5678", id="card19 then mobile"
        ),
        # The 19-digit reading fails Luhn and hid the 16-digit card: the whole card stayed.
        pytest.param(
            "4111111111111111 138 1234 5678", "************1111 138 **** 5678", id="card16 then mobile"
        ),
        # The mobile starts first and hid the card made of its last 8 digits and 8 more.
        pytest.param("138 1234 5678 9012 3452", "138 **** **** **** 3452", id="mobile then card, spaces"),
        pytest.param("138-1234-5678-9012-3452", "138-****-****-****-3452", id="mobile then card, dashes"),
        # The card's last group doubles as the mobile's 0086 prefix.
        pytest.param(
            f"{CARD_THEN_0086} 138 1234 5678", "**** **** **** 0086 138 **** 5678", id="card then 0086 mobile"
        ),
        # Two cards sharing three groups: the first card's last 4 are the second's middle.
        pytest.param(f"{CARD_OF_ONES} 1000", "**** **** **** **** 1000", id="card then card"),
        # An ID number cannot overlap a mobile (both stand clear of other digits): these guard
        # that an ID absorbing its own card reading keeps its first 3 and spares its neighbour.
        pytest.param(
            f"{ID_AND_LUHN} 138-1234-5678", f"{masked_id(ID_AND_LUHN)} 138-****-5678", id="id then mobile"
        ),
        pytest.param(
            f"+86 138 1234 5678 {ID_AND_LUHN}",
            f"+86 138 **** 5678 {masked_id(ID_AND_LUHN)}",
            id="mobile then id",
        ),
        # Full-width digits and separators overlap the same way.
        pytest.param(
            "１３８－１２３４－５６７８－９０１２－３４５２",
            "１３８－****－****－****－３４５２",
            id="mobile then card, full width",
        ),
    ],
)
def test_overlapping_numbers_are_all_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


def test_find_pii_can_report_every_reading() -> None:
    # The mobile inside the 19-digit card reading is hidden from the non-overlapping spans.
    text = "6222021234567002 138 1234 5678"
    assert find_pii(text) == [("bank_card", 0, 20)]
    assert find_pii(text, overlapping=True) == [("bank_card", 0, 20), ("mobile", 17, 30)]
    # An ID number passing Luhn is also a card reading: both are reported, the ID first.
    assert find_pii(ID_AND_LUHN, overlapping=True) == [("id_card", 0, 18), ("bank_card", 0, 18)]


@pytest.mark.parametrize(
    ("text", "kept", "expected"),
    [
        # The card within the span stays; the mobile overlapping it is masked all the same.
        pytest.param(
            "6222021234567002 138 1234 5678", (0, 20), "6222021234567002 138 **** 5678", id="card kept"
        ),
        # A card reading only partly inside the span is masked.
        pytest.param("卡 4111111111111111", (3, 10), "卡 ************1111", id="card partly in span"),
        # An 18-digit ID number within the span is masked: only order-like readings are kept.
        pytest.param(ID_AND_LUHN, (0, 18), masked_id(ID_AND_LUHN), id="id in span"),
    ],
)
def test_cards_within_kept_spans_stay(text: str, kept: tuple[int, int], expected: str) -> None:
    assert mask_pii(text, cards_kept=[kept]) == expected


def test_card_hidden_by_a_longer_reading_failing_luhn_is_found() -> None:
    # "4111 1111 1111 1111 12" as 18 digits fails Luhn; the 16-digit card before the space passes.
    assert mask_pii("卡号 4111 1111 1111 1111 12 号") == "卡号 **** **** **** 1111 12 号"
    assert find_pii("卡号 4111 1111 1111 1111 12 号") == [("bank_card", 3, 22)]


DIGITS = "0123456789"
# Independent of the module's table: NFKC would do the same for these characters.
TO_HALF_WIDTH = {chr(ord("０") + i): str(i) for i in range(10)} | {
    "＋": "+",
    "－": "-",
    "　": " ",
    "Ｘ": "X",
    "ｘ": "x",
}
TO_FULL_WIDTH = str.maketrans({half: full for full, half in TO_HALF_WIDTH.items()})
SEPARATORS = ("", " ", "-")


def grouped(digits: str, sizes: tuple[int, ...], seps: Iterable[str]) -> Iterable[str]:
    """Every way of writing ``digits`` in groups of ``sizes`` joined by one of ``seps``."""
    cuts = list(itertools.accumulate(sizes))
    groups = [digits[a:b] for a, b in itertools.pairwise([0, *cuts])]
    for joins in itertools.product(seps, repeat=len(groups) - 1):
        yield groups[0] + "".join(j + g for j, g in zip(joins, groups[1:], strict=True))


def brute_mobile_body(s: str) -> int | None:
    """Where the national number starts if ``s`` is a whole mobile number, else None."""
    for prefix in ("", "86", "+86", "0086"):
        for sep in SEPARATORS if prefix else ("",):
            body = s.removeprefix(prefix + sep) if s.startswith(prefix + sep) else None
            digits = "".join(c for c in body or "" if c in DIGITS)
            if (
                body is not None
                and len(digits) == 11
                and digits[:2] in {f"1{d}" for d in "3456789"}
                and body in grouped(digits, (3, 4, 4), SEPARATORS)
            ):
                return len(s) - len(body)
    return None


ID_GROUPS = ((6, 8, 4), (6, 4, 4, 4))  # how ID numbers are written out, besides plain


def brute_id_card(s: str) -> bool:
    plain = s.replace(" ", "").replace("-", "")
    if not any(s in grouped(plain, sizes, SEPARATORS) for sizes in ID_GROUPS):
        return False
    s = plain
    if len(s) != 18 or s[0] == "0" or not all(c in DIGITS for c in s[:17]) or s[17] not in DIGITS + "Xx":
        return False
    try:
        born = datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    in_range = datetime.date(1900, 1, 1) <= born <= datetime.date.today()
    return in_range and id_check_char(s[:17]) == s[17].upper()


def brute_id_card_15(s: str) -> bool:
    plain = s.replace(" ", "").replace("-", "")
    if len(plain) != 15 or not plain.isascii() or not plain.isdigit():
        return False
    if s not in grouped(plain, (6, 6, 3), SEPARATORS) or plain[:2] not in PROVINCES:
        return False
    try:
        datetime.date(1900 + int(plain[6:8]), int(plain[8:10]), int(plain[10:12]))
    except ValueError:
        return False
    return True


def brute_bank_card(s: str) -> bool:
    digits = "".join(c for c in s if c in DIGITS)
    if not 16 <= len(digits) <= 19 or not luhn_valid(digits):
        return False
    sizes = (4, 4, 4, 4) + ((len(digits) - 16,) if len(digits) > 16 else ())
    return s in grouped(digits, sizes, SEPARATORS)


def brute_force_mask(text: str, kinds: frozenset[str]) -> str:
    """Mask the union over every substring that is a valid number, by trying them all.

    A number must not touch digits, but an ID number's final X may be followed by digits.
    A bank-card reading inside an ID-card reading is that ID number (it keeps its first 3).
    """
    plain = "".join(TO_HALF_WIDTH.get(c, c) for c in text)
    readings: list[tuple[str, int, int, int, int, int]] = []  # kind, start, end, body, head, tail
    for start, end in itertools.combinations(range(len(plain) + 1), 2):
        s = plain[start:end]
        if end - start > 23 or plain[start - 1 : start] in set(DIGITS):
            continue
        # Nothing ends where a digit follows, except an ID number ending in the letter X.
        if "id_card" in kinds and s[-1] in "Xx" and brute_id_card(s):
            readings.append(("id_card", start, end, start, 3, 4))
        if plain[end : end + 1] in set(DIGITS):
            continue
        body = brute_mobile_body(s)
        if "mobile" in kinds and body is not None:
            readings.append(("mobile", start, end, start + body, 3, 4))
        if "id_card" in kinds and s[-1] not in "Xx" and brute_id_card(s):
            readings.append(("id_card", start, end, start, 3, 4))
        if "id_card" in kinds and brute_id_card_15(s):
            readings.append(("id_card", start, end, start, 3, 3))
        if "bank_card" in kinds and brute_bank_card(s):
            readings.append(("bank_card", start, end, start, 0, 4))
    masked: set[int] = set()
    for kind, start, end, body, head, tail in readings:
        if kind == "bank_card" and any(
            k == "id_card" and a <= start and end <= b for k, a, b, *_ in readings
        ):
            continue
        digits = [i for i in range(body, end) if plain[i] in DIGITS + "Xx"]
        masked.update(digits[head : len(digits) - tail])
    return "".join("*" if i in masked else c for i, c in enumerate(text))


def random_number_text(rng: random.Random) -> str:
    """Numbers of every kind and stray digits, glued or split, so that readings overlap."""
    pieces: list[str] = []
    for _ in range(rng.randint(1, 4)):
        shape = rng.randrange(6)
        if shape == 0:
            national = "1" + rng.choice("3456789") + "".join(rng.choices(DIGITS, k=9))
            prefix = rng.choice(["", "", "86", "+86", "0086"])
            pieces.append(prefix + rng.choice(SEPARATORS) * bool(prefix))
            pieces.append(rng.choice(list(grouped(national, (3, 4, 4), SEPARATORS))))
        elif shape == 1:
            birth = f"{rng.randint(1890, 2030)}{rng.randint(1, 12):02}{rng.randint(1, 28):02}"
            number = id_card(f"{rng.randint(110000, 659999)}", birth, f"{rng.randint(0, 999):03}")
            pieces.append(rng.choice(list(grouped(number, rng.choice(ID_GROUPS), SEPARATORS))))
        elif shape == 2:
            card = luhn_complete("".join(rng.choices(DIGITS, k=rng.randint(15, 18))))
            sizes = (4, 4, 4, 4) + ((len(card) - 16,) if len(card) > 16 else ())
            pieces.append(rng.choice(list(grouped(card, sizes, SEPARATORS))))
        elif shape == 3:
            pieces.append("".join(rng.choices(DIGITS, k=rng.randint(1, 5))))
        elif shape == 4:  # 15-digit IDs, some with a wrong province or no such day
            region = rng.choice([*PROVINCES, "20", "71"]) + "".join(rng.choices(DIGITS, k=4))
            birth = f"{rng.randint(0, 99):02}{rng.randint(1, 13):02}{rng.randint(1, 31):02}"
            number = region + birth + "".join(rng.choices(DIGITS, k=3))
            pieces.append(rng.choice(list(grouped(number, (6, 6, 3), SEPARATORS))))
        else:
            pieces.append(rng.choice(["号", "+", "X", "x", "86"]))
        pieces.append(rng.choice(["", "", " ", "-", "，"]))
    text = "".join(pieces)
    return text.translate(TO_FULL_WIDTH) if rng.random() < 0.1 else text


def test_masking_matches_a_brute_force_over_every_substring() -> None:
    rng = random.Random(20240611)
    all_kinds = ("mobile", "id_card", "bank_card")
    for _ in range(1500):
        text = random_number_text(rng)
        kinds = (
            frozenset(all_kinds)
            if rng.random() < 0.7
            else frozenset(rng.sample(all_kinds, rng.randint(0, 2)))
        )
        masked = mask_pii(
            text, mobile="mobile" in kinds, id_card="id_card" in kinds, bank_card="bank_card" in kinds
        )
        assert masked == brute_force_mask(text, kinds), (text, sorted(kinds))
