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

Seeing through padding has a price: two words of a sentence can join across punctuation
(``真傻，逼得我…`` holds ``傻逼``). ``max_gap=0`` keeps only the invisible-character rule.

Listed words are found by an Aho-Corasick automaton (``kefu.aho_corasick``) over
the folded text; pinyin initials come from ``kefu.plugins.pinyin_initials``.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kefu import KefuError
from kefu.aho_corasick import Automaton
from kefu.fileread import FileTooLarge, read_regular_file
from kefu.normalize import simplified
from kefu.plugins.pinyin_initials import MissingDependencyError, initials_variants, require_pypinyin

__all__ = [
    "MAX_GAP",
    "MAX_WORD_LIST_BYTES",
    "MissingDependencyError",
    "SensitiveWordFilter",
    "WordHit",
    "WordListError",
    "matchable",
    "read_word_list",
    "reading",
]

# Markers that folding writes for padding. They are control characters, which are
# padding themselves, so they never occur in a folded word.
_VISIBLE = "\x00"
_BREAK = "\x01"  # a padding run longer than max_gap: no word may span it
_INVISIBLE = "\x02"
_PADDING_RUN = re.compile("[\x00\x02]+")

# Letters and digits of scripts below U+2E80 separate words with spaces; CJK does not.
_SPACED_SCRIPT_LIMIT = 0x2E80
# Every distinct character folded is cached; past this many the cache stops growing,
# so a flood of random code points cannot eat memory.
_FOLD_CACHE_LIMIT = 1 << 16
MAX_GAP = 10
"""The largest ``max_gap``. Padding is how people break up a word (``傻**逼``); past a
handful of symbols a reader no longer sees one word, and a wide gap joins words of
different sentences. The gap marker string and regex grow with it: 10**7 took 12 s to build."""
MAX_WORD_LIST_BYTES = 64 << 20
"""The largest word-list file ``read_word_list`` reads."""
_HAN_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]+")


class WordListError(KefuError, ValueError):
    """A word-list file cannot be read as UTF-8; the message names the file and line."""


@dataclass(frozen=True)
class WordHit:
    """One occurrence of a listed word: the word as listed and its span in the original text.

    The span covers exactly what the user typed, padding between the word's characters
    included, so ``text[start:end]`` is what a mask replaces.
    """

    word: str
    start: int
    end: int


class _Reading(NamedTuple):
    text: str  # as given
    marked: str  # folded, padding replaced by markers; longer than text if NFKC expanded
    core: str  # marked without padding; a run longer than max_gap left as one _BREAK


class _Pattern(NamedTuple):
    word: str  # reported word: as listed, or the Chinese word behind a pinyin variant
    length: int  # folded characters
    left_edge: bool  # must start at a word boundary of a space-separated script
    right_edge: bool


def _fold_char(char: str, skip_padding: bool) -> str:
    # Simplified, as kefu.normalize reads messages: 詐騙 is 诈骗 (one character for one).
    folded = simplified(unicodedata.normalize("NFKC", char).casefold())
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


class SensitiveWordFilter:
    """Finds and masks listed words in chat text, through padding, width and case tricks.

    :param words: the words to find; duplicates after folding keep the first spelling.
    :param skip_padding: see through padding between a word's characters.
    :param pinyin_initials: a Chinese word also matches its pinyin initials typed in Latin
        letters (``sb`` for 傻逼), as a whole token; needs the optional ``pypinyin``. A hit
        reports the Chinese word; a listed Latin word, or an earlier Chinese word with the
        same initials, takes precedence.
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
        if max_gap > MAX_GAP:
            raise ValueError(f"max_gap must be at most {MAX_GAP}, got {max_gap!r}")
        self.skip_padding = skip_padding
        self.pinyin_initials = pinyin_initials
        self.max_gap = max_gap
        self._table = _TABLES[bool(skip_padding)]
        self._long_gap = _VISIBLE * (max_gap + 1)
        self._gap_run = re.compile(f"{self._long_gap}+")
        keys: dict[str, int] = {}
        self._patterns: list[_Pattern] = []
        for word in words:
            if not isinstance(word, str):
                raise TypeError(f"sensitive words must be str, got {word!r}")
            self._add(keys, self._fold_word(word.strip()), word.strip())
        self._size = len(self._patterns)
        if pinyin_initials:
            self._add_initials(keys)
        self._automaton = Automaton(list(keys))

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
        first non-blank character is ``#`` are ignored (so a line ``C#`` is a word, not a comment)."""
        words = read_word_list(path)
        return cls(words, skip_padding=skip_padding, pinyin_initials=pinyin_initials, max_gap=max_gap)

    def __len__(self) -> int:
        """Number of distinct listed words after folding (pinyin variants not counted)."""
        return self._size

    def __repr__(self) -> str:
        return f"<SensitiveWordFilter {self._size} words>"

    def find(self, text: str) -> list[WordHit]:
        """All hits in ``text``, leftmost first; of hits starting together the longest wins,
        and a hit overlapping an earlier chosen one is dropped (``mask`` still covers it)."""
        chosen: list[WordHit] = []
        for hit in self._all_hits(text):
            if not chosen or hit.start >= chosen[-1].end:
                chosen.append(hit)
        return chosen

    def contains(self, text: str) -> bool:
        """Whether ``text`` has at least one hit; stops at the first one."""
        reading = self._read(text)
        matches = self._automaton.scan(reading.core)
        first = next(matches, None)
        if first is None:
            return False
        pattern = self._patterns[first[1]]
        if not (pattern.left_edge or pattern.right_edge):
            return True  # no boundary to check, so no need to locate it in the text
        hits = self._check(reading, itertools.chain([first], matches))
        return next(hits, None) is not None

    def mask(self, text: str, char: str = "*") -> str:
        """Replace the union of all hits' spans by ``char`` once per non-padding character.

        Overlapping hits are all covered, not just those ``find`` reports: with 傻子 and
        子弹 listed, ``傻子弹`` becomes ``***``. The padding inside a span disappears with
        it: ``傻 * 逼`` becomes ``**``.
        """
        spans = _merged_spans(self._all_hits(text))
        if not spans:
            return text
        parts: list[str] = []
        done = 0
        for start, end in spans:
            parts += [text[done:start], char * self._shown_length(text[start:end])]
            done = end
        parts.append(text[done:])
        return "".join(parts)

    def _all_hits(self, text: str) -> list[WordHit]:
        """Every hit in ``text``, overlapping ones included, by start then longest first."""
        reading = self._read(text)
        matches = list(self._automaton.scan(reading.core))
        if not matches:
            return []  # the usual case: nothing listed occurs, not even inside a longer word
        return sorted(self._check(reading, matches), key=lambda h: (h.start, -h.end))

    def _shown_length(self, span: str) -> int:
        if not self.skip_padding:
            return len(span)
        return sum(self._table[ord(c)] not in (_VISIBLE, _INVISIBLE) for c in span)

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
        require_pypinyin()
        for pattern in self._patterns[: self._size]:
            folded = self._fold_word(pattern.word)
            if _HAN_WORD.fullmatch(folded):
                for variant in initials_variants(folded):
                    self._add(keys, variant, pattern.word)

    def _read(self, text: str) -> _Reading:
        marked = text.translate(self._table)
        if not self.skip_padding:
            return _Reading(text, marked, marked)
        core = marked
        if _INVISIBLE in core:
            core = core.replace(_INVISIBLE, "")
        if _VISIBLE in core:
            if self._long_gap in core:  # most messages have none: skip the regex
                core = self._gap_run.sub(_BREAK, core)
            core = core.replace(_VISIBLE, "")
        return _Reading(text, marked, core)

    def _check(self, reading: _Reading, matches: Iterable[tuple[int, int]]) -> Iterator[WordHit]:
        """The matches that pass their boundary checks, located in the original text."""
        origin = self._origin(reading)
        for last, key_id in matches:
            pattern = self._patterns[key_id]
            start, end = origin(last - pattern.length + 1), origin(last) + 1
            if pattern.left_edge and self._spaced_at(reading.text, start - 1, -1):
                continue
            if pattern.right_edge and self._spaced_at(reading.text, end, 0):
                continue
            yield WordHit(pattern.word, start, end)

    def _origin(self, reading: _Reading) -> Callable[[int], int]:
        """Map an index in ``reading.core`` to the index of its character in the text."""
        text, marked, core = reading
        if len(marked) != len(text):
            return self._positions(text).__getitem__  # NFKC expanded a character: rare
        if len(core) == len(marked):
            return lambda index: index  # nothing removed: the indexes are the text's
        # Each run of padding was removed, or replaced by one _BREAK: the shift between
        # core and text indexes grows by the run's length (less one for a break) after it.
        starts, shifts = [0], [0]
        for run in _PADDING_RUN.finditer(marked):
            kept = 1 if run.group().count(_VISIBLE) > self.max_gap else 0
            removed = shifts[-1] + run.end() - run.start() - kept
            starts.append(run.end() - removed)  # core index of the character after the run
            shifts.append(removed)
        return lambda index: index + shifts[bisect.bisect_right(starts, index) - 1]

    def _positions(self, text: str) -> list[int]:
        """The original index of each character of the core, one character at a time."""
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

    def _spaced_at(self, text: str, index: int, side: int) -> bool:
        """Whether text[index] folds to a letter or digit of a space-separated script."""
        if index < 0 or index >= len(text):
            return False
        folded = self._table[ord(text[index])]
        return bool(folded) and _spaced(folded[side])


def _merged_spans(hits: Sequence[WordHit]) -> list[tuple[int, int]]:
    """The union of the hits' spans (sorted by start) as disjoint ``(start, end)`` pairs;
    a span that overlaps or touches the one before extends it."""
    spans: list[tuple[int, int]] = []
    for hit in hits:
        if spans and hit.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hit.end))
        else:
            spans.append((hit.start, hit.end))
    return spans


def reading(word: str) -> str:
    """What a listed word is matched as with padding skipped: folded, its symbols and
    spaces removed (``Fuck You`` reads as ``fuckyou``, ``C#`` as ``c``)."""
    folded = word.strip().translate(_TABLES[True])
    return folded.replace(_VISIBLE, "").replace(_INVISIBLE, "")


def matchable(word: str) -> bool:
    """Whether a listed word keeps a letter or digit once folded (``SensitiveWordFilter``
    with padding skipped); one that does not, such as an emoji, is dropped and never matches."""
    return bool(reading(word))


def read_word_list(path: str | Path) -> list[str]:
    """The words of a UTF-8 word-list file (see ``SensitiveWordFilter.from_file``): a regular
    file of at most 64 MiB, far above any real list (10,000 words take about 100 KB)."""
    path = Path(path)
    try:
        data = read_regular_file(path, MAX_WORD_LIST_BYTES)
    except OSError as exc:
        raise WordListError(f"{path}:1: cannot read word list: {exc.strerror or exc}") from None
    except FileTooLarge:
        raise WordListError(f"{path}:1: word list is larger than {MAX_WORD_LIST_BYTES >> 20} MiB") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise WordListError(
            f"{path}:{line}: not valid UTF-8 (byte {data[exc.start]:#04x}); save the word list as UTF-8"
        ) from None
    lines = (line.strip() for line in text.removeprefix("\ufeff").splitlines())
    return [line for line in lines if line and not line.startswith("#")]
