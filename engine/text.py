"""Segmentation: a per-engine jieba tokenizer with the bot's words, synonyms and stopwords.

The global ``jieba.dt`` is never touched: each analyzer gets its own
``jieba.Tokenizer`` whose dictionary starts as a copy of one shared base dictionary,
so two bots in one process cannot see each other's user words.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Sequence

from kefu.aho_corasick import Automaton
from kefu.cache import cache_dir
from kefu.dagcut import DagCutter
from kefu.jieba_dict import load_dictionary
from kefu.jieba_import import jieba
from kefu.normalize import DEFAULT_MAX_LENGTH, SPACED_CHAR, normalize
from kefu.spec import NlpSettings

__all__ = ["TextAnalyzer", "normalize"]

log = logging.getLogger(__name__)

# jieba logs "Building prefix dict..." at DEBUG through its own stderr handler;
# a library must stay quiet unless the application configures logging.
logging.getLogger("jieba").setLevel(logging.WARNING)


_SPACED = re.compile(SPACED_CHAR)


class _Phrases:
    """Synonym variants of several words, replaced in normalized text as one alternation of
    their ``word_pattern``s, longest first, would replace them: the leftmost, then the
    longest, and a Latin letter or digit at either end touching no other. Found by an
    Aho-Corasick automaton: that regex took 8 s to compile for 2,000 phrases (on every
    start, a saved model's too) and 20 ms per message."""

    def __init__(self, phrases: dict[str, str]) -> None:
        self.keys = list(phrases)
        self.canonical = [phrases[key] for key in self.keys]
        self.automaton = Automaton(self.keys)
        self.edges = [(bool(_SPACED.fullmatch(k[0])), bool(_SPACED.fullmatch(k[-1]))) for k in self.keys]

    def sub(self, text: str) -> str:
        """``text`` with each phrase found replaced by its canonical words."""
        longest: dict[int, tuple[int, int]] = {}  # start -> (end, key) of the longest there
        for last, key in self.automaton.scan(text):
            start, end = last + 1 - len(self.keys[key]), last + 1
            spaced_start, spaced_end = self.edges[key]
            if spaced_start and start > 0 and _SPACED.match(text, start - 1):
                continue
            if spaced_end and end < len(text) and _SPACED.match(text, end):
                continue
            if start not in longest or end > longest[start][0]:
                longest[start] = (end, key)
        if not longest:
            return text
        parts, done = [], 0
        for start in sorted(longest):
            if start >= done:
                end, key = longest[start]
                parts += [text[done:start], self.canonical[key]]
                done = end
        parts.append(text[done:])
        return "".join(parts)


def _latin(token: str) -> bool:
    """Whether ``token`` is made only of ASCII letters and digits."""
    return token.isascii() and token.isalnum()


def _whole_latin_runs(tokens: list[str]) -> list[str]:
    """``tokens`` with each run of ASCII letters and digits whole again. jieba cuts a
    dictionary word out of a longer run: user word ``618`` made an order number
    6180012345 into 618 and 0012345, synonym ``cc`` made ``accept`` a, 信用卡, ept."""
    out: list[str] = []
    latin = False  # whether the last token of out is Latin: each token is looked at once
    for token in tokens:
        if _latin(token):
            if latin:
                out[-1] += token
                continue
            latin = True
        else:
            latin = False
        out.append(token)
    return out


_base_lock = threading.Lock()
_base: jieba.Tokenizer | None = None


def _base_tokenizer() -> jieba.Tokenizer:
    """jieba's default dictionary, loaded once per process (cached under kefu's cache dir)."""
    global _base
    with _base_lock:
        if _base is None:
            tokenizer = jieba.Tokenizer()
            folder = cache_dir()
            tokenizer.FREQ, tokenizer.total = load_dictionary(folder)
            tokenizer.initialized = True
            # jieba, initialized, writes no cache of its own; if it ever did, it would write
            # it here rather than in /tmp.
            tokenizer.tmp_dir = str(folder)
            _base = tokenizer
        return _base


def _bot_tokenizer(user_words: Sequence[str]) -> jieba.Tokenizer:
    """A tokenizer on the shared base dictionary plus ``user_words`` (normalized, non-empty)."""
    base = _base_tokenizer()
    tokenizer = jieba.Tokenizer()
    # Share the base dictionary when nothing is added; copy it before adding words.
    tokenizer.FREQ = dict(base.FREQ) if user_words else base.FREQ
    tokenizer.total = base.total
    tokenizer.initialized = True
    tokenizer.tmp_dir = base.tmp_dir
    for word in user_words:
        tokenizer.add_word(word)
    return tokenizer


class TextAnalyzer:
    """Turns normalized text into tokens: jieba words with synonyms mapped to canonical ones.

    Synonym variants and canonical words join the user dictionary, so jieba keeps them
    whole and a synonym only ever replaces a whole word (免邮 is not rewritten inside
    免邮费). A variant of several words (``credit cards``, ``7天 无理由``), which no jieba
    word can be, is replaced in the text before segmenting, where its letter or digit edges
    touch no other; a canonical of several words becomes the words jieba makes of it, as
    in the examples that write it out.
    """

    def __init__(self, nlp: NlpSettings) -> None:
        self.nlp = nlp
        self.synonyms = dict(nlp.synonyms)
        words = {v: c for v, c in self.synonyms.items() if " " not in v}
        phrases = {v: c for v, c in self.synonyms.items() if " " in v}
        extra = dict.fromkeys((*nlp.user_dict, *words, *(c for c in self.synonyms.values() if " " not in c)))
        # Not deduplicated after normalizing: jieba's total grows with every add_word.
        self._user_words = [word for word in map(normalize, extra) if word]
        self._tokenizer = _bot_tokenizer(self._user_words)
        # Only a user word of letters and digits can split such a run: the base dictionary
        # has none (its few Latin words are upper case or hold symbols, as T恤 and c++ do).
        self._split_latin = any(len(word) > 1 and _latin(word) for word in self._user_words)
        self._stopwords = frozenset(nlp.stopwords)
        self._cut: Callable[[str], list[str]] = DagCutter(self._tokenizer.FREQ, self._tokenizer.total)
        self._word_synonyms = words
        self._phrases = _Phrases(phrases) if phrases else None
        # A canonical of several words, as the tokens it stands for (None: every canonical is one word).
        spread = {v: self._segment(c) for v, c in words.items() if " " in c}
        self._spread: dict[str, list[str]] | None = spread or None
        self._fast = False
        self.fast_tokenizer_matches: bool | None = None
        """Whether rjieba cut the probe texts exactly like jieba (None: not tried)."""

    def use_fast_tokenizer(self, probe: Sequence[str]) -> bool:
        """Segment with rjieba (jieba in Rust, ``pip install 'kefu[fast]'``) from now on, if it is
        installed and gives exactly this tokenizer's words on every text of ``probe`` (the
        bot's examples) and on each user word; otherwise keep the Python segmentation."""
        if self.nlp.hmm or self._fast:
            return self._fast
        try:
            import rjieba
        except ImportError:
            return False
        fast = rjieba.Jieba()
        words = self._user_words
        for word in words:  # with the frequency jieba gave it, so both weigh it the same
            fast.add_word(word, self._tokenizer.FREQ.get(word) or None, None)
        texts = [*probe, *words, *(f"我想问{w}的事" for w in words)]
        self.fast_tokenizer_matches = all(
            fast.cut(t, False) == self._cut(t) for t in (normalize(t) for t in texts)
        )
        if self.fast_tokenizer_matches:
            self._cut = functools.partial(fast.cut, hmm=False)
            self._fast = True
        else:
            log.info("rjieba segments this bot differently from jieba; using jieba's arithmetic")
        return self._fast

    def tokens(self, text: str) -> list[str]:
        """jieba tokens of normalized ``text``, synonyms replaced; spaces stay as tokens."""
        if self._phrases is not None:
            text = self._phrases.sub(text)
        tokens = self._segment(text)
        if self._spread is not None:
            spread = self._spread
            tokens = [part for t in tokens for part in spread.get(t, (t,))]
        if self._word_synonyms:
            # get(t, t) for each token, by a C-level map
            tokens = list(map(self._word_synonyms.get, tokens, tokens))
        return tokens

    def _segment(self, text: str) -> list[str]:
        tokens: list[str] = self._tokenizer.lcut(text, HMM=True) if self.nlp.hmm else self._cut(text)
        return _whole_latin_runs(tokens) if self._split_latin else tokens

    def words(self, tokens: list[str]) -> list[str]:
        """The tokens that count as words: no spaces, no stopwords."""
        stop = self._stopwords
        return [t for t in tokens if t != " " and t not in stop]

    def segment(self, text: str, max_length: int = DEFAULT_MAX_LENGTH) -> list[str]:
        """The words of one raw message (its first ``max_length`` characters), as the matcher sees them."""
        return self.words(self.tokens(normalize(text, max_length)))
