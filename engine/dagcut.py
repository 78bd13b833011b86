"""jieba's segmentation without its HMM, computed in one tight pass.

jieba (``Tokenizer.cut(text, HMM=False)``) builds a DAG of dictionary words for each
run of Chinese and ASCII letters and digits, then picks the path with the highest summed
log frequency. This module does the same arithmetic, with the same tie-breaking, on the
same dictionary, but in a single backward pass with no generators: about twice as fast,
and the segmentation is identical (tests compare it with jieba on thousands of texts).
It is used for bots with ``nlp.hmm: false``, the default.
"""

from __future__ import annotations

import math
import re

__all__ = ["DagCutter", "splitting_char"]

# jieba's own patterns (jieba.re_han_default, re_skip_default, re_eng).
_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_SKIP = re.compile("(\r\n|\\s)", re.U)
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def splitting_char(word: str) -> str | None:
    """The first character of ``word`` at which jieba ends the run of text it segments
    (only CJK from U+4E00 to U+9FD5, ASCII letters and digits and ``+#&._%-`` stay in
    one), or None: a word holding one can never come out of segmentation whole. One
    character alone always does (ㄉ is a token of its own)."""
    if len(word) < 2:
        return None
    match = _HAN.match(word)
    end = match.end() if match else 0
    return word[end] if end < len(word) else None


class DagCutter:
    """Segments text exactly like ``jieba.Tokenizer.lcut(text, HMM=False)`` on ``freq``."""

    def __init__(self, freq: dict[str, int], total: int) -> None:
        self.freq = freq
        self.log_total = math.log(total)

    def __call__(self, text: str) -> list[str]:
        """The words of ``text``; spaces and symbols outside words come out one by one."""
        out: list[str] = []
        for block in _HAN.split(text):
            if not block:
                continue
            if _HAN.match(block):
                out.extend(self._cut_block(block))
            else:
                for piece in _SKIP.split(block):
                    if _SKIP.match(piece):
                        out.append(piece)
                    else:
                        out.extend(piece)
        return out

    def _cut_block(self, block: str) -> list[str]:
        get, log, log_total = self.freq.get, math.log, self.log_total
        size = len(block)
        best = [0.0] * (size + 1)
        end = list(range(size + 1))
        for start in range(size - 1, -1, -1):
            # Every dictionary word starting here; jieba breaks ties towards the longer one.
            score, stop = log(1) - log_total + best[start + 1], start
            found = False
            i = start
            # One lookup per prefix into the large dictionary, not `in` then `[]`.
            count = get(block[start])
            while count is not None:
                if count:
                    candidate = log(count) - log_total + best[i + 1]
                    if not found or candidate > score or (candidate == score and i > stop):
                        score, stop, found = candidate, i, True
                i += 1
                if i == size:
                    break
                count = get(block[start : i + 1])
            best[start], end[start] = score, stop
        words: list[str] = []
        letters = ""
        x = 0
        while x < size:
            y = end[x] + 1
            word = block[x:y]
            if y - x == 1 and word in _ASCII_ALNUM:  # single letters and digits run together
                letters += word
            else:
                if letters:
                    words.append(letters)
                    letters = ""
                words.append(word)
            x = y
        if letters:
            words.append(letters)
        return words
