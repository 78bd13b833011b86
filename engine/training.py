"""Fitting the scoring head and calibrating its confidence (docs/accuracy.md has the study).

* The linear head is one-vs-rest: one L2-regularized linear SVM per intent, each
  trained with its own rows weighted ``n / (2 n_k)`` and the others ``n / (2 (n - n_k))``
  (per-intent class balance was the largest single gain on SMP2017 and CLINC150).
* Big bots (over ``HARD_NEGATIVE_ROWS`` examples, or over ``HARD_NEGATIVE_WORK``
  examples x intents) train each intent against its most similar intents plus a sample of
  the rest, which keeps training linear in the number of examples instead of examples x
  intents, and keep only each intent's weights above ``PRUNE_BELOW`` of its largest.
* Confidence is Platt scaling of an intent's score, ``sigmoid(a * score + c)``, with
  ``a, c`` fitted on out-of-fold scores of the bot's own examples (3-fold
  cross-validation): a confidence of 0.8 means about 80% of such answers were right.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from kefu.jobs import worker_count
from kefu.spec import MatcherSettings

__all__ = ["DEFAULT_CALIBRATION", "centroid_similarity", "fit_head", "intent_scores"]

FloatArray = NDArray[np.float64]

CV_FOLDS = 3
MAX_ITER = 30
HARD_NEGATIVE_MAX_ITER = 15
"""Solver iterations of hard-negative training (big bots). Each fit runs out its
iterations, and 15 take 0.7 of the CPU time of 30. Forced onto CLINC150, dev top-1 was
92.90 against 92.80 with 30; a 100k-example bench bot (849 intents) answered 717 of 954
in-scope held-out questions with the right source intent, against 716. Bots trained on all rows keep 30:
there, 15 cost CLINC150 dev top-1 (93.37 against 93.43)."""
HARD_NEGATIVE_ROWS = 20_000
HARD_NEGATIVE_WORK = 5_000_000
"""Examples x intents above which hard negatives are used even for fewer examples: a
5,000-intent bot of 15,000 examples took about 80 s on all rows per intent. CLINC150
(15,000 x 150) and the speed bench's 10k bot (10,000 x 250) stay below it."""
NEIGHBOUR_INTENTS = 20
SIMILARITY_BLOCK = 1_024
RANDOM_NEGATIVES = 2_000
PRUNE_BELOW = 0.01
"""Hard-negative training drops an intent's weights below this share of its largest one:
the many tiny weights the sampled rows leave behind. On a 100k-example bot that keeps 22%
of the non-zeros and makes matching 30% faster with identical answers to 1,500 held-out
questions; on CLINC150 (forced onto hard negatives) dev top-1 is unchanged."""
CALIBRATE_UP_TO = 5_000
DEFAULT_CALIBRATION = (3.4, 1.3)
"""(a, c) used above ``CALIBRATE_UP_TO`` examples: the fitted values on SMP2017 (2.3k
examples) and CLINC150 (15k) were a = 3.2-3.9, c = 1.3-1.6, so cross-validating a big bot
(three more trainings) buys little."""
PARALLEL_FROM = 5_000
"""Examples from which ``n_jobs`` > 1 fits intents in worker processes; smaller bots train
in a second or two, less than starting the workers takes."""
INTENTS_PER_WORKER = 20
SPARSE_FROM = 2_000_000  # weight-matrix cells
SPARSE_BELOW = 0.25  # density
COSINE_CALIBRATION = (8.0, -4.0)
"""(a, c) for the cosine head when a bot is too small to cross-validate."""


def fit_head(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, settings: MatcherSettings, n_jobs: int = 1
) -> dict[str, Any]:
    """Weights (features x intents, or None for the cosine head), bias and calibration.

    ``n_jobs`` > 1 fits a big bot's intents in that many processes; the model is the same
    for any ``n_jobs``."""
    linear = settings.head != "cosine" and n_intents >= 2
    weights, bias = _fit_linear(x, y, n_intents, settings.c, n_jobs) if linear else (None, None)
    calibration = _calibrate(x, y, n_intents, settings, linear)
    return {"weights": weights, "bias": bias, "calibration": calibration}


def intent_scores(
    x: sp.csr_matrix,
    weights: FloatArray | sp.csr_matrix | None,
    bias: FloatArray | None,
    cosine: FloatArray | None,
    settings: MatcherSettings,
) -> FloatArray:
    """Raw per-intent scores of many rows at once (the batch twin of ``Matcher.raw_scores``)."""
    if weights is None or bias is None:
        assert cosine is not None
        return cosine
    product = x @ weights
    scores = (product.toarray() if sp.issparse(product) else np.asarray(product)) + bias
    if settings.head == "ensemble" and cosine is not None:
        scores = scores + settings.cosine_weight * cosine
    return np.asarray(scores, np.float64)


def _fit_linear(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, c: float, n_jobs: int = 1
) -> tuple[FloatArray | sp.csr_matrix, FloatArray]:
    plan = _Planner.for_bot(x, y, n_intents)
    index_type = np.int32 if x.shape[1] < 2**31 else np.int64  # 4 bytes a weight less
    workers = 1 if x.shape[0] < PARALLEL_FROM else worker_count(n_jobs, n_intents // INTENTS_PER_WORKER)
    if workers == 1:
        fitted = _fit_intents(x, y, c, plan, np.arange(n_intents), index_type)
    else:
        # Processes, not threads: liblinear draws from the C library's one random generator,
        # which threads would share, and training would then differ from run to run.
        # Every fit seeds it, so each process trains exactly what one process would.
        import joblib

        chunks = np.array_split(np.arange(n_intents), workers * 2)
        parts = joblib.Parallel(n_jobs=workers)(
            joblib.delayed(_fit_intents)(x, y, c, plan, chunk, index_type) for chunk in chunks
        )
        fitted = [column for part in parts for column in part]
    bias = np.array([b for _, _, b in fitted], np.float64)
    columns = [(indices, values) for indices, values, _ in fitted]
    del fitted
    return _weight_matrix(columns, x.shape[1]), bias


Column = tuple[NDArray[np.integer[Any]], FloatArray, float]


def _fit_intents(
    x: sp.csr_matrix,
    y: NDArray[np.int32],
    c: float,
    plan: _Planner | None,
    intents: NDArray[np.intp],
    index_type: type[np.integer[Any]],
) -> list[Column]:
    """Each intent's non-zero weights (indices, values) and bias, in the order given."""
    out: list[Column] = []
    with warnings.catch_warnings():
        # liblinear's convergence notes: 30 iterations are enough here (docs/accuracy.md).
        warnings.simplefilter("ignore")
        for k in intents:
            rows, sample_weight = plan.rows(int(k)) if plan is not None else (None, None)
            coef, bias = _binary_svm(
                x[rows] if rows is not None else x,
                y[rows] if rows is not None else y,
                int(k),
                c,
                sample_weight,
                MAX_ITER if rows is None else HARD_NEGATIVE_MAX_ITER,
            )
            if rows is not None:  # hard negatives: drop the sampled rows' tiny weights
                coef[np.abs(coef) < PRUNE_BELOW * np.abs(coef).max()] = 0.0
            nonzero = np.flatnonzero(coef)
            out.append((nonzero.astype(index_type), coef[nonzero], bias))
    return out


def _weight_matrix(
    columns: list[tuple[NDArray[np.integer[Any]], FloatArray]], n_features: int
) -> FloatArray | sp.csr_matrix:
    """Features x intents from each intent's non-zero weights (``columns`` is emptied).

    Big, mostly-zero matrices (hard-negative training leaves a feature at 0 for every
    intent whose training rows lack it) stay sparse and are never allocated dense: a
    5,000-intent bot's weights would take gigabytes, and scoring touches only non-zeros.
    """
    n_intents = len(columns)
    cells = n_features * n_intents
    indptr = np.cumsum([0, *(len(indices) for indices, _ in columns)])
    if cells <= SPARSE_FROM or indptr[-1] >= SPARSE_BELOW * cells:
        dense = np.zeros((n_features, n_intents))
        for k in range(n_intents):  # each column is released once copied: one copy at a time
            dense[columns[k][0], k] = columns[k][1]
            columns[k] = (columns[k][0][:0], columns[k][1][:0])
        return dense
    indices = np.empty(indptr[-1], columns[0][0].dtype)
    values = np.empty(indptr[-1])
    for k in range(n_intents):
        indices[indptr[k] : indptr[k + 1]], values[indptr[k] : indptr[k + 1]] = columns[k]
        columns[k] = (indices[:0], values[:0])
    return sp.csr_matrix(sp.csc_matrix((values, indices, indptr), shape=(n_features, n_intents)))


def _binary_svm(
    x: sp.csr_matrix,
    y: NDArray[np.int32],
    k: int,
    c: float,
    sample_weight: FloatArray | None,
    max_iter: int = MAX_ITER,
) -> tuple[FloatArray, float]:
    from sklearn.svm import LinearSVC  # training only: serving never imports sklearn

    target = (y == k).astype(np.int32)
    if sample_weight is None:  # per-intent class balance
        n, positives = len(target), int(target.sum())
        sample_weight = np.where(target == 1, n / (2.0 * positives), n / (2.0 * max(1, n - positives)))
    model = LinearSVC(C=c, max_iter=max_iter, random_state=0)
    model.fit(x, target, sample_weight=sample_weight)
    return np.asarray(model.coef_[0], np.float64), float(model.intercept_[0])


Plan = tuple[NDArray[np.intp], FloatArray]


@dataclass(frozen=True)
class _Planner:
    """Which rows (and weights) a big bot's intent k trains on: its own rows, its most
    similar intents' rows and a weighted random sample of the rest.

    Plans are made when each intent is trained, not all up front: 20,000 intents' plans
    held at once took 660 MB. Each intent draws its sample from its own generator, so the
    plans do not depend on which process trains which intent, or in what order."""

    y: NDArray[np.int32]
    near: NDArray[np.intp]
    order: NDArray[np.intp]
    starts: NDArray[np.intp]

    @classmethod
    def for_bot(cls, x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int) -> _Planner | None:
        """None when every intent trains on all rows (bots that are not big)."""
        n = x.shape[0]
        big = n > HARD_NEGATIVE_ROWS or n * n_intents > HARD_NEGATIVE_WORK
        if not big or n_intents <= NEIGHBOUR_INTENTS + 1:
            return None
        order = np.argsort(y, kind="stable")
        starts = np.searchsorted(y[order], np.arange(n_intents + 1))
        return cls(y, _nearest_intents(x, y, n_intents, NEIGHBOUR_INTENTS), order, starts)

    def rows(self, k: int) -> Plan:
        y, near, order, starts = self.y, self.near, self.order, self.starts
        n, n_intents = len(y), len(starts) - 1
        own_rows = order[starts[k] : starts[k + 1]]
        hard = np.concatenate([own_rows, *(order[starts[j] : starts[j + 1]] for j in near[k])])
        drawn = np.random.default_rng((0, k)).integers(0, n, RANDOM_NEGATIVES * 2)
        excluded = np.zeros(n_intents, bool)
        excluded[k] = excluded[near[k]] = True
        drawn = np.sort(drawn[~excluded[y[drawn]]])
        # Each row once: np.unique's result, 3x faster.
        sample = drawn[np.diff(drawn, prepend=-1) != 0][:RANDOM_NEGATIVES]
        rows = np.concatenate([hard, sample])
        own = len(own_rows)
        weight = np.full(len(rows), n / (2.0 * (n - own)))
        weight[:own] = n / (2.0 * own)
        if len(sample):  # the sample stands in for every row it was drawn from
            weight[len(hard) :] *= (n - len(hard)) / len(sample)
        return rows, weight


def centroid_similarity(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int
) -> Iterator[tuple[int, FloatArray]]:
    """Cosine similarity of intents' example centroids, ``SIMILARITY_BLOCK`` intents at a
    time: ``(start, rows start.. of the n_intents x n_intents matrix)``. A bot with tens of
    thousands of intents never holds the whole matrix (20,000 intents: 3.2 GB)."""
    members = sp.csr_matrix((np.ones(len(y)), (y, np.arange(len(y)))), shape=(n_intents, len(y)))
    centroids = sp.csr_matrix(members @ x)
    norms = np.sqrt(np.asarray(centroids.multiply(centroids).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    centroids = sp.csr_matrix(sp.diags(1.0 / norms) @ centroids)
    for start in range(0, n_intents, SIMILARITY_BLOCK):
        yield start, (centroids[start : start + SIMILARITY_BLOCK] @ centroids.T).toarray()


def _nearest_intents(x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, count: int) -> NDArray[np.intp]:
    """Each intent's ``count`` most similar other intents."""
    nearest = np.zeros((n_intents, count), np.intp)
    for start, block in centroid_similarity(x, y, n_intents):
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        nearest[start : start + len(block)] = np.argpartition(-block, count - 1, axis=1)[:, :count]
    return nearest


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
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -500.0, 500.0)))  # no overflow warning
        gradient = design.T @ (p - target) / n + strength * (w - anchor)
        hessian = (design * (p * (1 - p))[:, None]).T @ design / n + strength * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])
