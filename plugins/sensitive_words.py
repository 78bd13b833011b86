"""Sensitive-word filtering: an Aho-Corasick automaton that sees through padding and width.

How text is read. Each character is *folded* (NFKC, then case folding, so ``ＳＢ`` and
``Sb`` read as ``sb``) and then falls into one of three classes:

* word characters (Unicode letters and digits): what listed words are made of;
* visible padding (spaces, punctuation, symbols, emoji, control characters, lone
  surrogates): up to ``max_gap`` of them in a row may sit between two characters of a
  word (``傻 逼``, ``傻*逼``, ``傻_逼``); a longer run ends every word in progress;
* invisible padding (format characters such as U+200B, combining marks, variation
  selectors, emoji skin tones): skipped without counting toward ``max_gap``, since the
  reader does not see them.

Listed words are folded the same way, padding removed, so ``fuck you`` also matches
``fuckyou``. A word that starts (ends) with a letter or digit of a space-separated script
(Latin, Greek, Cyrillic: everything below U+2E80) matches only where the character
before (after) it in the text is not such a letter or digit: ``ass`` does not fire in
``class`` nor ``sb`` in ``usb``. Chinese words match anywhere. With ``skip_padding=False``
nothing is padding and only folding applies.

The automaton is pure Python. ``pyahocorasick`` was measured too: its scan is faster, but
folding the text costs as much as the pure-Python scan, so the whole call gained too little
to justify a compiled dependency (numbers in the commit that added this module).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from kefu.errors import KefuError

__all__ = ["MissingDependencyError", "SensitiveWordFilter", "WordHit", "WordListError"]

# Markers that folding writes for padding. They are control characters, which are
# padding themselves, so they never occur in a folded word.
_VISIBLE = "\x00"
_BREAK = "\x01"  # a padding run longer than max_gap: no word may span it
_INVISIBLE = "\x02"

# Letters and digits of scripts below U+2E80 separate words with spaces; CJK does not.
_SPACED_SCRIPT_LIMIT = 0x2E80
# Every distinct character folded is cached; past this many the cache stops growing,
# so a flood of random code points cannot eat memory.
_FOLD_CACHE_LIMIT = 1 << 16
_MAX_INITIALS_VARIANTS = 16
_HAN_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]+")
_PINYIN_MISSING = "pinyin_initials needs the pypinyin package: pip install 'kefu[pinyin]'"


class WordListError(KefuError, ValueError):
    """A word-list file cannot be read as UTF-8; the message names the file and line."""


class MissingDependencyError(KefuError, ImportError):
    """An option needs an optional package that is not installed."""


@dataclass(frozen=True)
class WordHit:
    """One occurrence of a listed word: the word as listed and its span in the original text.

    The span covers exactly what the user typed, padding between the word's characters
    included, so ``text[start:end]`` is what a mask replaces.
    """

    word: str
    start: int
    end: int


class _Pattern(NamedTuple):
    word: str  # reported word: as listed, or the Chinese word behind a pinyin variant
    length: int  # folded characters
    left_edge: bool  # must start at a word boundary of a space-separated script
    right_edge: bool


def _fold_char(char: str, skip_padding: bool) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    if not skip_padding:
        return folded
    # NFKC may expand one character into letters and punctuation (㈱ -> "(株)").
    kept = "".join(c for c in folded if unicodedata.category(c)[0] in "LN")
    if kept:
        return kept
    if unicodedata.category(char) in ("Cf", "Mn", "Me") or "\U0001f3fb" <= char <= "\U0001f3ff":
        return _INVISIBLE
    return _VISIBLE


class _FoldTable(dict[int, str]):
    """``str.translate`` table, ord -> folded characters or a padding marker, filled lazily."""

    def __init__(self, skip_padding: bool) -> None:
        super().__init__()
        self.skip_padding = skip_padding

    def __missing__(self, code: int) -> str:
        value = _fold_char(chr(code), self.skip_padding)
        if len(self) < _FOLD_CACHE_LIMIT:
            self[code] = value
        return value


_TABLES = {True: _FoldTable(True), False: _FoldTable(False)}


def _spaced(char: str) -> bool:
    return char.isalnum() and ord(char) < _SPACED_SCRIPT_LIMIT


class _Automaton:
    """Aho-Corasick automaton over folded keys; state 0 is the root."""

    def __init__(self, keys: Sequence[str]) -> None:
        goto: list[dict[str, int]] = [{}]
        own: list[list[int]] = [[]]
        for key_id, key in enumerate(keys):
            state = 0
            for char in key:
                nxt = goto[state].get(char)
                if nxt is None:
                    nxt = goto[state][char] = len(goto)
                    goto.append({})
                    own.append([])
                state = nxt
            own[state].append(key_id)
        self.goto = goto
        self.fail = [0] * len(goto)
        # Each state's outputs include its fail chain's, so a scan never walks the chain.
        self.out: list[tuple[int, ...]] = [()] * len(goto)
        self._link(own)

    def _link(self, own: list[list[int]]) -> None:
        goto, fail, out = self.goto, self.fail, self.out
        queue = deque(goto[0].values())
        while queue:  # breadth first: a fail target is always shallower, hence done
            state = queue.popleft()
            out[state] = (*own[state], *out[fail[state]])
            for char, child in goto[state].items():
                back = fail[state]
                while back and char not in goto[back]:
                    back = fail[back]
                fail[child] = goto[back].get(char, 0) if state else 0
                queue.append(child)

    def scan(self, core: str) -> Iterator[tuple[int, int]]:
        """Yield ``(index of last character, key id)`` for every key occurrence in ``core``."""
        goto, fail, out = self.goto, self.fail, self.out
        state = 0
        for index, char in enumerate(core):
            nxt = goto[state].get(char)
            while nxt is None and state:
                state = fail[state]
                nxt = goto[state].get(char)
            state = nxt or 0
            if out[state]:
                for key_id in out[state]:
                    yield index, key_id


class SensitiveWordFilter:
    """Finds and masks listed words in chat text, through padding, width and case tricks.

    :param words: the words to find; duplicates after folding keep the first spelling.
    :param skip_padding: see through padding between a word's characters.
    :param pinyin_initials: a Chinese word also matches its pinyin initials typed in Latin
        letters (``sb`` for 傻逼), as a whole token; needs the optional ``pypinyin``.
    :param max_gap: most visible padding characters allowed between two word characters.
    """

    def __init__(
        self,
        words: Iterable[str],
        *,
        skip_padding: bool = True,
        pinyin_initials: bool = False,
        max_gap: int = 3,
    ) -> None:
        if isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 0:
            raise ValueError(f"max_gap must be an integer >= 0, got {max_gap!r}")
        self.skip_padding = skip_padding
        self.pinyin_initials = pinyin_initials
        self.max_gap = max_gap
        self._table = _TABLES[bool(skip_padding)]
        self._gap_run = re.compile(f"{_VISIBLE}{{{max_gap + 1},}}")
        keys: dict[str, int] = {}
        self._patterns: list[_Pattern] = []
        for word in words:
            if not isinstance(word, str):
                raise TypeError(f"sensitive words must be str, got {word!r}")
            self._add(keys, self._fold_word(word.strip()), word.strip())
        self._size = len(self._patterns)
        if pinyin_initials:
            self._add_initials(keys)
        self._automaton = _Automaton(list(keys))

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        skip_padding: bool = True,
        pinyin_initials: bool = False,
        max_gap: int = 3,
    ) -> SensitiveWordFilter:
        """Build a filter from a UTF-8 file: one word a line; blank lines and lines whose
        first non-blank character is ``#`` are ignored (so ``C#`` can still be listed)."""
        path = Path(path)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise WordListError(
                f"{path}:{line}: not valid UTF-8 (byte {data[exc.start]:#04x}); "
                "save the word list as UTF-8"
            ) from None
        lines = (line.strip() for line in text.removeprefix("\ufeff").splitlines())
        words = [line for line in lines if line and not line.startswith("#")]
        return cls(
            words, skip_padding=skip_padding, pinyin_initials=pinyin_initials, max_gap=max_gap
        )

    def __len__(self) -> int:
        """Number of distinct listed words after folding (pinyin variants not counted)."""
        return self._size

    def __repr__(self) -> str:
        return f"<SensitiveWordFilter {self._size} words>"

    def find(self, text: str) -> list[WordHit]:
        """All hits in ``text``, leftmost first; of hits starting together the longest wins,
        and a hit overlapping an earlier chosen one is dropped."""
        core, identity = self._core(text)
        if next(self._automaton.scan(core), None) is None:
            return []  # the usual case: nothing listed occurs even before boundary checks
        hits = sorted(self._hits(text, core, identity), key=lambda h: (h.start, -h.end))
        chosen: list[WordHit] = []
        for hit in hits:
            if not chosen or hit.start >= chosen[-1].end:
                chosen.append(hit)
        return chosen

    def contains(self, text: str) -> bool:
        """Whether ``text`` has at least one hit; stops at the first one."""
        core, identity = self._core(text)
        for _, key_id in self._automaton.scan(core):
            pattern = self._patterns[key_id]
            if not (pattern.left_edge or pattern.right_edge):
                return True
            break  # a boundary check needs original positions: take the slower path
        else:
            return False
        return next(self._hits(text, core, identity), None) is not None

    def mask(self, text: str, char: str = "*") -> str:
        """Replace each hit's span by ``char`` once per non-padding character in it.

        The padding inside a hit disappears with it: ``傻 * 逼`` becomes ``**``.
        """
        hits = self.find(text)
        if not hits:
            return text
        parts: list[str] = []
        done = 0
        for hit in hits:
            shown = text[hit.start : hit.end].translate(self._table)
            count = len(shown) - shown.count(_VISIBLE) - shown.count(_INVISIBLE)
            if self.skip_padding is False:
                count = hit.end - hit.start
            parts += [text[done : hit.start], char * count]
            done = hit.end
        parts.append(text[done:])
        return "".join(parts)

    def _fold_word(self, word: str) -> str:
        folded = word.translate(self._table)
        if self.skip_padding:
            folded = folded.replace(_VISIBLE, "").replace(_INVISIBLE, "")
        return folded

    def _add(self, keys: dict[str, int], key: str, word: str) -> None:
        if not key or key in keys:
            return
        keys[key] = len(self._patterns)
        self._patterns.append(_Pattern(word, len(key), _spaced(key[0]), _spaced(key[-1])))

    def _add_initials(self, keys: dict[str, int]) -> None:
        try:
            import pypinyin  # noqa: F401  (fail now, not on the first Chinese word)
        except ImportError:
            raise MissingDependencyError(_PINYIN_MISSING) from None
        for pattern in self._patterns[: self._size]:
            folded = self._fold_word(pattern.word)
            if _HAN_WORD.fullmatch(folded):
                for variant in _initials_variants(folded):
                    self._add(keys, variant, pattern.word)

    def _core(self, text: str) -> tuple[str, bool]:
        """Folded text with padding removed and over-long padding runs turned into breaks,
        and whether its indexes are the original text's (nothing removed or expanded)."""
        core = text.translate(self._table)
        identity = len(core) == len(text)
        if not self.skip_padding:
            return core, identity
        if _INVISIBLE in core:
            core, identity = core.replace(_INVISIBLE, ""), False
        if _VISIBLE in core:
            core, identity = self._gap_run.sub(_BREAK, core).replace(_VISIBLE, ""), False
        return core, identity

    def _positions(self, text: str) -> list[int]:
        """The original index of each character of ``_core(text)``."""
        table, max_gap = self._table, self.max_gap
        positions: list[int] = []
        gap = 0
        for index, char in enumerate(text):
            folded = table[ord(char)]
            if self.skip_padding and folded == _VISIBLE:
                gap += 1
            elif not self.skip_padding or folded != _INVISIBLE:
                if gap > max_gap:
                    positions.append(-1)  # the break character
                gap = 0
                positions.extend(itertools.repeat(index, len(folded)))
        return positions

    def _hits(self, text: str, core: str, identity: bool) -> Iterator[WordHit]:
        """Every occurrence passing its boundary checks, overlaps included."""
        positions = None if identity else self._positions(text)
        for last, key_id in self._automaton.scan(core):
            pattern = self._patterns[key_id]
            first = last - pattern.length + 1
            if positions is None:
                start, end = first, last + 1
            else:
                start, end = positions[first], positions[last] + 1
            if pattern.left_edge and self._spaced_at(text, start - 1, -1):
                continue
            if pattern.right_edge and self._spaced_at(text, end, 0):
                continue
            yield WordHit(pattern.word, start, end)

    def _spaced_at(self, text: str, index: int, side: int) -> bool:
        """Whether text[index] folds to a letter or digit of a space-separated script."""
        if index < 0 or index >= len(text):
            return False
        folded = self._table[ord(text[index])]
        return bool(folded) and _spaced(folded[side])


@lru_cache(maxsize=8192)
def _char_initials(char: str) -> tuple[str, ...]:
    from pypinyin import Style, pinyin

    return tuple(pinyin(char, style=Style.FIRST_LETTER, heteronym=True)[0])


def _initials_variants(word: str) -> list[str]:
    """Pinyin-initial spellings of a Han ``word``, the in-context reading first, at most 16."""
    from pypinyin import Style, pinyin

    in_context = pinyin(word, style=Style.FIRST_LETTER, heteronym=True)
    if len(in_context) != len(word):
        in_context = [[] for _ in word]
    options = [
        list(dict.fromkeys([*context, *_char_initials(char)]))
        for context, char in zip(in_context, word)
    ]
    spellings = ("".join(letters) for letters in itertools.product(*options))
    variants = [s for s in spellings if len(s) >= 2 and s.isascii() and s.isalpha()]
    return variants[:_MAX_INITIALS_VARIANTS]
