"""Bot authors' regular expressions: one engine to validate and run them, with a time bound.

A pattern such as ``(a|aa)+$`` backtracks exponentially: under ``re`` one message of forty
``a`` hangs the worker for good. So every pattern a bot file or an import brings in
(intent patterns, entity regexes, slot regexes) is compiled here with the ``regex``
package in its ``re``-compatible VERSION0 mode, and each run gets ``TIMEOUT`` seconds.
A pattern that runs out of time counts as not matching that message, and one warning
names the pattern and its owner, never the message (it may hold personal data). Within one
message (``message_budget``), after ``MAX_TIMEOUTS`` runs have run out of time the rest of
the bot's patterns count as not matching too: a bot with many runaway patterns costs at
most ``MAX_TIMEOUTS * TIMEOUT`` per message, not 50 ms for each of them.

kefu's own fixed patterns (``kefu.builtin_entities``, normalization, lookup lists of
escaped words) cannot backtrack like that and stay on ``re``.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar, Token
from typing import Any

import regex

# re's own parser, to read which characters a pattern needs (Python 3.11 renamed it).
try:
    _sre: Any = importlib.import_module("re._constants")
    _sre_parse: Any = importlib.import_module("re._parser")
except ImportError:  # Python 3.10
    _sre = importlib.import_module("sre_constants")
    _sre_parse = importlib.import_module("sre_parse")

__all__ = [
    "MAX_TIMEOUTS",
    "TIMEOUT",
    "Pattern",
    "RegexError",
    "compile_regex",
    "finditer",
    "fullmatch",
    "message_budget",
    "required_characters",
    "runaway_probe",
    "search",
]

log = logging.getLogger(__name__)

TIMEOUT = 0.05
"""Seconds one pattern may spend on one message.

An honest pattern runs on a message (at most ``max_input_length``, 500 characters by
default) in microseconds, so 50 ms is hundreds of times what it needs even on a loaded
machine: no pattern that works is cut off. The bound only stops runaway backtracking, and
then one message costs 50 ms per runaway pattern instead of forever: slower than the
10,000 replies/s target (docs/speed.md), but an answer well inside ``kefu predict``'s 1.5 s.

The bound is not free: ``regex`` reads a CPU clock (a system call) around each bounded
run, about 2 µs per pattern per message on the bench machine, against well under 1 µs for
``re``. A bot with a handful of patterns does not notice; one with 60 paid about 0.1 ms.
Now a message without a character every match of the pattern needs skips it in about
0.3 µs (``required_characters``), and most messages lack one for most patterns.
"""

MAX_TIMEOUTS = 4
"""Timed-out runs one message may cost before its remaining bot patterns are skipped."""

# The current message's count of timed-out runs (a one-item list, so runs can add to it);
# None outside ``message_budget``. A ContextVar: each thread and task has its own message.
_timeouts: ContextVar[list[int] | None] = ContextVar("kefu_regex_timeouts", default=None)

Pattern = regex.Pattern[str]
RegexError = regex.error
"""Raised by ``compile_regex`` for a pattern that does not compile."""


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str) -> Pattern:
    """``pattern`` compiled exactly as kefu runs it; ``RegexError`` if it does not compile.

    Validation uses this too, so a pattern that passes ``kefu validate`` is the one that runs.
    """
    try:
        return regex.compile(pattern, regex.VERSION0)
    except ValueError as exc:  # inline flags that clash: (?V1) with VERSION0, (?a)(?u)
        raise RegexError(str(exc)) from None


def required_characters(pattern: Pattern) -> str:
    """Characters that every match of ``pattern`` contains, "" when that is not known.

    ``search``, ``fullmatch`` and ``finditer`` skip a message that lacks one of them, without
    running the pattern: a bounded run costs about 2 µs (``TIMEOUT``), a missing character
    50 ns, and most messages match none of a bot's patterns. Read from ``re``'s parse of
    the pattern, conservatively: only literal characters outside optional parts,
    lookarounds and sets count (a branch gives the characters all its alternatives need),
    and nothing is known for a pattern ``re`` cannot read (``regex``-only syntax such as
    ``\\p{Han}``), one that ignores case, or one whose ``re`` reading may differ from
    ``regex``'s: a ``[:`` (``regex`` reads ``[[:alpha:]]`` as a class, ``re`` as a set
    and a ``]``) or a literal brace or bracket (``regex``'s fuzzy ``(?:ab){e<=1}``).
    """
    source = pattern.pattern
    if pattern.flags & (regex.IGNORECASE | regex.FULLCASE | regex.VERBOSE) or "[:" in source:
        return ""
    try:
        tree = _sre_parse.parse(source)
        if tree.state.flags & re.IGNORECASE:
            return ""
        found = _needed(tree)
    except Exception:  # regex-only syntax that re refuses, a case-folded group, deep nesting
        return ""
    if found & set("{}[]"):
        return ""
    return "".join(sorted(found))


class _CaseFolded(Exception):
    """A group that ignores case: its literals need not appear as written."""


_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT)}
_ATOMIC = getattr(_sre, "ATOMIC_GROUP", None)


def _needed(items: Iterable[tuple[Any, Any]]) -> set[str]:
    """The literal characters every match of the parsed ``items`` holds."""
    found: set[str] = set()
    for op, av in items:
        if op == _sre.LITERAL:
            found.add(chr(av))
        elif op == _sre.SUBPATTERN:
            _group, add_flags, _del_flags, sub = av
            if add_flags & re.IGNORECASE:
                raise _CaseFolded
            found |= _needed(sub)
        elif op in _REPEATS:
            low, _high, sub = av
            if low >= 1:
                found |= _needed(sub)
        elif _ATOMIC is not None and op == _ATOMIC:
            found |= _needed(av)
        elif op == _sre.BRANCH:
            alternatives = [_needed(alternative) for alternative in av[1]]
            found |= set.intersection(*alternatives) if alternatives else set()
        # Anything else needs no character we can name: sets, classes, anchors,
        # lookarounds, backreferences, conditionals.
    return found


_needed_by: dict[Pattern, str] = {}
"""``required_characters`` by compiled pattern, worked out once: one dict lookup per
pattern per message."""


def _lacks_required(pattern: Pattern, text: str) -> bool:
    needed = _needed_by.get(pattern)
    if needed is None:
        if len(_needed_by) >= 4096:  # patterns of reloaded bots: keep it bounded
            _needed_by.clear()
        needed = _needed_by[pattern] = required_characters(pattern)
    for char in needed:  # noqa: SIM110 - a loop: any() over a generator costs 0.65 µs, this 0.17
        if char not in text:
            return True
    return False


class message_budget:  # lower case: used like a function, ``with message_budget():``
    """Count timed-out runs for one message (nested uses share the outermost count).

    A class, not ``@contextmanager``: it wraps every match, and costs a quarter as much.
    """

    __slots__ = ("_token",)
    _token: Token[list[int] | None] | None

    def __enter__(self) -> None:
        self._token = _timeouts.set([0]) if _timeouts.get() is None else None

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _timeouts.reset(self._token)


def search(pattern: Pattern, text: str, owner: str) -> regex.Match[str] | None:
    """The first match of ``pattern`` in ``text``; None also when it runs out of time."""
    if _spent() or _lacks_required(pattern, text):
        return None
    try:
        # Positional, as regex's own module-level search() calls it: a keyword argument
        # costs about 0.8 µs per call, paid per pattern per message.
        return pattern.search(text, None, None, None, False, TIMEOUT)
    except TimeoutError:
        _timed_out(pattern, owner)
        return None


def fullmatch(pattern: Pattern, text: str, owner: str) -> regex.Match[str] | None:
    """``pattern`` matching all of ``text``; None also when it runs out of time."""
    if _spent() or _lacks_required(pattern, text):
        return None
    try:
        return pattern.fullmatch(text, None, None, None, False, TIMEOUT)  # positional: see search()
    except TimeoutError:
        _timed_out(pattern, owner)
        return None


def finditer(pattern: Pattern, text: str, owner: str) -> list[regex.Match[str]]:
    """Every match of ``pattern`` in ``text``; none when they take more than ``TIMEOUT`` together."""
    if _spent() or _lacks_required(pattern, text):
        return []
    try:
        # The timeout covers the whole scan, so a list, not a lazy iterator.
        return list(pattern.finditer(text, timeout=TIMEOUT))
    except TimeoutError:
        _timed_out(pattern, owner)
        return []


def runaway_probe(pattern: Pattern, length: int, *, whole: bool = False) -> str | None:
    """A crafted message of ``length`` characters that ``pattern`` runs out of time on, or None.

    Each probe repeats one character (a letter, digit or Han character the pattern names,
    or one of ``a 1 中`` and space) and ends in one that breaks the run: the shape on which
    nested repetition backtracks. A sound pattern answers each probe in microseconds; this
    finds the common runaway patterns, it proves nothing. ``whole``: probe as ``fullmatch``
    (slot regexes), else as ``search``. The probe is described, not returned whole.
    """
    named = [c for c in dict.fromkeys(pattern.pattern) if c.isalnum()][:_PROBE_NAMED_CHARS]
    run = pattern.fullmatch if whole else pattern.search
    for char in dict.fromkeys([*named, "a", "1", " ", "中"]):
        for tail in ("!", " !"):
            try:
                run(char * (length - len(tail)) + tail, timeout=TIMEOUT)
            except TimeoutError:
                return f"{char!r} × {length - len(tail)} + {tail!r}"
    return None


_PROBE_NAMED_CHARS = 8  # bounds lint's cost for a long pattern: 2 probes per character


def timeouts() -> int:
    """How many runs have timed out on the message being handled (0 outside one)."""
    count = _timeouts.get()
    return 0 if count is None else count[0]


def _spent() -> bool:
    count = _timeouts.get()
    return count is not None and count[0] >= MAX_TIMEOUTS


def _timed_out(pattern: Pattern, owner: str) -> None:
    count = _timeouts.get()
    if count is not None:
        count[0] += 1
        if count[0] == MAX_TIMEOUTS:
            log.warning(
                "%d bot regexes ran out of time on one message; its remaining patterns count as not matching",
                MAX_TIMEOUTS,
            )
    log.warning(
        "%s: regex %r ran out of time (%s s) on a message and counts as not matching it; "
        "rewrite it without nested repetition such as (a+)+",
        owner,
        pattern.pattern,
        TIMEOUT,
    )
