"""Scoring every intent at once: a linear head, nearest-example cosine, or both.

* ``linear`` (the default): one-vs-rest linear SVMs over the features; only the rows of
  the weight matrix for the message's features are touched.
* ``cosine``: an intent's score is the cosine similarity between the message and its
  nearest example, computed through an inverted index (the example matrix in CSC
  form): work proportional to the postings of the message's features, no Python loop
  over intents or examples.
* ``ensemble``: the linear score plus ``cosine_weight`` times the cosine score.

Scores become confidences by Platt scaling, ``sigmoid(a * score + c)``, fitted when the
bot was trained (``kefu.training``).

Patterns, keywords and active contexts then adjust the scores (``Matcher.rank``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

from kefu.bot_regex import Pattern, compile_regex, required_characters, search
from kefu.csr import CsrArrays
from kefu.features import QueryVector
from kefu.normalize import normalize, word_pattern
from kefu.spec import BotSpec

__all__ = ["Matcher", "Ranking", "verdict"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class Ranking(NamedTuple):
    """Per-intent confidences for one message, best first (top-k only). A named tuple: one
    is made for every message, and a frozen dataclass takes twice as long to build."""

    order: list[int]
    confidences: list[float]
    rule: str | None = None


class Matcher:
    """Fitted scoring arrays plus the bot's rules; built by ``kefu.model``."""

    def __init__(
        self,
        spec: BotSpec,
        *,
        examples: CsrArrays,
        example_intent: NDArray[np.int32],
        weights: FloatArray | CsrArrays | None,
        bias: FloatArray | None,
        calibration: tuple[float, float],
    ) -> None:
        self.spec = spec
        self.intents = tuple(intent.name for intent in spec.intents)
        self.n_intents = len(self.intents)
        self.head = spec.matcher.head if weights is not None else "cosine"
        self.cosine_weight = spec.matcher.cosine_weight
        self.example_intent = np.asarray(example_intent, np.int32)
        self.n_examples = examples.shape[0]
        self._examples = examples
        # The linear head needs the examples only to explain a match, now and then: their
        # inverted index (and SciPy, to build it) waits until then.
        self._postings = self._example_postings() if self.head != "linear" else None
        # Examples are stored grouped by intent, so a per-intent max is one reduceat.
        self.intent_start = np.searchsorted(self.example_intent, np.arange(self.n_intents)).astype(np.intp)
        """Index of each intent's first example (examples are stored grouped by intent)."""
        self.weights = weights
        self.bias = bias
        # Sparse weights (features x intents) in rows are already the postings of each feature.
        self._dense_weights = weights if isinstance(weights, np.ndarray) else None
        self._weight_rows = (
            _Postings(weights.sorted(), dense_min=max(DENSE_ROW_MIN, self.n_intents // 8))
            if isinstance(weights, CsrArrays)
            else None
        )
        self.calibration = calibration
        # What "no evidence" scores: a hinge-loss SVM puts a confident "not this intent"
        # at -1; the cosine of an unrelated text is 0.
        self._empty_score = -1.0 if self.head != "cosine" else 0.0
        self._rules = _compile_rules(spec)
        self._needs_context = np.array([bool(i.input_contexts) for i in spec.intents])
        self._contexts = [frozenset(i.input_contexts) for i in spec.intents]
        self._any_context = bool(self._needs_context.any())
        self._no_context_mask = ~self._needs_context

    # -- scores -----------------------------------------------------------------------------

    def example_scores(self, query: QueryVector) -> FloatArray:
        """Cosine similarity of the message with every example (inverted-index product)."""
        if self._postings is None:  # two threads may both build it; either result serves
            self._postings = self._example_postings()
        return self._postings.product(query.indices, query.values, self.n_examples)

    def _example_postings(self) -> _Postings:
        # The cosine and ensemble heads multiply every message by all examples: a feature
        # in many of them (a common character, the padding) is cheaper as a dense row, the
        # busiest first, in at most the bytes the sparse examples take (12 a non-zero).
        dense_rows = self.head != "linear" and self.n_examples >= DENSE_EXAMPLES_FROM
        busy = max(DENSE_ROW_MIN, self.n_examples // 8) if dense_rows else 0
        most = self._examples.nnz * 12 // (8 * max(1, self.n_examples))
        by_feature = CsrArrays.of(self._examples.matrix().T.tocsr())  # one row per feature
        return _Postings(by_feature, dense_min=busy, dense_max=most)

    def cosine_scores(self, query: QueryVector) -> FloatArray:
        """Each intent's cosine similarity with its nearest example."""
        per_intent: FloatArray = np.maximum.reduceat(self.example_scores(query), self.intent_start)
        return per_intent

    def linear_scores(self, query: QueryVector) -> FloatArray:
        """Each intent's linear score ``W q + b`` (touching only the query's features)."""
        if self.bias is None:
            raise ValueError("this model has no linear head")
        if self._weight_rows is not None:
            return self._weight_rows.product(query.indices, query.values, self.n_intents) + self.bias
        if self._dense_weights is None:
            raise ValueError("this model has no linear head")
        # ``take`` rather than fancy indexing: the same rows, about a microsecond sooner.
        scores: FloatArray = query.values @ self._dense_weights.take(query.indices, axis=0) + self.bias
        return scores

    def raw_scores(self, query: QueryVector) -> FloatArray:
        """Each intent's uncalibrated score under this head."""
        if self.head == "cosine":
            return self.cosine_scores(query)
        scores = self.linear_scores(query)
        if self.head == "ensemble":
            scores = scores + self.cosine_weight * self.cosine_scores(query)
        return scores

    def available(self, contexts: frozenset[str]) -> BoolArray | None:
        """Which intents can match with these contexts open (None: all of them)."""
        if not self._any_context:
            return None
        if not contexts:
            return self._no_context_mask
        mask: BoolArray = self._no_context_mask.copy()  # filled in below; the shared mask stays as is
        for index in np.flatnonzero(self._needs_context):
            mask[index] = self._contexts[index] <= contexts
        return mask

    # -- ranking ----------------------------------------------------------------------------

    def rank(self, query: QueryVector, prepared_text: str, contexts: frozenset[str], top_k: int) -> Ranking:
        """Top-k intents with confidences, after rules and contexts.

        An intent that needs input contexts is out of the running unless all of them are
        active; when they are, its confidence gets ``CONTEXT_BOOST`` (docs/intents.md).
        A pattern match makes an intent certain (1.0); a keyword raises it to at least
        ``keyword_score``. Only the best raw scores (plus intents a rule or an open context
        concerns) are calibrated: per-intent work in NumPy, per-candidate work in Python.

        Confidence: ``query.known`` (< 1 when the message has words the bot never saw; see
        ``FeatureSpace.vector``) is the share of the message the bot can judge. Intents are
        ranked on the known part alone, and each confidence is the calibrated value of
        ``known * score + (1 - known) * empty_score``: the unknown share of the message
        counts as evidence for nothing. Ranking never changes; confidence drops. A message
        with no known feature gets no candidates.
        """
        available = self.available(contexts)
        if query.indices.size == 0 or query.known == 0.0:
            raw = None
        else:
            raw = self.raw_scores(query)
            if available is not None:
                raw[~available] = -np.inf
        scale, shift = self._calibration_line(query.known)
        confidence = self._calibrated(raw, scale, shift)
        pool: dict[int, float] = {}
        if raw is not None:
            top = _top_indices(raw, top_k)
            # Plain Python floats from here on: NumPy scalars cost more than the arithmetic.
            pool = {
                i: _sigmoid(scale * score + shift)
                for i, score in zip(top, raw.take(top).tolist(), strict=True)
                if score > -math.inf
            }
            if contexts and available is not None:
                for i in np.flatnonzero(self._needs_context & available).tolist():
                    pool[i] = min(1.0, confidence(i) + CONTEXT_BOOST)
        # Most bots have no patterns or keywords: no call then.
        fired = self._apply_rules(pool, confidence, prepared_text, available) if self._rules else {}
        # Best confidence first, then the lower index: sorting (-confidence, index) pairs
        # compares in C, where a key function would run once per candidate.
        ranked = sorted([(-conf, i) for i, conf in pool.items()])[:top_k]
        # Only the winner's own rule decides (and skips the ambiguity check): another
        # intent's keyword that lost on confidence decided nothing.
        rule = fired.get(ranked[0][1]) if ranked and fired else None
        return Ranking([i for _, i in ranked], [-conf for conf, _ in ranked], rule)

    @staticmethod
    def _calibrated(raw: FloatArray | None, scale: float, shift: float) -> Callable[[int], float]:
        """Intent index -> its confidence for this message (all 0 when nothing is known)."""
        if raw is None:
            return lambda index: 0.0
        return lambda index: _sigmoid(scale * float(raw[index]) + shift)

    def _calibration_line(self, known: float) -> tuple[float, float]:
        """``(scale, shift)``: a raw score's confidence is ``sigmoid(scale * raw + shift)``."""
        a, c = self.calibration
        return a * known, a * (1.0 - known) * self._empty_score + c

    def _apply_rules(
        self,
        pool: dict[int, float],
        confidence: Callable[[int], float],
        text: str,
        available: BoolArray | None,
    ) -> dict[int, str]:
        """Raise the intents whose patterns or keywords ``text`` holds; the rule that fired
        for each (a pattern before a keyword)."""
        fired: dict[int, str] = {}
        keyword_score = self.spec.settings.keyword_score
        for index, owner, patterns, keywords in self._rules:
            if available is not None and not available[index]:
                continue
            for pattern, needed in patterns:
                # ``search`` skips a text without a character every match needs; the same
                # test here spares most patterns the call (two function calls each).
                for char in needed:
                    if char not in text:
                        break
                else:
                    if search(pattern, text, owner):
                        pool[index] = 1.0
                        fired[index] = f"pattern:{pattern.pattern}"
                        break
            else:
                for word, edges in keywords:
                    # The plain test first: most messages hold no keyword.
                    if word in text and edges.search(text):
                        pool[index] = max(pool.get(index, confidence(index)), keyword_score)
                        fired[index] = f"keyword:{word}"
                        break
        return fired


def verdict(
    confidence: float, runner_up: float, threshold: float, margin: float, rule: str | None = None
) -> str:
    """What the confidences of the top two candidates decide: "fallback" below the
    threshold, "ambiguous" when the runner-up is within the margin (unless a rule decided),
    else "answer". The engine and ``kefu tune`` both decide with this."""
    if confidence < threshold:
        return "fallback"
    if rule is None and confidence - runner_up < margin:
        return "ambiguous"
    return "answer"


ARGMAX_TOP_K = 5
"""Up to this many top intents are found by repeated ``argmax``; more by one partition."""


def _top_indices(raw: FloatArray, k: int) -> list[int]:
    """Indices of the ``k`` highest scores, in no promised order; of tied scores, the lower
    indices, as a stable sort of all of them would pick (``argpartition`` picks any).

    For the usual five candidates, five ``argmax`` calls over a copy take about half the
    time of one ``argpartition`` (3-4 µs against 6-8 at 250-900 intents)."""
    n = raw.shape[0]
    if k >= n:
        return list(range(n))
    if k > ARGMAX_TOP_K:  # the k-th best score, everything above it, then the first ties
        kth = np.partition(raw, n - k)[n - k]
        above = np.flatnonzero(raw > kth)
        return cast(list[int], [*above.tolist(), *np.flatnonzero(raw == kth)[: k - above.size].tolist()])
    left, top = raw.copy(), []
    for _ in range(k):
        best = int(left.argmax())
        top.append(best)
        left[best] = -math.inf
    return top


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


class _Postings:
    """A sparse matrix by columns, multiplied by a sparse query without a Python loop.

    Columns with at least ``dense_min`` entries (the ``dense_max`` longest of them, if
    given) are also kept as dense rows: a message's common features have the longest
    postings, and one BLAS product over their rows costs less than gathering their entries
    one by one. Gathers use ``take``: the same values as fancy indexing, for 0.3-1 µs less
    each, which counts at a few dozen features a message."""

    def __init__(self, columns: CsrArrays, dense_min: int = 0, dense_max: int | None = None) -> None:
        """``columns``: the matrix's columns as rows (its transpose in CSR form), sorted."""
        ptr = columns.indptr.astype(np.int64)
        self.starts, self.lengths = ptr[:-1], np.diff(ptr)
        self.rows = columns.indices.astype(np.int32)
        self.values = columns.data.astype(np.float64)
        dense = np.flatnonzero(self.lengths >= dense_min) if dense_min > 0 else np.zeros(0, np.intp)
        if dense_max is not None and dense.size > dense_max:  # the longest columns
            dense = np.sort(dense[np.argsort(-self.lengths[dense], kind="stable")[:dense_max]])
        self.dense: FloatArray | None = None
        self.slot = np.zeros(0, np.int64)  # column -> its dense row (-1: none), with dense rows
        if dense.size:
            self.slot = np.full(columns.shape[0], -1, np.int64)
            self.slot[dense] = np.arange(dense.size)
            self.dense = np.zeros((dense.size, columns.shape[1]), np.float64)
            for row, column in enumerate(dense.tolist()):  # at most about a thousand
                start = int(self.starts[column])
                stop = start + int(self.lengths[column])
                self.dense[row, self.rows[start:stop]] = self.values[start:stop]

    def product(self, idx: NDArray[np.int32], val: FloatArray, size: int) -> FloatArray:
        """``matrix @ query`` as a dense vector of ``size``, touching only the query's columns."""
        if self.dense is not None and idx.size:
            slot = self.slot.take(idx)
            in_dense = slot >= 0
            out = val[in_dense] @ self.dense.take(slot[in_dense], axis=0)
            sparse = ~in_dense
            return out + self._gathered(idx[sparse], val[sparse], size)
        return self._gathered(idx, val, size)

    def _gathered(self, idx: NDArray[np.int32], val: FloatArray, size: int) -> FloatArray:
        if idx.size == 0:
            return np.zeros(size)
        lengths = self.lengths.take(idx)
        ends = np.cumsum(lengths)
        total = int(ends[-1])
        if total == 0:
            return np.zeros(size)
        # Positions of every entry of every query column, without a Python loop.
        positions = np.repeat(self.starts.take(idx) - ends + lengths, lengths) + np.arange(total)
        weights = self.values.take(positions) * np.repeat(val, lengths)
        return cast(FloatArray, np.bincount(self.rows.take(positions), weights, minlength=size))


DENSE_ROW_MIN = 64
"""Sparse weights: a feature non-zero for at least this many intents, and for an eighth of
them, is also kept as a dense row (8 bytes per intent against 12 per non-zero: at most
about five times its sparse size). On the 100k-example bench bot: 988 of 86,170 features,
6.7 MB in memory beside a 74 MB model file, and (median) 90% of the non-zero weights a
message's features reach. The same for the examples of the cosine and ensemble heads
(from ``DENSE_EXAMPLES_FROM``, and no more bytes than the sparse examples take): on
CLINC150 (15,000 examples) 158 of 36,829 features (170 pass the count), 19 MB, and a
product 2.5 times faster (a message reaches a median 380,000 entries)."""

DENSE_EXAMPLES_FROM = 5_000
"""Examples from which the cosine and ensemble heads keep busy features as dense rows: at
2,000-3,000 examples the product was as fast or 3 µs slower with them, at 5,000 6 µs
faster (of 55), at 10,000 15-18 µs (of 90)."""

CONTEXT_BOOST = 0.2
"""Added to the confidence of an intent whose required contexts are all active."""


_Keyword = tuple[str, re.Pattern[str]]
"""An intent keyword (normalized) and the regex that keeps its letter or digit edges off
other letters or digits (``word_pattern``)."""


def _compile_rules(spec: BotSpec) -> list[tuple[int, str, list[tuple[Pattern, str]], list[_Keyword]]]:
    """(intent index, owner named in timeout warnings, patterns with the characters every
    match of each needs, keywords) per intent with rules.

    A keyword's Latin or digit edges match only word edges, as the ``handoff_keywords``
    plugin's do: ``618`` is not in the order number 2023061812345, nor ``vip`` in ``vipx``.
    Unlike that plugin, a space or punctuation is not read past: "这个价，保质期多久" does
    not hold 价保 (nothing here is written to slip past a filter).
    """
    rules = []
    for index, intent in enumerate(spec.intents):
        if intent.patterns or intent.keywords:
            patterns = [
                (compiled, required_characters(compiled)) for compiled in map(compile_regex, intent.patterns)
            ]
            # Normalized as the loader does: a bot built in code may pass "VIP" or "".
            words = [word for word in map(normalize, intent.keywords) if word]
            keywords = [(word, re.compile(word_pattern(word))) for word in words]
            rules.append((index, f"intent {intent.name!r}", patterns, keywords))
    return rules
