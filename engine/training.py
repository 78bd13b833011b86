"""Fitting the scoring head and calibrating its confidence (docs/accuracy.md has the study).

* The linear head is one-vs-rest: one L2-regularized linear SVM per intent, each
  trained with its own rows weighted ``n / (2 n_k)`` and the others ``n / (2 (n - n_k))``
  (per-intent class balance was the largest single gain on SMP2017 and CLINC150).
* Big bots (over ``HARD_NEGATIVE_ROWS`` examples) train each intent against its most
  similar intents plus a sample of the rest, which keeps training linear in the number
  of examples instead of examples x intents.
* Confidence is Platt scaling of an intent's score, ``sigmoid(a * score + c)``, with
  ``a, c`` fitted on out-of-fold scores of the bot's own examples (3-fold
  cross-validation): a confidence of 0.8 means about 80% of such answers were right.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from kefu.spec import MatcherSettings

__all__ = ["DEFAULT_CALIBRATION", "centroid_similarity", "fit_head", "intent_scores"]

FloatArray = NDArray[np.float64]

CV_FOLDS = 3
MAX_ITER = 30
THREADS = 2  # liblinear releases the GIL, so threads are enough
HARD_NEGATIVE_ROWS = 20_000
NEIGHBOUR_INTENTS = 20
RANDOM_NEGATIVES = 2_000
CALIBRATE_UP_TO = 5_000
DEFAULT_CALIBRATION = (3.4, 1.3)
"""(a, c) used above ``CALIBRATE_UP_TO`` examples: the fitted values on SMP2017 (2.3k
examples) and CLINC150 (15k) were a = 3.2-3.9, c = 1.3-1.6, so cross-validating a big bot
(three more trainings) buys little."""
SEQUENTIAL_UP_TO = 5_000
SPARSE_FROM = 2_000_000  # weight-matrix cells
SPARSE_BELOW = 0.25  # density
COSINE_CALIBRATION = (8.0, -4.0)
"""(a, c) for the cosine head when a bot is too small to cross-validate."""


def fit_head(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, settings: MatcherSettings
) -> dict[str, Any]:
    """Weights (features x intents, or None for the cosine head), bias and calibration."""
    linear = settings.head != "cosine" and n_intents >= 2
    weights, bias = _fit_linear(x, y, n_intents, settings.c) if linear else (None, None)
    calibration = _calibrate(x, y, n_intents, settings, linear)
    return {"weights": _compact(weights), "bias": bias, "calibration": calibration}


def _compact(weights: FloatArray | None) -> FloatArray | sp.csr_matrix | None:
    """Big, mostly-zero weight matrices (hard-negative training leaves a feature at 0 for
    every intent whose training rows lack it) are kept sparse: a 100k-example bot's
    weights shrink from gigabytes to tens of megabytes, and scoring touches only non-zeros."""
    if weights is None or weights.size <= SPARSE_FROM:
        return weights
    density = np.count_nonzero(weights) / weights.size
    return sp.csr_matrix(weights) if density < SPARSE_BELOW else weights


def intent_scores(
    x: sp.csr_matrix,
    weights: FloatArray | None,
    bias: FloatArray | None,
    cosine: FloatArray | None,
    settings: MatcherSettings,
) -> FloatArray:
    """Raw per-intent scores of many rows at once (the batch twin of ``Matcher.raw_scores``)."""
    if weights is None or bias is None:
        assert cosine is not None
        return cosine
    scores = np.asarray(x @ weights) + bias
    if settings.head == "ensemble" and cosine is not None:
        scores = scores + settings.cosine_weight * cosine
    return np.asarray(scores, np.float64)


def _fit_linear(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, c: float
) -> tuple[FloatArray, FloatArray]:
    plans = _plans(x, y, n_intents)
    weights = np.zeros((x.shape[1], n_intents))
    bias = np.zeros(n_intents)

    def fit(k: int) -> None:
        rows, sample_weight = plans[k]
        weights[:, k], bias[k] = _binary_svm(
            x[rows] if rows is not None else x, y[rows] if rows is not None else y, k, c, sample_weight
        )

    with warnings.catch_warnings():
        # liblinear's convergence notes: 100 iterations are enough here (docs/accuracy.md).
        # Set once around all fits: warning filters are process-wide, not per thread.
        warnings.simplefilter("ignore")
        if x.shape[0] <= SEQUENTIAL_UP_TO:
            # liblinear's solver draws from one random generator shared by all threads, so
            # threads make training irreproducible (in the fifth decimal of a confidence);
            # small bots train in a second or two anyway.
            for k in range(n_intents):
                fit(k)
        else:
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(fit, range(n_intents)))
    return weights, bias


def _binary_svm(
    x: sp.csr_matrix, y: NDArray[np.int32], k: int, c: float, sample_weight: FloatArray | None
) -> tuple[FloatArray, float]:
    from sklearn.svm import LinearSVC  # training only: serving never imports sklearn

    target = (y == k).astype(np.int32)
    if sample_weight is None:  # per-intent class balance
        n, positives = len(target), int(target.sum())
        sample_weight = np.where(target == 1, n / (2.0 * positives), n / (2.0 * max(1, n - positives)))
    model = LinearSVC(C=c, max_iter=MAX_ITER, random_state=0)
    model.fit(x, target, sample_weight=sample_weight)
    return np.asarray(model.coef_[0], np.float64), float(model.intercept_[0])


def _plans(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int
) -> list[tuple[NDArray[np.intp] | None, FloatArray | None]]:
    """Which rows (and weights) each intent's classifier trains on: all rows for normal bots;
    for big ones, its own rows, its most similar intents' rows and a weighted random sample."""
    n = x.shape[0]
    if n <= HARD_NEGATIVE_ROWS or n_intents <= NEIGHBOUR_INTENTS + 1:
        return [(None, None)] * n_intents
    near = _nearest_intents(x, y, n_intents, NEIGHBOUR_INTENTS)
    order = np.argsort(y, kind="stable")
    starts = np.searchsorted(y[order], np.arange(n_intents + 1))
    rows_of = [order[starts[k] : starts[k + 1]] for k in range(n_intents)]
    rng = np.random.default_rng(0)
    plans: list[tuple[NDArray[np.intp] | None, FloatArray | None]] = []
    for k in range(n_intents):
        hard = np.concatenate([rows_of[k], *(rows_of[j] for j in near[k])])
        excluded = np.zeros(n_intents, bool)
        excluded[[k, *near[k]]] = True
        sample = rng.integers(0, n, RANDOM_NEGATIVES * 2)
        sample = np.unique(sample[~excluded[y[sample]]])[:RANDOM_NEGATIVES]
        rows = np.concatenate([hard, sample])
        own = len(rows_of[k])
        weight = np.full(len(rows), n / (2.0 * (n - own)))
        weight[:own] = n / (2.0 * own)
        if len(sample):  # the sample stands in for every row it was drawn from
            weight[len(hard) :] *= (n - len(hard)) / len(sample)
        plans.append((rows, weight))
    return plans


def centroid_similarity(x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int) -> FloatArray:
    """Cosine similarity of every pair of intents' example centroids (n_intents x n_intents)."""
    members = sp.csr_matrix((np.ones(len(y)), (y, np.arange(len(y)))), shape=(n_intents, len(y)))
    centroids = sp.csr_matrix(members @ x)
    norms = np.sqrt(np.asarray(centroids.multiply(centroids).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    centroids = sp.csr_matrix(sp.diags(1.0 / norms) @ centroids)
    similarity: FloatArray = (centroids @ centroids.T).toarray()
    return similarity


def _nearest_intents(x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, count: int) -> NDArray[np.intp]:
    similarity = centroid_similarity(x, y, n_intents)
    np.fill_diagonal(similarity, -np.inf)
    return np.argpartition(-similarity, count - 1, axis=1)[:, :count]


def _calibrate(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, settings: MatcherSettings, linear: bool
) -> tuple[float, float]:
    counts = np.bincount(y, minlength=n_intents)
    folds = min(CV_FOLDS, int(counts.min()))
    if x.shape[0] > CALIBRATE_UP_TO or folds < 2 or n_intents < 2:
        return DEFAULT_CALIBRATION if linear else COSINE_CALIBRATION
    from sklearn.model_selection import StratifiedKFold

    top = np.zeros(len(y))
    correct = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
        weights, bias = _fit_linear(x[train], y[train], n_intents, settings.c) if linear else (None, None)
        cosine = _max_cosine(x[test], x[train], y[train], n_intents) if settings.head != "linear" else None
        scores = intent_scores(x[test], weights, bias, cosine, settings)
        top[test] = scores.max(axis=1)
        correct[test] = scores.argmax(axis=1) == y[test]
    return _platt(top, correct, DEFAULT_CALIBRATION if linear else COSINE_CALIBRATION)


def _max_cosine(
    queries: sp.csr_matrix, examples: sp.csr_matrix, labels: NDArray[np.int32], n_intents: int
) -> FloatArray:
    similarity = (queries @ examples.T).toarray()
    out = np.zeros((queries.shape[0], n_intents))
    for k in range(n_intents):
        columns = labels == k
        if columns.any():
            out[:, k] = similarity[:, columns].max(axis=1)
    return out


def _platt(score: FloatArray, correct: FloatArray, prior: tuple[float, float]) -> tuple[float, float]:
    """Logistic regression of "the answer was right" on the top score (Newton's method).

    Platt's smoothed targets keep a bot whose cross-validation made no mistake from
    fitting an infinitely steep curve, and a pull towards ``prior`` (weight 20 / n)
    keeps small bots near the values measured on real data until they have evidence.
    """
    n = len(score)
    right = float(correct.sum())
    target = np.where(correct > 0, (right + 1) / (right + 2), 1 / (n - right + 2))
    design = np.stack([score, np.ones_like(score)], axis=1)
    anchor = np.asarray(prior, np.float64)
    strength = 20.0 / n
    w = anchor.copy()
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - target) / n + strength * (w - anchor)
        hessian = (design * (p * (1 - p))[:, None]).T @ design / n + strength * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])
