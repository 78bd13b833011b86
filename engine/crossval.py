"""Cross-validation on a bot's own examples: ``kefu test BOT --cv K``.

Each fold trains on the other folds' examples (stratified, so every intent is in every
training set) and predicts its own; folds run in parallel processes with joblib. The
predictions are scored like a test file, without out-of-scope rows.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kefu.errors import SpecError
from kefu.evaluate import Prediction, TestRow, prediction_of
from kefu.jobs import worker_count
from kefu.model import train
from kefu.runtime import Runtime, build_runtime
from kefu.spec import BotSpec

__all__ = ["cross_validate"]


def cross_validate(spec: BotSpec, folds: int = 5, *, n_jobs: int = 1, seed: int = 0) -> list[Prediction]:
    """Out-of-fold predictions for every example of ``spec``."""
    import joblib
    from sklearn.model_selection import StratifiedKFold  # only needed here, not to serve

    texts = [e for intent in spec.intents for e in intent.examples]
    labels = np.array([i for i, intent in enumerate(spec.intents) for _ in intent.examples])
    counts = np.bincount(labels)
    if folds < 2:  # a caller's mistake, not the bot's: no intent to blame
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    if int(counts.min()) < folds:
        thin = spec.intents[int(counts.argmin())]
        raise SpecError.single(
            thin.file or "bot",
            thin.line or 1,
            f"{folds}-fold cross-validation needs {folds} examples in every intent; "
            f"intent {thin.name!r} has {int(counts.min())}",
        )
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(len(labels)), labels))
    # One process per fold at most: n_jobs=10**5 made joblib try to start 100000 and hang.
    parts = joblib.Parallel(n_jobs=worker_count(n_jobs, folds))(
        joblib.delayed(_fold)(spec, texts, labels, train_idx, test_idx) for train_idx, test_idx in splits
    )
    ordered: dict[int, Prediction] = {}
    for (_, test_idx), predictions in zip(splits, parts, strict=True):
        ordered.update(zip(test_idx.tolist(), predictions, strict=True))
    return [ordered[i] for i in range(len(texts))]


def _fold(
    spec: BotSpec, texts: list[str], labels: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray
) -> list[Prediction]:
    examples: list[list[str]] = [[] for _ in spec.intents]
    for j in np.sort(train_idx).tolist():  # each intent keeps its examples in their written order
        examples[int(labels[j])].append(texts[j])
    intents = tuple(
        dataclasses.replace(intent, examples=tuple(own))
        for intent, own in zip(spec.intents, examples, strict=True)
    )
    runtime: Runtime = build_runtime(train(dataclasses.replace(spec, intents=intents)), with_plugins=False)
    predictions = []
    for j in test_idx.tolist():
        intent = spec.intents[int(labels[j])]
        row = TestRow(texts[j], intent.name, contexts=intent.input_contexts)
        match = runtime.match(texts[j], frozenset(intent.input_contexts))
        predictions.append(prediction_of(row, match, runtime.spec))
    return predictions
