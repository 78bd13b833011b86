"""Ideas that did not beat the default matcher, kept so their numbers can be re-measured.

Dev splits only (no test split is opened): SMP2017 train -> dev and CLINC150 in-scope
train -> dev, top-1 accuracy and macro-F1 on in-scope rows. Each idea starts from the
default pipeline's TF-IDF features and changes one thing:

* other linear heads from scikit-learn, trained on the same features;
* latent semantic features (TruncatedSVD of the TF-IDF matrix) appended to them;
* intent scores divided by the norm of their weight vector (one-vs-rest scores made
  comparable across intents);
* word-dropout augmentation: a copy of each example with about 15% of its words removed;
* another balance between an intent's own rows and the rest (the default gives each half
  of the total weight);
* nearest-centroid cosine added to the linear scores (still one linear model).

    python bench/accuracy_ideas.py   # about 8 minutes
"""

from __future__ import annotations

import random
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import accuracy
import benchlib
import jieba
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.svm import LinearSVC

from kefu.model import Model, train
from kefu.training import MAX_ITER, fit_head

Labels = NDArray[np.int32]
Scorer = Callable[[sp.csr_matrix, Labels, sp.csr_matrix], NDArray[np.int32]]


def features(model: Model, texts: list[str]) -> sp.csr_matrix:
    """The model's feature rows for ``texts`` (as the matcher sees them at match time)."""
    vectors = [model.features.vector(t) for t in texts]
    rows = np.repeat(np.arange(len(vectors)), [len(v.indices) for v in vectors])
    columns = np.concatenate([v.indices for v in vectors])
    values = np.concatenate([v.values for v in vectors])
    return sp.csr_matrix((values, (rows, columns)), shape=(len(texts), model.features.n_features))


def kefu_head(x: sp.csr_matrix, y: Labels, queries: sp.csr_matrix, per_norm: bool = False) -> Labels:
    """The default head (per-intent balanced linear SVMs); optionally scores / |w|."""
    head = fit_head(x, y, int(y.max()) + 1, accuracy.DEFAULT)
    weights = head["weights"].toarray() if sp.issparse(head["weights"]) else head["weights"]
    scores = np.asarray(queries @ weights) + head["bias"]
    if per_norm:
        scores = scores / np.linalg.norm(weights, axis=0)
    return np.asarray(scores.argmax(axis=1), np.int32)


def balanced_head(own_share: float) -> Scorer:
    """Per-intent linear SVMs whose own rows carry ``own_share`` of the total weight."""

    def score(x: sp.csr_matrix, y: Labels, queries: sp.csr_matrix) -> Labels:
        n_intents = int(y.max()) + 1
        weights, bias = np.zeros((x.shape[1], n_intents)), np.zeros(n_intents)
        for k in range(n_intents):
            own = y == k
            sample_weight = np.where(own, own_share / own.sum(), (1 - own_share) / (~own).sum()) * len(y)
            svm = LinearSVC(C=accuracy.DEFAULT.c, max_iter=MAX_ITER, random_state=0)
            svm.fit(x, own, sample_weight=sample_weight)
            weights[:, k], bias[k] = svm.coef_[0], svm.intercept_[0]
        return np.asarray((np.asarray(queries @ weights) + bias).argmax(axis=1), np.int32)

    return score


def with_centroids(weight: float) -> Scorer:
    """The default head's scores plus ``weight`` x cosine to each intent's mean example."""

    def score(x: sp.csr_matrix, y: Labels, queries: sp.csr_matrix) -> Labels:
        head = fit_head(x, y, int(y.max()) + 1, accuracy.DEFAULT)
        linear = head["weights"].toarray() if sp.issparse(head["weights"]) else head["weights"]
        means = np.vstack([np.asarray(x[y == k].mean(axis=0)) for k in range(int(y.max()) + 1)])
        combined = linear + weight * l2_normalize(means).T
        return np.asarray((np.asarray(queries @ combined) + head["bias"]).argmax(axis=1), np.int32)

    return score


def sklearn_head(make: Callable[[], Any]) -> Scorer:
    def score(x: sp.csr_matrix, y: Labels, queries: sp.csr_matrix) -> Labels:
        return np.asarray(make().fit(x, y).predict(queries), np.int32)

    return score


def with_lsa(dims: int, weight: float) -> Scorer:
    def score(x: sp.csr_matrix, y: Labels, queries: sp.csr_matrix) -> Labels:
        svd = TruncatedSVD(dims, random_state=0).fit(x)

        def joined(m: sp.csr_matrix) -> sp.csr_matrix:
            latent = sp.csr_matrix(l2_normalize(svd.transform(m)) * weight)
            return sp.csr_matrix(l2_normalize(sp.hstack([m, latent]).tocsr()))

        return kefu_head(joined(x), y, joined(queries))

    return score


IDEAS: dict[str, Scorer] = {
    "default head (per-intent balanced LinearSVC)": kefu_head,
    "LinearSVC, sklearn class_weight=balanced": sklearn_head(
        lambda: LinearSVC(C=0.5, class_weight="balanced")
    ),
    "LinearSVC, Crammer-Singer": sklearn_head(lambda: LinearSVC(C=0.5, multi_class="crammer_singer")),
    "LogisticRegression (multinomial), C=30": sklearn_head(lambda: LogisticRegression(C=30, max_iter=300)),
    "SGDClassifier, modified Huber": sklearn_head(
        lambda: SGDClassifier(loss="modified_huber", alpha=1e-5, max_iter=50, random_state=0)
    ),
    "scores / |w|": lambda x, y, q: kefu_head(x, y, q, per_norm=True),
    "LSA 400 dims appended, weight 0.6": with_lsa(400, 0.6),
    "own rows 40% of the weight (default 50%)": balanced_head(0.4),
    "own rows 60% of the weight": balanced_head(0.6),
    "nearest-centroid cosine added, weight 0.2": with_centroids(0.2),
}


def word_dropout(examples: list[dict[str, Any]], share: float = 0.15) -> list[dict[str, Any]]:
    """The examples plus one copy of each (3+ words) with about ``share`` of its words dropped."""
    rng = random.Random(0)
    out = list(examples)
    for row in examples:
        spaced = " " in row["text"]
        words = row["text"].split() if spaced else list(jieba.cut(row["text"]))
        if len(words) >= 3:
            kept = [w for w in words if rng.random() > share] or words
            out.append({"text": (" " if spaced else "").join(kept), "intent": row["intent"]})
    return out


def measure(name: str) -> list[list[str]]:
    """Every idea on one data set's dev split."""
    train_rows = [r for r in accuracy.rows(name, "train") if not r.get("oos")]
    dev = [r for r in accuracy.rows(name, "dev") if not r.get("oos")]
    model = train(accuracy.bot(train_rows, accuracy.DEFAULT))
    intents = list(model.matcher.intents)
    y = np.asarray(model.matcher.example_intent, np.int32)
    truth = np.array([intents.index(r["intent"]) for r in dev])
    queries = features(model, [r["text"] for r in dev])
    results = []
    for idea, scorer in IDEAS.items():
        print(f"  {name}: {idea} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        predicted = scorer(model.examples, y, queries)
        results.append((idea, predicted, time.perf_counter() - start))
    augmented = train(accuracy.bot(word_dropout(train_rows), accuracy.DEFAULT))
    start = time.perf_counter()
    predicted = kefu_head(
        augmented.examples, augmented.matcher.example_intent, features(augmented, [r["text"] for r in dev])
    )
    order = [intents.index(n) for n in augmented.matcher.intents]
    results.append(("word-dropout augmentation", np.asarray(order)[predicted], time.perf_counter() - start))
    return [
        [
            idea,
            f"{100 * np.mean(p == truth):.2f}",
            f"{100 * f1_score(truth, p, average='macro'):.2f}",
            f"{s:.1f}",
        ]
        for idea, p, s in results
    ]


def main() -> int:
    if not (accuracy.DATA / "smp2017").is_dir() or not (accuracy.DATA / "clinc150").is_dir():
        print(f"benchmark data not found at {accuracy.DATA}: nothing to measure (set KEFU_BENCH_DATA)")
        return 0
    warnings.simplefilter("ignore")  # liblinear / lbfgs convergence notes
    jieba.setLogLevel(60)
    out: dict[str, list[list[str]]] = {}
    for name in ("smp2017", "clinc150"):
        out[name] = measure(name)
        print(f"\n{name}, train -> dev (in-scope rows)")
        print(benchlib.table(["idea", "acc", "macro-F1", "fit s"], out[name]))
    print(f"\nwrote {benchlib.write('accuracy-ideas', {'results': out})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
