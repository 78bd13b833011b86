"""Scoring every intent at once: a linear head, nearest-example cosine, or both.

* ``cosine``: an intent's score is the cosine similarity between the message and its
  nearest example. Computed through an inverted index (the example matrix in CSC
  form), so the work is proportional to the postings of the message's features, with
  no Python loop over intents or examples.
* ``linear``: a linear classifier over the same features; scores become probabilities
  with a softmax whose temperature was fitted by cross-validation on the bot's examples.
* ``ensemble``: a weighted mean of the two, which is the default (docs/accuracy.md).

Patterns, keywords and active contexts then adjust the scores (``Matcher.rank``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from kefu.features import QueryVector
from kefu.spec import BotSpec

__all__ = ["Matcher", "Ranking"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Ranking:
    """Per-intent confidences for one message, best first (top-k only)."""

    order: NDArray[np.intp]
    confidences: FloatArray
    rule: str | None = None


class Matcher:
    """Fitted scoring arrays plus the bot's rules; built by ``kefu.model``."""

    def __init__(
        self,
        spec: BotSpec,
        *,
        examples: sp.csr_matrix,
        example_intent: NDArray[np.int32],
        weights: FloatArray | None,
        bias: FloatArray | None,
        temperature: float,
    ) -> None:
        self.spec = spec
        self.intents = tuple(intent.name for intent in spec.intents)
        self.n_intents = len(self.intents)
        self.head = spec.matcher.head
        self.cosine_weight = spec.matcher.cosine_weight if self.head == "ensemble" else 0.0
        self.example_intent = np.asarray(example_intent, np.int32)
        csc = examples.tocsc()
        csc.sort_indices()
        self._post_ptr = csc.indptr.astype(np.int64)
        self._post_ex = csc.indices.astype(np.int32)
        self._post_val = csc.data.astype(np.float64)
        self.n_examples = examples.shape[0]
        # Examples are stored grouped by intent, so a per-intent max is one reduceat.
        self._intent_start = np.searchsorted(self.example_intent, np.arange(self.n_intents)).astype(np.intp)
        self.weights = weights
        self.bias = bias
        self.temperature = temperature
        self._rules = _compile_rules(spec)
        self._needs_context = np.array([bool(i.input_contexts) for i in spec.intents])
        self._contexts = [frozenset(i.input_contexts) for i in spec.intents]

    # -- scores -----------------------------------------------------------------------------

    def example_scores(self, query: QueryVector) -> FloatArray:
        """Cosine similarity of the message with every example (inverted-index product)."""
        idx, val = query
        if idx.size == 0:
            return np.zeros(self.n_examples)
        starts = self._post_ptr[idx]
        lengths = self._post_ptr[idx + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.n_examples)
        # Positions of every posting of every query feature, without a Python loop.
        shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        positions = shift + np.arange(total)
        weights = self._post_val[positions] * np.repeat(val, lengths)
        return cast(FloatArray, np.bincount(self._post_ex[positions], weights, minlength=self.n_examples))

    def cosine_scores(self, query: QueryVector) -> FloatArray:
        """Each intent's cosine similarity with its nearest example."""
        per_intent: FloatArray = np.maximum.reduceat(self.example_scores(query), self._intent_start)
        return per_intent

    def linear_scores(self, query: QueryVector, available: BoolArray | None = None) -> FloatArray:
        """Each intent's probability under the linear head (softmax with fitted temperature).

        Intents not ``available`` (their input contexts are closed) get probability 0 and
        the softmax is taken over the others: the classifier picks among what is possible.
        """
        if self.weights is None or self.bias is None:
            raise ValueError("this model has no linear head")
        idx, val = query
        logits = val @ self.weights[idx] + self.bias if idx.size else self.bias.copy()
        logits = logits * self.temperature
        if available is not None:
            logits[~available] = -np.inf
        logits -= logits.max()
        exp = np.exp(logits)
        probabilities: FloatArray = exp / exp.sum()
        return probabilities

    def available(self, contexts: frozenset[str]) -> BoolArray | None:
        """Which intents can match with these contexts open (None: all of them)."""
        if not self._needs_context.any():
            return None
        mask = ~self._needs_context
        for index in np.flatnonzero(self._needs_context):
            mask[index] = self._contexts[index] <= contexts
        return mask

    def scores(self, query: QueryVector, available: BoolArray | None = None) -> FloatArray:
        """Every intent's confidence in [0, 1] for this head (0 for unavailable intents)."""
        if query[0].size == 0:
            return np.zeros(self.n_intents)
        if self.head == "linear":
            return self.linear_scores(query, available)
        cosine = self.cosine_scores(query)
        if available is not None:
            cosine[~available] = 0.0
        if self.head == "cosine":
            return cosine
        w = self.cosine_weight
        return w * cosine + (1.0 - w) * self.linear_scores(query, available)

    # -- ranking ----------------------------------------------------------------------------

    def rank(self, query: QueryVector, prepared_text: str, contexts: frozenset[str], top_k: int) -> Ranking:
        """Top-k intents with confidences, after rules and contexts.

        An intent that needs input contexts is out of the running unless all of them are
        active; when they are, its confidence gets ``context_boost`` (docs/intents.md).
        A pattern match makes an intent certain (1.0); a keyword raises it to at least
        ``keyword_score``.
        """
        available = self.available(contexts)
        scores = self.scores(query, available)
        rule = self._apply_rules(scores, prepared_text, available)
        if available is not None:
            boosted = self._needs_context & available & (scores > 0)
            scores[boosted] = np.minimum(1.0, scores[boosted] + CONTEXT_BOOST)
        k = min(top_k, self.n_intents)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.n_intents else np.arange(self.n_intents)
        order = top[np.argsort(-scores[top], kind="stable")]
        return Ranking(order, scores[order], rule)

    def _apply_rules(self, scores: FloatArray, text: str, available: BoolArray | None) -> str | None:
        rule = None
        for index, patterns, keywords in self._rules:
            if available is not None and not available[index]:
                continue
            for pattern in patterns:
                if pattern.search(text):
                    scores[index] = 1.0
                    rule = f"pattern:{pattern.pattern}"
                    break
            else:
                for word in keywords:
                    if word in text and scores[index] < self.spec.settings.keyword_score:
                        scores[index] = self.spec.settings.keyword_score
                        rule = rule or f"keyword:{word}"
                        break
        return rule


CONTEXT_BOOST = 0.2
"""Added to the confidence of an intent whose required contexts are all active."""


def _compile_rules(spec: BotSpec) -> list[tuple[int, list[re.Pattern[str]], tuple[str, ...]]]:
    rules = []
    for index, intent in enumerate(spec.intents):
        if intent.patterns or intent.keywords:
            rules.append((index, [re.compile(p) for p in intent.patterns], intent.keywords))
    return rules
