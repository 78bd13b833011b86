"""Read numbers written the way Chinese users type them: 三百, 两千五, 一百零八, 1.5万, 二零二四.

Arabic digits, Chinese numerals (including the financial forms 壹贰叁 and 拾佰仟) and
mixtures of both are accepted. The colloquial short forms follow everyday usage: a lone
digit after a unit counts in the next smaller unit, so 两千五 is 2500 and 三万五 is 35000,
while a 零 in between cancels that (一百零五 is 105). Units must come in falling order
(十十, 一百一百 and 一亿一亿 are no number), and values are exact however many digits
they have.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation, localcontext

__all__ = ["DIGIT_CHARS", "NUMERAL_CHARS", "format_decimal", "parse_number"]

_DIGITS = {
    "零": 0, "〇": 0,
    "一": 1, "壹": 1,
    "二": 2, "两": 2, "兩": 2, "贰": 2, "貳": 2,
    "三": 3, "叁": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}

DIGIT_CHARS = "".join(_DIGITS)
"""Every character that is a Chinese digit (零 to 九, with 两 and the financial forms)."""

NUMERAL_CHARS = DIGIT_CHARS + "".join(_UNITS) + "".join(_BIG_UNITS)
"""Every character that can appear in a Chinese numeral: digits and units up to 亿."""

# Grouped thousands ("15,000") are tried before plain runs so the comma is understood;
# any other character is a single token and must be a known numeral.
_TOKEN = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|.", re.S)


def parse_number(text: str, *, digit_by_digit: bool = False) -> Decimal | None:
    """The value of a numeral (``三百``, ``两千五``, ``1.5万``, ``.5``, ``一点五``); None if it is not one.

    With ``digit_by_digit``, a run of bare digits is read the way years are (二零二四 is
    2024); otherwise such a run (三五, "three or five") is not a number.
    """
    if not text:
        return None
    # Exact: the default 28 significant digits would round a long number silently. Each
    # character adds at most 8 digits (亿), so this precision always suffices.
    with localcontext(Context(prec=9 * len(text) + 28)):
        return _parse(text, digit_by_digit)


def _parse(text: str, digit_by_digit: bool) -> Decimal | None:
    if text[0] == ".":
        text = "0" + text  # .5 is 0.5; a dot anywhere else must follow a digit
    if "点" in text:
        return _with_decimal_point(text)
    if digit_by_digit and all(ch in _DIGITS for ch in text):
        return Decimal("".join(str(_DIGITS[ch]) for ch in text))
    tokens = _TOKEN.findall(text)
    try:
        return _sum_tokens(tokens)
    except (InvalidOperation, ValueError):
        return None


def format_decimal(value: Decimal) -> str:
    """``value`` as a plain decimal string, no exponent or trailing zeros: ``1.5``, ``15000``."""
    text = format(value.normalize(Context(prec=max(28, len(value.as_tuple().digits)))), "f")
    return "0" if text in ("-0", "") else text


def _with_decimal_point(text: str) -> Decimal | None:
    """一点五 -> 1.5, 1点5 -> 1.5, 一点五万 -> 15000: the fraction is read digit by digit."""
    whole, _, fraction = text.partition("点")
    scale = 1
    if fraction and fraction[-1] in _BIG_UNITS:
        scale = _BIG_UNITS[fraction[-1]]
        fraction = fraction[:-1]
    if not fraction or any(ch not in _DIGITS and not ("0" <= ch <= "9") for ch in fraction):
        return None
    integer = _parse(whole, False) if whole else None
    if integer is None or "点" in whole:
        return None
    decimals = "".join(str(_DIGITS.get(ch, ch)) for ch in fraction)
    return (integer + Decimal("0." + decimals)) * scale


def _sum_tokens(tokens: list[str]) -> Decimal | None:
    """Fold digit and unit tokens into a value; None when they do not form a numeral.

    Units fall within a section (千 before 百 before 十) and big units fall too (亿 before
    万), and what follows a unit is smaller than it: 十十, 一百一百, 十10 and 一万一亿 are
    typing slips or two numbers, not one to add up.
    """
    total = Decimal(0)  # everything already scaled by 万 or 亿
    section = Decimal(0)  # the part below 万 being built
    number: Decimal | None = None  # the digit waiting for its unit
    last_unit = 0  # the unit just seen, for the short form 两千五; 0 after 零
    small_floor = 0  # the smallest unit so far in this section: the next must be smaller
    big_floor = 0  # the last big unit: the section after it must stay below it
    for token in tokens:
        if token in _DIGITS:
            if number is not None:
                return None  # 三五 ("three or five") is not one number
            value = _DIGITS[token]
            number = None if value == 0 else Decimal(value)
            last_unit = 0 if value == 0 else last_unit
        elif token in _UNITS:
            unit = _UNITS[token]
            if number is None and token not in "十拾":
                return None  # 百 or 千 needs a digit before it; 十 alone means 10
            if small_floor and (unit >= small_floor or (number is not None and number >= 10)):
                return None
            section += (number if number is not None else 1) * unit
            number, last_unit, small_floor = None, unit, unit
        elif token in _BIG_UNITS:
            big = _BIG_UNITS[token]
            if (number is None and section == 0) or (big_floor and big >= big_floor):
                return None
            section += number or 0
            if big_floor and section >= big_floor:
                return None
            total = (total + section) * big if big > 10**4 else total + section * big
            section, number, last_unit, small_floor, big_floor = Decimal(0), None, big, 0, big
        elif token[0].isascii() and token[0].isdigit():
            if number is not None:
                return None
            number = Decimal(token.replace(",", ""))
        else:
            return None
    if number is not None:
        number = _short_form(number, tokens[-1], last_unit)
        if small_floor and number >= small_floor:
            return None
        section += number
    if big_floor and section >= big_floor:
        return None
    return total + section


def _short_form(number: Decimal, token: str, last_unit: int) -> Decimal:
    """A lone final digit right after a unit counts in the next smaller unit (两千五 = 2500)."""
    single_digit = token in _DIGITS or (len(token) == 1 and token.isdigit())
    if single_digit and last_unit >= 100:
        return number * (last_unit // 10)
    return number
