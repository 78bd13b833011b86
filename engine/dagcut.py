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
        # ``split`` with a capturing group alternates: text between runs, a run, text
        # between runs, ... So the odd pieces are the runs jieba segments, with no ``match``
        # to tell (the even ones hold no run character, or the split would have cut there).
        for n, block in enumerate(_HAN.split(text)):
            if n % 2:
                out.extend(self._cut_block(block))
            elif block:
                # The same alternation: the odd pieces are the spaces jieba keeps whole.
                for m, piece in enumerate(_SKIP.split(block)):
                    if m % 2:
                        out.append(piece)
                    else:
                        out.extend(piece)
        return out

    def _cut_block(self, block: str) -> list[str]:
        get, log = self.freq.get, math.log
        # jieba scores a word log(count) - log(total): log(1) (0.0) for an unknown character.
        unknown, log_total, none = -self.log_total, self.log_total, -math.inf
        size = len(block)
        best = [0.0] * (size + 1)
        end = list(range(size + 1))
        for start in range(size - 1, -1, -1):
            # Every dictionary word starting here; jieba breaks ties towards the longer one,
            # and words are tried shortest first, so a tie replaces (>=). With no word here
            # (``none`` left), the character stands alone, scored as an unknown one.
            score, stop = none, start
            i = start
            # One lookup per prefix into the large dictionary, not `in` then `[]`.
            count = get(block[start])
            while count is not None:
                if count:
                    candidate = log(count) - log_total + best[i + 1]
                    if candidate >= score:
                        score, stop = candidate, i
                i += 1
                if i == size:
                    break
                count = get(block[start : i + 1])
            best[start] = score if score > none else unknown + best[start + 1]
            end[start] = stop
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
