"""The one text normalization used at training time and at match time."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["DEFAULT_MAX_LENGTH", "SURROGATE", "clean", "encodable", "normalize"]

DEFAULT_MAX_LENGTH = 500

# \W covers punctuation, symbols (emoji included), control characters and whitespace;
# the underscore is a word character for `re`, so it is listed explicitly.
_NON_WORD = re.compile(r"[\W_]+")
SURROGATE = re.compile("[\ud800-\udfff]")
"""One UTF-16 surrogate: half of a character, which UTF-8 cannot encode."""


def clean(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Make arbitrary input safe to process: a ``str``, no lone surrogates, at most ``max_length``.

    Truncating before NFKC bounds the work done on huge inputs.
    """
    if not isinstance(text, str):
        text = str(text)
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


def normalize(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Normalize a message for matching.

    NFKC folds full-width letters and digits to ASCII (``ＡＢＣ１２３`` -> ``abc123``),
    case folding makes ``iPhone`` and ``IPHONE`` the same word, and every run of
    punctuation, symbols, emoji, control characters or whitespace becomes one space.
    The result is stripped; it is empty when the message had no letters or digits.
    """
    text = unicodedata.normalize("NFKC", clean(text, max_length)).casefold()
    return _NON_WORD.sub(" ", text).strip()
