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

``--space-ngrams`` measures instead how the character n-grams made only of spaces (with
the padding, " " is in every message and every example) should count: as they do, not
at all, or as features that do not count towards ``known`` (the share of a message the
bot recognizes). On the dev splits, with the measures of ``accuracy.py --dev``, plus the
in-scope accuracy at 60/65/70% out-of-scope recall, and under 5-fold cross-validation on
the training rows.

    python bench/accuracy_ideas.py                  # about 8 minutes
    python bench/accuracy_ideas.py --space-ngrams   # about 10 minutes (--no-cv: dev only)
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import accuracy
import benchlib
import jieba
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.svm import LinearSVC

from kefu.features import FeatureSpace, QueryVector
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


# -- n-grams made only of spaces --------------------------------------------------------------

SPACE_VARIANTS = {
    # Since 7c71bc7 the default is what the "alone" variant was (not counted in known
    # when nothing else is known), so that variant is gone from this list.
    "default (space n-grams are features and count as known, unless nothing else is)": "default",
    "space n-grams dropped (no feature, not in known)": "dropped",
    "space n-grams are features, not counted in known": "not-known",
}
RECALLS = (0.60, 0.65, 0.70)


def _no_spaces(terms: list[str]) -> list[str]:
    return [t for t in terms if t.strip()]


def _known_without_spaces(space: FeatureSpace, text: str, normalized: bool) -> float:
    """``known`` as ``FeatureSpace.vector`` computes it, with n-grams made only of spaces
    counted as neither known nor unknown mass (a block they alone make known still counts
    towards the whole, with nothing of it known)."""
    words, chars = space.terms(text, normalized=normalized)
    idf, tf, unseen_sq = space._idf_list, space._tf_list, space._unseen_idf**2
    plain_sq = known_sq = 0.0
    for weight, terms, lookup in (
        (space.settings.word_weight, words, space.word_vocab),
        (space.settings.char_weight, chars, space._char_index),
    ):
        counts = Counter(lookup.get(t, -1) for t in terms)
        unknown = counts.pop(-1, 0) * unseen_sq
        spaces = Counter(lookup[t] for t in terms if not t.strip() and t in lookup)
        mass = sum((idf[i] * tf[c]) ** 2 for i, c in counts.items())
        kept = sum((idf[i] * tf[c]) ** 2 for i, c in counts.items() if i not in spaces)
        if mass > 0.0 and weight > 0.0:
            plain_sq += weight * weight
            if kept + unknown > 0.0:
                known_sq += weight * weight * kept / (kept + unknown)
    return math.sqrt(known_sq / plain_sq) if plain_sq > 0.0 else 0.0


@contextlib.contextmanager
def space_ngrams(variant: str) -> Iterator[None]:
    """``FeatureSpace`` patched, at training and match time alike, for one ``SPACE_VARIANTS``."""
    terms, vector = FeatureSpace.terms, FeatureSpace.vector

    def dropped(self: FeatureSpace, text: str, *, normalized: bool = False) -> tuple[list[str], list[str]]:
        words, chars = terms(self, text, normalized=normalized)
        return _no_spaces(words), _no_spaces(chars)

    def not_known(self: FeatureSpace, text: str, *, normalized: bool = False) -> QueryVector:
        query = vector(self, text, normalized=normalized)
        if not self.settings.count_unknown or query.indices.size == 0:
            return query
        return query._replace(known=_known_without_spaces(self, text, normalized))

    patches = {"dropped": ("terms", dropped), "not-known": ("vector", not_known)}
    if variant not in patches:
        yield
        return
    name, replacement = patches[variant]
    original = getattr(FeatureSpace, name)
    setattr(FeatureSpace, name, replacement)
    try:
        yield
    finally:
        setattr(FeatureSpace, name, original)


def accuracy_at_recalls(
    in_scope: list[dict[str, Any]], out_of_scope: list[dict[str, Any]], model: Model
) -> list[float]:
    """In-scope accuracy (answered, and rightly) at the lowest threshold that rejects at
    least 60, 65 and 70% of the out-of-scope rows (in percent)."""
    labels, confidence, _ = accuracy.predict(model, [r["text"] for r in in_scope + out_of_scope])
    right = np.array([label == r["intent"] for label, r in zip(labels, in_scope, strict=False)])
    inside, outside = confidence[: len(in_scope)], np.sort(confidence[len(in_scope) :])
    out = []
    for recall in RECALLS:
        rejected_below = outside[math.ceil(recall * len(outside)) - 1]  # answers need more
        out.append(100 * float(np.mean(right & (inside > rejected_below))))
    return out


def space_dev(variant: str) -> dict[str, Any]:
    """SMP2017 train -> dev and CLINC150 train -> dev (plus its 100 out-of-scope training
    rows, which the model never trains on, for the accuracy at fixed recalls)."""
    with space_ngrams(variant):
        smp = accuracy.smp_dev(accuracy.DEFAULT)
        clinc = accuracy.clinc_dev(accuracy.DEFAULT)
        model = train(accuracy.bot(accuracy.clinc_training(), accuracy.DEFAULT))
        dev = accuracy.rows("clinc150", "dev")
        oos = [r for r in dev + accuracy.rows("clinc150", "train") if r.get("oos")]
        at_recalls = accuracy_at_recalls([r for r in dev if not r.get("oos")], oos, model)
    return {"smp": smp, "clinc": clinc, "at recalls": at_recalls}


def space_cv(variant: str, name: str, seed: int) -> dict[str, Any]:
    """5-fold cross-validation on a data set's in-scope training rows (one shuffle): top-1
    accuracy and macro-F1 over all held-out rows; for CLINC150 also the in-scope accuracy
    at fixed out-of-scope recalls against its 100 out-of-scope training rows, per fold,
    averaged."""
    every = accuracy.rows(name, "train")
    rows = [r for r in every if not r.get("oos")]
    oos = [r for r in every if r.get("oos")]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(rows, [r["intent"] for r in rows])
    truth, predicted, at_recalls = [], [], []
    with space_ngrams(variant):
        for fit, held in folds:
            model = train(accuracy.bot([rows[i] for i in fit], accuracy.DEFAULT))
            held_rows = [rows[i] for i in held]
            labels, _, _ = accuracy.predict(model, [r["text"] for r in held_rows])
            truth += [r["intent"] for r in held_rows]
            predicted += [label or "" for label in labels]
            if oos:
                at_recalls.append(accuracy_at_recalls(held_rows, oos, model))
    return {
        "acc": 100 * accuracy_score(truth, predicted),
        "macro-F1": 100 * f1_score(truth, predicted, labels=sorted(set(truth)), average="macro"),
        "at recalls": np.mean(at_recalls, axis=0).tolist() if at_recalls else [],
    }


def space_study(with_cv: bool) -> int:
    """Every ``SPACE_VARIANTS`` entry on dev (and under cross-validation); prints tables."""
    dev = {}
    for label, variant in SPACE_VARIANTS.items():
        print(f"  dev: {label} ...", file=sys.stderr, flush=True)
        dev[label] = space_dev(variant)
    header = ["variant", "SMP dev acc / F1", "CLINC dev top-1", "CLINC in-scope / oos (cross-fitted)",
              "CLINC in-scope at 60/65/70% oos"]  # fmt: skip
    table = [
        [
            label,
            f"{r['smp']['acc']:.2f} / {r['smp']['macro-F1']:.2f}",
            f"{r['clinc']['top-1']:.2f}",
            f"{r['clinc']['in-scope acc']:.2f} / {r['clinc']['oos recall']:.1f}",
            " / ".join(f"{a:.2f}" for a in r["at recalls"]),
        ]
        for label, r in dev.items()
    ]
    print("\ndev splits\n" + benchlib.table(header, table))
    cv: dict[str, dict[str, Any]] = {}
    if with_cv:
        runs = [("smp2017", 0), ("smp2017", 1), ("smp2017", 2), ("clinc150", 0)]
        for label, variant in SPACE_VARIANTS.items():
            print(f"  5-fold: {label} ...", file=sys.stderr, flush=True)
            cv[label] = {f"{n} seed {s}": space_cv(variant, n, s) for n, s in runs}
        header = ["variant", *(f"{n} seed {s}" for n, s in runs)]
        table = [
            [
                label,
                *(
                    f"{r['acc']:.2f} / {r['macro-F1']:.2f}"
                    + (
                        " (" + " / ".join(f"{a:.2f}" for a in r["at recalls"]) + ")"
                        if r["at recalls"]
                        else ""
                    )
                    for r in per_run.values()
                ),
            ]
            for label, per_run in cv.items()
        ]
        print("\n5-fold cross-validation on the training rows, acc / macro-F1 (CLINC150: in-scope")
        print(
            "accuracy at 60/65/70% recall of its 100 out-of-scope training rows)\n"
            + benchlib.table(header, table)
        )
    print(f"\nwrote {benchlib.write('accuracy-space-ngrams', {'dev': dev, 'cv': cv})}")
    return 0


def main() -> int:
    if not (accuracy.DATA / "smp2017").is_dir() or not (accuracy.DATA / "clinc150").is_dir():
        print(f"benchmark data not found at {accuracy.DATA}: nothing to measure (set KEFU_BENCH_DATA)")
        return 0
    warnings.simplefilter("ignore")  # liblinear / lbfgs convergence notes
    jieba.setLogLevel(60)
    if "--space-ngrams" in sys.argv[1:]:
        return space_study(with_cv="--no-cv" not in sys.argv[1:])
    out: dict[str, list[list[str]]] = {}
    for name in ("smp2017", "clinc150"):
        out[name] = measure(name)
        print(f"\n{name}, train -> dev (in-scope rows)")
        print(benchlib.table(["idea", "acc", "macro-F1", "fit s"], out[name]))
    print(f"\nwrote {benchlib.write('accuracy-ideas', {'results': out})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
