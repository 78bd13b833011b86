"""Finding and masking personal data in chat text: mobile, ID-card and bank-card numbers.

Each kind is a digit pattern that must also pass a check before it counts:

* ``mobile``: a mainland mobile number ``1[3-9]`` + 9 digits, optionally after ``+86``,
  ``0086`` or ``86``, optionally split 3-4-4 by spaces or hyphens. Masked to
  ``138****5678``: the first 3 and last 4 digits of the national number stay.
* ``id_card``: an 18-character resident ID number whose ISO 7064 MOD 11-2 check character
  (a digit or ``X``) is right and whose birth date is a real day between 1900 and today.
  It may be split 6-8-4 or 6-4-4-4 by spaces or hyphens (``110105 19491231 002X``).
  Masked to ``110***********0021``. Also the first-generation 15-digit number (void since
  2013, still in old records): a mainland province code (11-65) and 4 more region digits, a
  real ``YYMMDD`` birth date in the 1900s and a 3-digit sequence, plain or split 6-6-3
  (``110105 491231 002``). It has no check character, so about one 15-digit number in a
  hundred passes (an order number too). Masked to ``110*********002``: the birth date goes.
* ``bank_card``: 16-19 digits, optionally in groups of four split by spaces or hyphens,
  with a valid Luhn checksum. Only the last 4 digits stay. An order or tracking number
  that happens to pass Luhn (one in ten do) is masked too: the safe side for logs.

Bank-card and 15-digit ID readings are *order-like*: their checks pass many order and
tracking numbers, so an order number a reply echoes back may stay visible
(``only_order_like_readings``, ``mask_pii(cards_kept=...)``); mobile and 18-digit ID
readings never do.

A number must not touch more digits on either side: ``13812345678`` inside a longer digit
run is left alone. An ID number ending in ``X`` is the exception: the letter ends it, so
``11010519491231002X13812345678`` is an ID number and a mobile. Full-width digits
(``１３８…``) are recognised. Every reading of the text counts, even where readings overlap
(``6222021234567002 138 1234 5678`` is both a 19-digit card ending in ``138`` and a
mobile), and ``mask_pii`` masks every digit that any of them masks: a digit one reading
keeps visible (the last 4 of a card) is masked when another reading masks it. One
exception: a bank-card reading that lies within an ID-card reading is that ID number, not a
second number, so an ID number that also passes Luhn keeps its first 3 digits.
``find_pii`` reports spans that do not overlap: of overlapping readings the one starting
first wins, then the longer, then ``id_card`` over ``bank_card`` over ``mobile``;
``find_pii(text, overlapping=True)`` reports every reading. Masking replaces digits one
for one and keeps separators, so the text keeps its layout.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import NamedTuple

__all__ = ["find_pii", "mask_pii", "numbers_in", "only_order_like_readings"]

# One-for-one, so spans found in the translated text are spans in the original.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９＋－　Ｘｘ", "0123456789+- Xx")
_ANY_DIGIT = re.compile("[0-9０-９]")
_FULL_WIDTH = re.compile("[０-９＋－　Ｘｘ]")
# A stretch of the characters numbers are written with: every reading lies within one, so
# the patterns need not be tried at every character of a long reply.
_NUMBER_CHARS = re.compile(r"\+?[0-9][0-9 +\-Xx]*")


def _every_reading(number: str, end: str = "(?![0-9])") -> re.Pattern[str]:
    """A pattern matching ``number`` (a regex, not touching other digits) at every start.

    The match is empty and the number is group ``number``: ``finditer`` then tries every
    position instead of resuming after a match, so overlapping readings are all found.
    Each pattern has at most one way to match from a given start, so none is lost either.
    ``end`` is what must follow the number: by default no digit.
    """
    return re.compile(rf"(?<![0-9])(?=(?P<number>{number}){end})")


_MOBILE = (_every_reading(r"(?:(?:\+|00)?86[ -]?)?(?P<body>1[3-9][0-9](?:[ -]?[0-9]{4}){2})"),)
# A final X is a letter, so digits may follow it: it cannot be the start of a longer number.
# Written plain, 6-8-4 or 6-4-4-4 (region, birth date, sequence and check character).
_ID_CARD = (
    _every_reading(
        r"(?P<body>[1-9][0-9]{5}(?:[ -]?[0-9]{4}){2}[ -]?[0-9]{3}(?:[0-9](?![0-9])|[Xx]))", end=""
    ),
)
# The 15-digit number: only mainland province codes (11-65), since no check character
# weeds out the rest; region, YYMMDD birth date and sequence, written plain or 6-6-3.
_ID_CARD_15 = (
    _every_reading(
        r"(?P<body>(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5])[0-9]{4}[ -]?[0-9]{6}[ -]?[0-9]{3})"
    ),
)
# One pattern per length: one optional 1-3 digit tail would hide a 16-digit card behind a
# 19-digit reading that fails Luhn ("4111 1111 1111 1111 123").
_BANK_CARD = tuple(
    _every_reading(rf"(?P<body>[0-9]{{4}}(?:[ -]?[0-9]{{4}}){{3}}{tail})")
    for tail in ("", "[ -]?[0-9]", "[ -]?[0-9]{2}", "[ -]?[0-9]{3}")
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # check character for each (weighted sum % 11)
_KIND_RANK = {"id_card": 0, "bank_card": 1, "mobile": 2}


class _Reader(NamedTuple):
    """How one kind of number is found, checked and masked."""

    kind: str
    patterns: tuple[re.Pattern[str], ...]
    valid: Callable[[str], bool]  # given the digits and separators of the number proper
    keep: tuple[int, int]  # digits left visible at the start and at the end
    order_like: bool  # the check passes many order numbers too: an echoed one may stay


class _Found(NamedTuple):
    kind: str
    start: int
    end: int
    body: int  # where the number proper starts (after a +86 prefix)
    reader: _Reader


def _is_digit(char: str) -> bool:
    """A character that counts as one digit of a number (ID cards end in X)."""
    return char.isdigit() or char in "XxＸｘ"


def _valid_id_card(number: str) -> bool:
    """ISO 7064 MOD 11-2 check character right, and a real birth date no later than today."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17].upper():
        return False
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def _valid_id_card_15(number: str) -> bool:
    """A real birth date in the 1900s: the number writes the year in two digits, and
    was given to people born then."""
    try:
        datetime.date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
    except ValueError:
        return False
    return True


def _valid_luhn(number: str) -> bool:
    """The Luhn checksum: every second digit from the right doubled, digit sums added."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


_READERS = (
    _Reader("mobile", _MOBILE, lambda number: True, (3, 4), order_like=False),
    _Reader("id_card", _ID_CARD, lambda n: _valid_id_card(re.sub("[ -]", "", n)), (3, 4), order_like=False),
    _Reader(
        "id_card", _ID_CARD_15, lambda n: _valid_id_card_15(re.sub("[ -]", "", n)), (3, 3), order_like=True
    ),
    _Reader("bank_card", _BANK_CARD, lambda n: _valid_luhn(re.sub("[ -]", "", n)), (0, 4), order_like=True),
)


def _candidates(text: str, kinds: tuple[str, ...]) -> Iterator[_Found]:
    """Every checked reading of the given kinds, overlapping ones included."""
    if _ANY_DIGIT.search(text) is None:
        return  # the usual chat message: nothing to do
    if _FULL_WIDTH.search(text):
        text = text.translate(_HALF_WIDTH)
    # Shorter than 11 digits and separators, a stretch holds no number. Searching from its
    # start still lets a pattern look behind it, and no digit follows its end.
    stretches = [m.span() for m in _NUMBER_CHARS.finditer(text) if m.end() - m.start() >= 11]
    for reader in (r for r in _READERS if r.kind in kinds):
        for pattern in reader.patterns:
            for start, end in stretches:
                for match in pattern.finditer(text, start, end):
                    if reader.valid(match["body"]):
                        number = match.span("number")
                        yield _Found(reader.kind, *number, match.start("body"), reader)


def _find(text: str, kinds: tuple[str, ...]) -> list[_Found]:
    """Checked numbers of the given kinds, in text order, overlaps resolved."""
    ranked = sorted(_candidates(text, kinds), key=lambda f: (f.start, f.start - f.end, _KIND_RANK[f.kind]))
    chosen: list[_Found] = []
    for found in ranked:
        if not chosen or found.start >= chosen[-1].end:
            chosen.append(found)
    return chosen


def find_pii(text: str, *, overlapping: bool = False) -> list[tuple[str, int, int]]:
    """Personal numbers in ``text`` as ``(kind, start, end)``, in text order.

    ``kind`` is ``"mobile"``, ``"id_card"`` or ``"bank_card"``; a mobile span includes its
    ``+86`` prefix. See the module docstring for what each kind must satisfy. Spans do not
    overlap unless ``overlapping`` is true: then every reading is reported, a bank-card
    reading inside an ID number and a mobile overlapping a card included.
    """
    if overlapping:
        every = _candidates(text, tuple(_KIND_RANK))
        return sorted(
            ((f.kind, f.start, f.end) for f in every), key=lambda f: (f[1], f[1] - f[2], _KIND_RANK[f[0]])
        )
    return [(f.kind, f.start, f.end) for f in _find(text, tuple(_KIND_RANK))]


def numbers_in(texts: Iterable[str]) -> frozenset[str]:
    """The digits (``X`` upper-case, full-width folded) of every personal-number reading in
    ``texts``, for ``mask_pii(numbers_kept=...)``: the numbers a bot's own templates give out."""
    return frozenset(_digits(text, f) for text in texts for f in _candidates(text, tuple(_KIND_RANK)))


def only_order_like_readings(text: str) -> bool:
    """Whether every personal-number reading of ``text`` (overlapping ones included) is one
    an order number may well make: a bank card (Luhn passes one number in ten) or a 15-digit
    ID number (no check character). True for text with no reading at all."""
    return all(f.reader.order_like for f in _candidates(text, tuple(_KIND_RANK)))


def _digits(text: str, found: _Found) -> str:
    """The number ``found`` reads, as plain digits: ``138-1234-5678`` and ``１３８…`` alike."""
    chars = (c for c in text[found.body : found.end] if _is_digit(c))
    return unicodedata.normalize("NFKC", "".join(chars)).upper()


def _masked_digits(text: str, found: _Found) -> list[int]:
    """Positions of the digits ``found`` masks: its number's, but the ones its kind keeps."""
    head, tail = found.reader.keep
    digits = [i for i in range(found.body, found.end) if _is_digit(text[i])]
    return digits[head : len(digits) - tail]


def mask_pii(
    text: str,
    *,
    mobile: bool = True,
    id_card: bool = True,
    bank_card: bool = True,
    char: str = "*",
    cards_kept: Iterable[tuple[int, int]] = (),
    numbers_kept: Collection[str] = (),
) -> str:
    """``text`` with the chosen kinds of personal numbers masked digit by digit with ``char``.

    Mobile ``138****5678`` (prefix and separators kept), ID card ``110***********0021``
    (15 digits: ``110*********002``), bank card ``**** **** **** 1234``. Text without a
    digit comes back unchanged at once. An order-like reading (a bank card or a 15-digit ID
    number) lying wholly within one of the ``(start, end)`` spans of ``cards_kept`` stays
    visible (an order number echoed back); other readings overlapping such a span are
    masked all the same. A reading of any kind whose digits are one of
    ``numbers_kept`` (see ``numbers_in``) stays visible too: the shop's own numbers.
    ``ValueError`` if ``char`` is not one character: masking keeps the text's layout.
    """
    if not isinstance(char, str) or len(char) != 1:
        raise ValueError(f"mask character must be one character, got {char!r}")
    if _ANY_DIGIT.search(text) is None:
        return text
    enabled = {"mobile": mobile, "id_card": id_card, "bank_card": bank_card}
    readings = list(_candidates(text, tuple(k for k in _KIND_RANK if enabled[k])))
    # A card reading inside an ID number starts at its first digit: no number starts mid-run.
    id_end = {f.start: f.end for f in readings if f.kind == "id_card"}
    kept = tuple(cards_kept)
    # The union over every other reading: resolving overlaps first would leave visible
    # what the losing reading masks (the middle of a mobile read as a card's last digits).
    masked = {
        i
        for f in readings
        if not (f.kind == "bank_card" and f.end <= id_end.get(f.start, -1))
        and not (f.reader.order_like and any(a <= f.start and f.end <= b for a, b in kept))
        and not (numbers_kept and _digits(text, f) in numbers_kept)
        for i in _masked_digits(text, f)
    }
    if not masked:
        return text
    return "".join(char if i in masked else c for i, c in enumerate(text))
