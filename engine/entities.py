"""Entity extraction: order ids, phone numbers, amounts, dates, lookup lists and regexes.

``EntityExtractor`` is built once from a bot's ``EntitySpec`` list; every pattern is
compiled then, so ``extract`` on a short message costs a few microseconds.

Matching reads the message after NFKC (full-width ``１２３`` is ``123``, ``￥`` is ``¥``);
built-ins and lookup lists also read it case-folded and in Simplified Chinese (a lookup
value 红色 is found in 紅色), while regex entities see the case and characters the user
typed. Offsets always refer to the string given to ``extract``: when NFKC or case folding
changes the length (``½`` becomes three characters), each normalized character is mapped
back to the character it came from.

Overlapping values are resolved longest first; of two equally long ones the earlier
wins, then the entity declared first. No two returned values share a character.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from kefu.bot_regex import Pattern, RegexError, compile_regex, finditer
from kefu.builtin_entities import BUILTIN_FINDERS, parse_bare_amount
from kefu.normalize import MEMO_LENGTH, fold, simplified
from kefu.spec import EntitySpec

__all__ = ["EntityExtractor", "EntityValue"]

_Today = Callable[[], datetime.date]
# (start, end, rank, entity, value) in offsets of the original message; rank orders ties.
_Found = tuple[int, int, int, str, str]
# ASCII letters and digits: a lookup word made of them must not start or end inside a word.
_ASCII_WORD = "a-z0-9"


@dataclass(frozen=True)
class EntityValue:
    """One entity value found in a message: the canonical value and where it was written.

    ``value`` is canonical: an order id's digits, a mobile's 11 digits, an amount in yuan
    as a decimal string (``300``, ``1.5``), a date as ``yyyy-mm-dd``, a lookup list's
    canonical word, a regex's group 1 (or whole match). ``text`` is the surface text,
    ``message[start:end]``.
    """

    entity: str
    value: str
    text: str
    start: int
    end: int


class _Message(NamedTuple):
    """A message in the forms the finders read, and the way back to original offsets.

    A NamedTuple rather than a frozen dataclass: it is built on every call, and tuple
    construction is several times cheaper.
    """

    original: str
    nfkc: str
    folded: str
    # Position in ``nfkc`` / ``folded`` -> position in ``original``; None when identical.
    nfkc_origin: tuple[int, ...] | None = None
    folded_origin: tuple[int, ...] | None = None

    @classmethod
    def of(cls, text: str) -> _Message:
        # Remembered like ``normalize``'s texts: a reply reads its message for entities
        # once or twice (slot values, a slot answer), and customers repeat themselves.
        return _remembered_message(text) if len(text) <= MEMO_LENGTH else cls._read(text)

    @classmethod
    def _read(cls, text: str) -> _Message:
        nfkc = unicodedata.normalize("NFKC", text)
        folded = simplified(nfkc.casefold())  # one for one: no offset moves
        if len(nfkc) == len(text) == len(folded):
            return cls(text, nfkc, folded)
        return cls._char_by_char(text)

    @classmethod
    def _char_by_char(cls, text: str) -> _Message:
        # Normalizing one character at a time keeps the link to where each piece came
        # from; it only differs from whole-string NFKC on combining sequences.
        nfkc_parts: list[str] = []
        folded_parts: list[str] = []
        nfkc_origin: list[int] = []
        folded_origin: list[int] = []
        for i, char in enumerate(text):
            nfkc = unicodedata.normalize("NFKC", char)
            folded = simplified(nfkc.casefold())
            nfkc_parts.append(nfkc)
            folded_parts.append(folded)
            nfkc_origin.extend([i] * len(nfkc))
            folded_origin.extend([i] * len(folded))
        return cls(
            text,
            "".join(nfkc_parts),
            "".join(folded_parts),
            tuple(nfkc_origin),
            tuple(folded_origin),
        )

    def span(self, start: int, end: int, *, folded: bool) -> tuple[int, int]:
        """The original offsets of ``[start, end)`` in the folded (or NFKC) text; end > start."""
        origin = self.folded_origin if folded else self.nfkc_origin
        if origin is None:
            return start, end
        return origin[start], origin[end - 1] + 1


_remembered_message = lru_cache(maxsize=1024)(_Message._read)


@dataclass(frozen=True)
class _BuiltinFinder:
    """A built-in from ``kefu.builtin_entities``, by name (so it pickles)."""

    kind: str

    def find(self, message: _Message, today: _Today) -> Iterator[tuple[int, int, str]]:
        for start, end, value in BUILTIN_FINDERS[self.kind](message.folded, today):
            yield (*message.span(start, end, folded=True), value)


@dataclass(frozen=True)
class _LookupFinder:
    """A lookup list: one alternation of folded words, mapped back to canonical values."""

    pattern: re.Pattern[str]
    canonical: Mapping[str, str]  # folded word -> canonical value

    def find(self, message: _Message, today: _Today) -> Iterator[tuple[int, int, str]]:
        for match in self.pattern.finditer(message.folded):
            yield (*message.span(match.start(), match.end(), folded=True), self.canonical[match[0]])


@dataclass(frozen=True)
class _RegexFinder:
    """A bot author's regex, run on NFKC text with the user's case, time-bounded."""

    pattern: Pattern
    owner: str  # "entity 'sku'", for the warning when the pattern runs out of time

    def find(self, message: _Message, today: _Today) -> Iterator[tuple[int, int, str]]:
        for match in finditer(self.pattern, message.nfkc, self.owner):
            if match.end() == match.start():
                continue  # an empty match (``a*``) is not a value
            group = match[1] if self.pattern.groups else None
            value = _visible(group if group is not None else match[0])
            if not value.strip():
                continue  # nor is an empty or blank group (SKU-?(\d*) on "SKU")
            yield (*message.span(match.start(), match.end(), folded=False), value)


def _visible(value: str) -> str:
    """``value`` without control and format characters: a reply echoes slot values, and a
    terminal escape, a NUL or a right-to-left override (U+202E, which shows the rest of the
    reply reversed) must not reach the customer. The zero-width joiner of emoji stays."""
    if value.isprintable():
        return value
    return "".join(ch for ch in value if ch == "\u200d" or unicodedata.category(ch) not in _INVISIBLE)


_INVISIBLE = frozenset({"Cc", "Cf", "Cs"})  # control, format, lone surrogate


_Finder = _BuiltinFinder | _LookupFinder | _RegexFinder
_BUILTINS: dict[str, _Finder] = {kind: _BuiltinFinder(kind) for kind in BUILTIN_FINDERS}


class EntityExtractor:
    """Finds the values of a bot's entities in user messages.

    ``entities`` are the bot's declared entities; the built-ins (``order_id``, ``mobile``,
    ``amount``, ``date``) can also be asked for by those names without a declaration.
    ``today`` gives the date that 明天 and 周三 count from. Raises ``ValueError`` naming the
    entity if a regex does not compile or a builtin is unknown.
    """

    def __init__(self, entities: Sequence[EntitySpec], *, today: _Today = datetime.date.today) -> None:
        self.today = today
        declared: dict[str, _Finder] = {}
        for spec in entities:
            declared.setdefault(spec.name, _compile(spec))
        self._declared = tuple(declared.items())
        self._finders = {**_BUILTINS, **declared}

    def extract(self, text: str) -> list[EntityValue]:
        """Every value of every declared entity in ``text``, sorted by start.

        Never raises on odd input (empty, huge, emoji, control characters, lone
        surrogates): such text simply has no values.
        """
        if not text or not self._declared:
            return []
        return self._run(self._declared, _Message.of(text))

    def extract_one(
        self, text: str, entity: str, *, today: datetime.date | None = None
    ) -> EntityValue | None:
        """The first value of ``entity`` in ``text``, looking at that entity alone
        (``today``, when given, instead of the extractor's for 明天 and 周三).

        ``KeyError`` if ``entity`` is neither declared nor a builtin name.
        """
        values = self.extract_all(text, entity, today=today)
        return values[0] if values else None

    def extract_all(self, text: str, entity: str, *, today: datetime.date | None = None) -> list[EntityValue]:
        """Every value of ``entity`` in ``text``, sorted by start, looking at that entity alone.

        ``KeyError`` if ``entity`` is neither declared nor a builtin name.
        """
        finder = self._finders[entity]
        if not text:
            return []
        return self._run(((entity, finder),), _Message.of(text), today)

    def parse_value(
        self, text: str, entity: str, *, today: datetime.date | None = None
    ) -> EntityValue | None:
        """Read a whole message as the answer to a slot prompt for ``entity``.

        ``是2024112712345678``, ``订单号：2024112712345678``, ``蓝色的吧`` and ``明天`` each
        give their one value. None when the message holds no value or two different
        ones (``蓝色还是红色``); the same value twice counts once. For an amount slot a
        message that is only a number (``300``, ``三百``) is read as yuan.
        ``KeyError`` if ``entity`` is neither declared nor a builtin name.
        """
        finder = self._finders[entity]
        if not text:
            return None
        message = _Message.of(text)
        values = self._run(((entity, finder),), message, today)
        if values:
            first = values[0]
            return first if all(v.value == first.value for v in values) else None
        if finder == _BuiltinFinder("amount"):
            return _bare_amount(entity, message)
        return None

    def _run(
        self, finders: Sequence[tuple[str, _Finder]], message: _Message, today: datetime.date | None = None
    ) -> list[EntityValue]:
        when = self.today if today is None else lambda: today
        found: list[_Found] = [
            (start, end, rank, name, value)
            for rank, (name, finder) in enumerate(finders)
            for start, end, value in finder.find(message, when)
        ]
        text = message.original
        return [
            EntityValue(name, value, text[start:end], start, end)
            for start, end, _, name, value in _longest_first(found)
        ]


def _longest_first(found: list[_Found]) -> list[_Found]:
    """Drop every value that overlaps a longer one (ties: earlier start, then lower rank)."""
    if len(found) < 2:
        return found
    found.sort(key=lambda f: (f[0] - f[1], f[0], f[2]))
    taken = bytearray(max(f[1] for f in found))
    kept: list[_Found] = []
    for item in found:
        start, end = item[0], item[1]
        if taken.find(1, start, end) == -1:
            taken[start:end] = b"\x01" * (end - start)
            kept.append(item)
    kept.sort()
    return kept


def _bare_amount(entity: str, message: _Message) -> EntityValue | None:
    found = parse_bare_amount(message.folded)
    if found is None:
        return None
    start, end = message.span(found[0], found[1], folded=True)
    return EntityValue(entity, found[2], message.original[start:end], start, end)


def _compile(spec: EntitySpec) -> _Finder:
    if spec.builtin is not None:
        if spec.builtin not in _BUILTINS:
            known = ", ".join(_BUILTINS)
            raise ValueError(f"entity {spec.name!r}: unknown builtin {spec.builtin!r} ({known})")
        return _BUILTINS[spec.builtin]
    if spec.regex is not None:
        try:
            return _RegexFinder(compile_regex(spec.regex), f"entity {spec.name!r}")
        except RegexError as e:
            raise ValueError(f"entity {spec.name!r}: invalid regex {spec.regex!r}: {e}") from e
    return _lookup_finder(spec.values)


def _lookup_finder(values: Sequence[tuple[str, Sequence[str]]]) -> _LookupFinder:
    """One alternation of every word, longest first, so 深蓝色 wins over 蓝色."""
    canonical: dict[str, str] = {}
    for value, synonyms in values:
        for word in (value, *synonyms):
            folded = fold(word)
            if folded.strip():
                canonical.setdefault(folded, value)  # a word listed twice keeps its first value
    words = sorted(canonical, key=lambda w: (-len(w), w))
    # An alternation of nothing would match the empty string everywhere.
    pattern = "|".join(_guarded(word) for word in words) or "(?!)"
    return _LookupFinder(re.compile(pattern), canonical)


def _guarded(word: str) -> str:
    """``word`` as a pattern that cannot start or end inside an ASCII word (xl in xxl).

    The look-behind comes after the first character so that every alternative starts
    with a literal: ``re`` then skips ahead to possible first characters, which makes a
    miss about five times cheaper than with the look-behind in front.
    """
    pattern = re.escape(word)
    if re.match(f"[{_ASCII_WORD}]", word):
        first = re.escape(word[0])
        pattern = f"{first}(?<![{_ASCII_WORD}].){pattern[len(first) :]}"
    if re.search(f"[{_ASCII_WORD}]$", word):
        pattern += f"(?![{_ASCII_WORD}])"
    return pattern
