"""TF-IDF features over jieba word n-grams and character n-grams.

Two blocks of features: word n-grams from the bot's jieba tokenizer and character
n-grams of the normalized text (padded with a space at each end, so n-grams see where
the text starts and ends). Each block is TF-IDF weighted with scikit-learn's formula
(smooth idf, optional sublinear tf) and L2-normalized; the blocks are scaled by
``word_weight`` and ``char_weight`` and the joined vector is L2-normalized again.
``vector`` computes one query's features in plain Python and NumPy (no scikit-learn
call per query) and gives exactly the row ``fit_transform`` gives.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray

from kefu.jobs import worker_count
from kefu.normalize import normalize
from kefu.spec import MatcherSettings, NlpSettings
from kefu.text import TextAnalyzer

if TYPE_CHECKING:  # SciPy only trains: a loaded model turns messages into vectors without it
    import scipy.sparse as sp

__all__ = ["FeatureSpace", "QueryVector"]


class QueryVector(NamedTuple):
    """A message's features: indices (ascending), TF-IDF weights, and the known share.

    ``indices``/``values`` form the L2-normalized vector over the terms the bot knows,
    exactly as a training example's row. ``known`` (0-1) is how much of the message's
    TF-IDF mass those terms carry: below 1 when it has words the bot never saw.
    """

    indices: NDArray[np.int32]
    values: NDArray[np.float64]
    known: float = 1.0


_NO_INDEX = np.zeros(0, np.int32)
_NO_VALUE = np.zeros(0)
_MINUS_ONE = itertools.repeat(-1)

# ``_count(counts, items)`` adds each item's occurrences to the dict ``counts``: the loop
# ``Counter`` runs (in C in CPython), without ``Counter()``'s two Python-level calls and
# ``isinstance(items, Mapping)`` check, which cost 3% of a match on the 10k bench bot
# (``bench/instructions.py``). Private to ``collections``, so with a fallback.
try:
    from collections import _count_elements as _count  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - not in this Python

    def _count(counts: dict[Any, int], items: Iterable[Any]) -> None:
        for item in items:
            counts[item] = counts.get(item, 0) + 1


# Below this many texts, worker processes cost more than they save: each starts, imports
# kefu and loads jieba's dictionary. Whole trainings with n_jobs=2 (2026-12-07, 2 cores,
# alternating runs): 15,000 texts 6.4 / 8.8 s in this process against 7.1 / 8.4 s in
# workers, 40,000 texts 11.7 / 9.9 against 9.5 / 10.0, 60,000 texts 16.7 / 15.9 / 13.6
# against 16.1 / 12.3 / 12.7, 100,000 texts 22.5 / 25.3 against 18.4 / 19.9.
PARALLEL_MIN_TEXTS = 50_000
TEXTS_PER_WORKER = 25_000  # each worker gets at least this many


def _word_ngrams(words: list[str], low: int, high: int) -> list[str]:
    out = list(words) if low == 1 else []
    if high >= 2 and low <= 2:  # the common case, without a Python-level loop
        out.extend(map(" ".join, itertools.pairwise(words)))
    for n in range(max(low, 3), high + 1):
        out.extend([" ".join(words[i : i + n]) for i in range(len(words) - n + 1)])
    return out


def _char_ngrams(text: str, low: int, high: int) -> list[str]:
    # n = 1, 2, 3 by C-level map over shifted copies; longer ones by slicing.
    out: list[str] = list(text) if low == 1 else []
    if low <= 3 and high >= 2:
        pairs = list(map(operator.add, text, text[1:]))
        if low <= 2:
            out.extend(pairs)
        if high >= 3:  # each pair and the next character: the pairs are not made twice
            out.extend(map(operator.add, pairs, text[2:]))
    for n in range(max(low, 4), high + 1):
        out.extend([text[i : i + n] for i in range(len(text) - n + 1)])
    return out


class FeatureSpace:
    """Turns raw text into TF-IDF vectors; fitted on a bot's examples."""

    def __init__(self, analyzer: TextAnalyzer, settings: MatcherSettings, max_length: int) -> None:
        self.analyzer = analyzer
        self.settings = settings
        self.max_length = max_length
        self.word_vocab: dict[str, int] = {}
        self.char_vocab: dict[str, int] = {}
        self.word_idf = np.zeros(0)
        self.char_idf = np.zeros(0)
        self.n_docs = 0
        # Only the ratio of the two weights counts (the joined vector is L2-normalized), so
        # they are scaled to at most 1: squares of 1e200 overflowed, of 1e-200 vanished, and
        # such a bot matched nothing.
        largest = max(settings.word_weight, settings.char_weight)
        self.block_weights = (
            (settings.word_weight / largest, settings.char_weight / largest) if largest > 0 else (0.0, 0.0)
        )
        self._prepare_lookup()

    @property
    def n_features(self) -> int:
        """Width of a feature vector: word block then character block."""
        return len(self.word_vocab) + len(self.char_vocab)

    def terms(self, text: str, *, normalized: bool = False) -> tuple[list[str], list[str]]:
        """The word n-grams and character n-grams of one message (raw, or already normalized)."""
        tokens = self.analyzer.tokens(text if normalized else normalize(text, self.max_length))
        low, high = self.settings.word_ngrams
        words = _word_ngrams(self.analyzer.words(tokens), low, high)
        clow, chigh = self.settings.char_ngrams
        text = "".join(tokens)
        if not text.strip():
            # Nothing but spaces after normalization (an emoji, punctuation, an empty line):
            # the padding alone would make " " n-grams that every example has, and the
            # message would score like a vague question instead of falling back.
            return words, []
        if self.settings.char_padding:  # one string, spaces kept: n-grams see word edges
            return words, _char_ngrams(f" {text} ", clow, chigh)
        chars: list[str] = []
        for chunk in text.split():
            chars.extend(_char_ngrams(chunk, clow, chigh))
        return words, chars

    def fit_transform(self, texts: Sequence[str], n_jobs: int = 1) -> sp.csr_matrix:
        """Learn vocabulary and idf from ``texts``; return their feature matrix."""
        (word_counts, self.word_vocab), (char_counts, self.char_vocab) = self._counts(texts, n_jobs)
        self.n_docs = len(texts)
        word_block, self.word_idf = self._tfidf(word_counts)
        char_block, self.char_idf = self._tfidf(char_counts)
        self._prepare_lookup()
        import scipy.sparse as sp
        from sklearn.preprocessing import normalize as l2_normalize  # training only: cold starts skip it

        word_weight, char_weight = self.block_weights
        joined = sp.hstack([word_block * word_weight, char_block * char_weight], format="csr")
        return l2_normalize(joined).astype(np.float64)

    def _counts(self, texts: Sequence[str], n_jobs: int) -> tuple[_Counts, _Counts]:
        """The word and the character count matrices of ``texts``, each with its vocabulary."""
        workers = worker_count(n_jobs, len(texts) // TEXTS_PER_WORKER)
        if workers == 1 or len(texts) < PARALLEL_MIN_TEXTS:
            return self._counted(texts)
        import joblib  # only big bots fan out; imported here to keep start-up light

        chunks = np.array_split(np.arange(len(texts)), workers * 4)
        config = (self.analyzer.nlp, self.settings, self.max_length)
        parts = joblib.Parallel(n_jobs=workers)(
            joblib.delayed(_counts_of)(config, [texts[i] for i in chunk]) for chunk in chunks
        )
        return _joined([w for w, _ in parts]), _joined([c for _, c in parts])

    def _counted(self, texts: Sequence[str]) -> tuple[_Counts, _Counts]:
        """The word and character count matrices of ``texts``, segmented here."""
        all_terms = [self.terms(t) for t in texts]
        return _count_matrix([w for w, _ in all_terms]), _count_matrix([c for _, c in all_terms])

    def _tfidf(self, counts: sp.csr_matrix) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
        from sklearn.feature_extraction.text import TfidfTransformer

        if counts.shape[1] == 0:
            return counts, np.zeros(0)
        transformer = TfidfTransformer(sublinear_tf=self.settings.sublinear_tf, smooth_idf=True)
        block = transformer.fit_transform(counts)
        return block, np.asarray(transformer.idf_, dtype=np.float64)

    def vector(self, text: str, *, normalized: bool = False) -> QueryVector:
        """The features of one message; for known terms, its row in ``fit_transform``
        (the same weights; indices in no particular order).

        Terms the bot has never seen carry no feature, but they count towards ``known``:
        each occurrence weighs as much as a term seen in no example (the largest idf), and
        ``known`` is the share of the message's TF-IDF mass the bot recognizes, per block,
        weighted like the blocks. The matcher uses it to tell a message made mostly of
        unknown words from one it fully understands: the key to out-of-scope questions.
        A message whose only known term is the padding space gets no features at all.

        This is the hot path of every reply. A message has a few dozen terms, where NumPy's
        per-call cost dominates its arithmetic: the weights are computed in plain Python
        over lists and turned into arrays once, at the end.
        """
        words, chars = self.terms(text, normalized=normalized)
        # Counted straight from C-level maps (no list of indices in between), by Counter's
        # own loop: Counter() around it adds Python-level calls and an ABC check.
        word_counts: dict[int, int] = {}
        char_counts: dict[int, int] = {}
        _count(word_counts, map(self.word_vocab.get, words, _MINUS_ONE))
        _count(char_counts, map(self._char_index.get, chars, _MINUS_ONE))
        word_unknown, char_unknown = word_counts.pop(-1, 0), char_counts.pop(-1, 0)
        if not word_counts and char_counts.keys() <= self._padding_only:
            # Only the padding is known (every text has it): nothing the bot can judge.
            return QueryVector(_NO_INDEX, _NO_VALUE, 0.0)
        idf, tf = self._idf_list, self._tf_list
        word_values = [idf[i] * tf[c] for i, c in word_counts.items()]
        char_values = [idf[i] * tf[c] for i, c in char_counts.items()]
        word_sq = sum(map(operator.mul, word_values, word_values))
        char_sq = sum(map(operator.mul, char_values, char_values))
        # Each block is L2-normalized and weighted, then the joined vector normalized again;
        # ``known`` weighs each block's known mass against its unknown terms (at the
        # largest idf each). Written out per block: a loop over the two cost more.
        (word_weight, char_weight), unseen_sq = self.block_weights, self._unseen_idf**2
        plain_sq = known_sq = word_scale = char_scale = 0.0
        if word_sq > 0.0 and word_weight > 0.0:
            plain_sq += word_weight * word_weight
            known_sq += word_weight * word_weight * word_sq / (word_sq + word_unknown * unseen_sq)
            word_scale = word_weight / math.sqrt(word_sq)
        if char_sq > 0.0 and char_weight > 0.0:
            plain_sq += char_weight * char_weight
            known_sq += char_weight * char_weight * char_sq / (char_sq + char_unknown * unseen_sq)
            char_scale = char_weight / math.sqrt(char_sq)
        if plain_sq == 0.0:
            return QueryVector(_NO_INDEX, _NO_VALUE, 0.0)
        norm = math.sqrt(plain_sq)
        word_scale, char_scale = word_scale / norm, char_scale / norm
        # ``fromiter`` with the dtype and length known: ``np.array`` of a list first
        # inspects every item for its type and shape.
        size = len(word_values) + len(char_values)
        values = np.fromiter(
            itertools.chain([v * word_scale for v in word_values], [v * char_scale for v in char_values]),
            np.float64,
            size,
        )
        indices = np.fromiter(itertools.chain(word_counts, char_counts), np.int32, size)
        known = math.sqrt(known_sq / plain_sq) if self.settings.count_unknown else 1.0
        return QueryVector(indices, values, known)

    def _tf(self, count: int) -> float:
        return 1.0 + math.log(count) if self.settings.sublinear_tf else float(count)

    def _prepare_lookup(self) -> None:
        """Constants ``vector`` needs on every call."""
        offset = len(self.word_vocab)
        # Character terms map straight to their column in the joined vector.
        self._char_index = {term: i + offset for term, i in self.char_vocab.items()}
        # The n-grams made only of spaces: with the padding, every message has " ".
        self._padding_only = {i for term, i in self._char_index.items() if not term.strip()}
        # One list for both blocks: list indexing beats NumPy scalars.
        self._idf_list: list[float] = np.concatenate((self.word_idf, self.char_idf)).tolist()
        # tf weight by count, for every count a text of max_length can produce.
        self._tf_list = [0.0] + [self._tf(c) for c in range(1, self.max_length + 4)]
        self._unseen_idf = math.log(self.n_docs + 1.0) + 1.0  # smooth idf of df = 0

    def state(self) -> dict[str, Any]:
        """What a saved model needs to rebuild this space (vocabularies in index order)."""
        return {
            "word_terms": _terms_in_order(self.word_vocab),
            "char_terms": _terms_in_order(self.char_vocab),
            "n_docs": self.n_docs,
        }

    def restore(
        self, state: dict[str, Any], word_idf: NDArray[np.float64], char_idf: NDArray[np.float64]
    ) -> None:
        """Reinstate a fitted space from ``state()`` and the idf arrays."""
        self.word_vocab = {term: i for i, term in enumerate(state["word_terms"])}
        self.char_vocab = {term: i for i, term in enumerate(state["char_terms"])}
        self.word_idf = np.asarray(word_idf, np.float64)
        self.char_idf = np.asarray(char_idf, np.float64)
        self.n_docs = int(state["n_docs"])
        self._prepare_lookup()


_worker_spaces: dict[tuple[NlpSettings, MatcherSettings, int], FeatureSpace] = {}


_Counts: TypeAlias = "tuple[sp.csr_matrix, dict[str, int]]"
"""A count matrix (a row per text) and its vocabulary (term -> column, in sorted order)."""


def _counts_of(config: tuple[NlpSettings, MatcherSettings, int], texts: list[str]) -> tuple[_Counts, _Counts]:
    """Runs in a worker process: the word and character counts of ``texts``. Counts go back
    rather than terms: a chunk's distinct terms and its arrays pickle far faster than every
    term of every text (100,000 texts: 4.5-5.0 s in two workers against 6.4-8.1 s in one
    process; before, sending the terms, two workers were no faster than one process).

    Tokenizers hold locks and cannot be pickled, so each worker builds (and keeps, for the
    next call) its own from the settings."""
    space = _worker_spaces.get(config)
    if space is None:
        nlp, settings, max_length = config
        space = _worker_spaces[config] = FeatureSpace(TextAnalyzer(nlp), settings, max_length)
    return space._counted(texts)


def _joined(parts: list[_Counts]) -> _Counts:
    """The chunks' counts as one matrix, numbered as ``_count_matrix`` numbers all texts at
    once. Each chunk numbers its terms in sorted order too, so renumbering keeps every row's
    columns sorted and its duplicates summed: nothing is sorted again."""
    import scipy.sparse as sp

    vocab = {term: i for i, term in enumerate(sorted(set().union(*(terms for _, terms in parts))))}
    blocks = []
    for matrix, terms in parts:
        # terms maps each term to its column, in sorted order: its keys are in column order.
        renumbered = np.fromiter(map(vocab.__getitem__, terms), np.int64, len(terms))
        blocks.append(
            sp.csr_matrix(
                (matrix.data, renumbered[matrix.indices], matrix.indptr), shape=(matrix.shape[0], len(vocab))
            )
        )
    return sp.vstack(blocks, format="csr"), vocab


def _terms_in_order(vocab: dict[str, int]) -> list[str]:
    ordered = [""] * len(vocab)
    for term, index in vocab.items():
        ordered[index] = term
    return ordered


def _count_matrix(docs: list[list[str]]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Term counts per document, with terms numbered in sorted order (like scikit-learn)."""
    import scipy.sparse as sp

    vocab = {term: i for i, term in enumerate(sorted(set(itertools.chain.from_iterable(docs))))}
    lengths = np.fromiter(map(len, docs), np.int64, len(docs))
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    indices = np.fromiter(
        map(vocab.__getitem__, itertools.chain.from_iterable(docs)), np.int64, int(indptr[-1])
    )
    matrix = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(docs), len(vocab)))
    matrix.sum_duplicates()
    return matrix, vocab
