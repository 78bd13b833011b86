"""Pinyin initials of Chinese words, so a word filter also catches ``sb`` for 傻逼.

Uses the optional ``pypinyin`` package (``pip install 'kefu[pinyin]'``), imported only when
initials are asked for.
"""

from __future__ import annotations

import importlib
import itertools
from functools import cache

from kefu import KefuError

__all__ = ["MissingDependencyError", "initials_variants", "require_pypinyin"]

_MAX_INITIALS_VARIANTS = 16
_PINYIN_MISSING = "pinyin_initials needs the pypinyin package: pip install 'kefu[pinyin]'"


class MissingDependencyError(KefuError, ImportError):
    """An option needs an optional package that is not installed."""


def require_pypinyin() -> None:
    """``MissingDependencyError`` unless ``pypinyin`` imports: checked when a filter is
    built, not at the first Chinese word it reads."""
    try:
        importlib.import_module("pypinyin")
    except ImportError:
        raise MissingDependencyError(_PINYIN_MISSING) from None


def _first_letters(text: str) -> list[list[str]]:
    """pypinyin's initials for each character of ``text``, every known reading included."""
    from pypinyin import Style, pinyin  # type: ignore[import-not-found, unused-ignore]

    letters: list[list[str]] = pinyin(text, style=Style.FIRST_LETTER, heteronym=True)
    return letters


@cache  # bounded: only Han characters of listed words come here
def _char_initials(char: str) -> tuple[str, ...]:
    return tuple(_first_letters(char)[0])


def initials_variants(word: str) -> list[str]:
    """Pinyin-initial spellings of a Han ``word``, the in-context reading first, at most 16."""
    if len(word) < 2:
        return []  # one letter would fire on every lone "s" or "b"
    readings = [_char_initials(char) for char in word]
    in_context: list[list[str]] = [[] for _ in word]
    if any(len(initials) > 1 for initials in readings):
        # Only a polyphonic character needs the (slower) in-context reading to come first.
        phrase = _first_letters(word)
        in_context = phrase if len(phrase) == len(word) else in_context
    options: list[list[str]] = []
    for context, initials in zip(in_context, readings, strict=True):
        # In-context reading first, so the cap keeps the spelling people actually type.
        letters = dict.fromkeys([*context, *initials])
        latin = [x for x in letters if x.isascii() and x.isalpha()]
        if not latin:
            return []  # a character pypinyin cannot read
        options.append(latin)
    spellings = ("".join(letters) for letters in itertools.product(*options))
    return list(itertools.islice(spellings, _MAX_INITIALS_VARIANTS))
