"""Fitting the scoring head: a linear classifier and the temperature of its softmax.

The temperature turns the classifier's margins into probabilities that mean something:
it is fitted by minimizing log-loss on out-of-fold decision scores (cross-validation on
the bot's own examples), so a confidence of 0.8 is right about 80% of the time on
examples like the bot's.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from kefu.spec import MatcherSettings

__all__ = ["fit_head"]

log = logging.getLogger(__name__)

DEFAULT_TEMPERATURE = 5.0
CV_FOLDS = 3


def fit_head(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, settings: MatcherSettings
) -> dict[str, Any]:
    """Weights (features x intents), bias and softmax temperature for the linear head."""
    if settings.head == "cosine" or n_intents < 2:
        return {"weights": None, "bias": None, "temperature": DEFAULT_TEMPERATURE}
    weights, bias = _fit_linear(x, y, n_intents, settings.c)
    temperature = _fit_temperature(x, y, n_intents, settings.c)
    return {"weights": weights, "bias": bias, "temperature": temperature}


def _fit_linear(
    x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, c: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from sklearn.svm import LinearSVC  # imported here: loading a model never needs sklearn

    model = LinearSVC(C=c, class_weight="balanced")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's convergence chatter on tiny bots
        model.fit(x, y)
    coef = np.asarray(model.coef_, np.float64)
    intercept = np.asarray(model.intercept_, np.float64)
    if n_intents == 2:  # binary: one hyperplane; score the two classes as -s and +s
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]])
    return np.ascontiguousarray(coef.T), intercept


def _fit_temperature(x: sp.csr_matrix, y: NDArray[np.int32], n_intents: int, c: float) -> float:
    counts = np.bincount(y, minlength=n_intents)
    folds = min(CV_FOLDS, int(counts.min()))
    if folds < 2:
        return DEFAULT_TEMPERATURE
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros((x.shape[0], n_intents))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        weights, bias = _fit_linear(x[train], y[train], n_intents, c)
        scores[test] = x[test] @ weights + bias
    return _best_temperature(scores, y)


def _best_temperature(scores: NDArray[np.float64], y: NDArray[np.int32]) -> float:
    from scipy.optimize import minimize_scalar

    def log_loss(log_t: float) -> float:
        logits = scores * np.exp(log_t)
        logits -= logits.max(axis=1, keepdims=True)
        log_prob = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return float(-log_prob[np.arange(len(y)), y].mean())

    result = minimize_scalar(log_loss, bounds=(np.log(0.1), np.log(100.0)), method="bounded")
    return float(np.exp(result.x))
