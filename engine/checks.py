"""Generic checks of YAML values that report ``file:line: message`` problems."""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import regex

from kefu.bot_regex import RegexError, compile_regex
from kefu.errors import Problem
from kefu.normalize import normalize
from kefu.yamlsource import PathKey, SourceFile

__all__ = [
    "Check",
    "FileChecker",
    "dead_literal",
    "describe",
    "dotted",
    "invisible_at",
    "version_problem",
    "without_invisible",
    "word_list",
    "word_problem",
]

Check = Callable[["FileChecker", PathKey, Any], Any]
"""Converts the value at a path, recording problems; returns None when the value is unusable."""


def invisible_at(name: str) -> int | None:
    """Where ``name`` holds its first invisible character (a zero-width space, a control
    character, a line or paragraph separator), or None."""
    return next((i for i, ch in enumerate(name) if unicodedata.category(ch) in _INVISIBLE), None)


def without_invisible(name: str) -> str:
    """``name`` without the characters ``invisible_at`` finds."""
    return "".join(ch for ch in name if unicodedata.category(ch) not in _INVISIBLE)


def version_problem(data: dict[str, Any], expected: int = 1) -> str | None:
    """What is wrong with a file's ``version`` (None if it is ``expected``), worded alike
    for bot, dialogue and test files. ``true == 1`` and ``1.0 == 1`` in Python, so the
    type is checked too."""
    version = data.get("version")
    if type(version) is int and version == expected:
        return None
    got = repr(version) if "version" in data else "missing"
    return f"`version` must be {expected} (got {got})"


class FileChecker:
    """Checks values of one parsed file, recording each problem at its line."""

    def __init__(self, src: SourceFile) -> None:
        self.src = src

    @property
    def problems(self) -> list[Problem]:
        """Problems found so far in this file."""
        return self.src.problems

    def problem(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        """Record a problem at ``path``."""
        self.src.problem(path, message, at_key=at_key)

    def version(self, data: dict[str, Any], expected: int = 1) -> None:
        """Record a problem at ``version`` (or the top of the file) unless it is ``expected``."""
        problem = version_problem(data, expected)
        if problem is not None:
            self.problem(("version",) if "version" in data else (), problem)

    def sibling(self, path: PathKey, key: str) -> Any:
        """The raw value of ``key`` beside the setting at ``path`` (None if absent), for a
        check that depends on another setting of the same mapping."""
        node = self.src.data
        for part in path[:-1]:
            if not (isinstance(node, dict) and part in node):
                node = self.src.data  # plugin settings given in code: the data is the settings
                break
            node = node[part]
        return node.get(key) if isinstance(node, dict) else None

    # -- generic value checks -------------------------------------------------------------

    def check_keys(self, path: PathKey, data: dict[str, Any], allowed: Iterable[str]) -> None:
        allowed = sorted(allowed)
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(allowed)
                self.problem((*path, key), f"unknown key {key!r}{hint}; known: {known}", at_key=True)

    def mapping(self, path: PathKey, value: Any, allowed: Iterable[str] | None) -> dict[str, Any]:
        """A mapping (checked against ``allowed`` keys when given), or {} after a problem."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"`{dotted(path)}` must be a mapping, not {describe(value)}")
            return {}
        if allowed is not None:
            self.check_keys(path, value, allowed)
        return value

    def text(self, path: PathKey, value: Any, *, allow_empty: bool = False) -> str | None:
        """A string (numbers are accepted as the text they were written as)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = self.src.number_text.get(tuple(path), str(value))
        if not isinstance(value, str):
            self.problem(path, f"`{dotted(path)}` must be text, not {describe(value)}")
            return None
        if not allow_empty and not value.strip():
            self.problem(path, f"`{dotted(path)}` must not be empty")
            return None
        return value

    def texts(self, path: PathKey, value: Any, *, single_ok: bool = False) -> tuple[str, ...]:
        """A list of strings (or one string when ``single_ok``)."""
        if single_ok and isinstance(value, str):
            value = [value]
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(path, f"`{dotted(path)}` must be a list of text, not {describe(value)}")
            return ()
        out = (self.text((*path, i), item) for i, item in enumerate(value))
        return tuple(item for item in out if item is not None)

    def number(self, path: PathKey, value: Any, low: float, high: float | None = None) -> float | None:
        """A finite number in [low, high] (infinity and NaN would only fail later, in training
        or in the session store)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(
                path, f"`{dotted(path)}` must be a number, not {describe(value)}{number_hint(value)}"
            )
            return None
        try:
            number = float(value)
        except OverflowError:  # an integer of hundreds of digits
            number = math.inf
        if not math.isfinite(number) or number < low or (high is not None and number > high):
            bound = f"between {low:g} and {high:g}" if high is not None else f"a finite number >= {low:g}"
            self.problem(path, f"`{dotted(path)}` must be {bound} (got {number:g})")
            return None
        return number

    def integer(self, path: PathKey, value: Any, low: int, high: int | None = None) -> int | None:
        """An integer in [low, high]."""
        if isinstance(value, bool) or not isinstance(value, int):
            hint = number_hint(value, whole=True)
            self.problem(path, f"`{dotted(path)}` must be a whole number, not {describe(value)}{hint}")
            return None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            shown = value if abs(value) < 10**18 else f"a {len(str(abs(value)))}-digit number"
            self.problem(path, f"`{dotted(path)}` must be {bound} (got {shown})")
            return None
        return value

    def flag(self, path: PathKey, value: Any) -> bool | None:
        """A boolean."""
        if not isinstance(value, bool):
            self.problem(path, f"`{dotted(path)}` must be true or false, not {describe(value)}")
            return None
        return value

    def choice(self, path: PathKey, value: Any, choices: tuple[str, ...]) -> str | None:
        """One of ``choices``."""
        text = self.text(path, value)
        if text is not None and text not in choices:
            self.problem(path, f"`{dotted(path)}` must be one of {', '.join(choices)} (got {text!r})")
            return None
        return text

    def regex(self, path: PathKey, value: Any) -> str | None:
        """A pattern that compiles with the engine that will run it (``kefu.bot_regex``)."""
        text = self.text(path, value)
        if text is None:
            return None
        try:
            compile_regex(text)
        except RegexError as exc:
            self.problem(path, f"invalid regex {text!r}: {exc}")
            return None
        return text

    def visible_name(self, path: PathKey, kind: str, name: str, *, at_key: bool = False) -> bool:
        """Whether ``name`` can be read and typed as written: no space at either end, no
        invisible character (a zero-width space, a control character) anywhere. Test files,
        reports and templates name things by what they show."""
        odd = invisible_at(name)
        if odd is None and name == name.strip():
            if not name:
                self.problem(path, f"{kind} name must not be empty", at_key=at_key)
            return bool(name)
        what = "a space at an end" if odd is None else f"an invisible character (U+{ord(name[odd]):04X})"
        self.problem(path, f"{kind} name {name!r} holds {what}: write it without", at_key=at_key)
        return False

    def normalized_pattern(self, path: PathKey, value: Any) -> str | None:
        """A regex that runs on normalized text: a literal it can never meet there (upper
        case, punctuation, full-width) is a problem, as the pattern could never match."""
        text = self.regex(path, value)
        if text is None:
            return None
        # A scoped (?i:...) sets no flag on the pattern: read the whole pattern as ignoring case
        # then, so what it spells in capitals is never judged dead (a false alarm refuses a bot).
        ignore_case = bool(compile_regex(text).flags & regex.IGNORECASE) or bool(_SCOPED_I.search(text))
        dead = dead_literal(
            text, lambda literal: normalize(literal) == (literal.casefold() if ignore_case else literal)
        )
        if dead is not None:
            becomes = f"becomes {normalize(dead)!r}" if normalize(dead) else "becomes a space"
            if dead.startswith("[") and len(dead) > 1:  # a class: what it becomes is no class
                becomes = "matches no character"
            self.problem(
                path,
                f"pattern {text!r} can never match: patterns run on the normalized message, "
                f"where {dead!r} {becomes} (lower case, no punctuation; see docs/intents.md)",
            )
            return None
        return text

    def nfkc_pattern(self, path: PathKey, value: Any) -> str | None:
        """A regex that runs on NFKC text (entity regexes: case kept, full-width forms made
        ASCII): a literal NFKC changes (Ａ, ：, １) is a problem, as it could never match."""
        text = self.regex(path, value)
        if text is None:
            return None
        dead = dead_literal(text, lambda literal: unicodedata.normalize("NFKC", literal) == literal)
        if dead is not None:
            becomes = unicodedata.normalize("NFKC", dead)
            self.problem(
                path,
                f"regex {text!r} can never match: entity regexes run on the message in NFKC form, "
                f"where {dead!r} is {becomes!r} (write {becomes!r}; see docs/intents.md)",
            )
            return None
        return text

    def ngram_range(self, path: PathKey, value: Any) -> tuple[int, int] | None:
        """A ``[low, high]`` pair of n-gram sizes with 1 <= low <= high <= 6."""
        ok = isinstance(value, list) and len(value) == 2
        ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if not ok or not 1 <= value[0] <= value[1] <= 6:
            self.problem(path, f"`{dotted(path)}` must be [low, high] with 1 <= low <= high <= 6")
            return None
        return (value[0], value[1])

    def fields(self, path: PathKey, data: dict[str, Any], checks: dict[str, Check]) -> dict[str, Any]:
        """Run a checker per known key; keep only the values that passed."""
        out: dict[str, Any] = {}
        for key, check in checks.items():
            if key in data:
                value = check(self, (*path, key), data[key])
                if value is not None:
                    out[key] = value
        return out


def describe(value: Any) -> str:
    """How a wrong value is named in a problem message ("a list", "a whole number")."""
    names = {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a whole number",
        float: "a decimal number",
        type(None): "empty",
    }
    return names.get(type(value), f"a value of type {type(value).__name__}")


def number_hint(value: Any, whole: bool = False) -> str:
    """How to write text that reads as a number so YAML reads a number: YAML 1.1 takes
    ``6e-1`` and ``1e3`` (no dot) and anything quoted as text."""
    if not isinstance(value, str):
        return ""
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return ""
    if not number.is_finite() or abs(number.adjusted()) > 30:
        return ""
    if whole:
        if number != number.to_integral_value():
            return ""
        number = number.to_integral_value()
    return f" (YAML reads {value!r} as text: write {number:f})"


def dotted(path: PathKey) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")


_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cn", "Zl", "Zp"})
"""Unicode categories of characters that show as nothing, or as something else."""

# Regex syntax around literals, skipped whole: an escape with a name in braces (\p{Han}),
# any other escape, a class, a group's opening ((?P<name>, (?<=, (?i)), a {m,n}.
_SYNTAX = re.compile(
    r"\\[pPNx]\{[^}]*\}|\\[0-9A-Za-z]|\[\^?\]?(?:\\.|[^\]])*\]"
    r"|\(\?(?:<?[=!]|P?<[^>]*>|P=[^)]*\)|#[^)]*\)|[a-zA-Z-]*[:)])|\{[0-9, ]*\}"
)
_SCOPED_I = re.compile(r"\(\?[a-zA-Z]*i[a-zA-Z]*(?:-[a-zA-Z]*)?:")
_OPTIONAL = re.compile(r"[?*]|\{0?[,}]")
# Where a literal may be skipped as a whole (an alternative, an optional group), the
# pattern can match without it: such patterns are not judged.
_SKIPPABLE = re.compile(r"\||\)(?:[?*]|\{0?[,}])")
# Syntax the literal reader does not follow, so a pattern holding it is not judged (a false
# alarm refuses a working bot): a verbose flag (its # starts a comment), lookarounds and
# atomic groups (their text is not required), escapes naming characters or groups (\x2D,
# \pN, \g<1>), POSIX classes ([[:digit:]]) and fuzzy matching ({e<=1}).
_UNJUDGED = re.compile(r"\(\?[a-zA-Z]*x|\(\?[=!>]|\(\?<[=!]|\\[xuUNpPgkK]|\[:[a-z]+:\]|\{[eisd][<=]")


def dead_literal(pattern: str, held: Callable[[str], bool]) -> str | None:
    r"""The first literal of ``pattern``, not optional, that the text it runs on never holds
    (``held`` is False for it), or the first class none of whose characters it holds
    (``[Ａ-Ｚ]``); None when every one can occur there. Spaces are never judged. A pattern
    of alternatives (``编号：\d+|ＮＯ\d+``) is dead when each alternative is."""
    if _UNJUDGED.search(pattern):
        return None
    branches = _top_level_branches(pattern)
    if len(branches) > 1:
        found = [dead_literal(branch, held) for branch in branches]
        return found[0] if all(d is not None for d in found) else None
    if _SKIPPABLE.search(pattern):
        return None
    pos = 0
    while pos < len(pattern):
        syntax = _SYNTAX.match(pattern, pos)
        if syntax is not None:
            pos = syntax.end()
            members = _class_members(syntax[0])
            dead = members and not any(ch.isspace() or held(ch) for ch in members)
            if dead and not _OPTIONAL.match(pattern, pos):
                return syntax[0]
            continue
        literal = char = pattern[pos]
        if char == "\\" and pos + 1 < len(pattern):  # an escaped symbol: \? \. \:
            literal, pos = pattern[pos + 1], pos + 1
        elif char in ".^$*+?{}[]|()":
            pos += 1
            continue
        pos += 1
        if not literal.isspace() and not held(literal) and not _OPTIONAL.match(pattern, pos):
            return literal
    return None


def _top_level_branches(pattern: str) -> list[str]:
    """``pattern`` split at the ``|`` outside groups and classes (escapes respected)."""
    branches, start, depth, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a ] first in a class is itself
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    return branches


_CLASS_ITEM = re.compile(r"\\(.)|(.)", re.S)


def _class_members(syntax: str) -> str | None:
    r"""Every character a plain class (``[Ａ-Ｚ：]``) holds; None for anything else: not a
    class, negated, with a set escape (``\d``, ``\p{Han}``) or more than 5,000 characters."""
    if not syntax.startswith("[") or syntax.startswith("[^") or len(syntax) < 3:
        return None
    items: list[tuple[str, bool]] = []  # (character, escaped)
    for match in _CLASS_ITEM.finditer(syntax[1:-1]):
        if match[1] is not None and (match[1].isalnum() or match[1] == "_"):
            return None  # \d, \w, \s, \p{...}, \x41: sets and codes this does not read
        items.append((match[1], True) if match[1] is not None else (match[2], False))
    chars: list[str] = []
    i = 0
    while i < len(items):
        if i + 2 < len(items) and items[i + 1] == ("-", False):
            low, high = ord(items[i][0]), ord(items[i + 2][0])
            if high - low > 5_000:
                return None
            chars.extend(map(chr, range(low, high + 1)))
            i += 3
        else:
            chars.append(items[i][0])
            i += 1
    return "".join(chars) if 0 < len(chars) <= 5_000 else None


def word_problem(word: str, key: str, dropped: str, effect: str) -> str | None:
    """Why a word looked for in messages (an intent keyword, a plugin's word list) cannot be
    used as written, or None. ``key`` is the word as it is read, ``dropped`` says what that
    reading leaves out and ``effect`` what ordinary messages would do if one common
    character were all that is left."""
    if not key:
        return "has no letter or digit, so it can never match"
    if len(key) == 1 and len(unicodedata.normalize("NFKC", word.strip())) > 1:
        # The symbols that made the word specific are gone, leaving one common character.
        return (
            f"reads as {key!r} alone ({dropped}), so ordinary messages holding that character "
            f"would {effect}; list the words it stands for instead"
        )
    return None


def word_list(noun: str, problem: Callable[[str], str | None], *, single_ok: bool = False) -> Check:
    """The check of a list of words (each a ``noun``) looked for in messages (one word alone
    too when ``single_ok``): each word's ``problem`` is reported at its own line."""

    def check(c: FileChecker, path: PathKey, value: Any) -> tuple[str, ...]:
        words = c.texts(path, value, single_ok=single_ok)
        if single_ok and isinstance(value, str):
            items: list[tuple[PathKey, Any]] = [(path, value)]
        else:
            items = [((*path, i), word) for i, word in enumerate(value if isinstance(value, list) else [])]
        for where, word in items:
            found = problem(word) if isinstance(word, str) and word.strip() else None
            if found is not None:
                c.problem(where, f"`{dotted(where)}`: {noun} {word!r} {found}")
        return words

    return check
