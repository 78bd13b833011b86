"""Personal-data masking: mobile, ID-card and bank-card numbers, with checksums computed here."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterable

import pytest

from kefu.plugins.pii import find_pii, mask_pii


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
