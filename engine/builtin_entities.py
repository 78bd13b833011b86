"""The built-in entities: ``order_id``, ``mobile``, ``amount`` and ``date``.

Each finder reads text that is already NFKC-normalized and case-folded (``kefu.entities``
does that and maps offsets back) and yields ``(start, end, value)`` spans in it.

Every pattern here is linear in the input: a run of digits or numerals may only start
where the previous character is not one (a look-behind), so a failed match is never
retried from inside the same run, and no repeated group can match the same text in two
ways. A message of 100 KB of digits costs one pass.

Each finder first searches for a character every match must contain (a trigger): one
scan of a character class is far cheaper than the full pattern, and most messages
have no amount or date at all.
"""

from __future__ import annotations

import calendar
import datetime
import re
import unicodedata
from collections.abc import Callable, Iterator
from decimal import Context, Decimal

from kefu.chinese_numbers import DIGIT_CHARS, NUMERAL_CHARS, format_decimal, parse_number

__all__ = ["BUILTIN_FINDERS", "BUILTIN_SHAPES", "Finder", "Span", "parse_bare_amount"]

Span = tuple[int, int, str]
"""``(start, end, value)`` of one value found in the normalized text."""

Finder = Callable[[str, Callable[[], datetime.date]], Iterator[Span]]
"""A built-in finder: normalized text and a ``today`` callable in, spans out."""

_CN = NUMERAL_CHARS

# A mainland mobile: 1[3-9] and nine digits, in 3-4-4 groups split by one space or dash
# (the same one both times), after an optional +86 / 0086 / 86.
_MOBILE_TRIGGER = re.compile(r"1[3-9]")
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[ \-]?)?(1[3-9][0-9])([ \-]?)([0-9]{4})\2([0-9]{4})(?![0-9])")
_ORDER_ID_TRIGGER = re.compile(r"[0-9]{12}")
# Not the first 17 digits of an ID-card number whose check digit is X: echoed back as an
# order number, they would give away the whole ID (the check digit follows from them).
_ORDER_ID = re.compile(r"(?<![0-9])(?![0-9]{17}[xX])[0-9]{12,20}(?![0-9])")
# 86 or 0086 and a mobile, written without a space, is a phone number, not an order id.
_PREFIXED_MOBILE = re.compile(r"(?:00)?861[3-9][0-9]{9}")

_MINUS = "-\u2212"  # - and −, first in a character class so that - is literal

# A run of numerals: it starts where no numeral (and no "1," or "1.") precedes it, and a
# comma or dot inside it must be followed by a digit. 几 belongs to the run and makes it
# vague (几十块, 十几元): it has no value, yet it still counts as one end of a range, so
# 几十到一百元 is not read as 100. A run may also start with its decimal point (.5元 is
# 0.5), unless a numeral, letter or another dot or comma comes before that point (1..5, v.5).
# Nor does a run start or end at an exponent (1e5元, 1e-5元, ¥1e5: 5 or 1 would be read). 点
# before Chinese digits is a decimal point (一点五), and before one or two Arabic digits too
# (1点5元 is 1.5, 43点17元 43.17); before more it is o'clock (晚上8点100元 is 100).
_RUN = (
    rf"(?<![0-9]e)(?<![0-9]e[{_MINUS}+])"
    rf"(?:(?<![0-9a-z{_CN}几.,])\.(?=[0-9])|(?<![0-9{_CN}几])(?<![0-9][.,])[0-9{_CN}几])"
    rf"(?:[0-9{_CN}几]|[.,](?=[0-9]))*(?:点(?:[{DIGIT_CHARS}]+|[0-9]{{1,2}}(?![0-9]))[万亿萬億]?)?"
    rf"(?!e[{_MINUS}+]?[0-9])"
)
# A minus sign: a price, budget or refund is never negative, so -50元 and 负50元 are no
# amount at all (dropping the sign would read them as 50). After a numeral the dash is a
# range or a subtraction (50-60元, 满300-50元), not a sign, and after Latin letters it is a
# hyphen in a product name (mate60pro-50元), except after the currency word rmb; 自负, 担负,
# 肩负, 背负 and 身负 mean "bear (a cost)", so 运费自负10元 is 10. \Z because the search runs
# over the two characters before a number and ends where the number starts.
_SIGNED = re.compile(rf"(?:(?:(?<![0-9a-z{_CN}])|(?<=rmb))[{_MINUS}]|(?<![自担肩背身])负 ?)\Z")
# What joins two numbers into no single amount: a range (50-60元, 50~60元, 50到60元,
# 一百多到两百元, 十来到二十块), a choice (50或60元, 50元还是60元) or a promotion (满300元减50元).
_DASHES = "-\u2212\u2013\u2014"  # -, −, en dash, em dash
_JOIN = re.compile(
    rf"[多来余]? ?(?:(?P<dash>[{_DASHES}])|(?P<off>[立可再]?减去?)|[~〜∼到至]|或者?|或是|还是) ?"
)
# Measure words: the digit after 块 in 3块5个 is a count, not 5 毛.
_MEASURE = "个件只台斤瓶盒包张本支条双位次"
_DIGIT = f"[0-9{DIGIT_CHARS}]"
# Words that count or measure what a number before them counts: 3块5个 is 5 items, 5元一天
# 5 a day, 2元3小时 3 hours. A digit after 元 or 块 written without 毛 or 分 is money only
# when none of them (nor another numeral) follows it, or when a price's count does: one
# Chinese digit or 每 and its word (五块五一斤, 九元六两个, 七块三每斤 are 5.5, 9.6, 7.3).
_PER = "天时年月周日号秒度晚夜公米克吨升里人户间层小分趟笔单期套辆份箱袋杯碗"
_ENDS = rf"(?:(?![0-9{_CN}{_MEASURE}{_PER}])|(?=[{DIGIT_CHARS}每][{_MEASURE}{_PER}]))"
_FEN = "分(?!钟)"  # 50分钟 is minutes
# What follows 元 or 块 below a yuan: 3元5分 and 3元零5分 (0.05), 3元50分 and 1块50 (0.5),
# 五块五 and 5块5毛 (0.5), 两块五毛五 and 5块5毛5分 (0.55), 十块零五毛 (0.5), 一块零五 (0.05:
# 零 skips the 毛).
_BELOW_YUAN = (
    rf"零?(?P<fen>{_DIGIT}){_FEN}|(?P<cents>[0-9]{{2}})(?:{_FEN}|{_ENDS})"
    rf"|(?P<zero>零)?(?P<jiao>{_DIGIT})"
    rf"(?:(?P<mark>毛|角)(?:零?(?P<jiao_fen>{_DIGIT})(?:{_FEN}|{_ENDS}))?|{_ENDS})钱?"
)
_AMOUNT_TRIGGER = re.compile(r"[¥元块币r]")  # r for rmb
_AMOUNT = re.compile(
    rf"(?:(?P<pre>¥|rmb|人民币) ?)?(?P<num>{_RUN})"
    rf"(?: ?(?P<unit>块钱|rmb|人民币|(?:块(?!儿)|元)(?:{_BELOW_YUAN})?))?"
)
# 多 or 几 right after the money makes it vague: 五块多, 十元多一点, 五块几, 3块几毛. Only
# where the phrase ends, since 50元多久到账 and 50元几天到账 ask about a plain 50.
_VAGUE_TAIL = re.compile(r"(?:多钱?(?:一?点儿?)?|几(?:毛钱?|角)?)(?:\W|\Z)")
# Lazy in front, so that the run rather than the padding takes a leading decimal point.
_BARE_AMOUNT = re.compile(rf"[\W_]*?(?P<num>{_RUN})[\W_]*")

_CN_SMALL = "一二三四五六七八九十"
_DAY_NUMBER = rf"[0-9]{{1,2}}|[{_CN_SMALL}]{{1,3}}"
# 2024-11-03, 2024/11/3, 2024.11.3
_ISO_DATE = re.compile(r"(?<![0-9])([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})(?![0-9])")
# 2024年11月3日, 24年11月3日, 两千零二十四年, 明年1月5号, 2024年的1月1日, 去年 1月1日, 十一月三号,
# 11月3 (no day mark, unless a numeral or money follows). A year it cannot read (5年, 12345年)
# makes no date, rather than the nearest 1月1日 of another year.
_MONTH_DAY = re.compile(
    rf"(?:(?:(?<![0-9{_CN}])([0-9]{{4}}|[0-9]{{2}}|[{_CN}]{{2,7}})年|(大前|大后|今|明|来|去|前|后)年)[的 ]?"
    rf"|(?<![0-9{_CN}]年)(?<![0-9{_CN}]年的)(?<![0-9{_CN}]年 ))"
    rf"(?<![0-9{_CN}])({_DAY_NUMBER})月({_DAY_NUMBER})(?:[日号號]|(?![0-9{_CN}元块钱]))"
)
_YEAR_OFFSETS = {"今": 0, "明": 1, "来": 1, "去": -1, "前": -2, "后": 2, "大前": -3, "大后": 3}
# 周三, 下星期一, 这个礼拜天; not the 周三 of 一周三次 ("three times a week")
# 上周的周三, 上周周三 and 上一个周三 name last week's too (they were read as the coming one).
_WEEK = "(?:周|星期|礼拜|禮拜)"
_WEEKDAY = re.compile(
    rf"(?<![上下])(?<![上下]个)(?:(下下|下|上上|上|这|本)(?:一?个)?(?:{_WEEK}的?)?)?{_WEEK}"
    r"([一二三四五六日天七1-7])(?![次回遍])"
)
_RELATIVE_DAYS = {
    "大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0,
    "明天": 1, "明日": 1, "后天": 2, "大后天": 3,
}  # fmt: skip
_RELATIVE = re.compile("|".join(sorted(_RELATIVE_DAYS, key=len, reverse=True)))
# 3号, 下个月5号. A bare 3日 is left out: 7日无理由, 3日内发货 are durations. 号 followed
# by one of _NOT_DAY is a line, building, door or battery number (3号线, 5号电池).
_NOT_DAY = "线楼门店院库位桌房机窗柜电床车码"
_DAY_OF_MONTH = re.compile(
    rf"(?:(?<![上下])(下下个?月|下个?月|这个?月|本月|上上个?月|上个?月)|(?<![0-9{_CN}月第]))"
    rf"({_DAY_NUMBER})[号號](?![{_NOT_DAY}])"
)
# Every date form contains one of these: the union of the triggers in _DATE_FORMS.
_DATE_TRIGGER = re.compile(r"[天日周期拜月号號/.\-]")
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_WEEK_OFFSETS = {"这": 0, "本": 0, "下": 7, "下下": 14, "上": -7, "上上": -14}
_MONTH_OFFSETS = {"这月": 0, "本月": 0, "下月": 1, "下下月": 2, "上月": -1, "上上月": -2}


def find_order_ids(text: str, today: Callable[[], datetime.date]) -> Iterator[Span]:
    """Order ids: runs of 12-20 digits with no digit on either side (and not 17 before an X)."""
    if _ORDER_ID_TRIGGER.search(text) is None:
        return
    for match in _ORDER_ID.finditer(text):
        if not _PREFIXED_MOBILE.fullmatch(match[0]):
            yield match.start(), match.end(), match[0]


def find_mobiles(text: str, today: Callable[[], datetime.date]) -> Iterator[Span]:
    """Mainland mobile numbers; the value is the 11 digits without prefix or separators."""
    if _MOBILE_TRIGGER.search(text) is None:
        return
    for match in _MOBILE.finditer(text):
        yield match.start(), match.end(), match[1] + match[3] + match[4]


def find_amounts(text: str, today: Callable[[], datetime.date]) -> Iterator[Span]:
    """Money in yuan: a number with ¥/rmb/人民币 before it or 元/块/块钱/rmb/人民币 after it.

    ``五块五`` and ``3元5角`` add the 毛 (tenths), ``两块五毛五`` and ``3元50分`` the 分 too;
    ``一块儿`` ("together") is not money.
    A signed number (``-50元``, ``负50元``), a vague one (``几百元``, ``五块多``) and two
    numbers joined into a range, a choice or a promotion (``50-60元``, ``50或60元``,
    ``满300元减50元``) are no amount.
    """
    if _AMOUNT_TRIGGER.search(text) is None:
        return
    numbers = list(_AMOUNT.finditer(text))
    ends = _joined_ends(text, numbers)
    for i, match in enumerate(numbers):
        if not (match["pre"] or match["unit"]) or i in ends or _signed(text, match.start()):
            continue
        if _VAGUE_TAIL.match(text, match.end()):
            continue
        value = parse_number(match["num"])
        if value is None:
            continue
        # Exact, as parse_number is: the default context would round past 28 digits.
        value = Context(prec=9 * len(match["num"]) + 30).add(value, _below_yuan(match))
        yield match.start(), match.end(), format_decimal(value)


def _below_yuan(match: re.Match[str]) -> Decimal:
    """The 毛 and 分 of an amount (``_BELOW_YUAN``), in yuan; none after a number with a
    fraction of its own (9.9元5角 is no 10.4)."""
    if "." in match["num"] or "点" in match["num"]:
        return Decimal(0)
    if match["cents"]:
        return Decimal(match["cents"]) / 100
    if match["fen"]:
        return _digit(match["fen"]) / 100
    if not match["jiao"]:
        return Decimal(0)
    if match["zero"] and not match["mark"]:  # 一块零五: 零 stands for the empty 毛 place
        return _digit(match["jiao"]) / 100
    fen = _digit(match["jiao_fen"]) / 100 if match["jiao_fen"] else Decimal(0)
    return _digit(match["jiao"]) / 10 + fen


def _signed(text: str, start: int) -> bool:
    """Whether a minus sign stands right before ``text[start]`` (-50元, ¥-50元, 负50元)."""
    return start > 0 and _SIGNED.search(text, max(0, start - 2), start) is not None


def _joined_ends(text: str, numbers: list[re.Match[str]]) -> set[int]:
    """The indexes in ``numbers`` of the numbers joined in pairs into no single amount.

    A range (50-60元, 几十到一百元), a choice (50或60元) or a promotion of two amounts
    (满300元减50元) names two sums: guessing one would be wrong half the time, and a slot
    that asks for an amount asks again instead. Both must be money: the second has its own
    ¥ or 元 (50到60元), or the first has ¥ in front (¥50-60); 100元到13812345678 and 3-5天
    are not joined. 减, or a dash from a larger number to a smaller one, after a number
    not written as money is a condition and its discount (满300-50元 is 50 off).
    """
    ends: set[int] = set()
    for i in range(1, len(numbers)):
        low, high = numbers[i - 1], numbers[i]
        mark = _JOIN.fullmatch(text, low.end(), high.start())
        if mark is None or not (high["pre"] or high["unit"] or low["pre"]):
            continue
        if mark["dash"] and _in_a_name(text, low):
            continue  # iphone15-50元: 15 is part of the product name, not a range's end
        off = mark["off"] or (mark["dash"] and not _ascending(low["num"], high["num"]))
        if off and not (low["pre"] or low["unit"]):
            continue
        ends.update((i - 1, i))
    return ends


def _in_a_name(text: str, number: re.Match[str]) -> bool:
    """Whether ``number`` follows Latin letters, as in a model name (iphone15, P40)."""
    start = number.start()
    return not number["pre"] and start > 0 and "a" <= text[start - 1] <= "z"


def _ascending(low: str, high: str) -> bool:
    """Whether ``low`` is the smaller number; True when either is no number (三五)."""
    low_value, high_value = parse_number(low), parse_number(high)
    return low_value is None or high_value is None or low_value < high_value


def parse_bare_amount(text: str) -> Span | None:
    """A message that is nothing but a number (``300``, ``三百。``), read as an amount in yuan;
    an order id or a mobile number is no amount (one pasted at "how much?" is a mistake),
    nor is a number marked as something else ($100, 50%, #3)."""
    if _ORDER_ID.fullmatch(text.strip()) or _MOBILE.fullmatch(text.strip()):
        return None
    match = _BARE_AMOUNT.fullmatch(text)
    if match is None or re.search(f"[{_MINUS}]", text[: match.start("num")]):
        return None
    if any(_names_other_than_yuan(ch) for ch in text[: match.start("num")] + text[match.end("num") :]):
        return None
    value = parse_number(match["num"])
    if value is None:
        return None
    return match.start("num"), match.end("num"), format_decimal(value)


def _names_other_than_yuan(char: str) -> bool:
    """Whether ``char`` beside a bare number makes it something else than yuan: another
    currency ($100, €5), a share (50%) or a number sign (#3, №3)."""
    return char in "%‰‱#№°" or (char != "¥" and unicodedata.category(char) == "Sc")


def find_dates(text: str, today: Callable[[], datetime.date]) -> Iterator[Span]:
    """Dates as ISO ``yyyy-mm-dd``; impossible ones (2月30号) are skipped.

    Relative forms count from ``today()``, called only when a date-like text is found:

    - 今天/明天/后天/大后天/昨天/前天/大前天 (and 今日, 明日, 昨日);
    - 周三/星期三/礼拜三 (日, 天, 七 = Sunday; weeks start on Monday): plain 周三 is
      the next Wednesday on or after today (this week's if not past, else next
      week's); 这/本周三 is this week's even if past; 下, 下下, 上 and 上上 shift by
      weeks;
    - 11月3号 without a year: the 3 November nearest to today (last, this or next
      year), so 1月5号 said in late December is next January; 今年, 明年 (来年), 去年,
      前年, 后年, 大前年 and 大后年 name the year, and so does a year written out (2024年,
      二零二四年, 两千零二十四年) or in two digits (24年: the nearest such year); one it
      cannot read (5年1月1日) makes no date;
    - 3号 alone: this month if the 3rd is today or later, else the next month that has
      a 3rd; 下个月3号, 下下个月3号, 这个月3号, 上个月3号 and 上上个月3号
      name the month.

    Each form is its own pattern behind its own trigger, so a message with 天 in it
    pays for the 今天/明天 pattern only. Spans may overlap (the caller keeps the longest).
    """
    if _DATE_TRIGGER.search(text) is None:
        return
    now: datetime.date | None = None
    for trigger, pattern, read in _DATE_FORMS:
        if trigger.search(text) is None:
            continue
        for match in pattern.finditer(text):
            if now is None:
                now = _as_date(today())
            try:
                value = read(match, now)
            except (ValueError, OverflowError):  # no such day, or beyond year 9999
                continue
            if value is not None:
                yield match.start(), match.end(), value.isoformat()


BUILTIN_SHAPES = {
    "order_id": ("0123456789", "2024112712345678"),
    "mobile": ("0123456789", "13812345678"),
    "amount": ("0123456789.", "99, 1.5"),
    "date": ("0123456789-", "2026-11-28"),
}
"""Per built-in: every character its values hold, and values to show as examples."""


BUILTIN_FINDERS: dict[str, Finder] = {
    "order_id": find_order_ids,
    "mobile": find_mobiles,
    "amount": find_amounts,
    "date": find_dates,
}
"""The built-in finders by builtin name."""


def _digit(text: str) -> Decimal:
    value = parse_number(text)
    return value if value is not None else Decimal(0)


def _as_date(value: datetime.date) -> datetime.date:
    # A datetime is a date too, but its isoformat() would carry the time.
    return value.date() if isinstance(value, datetime.datetime) else value


def _small_int(text: str, *, digit_by_digit: bool = False) -> int:
    value = parse_number(text, digit_by_digit=digit_by_digit)
    if value is None or value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def _iso_date(match: re.Match[str], today: datetime.date) -> datetime.date:
    return datetime.date(int(match[1]), int(match[3]), int(match[4]))


def _month_day(match: re.Match[str], today: datetime.date) -> datetime.date | None:
    year, month, day = match[1], _small_int(match[3]), _small_int(match[4])
    if year:
        number = _small_int(year, digit_by_digit=True)
        if len(year) == 2 and number < 100:  # 24年, 二四年: the nearest such year to today
            number = min(
                (c * 100 + number for c in range(today.year // 100 - 1, today.year // 100 + 2)),
                key=lambda y: abs(y - today.year),
            )
        return datetime.date(number, month, day)
    if match[2]:  # 明年, 去年: that year's, however near another year's would be
        return datetime.date(today.year + _YEAR_OFFSETS[match[2]], month, day)
    candidates = []
    for y in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(datetime.date(y, month, day))
        except ValueError:  # 2月29日 outside leap years, or year 0 / 10000
            continue
    return min(candidates, key=lambda d: abs(d - today)) if candidates else None


def _weekday(match: re.Match[str], today: datetime.date) -> datetime.date:
    prefix, name = match[1] or "", match[2]
    weekday = _WEEKDAYS[name] if name in _WEEKDAYS else int(name) - 1
    monday = today - datetime.timedelta(days=today.weekday())
    day = monday + datetime.timedelta(days=weekday)
    if not prefix:
        return day if day >= today else day + datetime.timedelta(days=7)
    return day + datetime.timedelta(days=_WEEK_OFFSETS[prefix])


def _relative_day(match: re.Match[str], today: datetime.date) -> datetime.date:
    return today + datetime.timedelta(days=_RELATIVE_DAYS[match[0]])


def _day_of_month(match: re.Match[str], today: datetime.date) -> datetime.date | None:
    prefix, day = match[1], _small_int(match[2])
    if prefix:
        year, month = _add_months(today, _MONTH_OFFSETS[prefix.replace("个", "")])
        return datetime.date(year, month, day)
    if not 1 <= day <= 31:
        return None
    for offset in range(12):  # every day of month 1-31 comes round within 12 months
        year, month = _add_months(today, offset)
        if day <= calendar.monthrange(year, month)[1]:
            candidate = datetime.date(year, month, day)
            if candidate >= today:
                return candidate
    return None


def _add_months(today: datetime.date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 + months
    return index // 12, index % 12 + 1


_DateReader = Callable[[re.Match[str], datetime.date], datetime.date | None]
# (a character class every match contains, the pattern, how to read the date)
_DATE_FORMS: tuple[tuple[re.Pattern[str], re.Pattern[str], _DateReader], ...] = (
    (re.compile(r"[-/.]"), _ISO_DATE, _iso_date),
    (re.compile("月"), _MONTH_DAY, _month_day),
    (re.compile("[周期拜]"), _WEEKDAY, _weekday),
    (re.compile("[天日]"), _RELATIVE, _relative_day),
    (re.compile("[号號]"), _DAY_OF_MONTH, _day_of_month),
)
