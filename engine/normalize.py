"""The one text normalization used at training time and at match time."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from kefu.arguments import check_text

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "NORMALIZATION",
    "SPACED_CHAR",
    "SURROGATE",
    "clean",
    "encodable",
    "fold",
    "normalize",
    "simplified",
    "unspaced",
    "word_pattern",
]

DEFAULT_MAX_LENGTH = 500

NORMALIZATION = "nfkc casefold traditional-1"
"""What ``normalize`` does, recorded with every trained model: a model trained from text
normalized otherwise has another vocabulary, so it is retrained, never silently reused.
Change it whenever normalizing the same text can give a different result."""

# \W covers punctuation, symbols (emoji included), control characters and whitespace;
# the underscore is a word character for `re`, so it is listed explicitly.
_NON_WORD = re.compile(r"[\W_]+")
SURROGATE = re.compile("[\ud800-\udfff]")
"""One UTF-16 surrogate: half of a character, which UTF-8 cannot encode."""


def clean(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Make any ``str`` safe to process: no lone surrogates, at most ``max_length``.

    Truncating before NFKC bounds the work done on huge inputs. Anything but a ``str`` is
    a ``TypeError``: ``str(None)`` would be matched as the text "none".
    """
    if not isinstance(text, str):
        check_text(text)
    if len(text) > max_length:
        text = text[:max_length]
    return encodable(text)


def encodable(text: str) -> str:
    """``text`` with each lone surrogate (from broken JSON or bad decoders) as one U+FFFD,
    so UTF-8 can encode it; not cut to any length."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE.sub("\ufffd", text)
    return text


def fold(text: str) -> str:
    """``text`` as the entity finders read it: NFKC, case folded and Simplified, nothing else
    (unlike ``normalize``, punctuation and spaces stay, so offsets still mean something)."""
    return simplified(unicodedata.normalize("NFKC", text).casefold())


@cache
def _simplified_table() -> dict[int, int]:
    # Built at first use: `import kefu` and `kefu --help` never read the table.
    from kefu.traditional import PAIRS

    pairs = PAIRS.replace("\n", "")
    return {ord(t): ord(s) for t, s in zip(pairs[0::2], pairs[1::2], strict=True)}


def simplified(text: str) -> str:
    """``text`` with Traditional Chinese characters in their Simplified form (運費 -> 运费).

    Character for character, so lengths and offsets stay; a character that is also a
    Simplified one (乾, 著, 於) is kept, so Simplified text comes back unchanged. The table
    is OpenCC's, less those characters (tests/traditional_table.py).
    """
    if text.isascii():  # English bots and order numbers: nothing to look up
        return text
    return text.translate(_simplified_table())


def normalize(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Normalize a message for matching.

    NFKC folds full-width letters and digits to ASCII (``ＡＢＣ１２３`` -> ``abc123``),
    case folding makes ``iPhone`` and ``IPHONE`` the same word, Traditional Chinese becomes
    Simplified (``運費`` -> ``运费``, see ``simplified``), and every run of punctuation,
    symbols, emoji, control characters or whitespace becomes one space. The result is
    stripped; it is empty when the message had no letters or digits.
    """
    text = clean(text, max_length)
    return _remembered(text) if len(text) <= MEMO_LENGTH else _normalized(text)


def _normalized(text: str) -> str:
    text = simplified(unicodedata.normalize("NFKC", text).casefold())
    return _NON_WORD.sub(" ", text).strip()


MEMO_LENGTH = 200
"""Texts up to this long are normalized once and remembered (the last 2,048 of them): a
reply normalizes its message several times (the match, the cancel, acknowledgement and
slot checks, a clarify answer), and customers repeat themselves ("在吗", "转人工")."""

_remembered = lru_cache(maxsize=2048)(_normalized)


SPACED_CHAR = r"[^\W_\u2e80-\U0010ffff]"
"""A letter or digit of a script that separates words by spaces (Latin, Greek, Cyrillic:
everything below U+2E80 that is not punctuation, a space or the underscore)."""


# A space that does not stand between two letters or digits of a spaced script: one inside
# Chinese text (转 人工, 投，诉) separates nothing a reader sees as two words.
_LOOSE_SPACE = re.compile(f"(?<!{SPACED_CHAR}) | (?!{SPACED_CHAR})")


def unspaced(text: str) -> str:
    """Normalized ``text`` without the spaces that separate no two words: ``转 人工`` is
    ``转人工``, while ``human agent`` keeps its space."""
    return _LOOSE_SPACE.sub("", text)


def word_pattern(word: str) -> str:
    """A regex for ``word`` whose letter or digit edges cannot touch another one (``12315``
    not inside 2024123151234567, ``sb`` not inside ``usb``); Chinese edges match anywhere."""
    pattern = re.escape(word)
    if re.fullmatch(SPACED_CHAR, word[0]):
        pattern = f"(?<!{SPACED_CHAR}){pattern}"
    if re.fullmatch(SPACED_CHAR, word[-1]):
        pattern += f"(?!{SPACED_CHAR})"
    return pattern
