"""Segmentation: a per-engine jieba tokenizer with the bot's words, synonyms and stopwords.

The global ``jieba.dt`` is never touched: each analyzer gets its own
``jieba.Tokenizer`` whose dictionary starts as a copy of one shared base dictionary,
so two bots in one process cannot see each other's user words.
"""

from __future__ import annotations

import logging
import re
import threading

import jieba

from kefu.cache import cache_dir
from kefu.normalize import normalize
from kefu.spec import NlpSettings

__all__ = ["TextAnalyzer", "normalize"]

log = logging.getLogger(__name__)

# jieba logs "Building prefix dict..." at DEBUG through its own stderr handler;
# a library must stay quiet unless the application configures logging.
logging.getLogger("jieba").setLevel(logging.WARNING)

_base_lock = threading.Lock()
_base: jieba.Tokenizer | None = None


def _base_tokenizer() -> jieba.Tokenizer:
    """jieba's default dictionary, loaded once per process (cached under kefu's cache dir)."""
    global _base
    with _base_lock:
        if _base is None:
            tokenizer = jieba.Tokenizer()
            folder = cache_dir()
            try:
                folder.mkdir(parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(folder)
            except OSError:
                # Unwritable cache: jieba would fall back to /tmp; build in memory instead.
                tokenizer.tmp_dir = str(folder)
                log.warning("kefu cache dir %s is not writable; jieba will rebuild each start", folder)
            tokenizer.initialize()
            _base = tokenizer
        return _base


def _bot_tokenizer(user_words: tuple[str, ...]) -> jieba.Tokenizer:
    base = _base_tokenizer()
    tokenizer = jieba.Tokenizer()
    # Share the base dictionary when nothing is added; copy it before adding words.
    tokenizer.FREQ = dict(base.FREQ) if user_words else base.FREQ
    tokenizer.total = base.total
    tokenizer.initialized = True
    tokenizer.tmp_dir = base.tmp_dir
    for word in user_words:
        word = normalize(word)
        if word:
            tokenizer.add_word(word)
    return tokenizer


class TextAnalyzer:
    """Turns normalized text into the word tokens the features are built from."""

    def __init__(self, nlp: NlpSettings) -> None:
        self.nlp = nlp
        self._tokenizer = _bot_tokenizer(nlp.user_dict)
        self._stopwords = frozenset(nlp.stopwords)
        pairs = dict(nlp.synonyms)
        self._synonyms = pairs
        variants = sorted(pairs, key=len, reverse=True)  # longest first: 退钱款 before 退钱
        self._synonym_re = re.compile("|".join(map(re.escape, variants))) if variants else None

    def apply_synonyms(self, text: str) -> str:
        """Replace every synonym variant in normalized ``text`` by its canonical word."""
        if self._synonym_re is None:
            return text
        return self._synonym_re.sub(lambda m: self._synonyms[m.group(0)], text)

    def words(self, text: str) -> list[str]:
        """jieba words of normalized, synonym-mapped ``text``, without spaces and stopwords."""
        stop = self._stopwords
        return [
            w for w in self._tokenizer.lcut(text, HMM=self.nlp.hmm) if w != " " and w not in stop
        ]

    def segment(self, text: str) -> list[str]:
        """The full pipeline for one raw message: normalize, synonyms, words."""
        return self.words(self.apply_synonyms(normalize(text)))
