"""Training bots with many intents: bounded memory and work, and answers that still hold."""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from kefu import training
from kefu.csr import CsrArrays
from kefu.model import train
from kefu.runtime import build_runtime
from kefu.spec import BotSettings, BotSpec, IntentSpec, MatcherSettings, NlpSettings

CHARS = "退款快递订单运费发票优惠券积分会员密码登录地址取消修改尺码颜色库存质量投诉客服人工你好谢谢再见在吗"


def many_intents(count: int, per_intent: int = 3, seed: int = 0) -> BotSpec:
    """``count`` intents, each with its own made-up words, so each is learnable."""
    rng = random.Random(seed)
    intents = []
    for k in range(count):
        words = ["".join(rng.sample(CHARS, 3)) for _ in range(2)]
        examples = {
            f"{rng.choice(words)}{rng.choice(words)}{rng.choice(CHARS)}" for _ in range(per_intent * 3)
        }
        intents.append(IntentSpec(f"intent{k}", tuple(sorted(examples)[:per_intent])))
    return BotSpec(
        BotSettings(threshold=0.0, ambiguity_margin=0.0),
        NlpSettings(),
        MatcherSettings(cache_size=0),
        (),
        tuple(intents),
    )


def test_a_bot_with_many_intents_trains_each_on_far_fewer_rows_than_it_has() -> None:
    """2,000 intents x 3 examples: under the row limit, over the work limit (what took
    a 5,000-intent bot 80 s: every intent's SVM on every row)."""
    n_intents, rows = 2_000, 6_000
    assert rows < training.HARD_NEGATIVE_ROWS and rows * n_intents > training.HARD_NEGATIVE_WORK
    x = sp.random(rows, 50, density=0.1, format="csr", random_state=0)
    y = np.repeat(np.arange(n_intents, dtype=np.int32), 3)
    plan = training._Planner.for_bot(x, y, n_intents)
    assert plan is not None
    plans = [plan.rows(k) for k in range(n_intents)]
    trained_rows = [len(r) for r, _ in plans]
    assert len(trained_rows) == n_intents
    assert max(trained_rows) <= rows // 2
    for k, (chosen, _) in enumerate(plans):  # its own rows first, each row once
        assert set(chosen[:3]) == set(np.flatnonzero(y == k))
        assert len(set(chosen.tolist())) == len(chosen)
    again = [plan.rows(k)[0] for k in reversed(range(n_intents))][::-1]  # the order intents are planned in
    assert [np.asarray(a).tolist() for a in again] == [
        np.asarray(b).tolist() for b, _ in plans
    ]  # does not matter


def test_many_intents_weights_are_never_held_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    """200 intents x 200,000 features would be 320 MB dense; hard-negative training
    fills about 6% of them (the bot is made small, and its plans short, to train quickly)."""
    monkeypatch.setattr(training, "CALIBRATE_UP_TO", 0)
    monkeypatch.setattr(training, "HARD_NEGATIVE_ROWS", 500)
    monkeypatch.setattr(training, "RANDOM_NEGATIVES", 100)
    monkeypatch.setattr(training, "NEIGHBOUR_INTENTS", 5)
    n_intents, n_features = 200, 200_000
    rows, per_row = 3 * n_intents, 100
    columns = np.random.default_rng(0).choice(n_features, (rows, per_row))
    x = sp.csr_matrix(
        (np.full(rows * per_row, 0.1), columns.ravel(), np.arange(0, rows * per_row + 1, per_row))
    )
    y = np.repeat(np.arange(n_intents, dtype=np.int32), 3)
    training.fit_head(x[:6], y[:6] % 2, 2, MatcherSettings())  # imports scikit-learn before measuring

    tracemalloc.start()
    try:
        head = training.fit_head(x, y, n_intents, MatcherSettings())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    weights = head["weights"]
    assert isinstance(weights, sp.csr_matrix) and weights.shape == (n_features, n_intents)
    dense_bytes = n_features * n_intents * 8
    assert weights.nnz < 0.1 * n_features * n_intents
    assert peak < dense_bytes / 3, (peak, dense_bytes)


def test_hard_negative_training_keeps_the_big_weights_and_still_answers_each_intents_examples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(training, "HARD_NEGATIVE_WORK", 10_000)
    spec = many_intents(300)
    model = train(spec)
    held = model.matcher.weights
    weights = sp.csc_matrix(held.matrix() if isinstance(held, CsrArrays) else held)
    for k in range(weights.shape[1]):  # the sampled rows' tiny weights are dropped
        kept = np.abs(weights.data[weights.indptr[k] : weights.indptr[k + 1]])
        assert kept.min() >= training.PRUNE_BELOW * kept.max()
    runtime = build_runtime(model, with_plugins=False)
    answered = [
        runtime.match(text).intent == intent.name for intent in spec.intents for text in intent.examples
    ]
    assert np.mean(answered) >= 0.95


def test_sparse_assembly_equals_dense_assembly() -> None:
    rng = np.random.default_rng(0)
    columns = []
    for _ in range(40):
        indices = np.sort(rng.choice(1_000, rng.integers(0, 30), replace=False))
        columns.append((indices, rng.normal(size=len(indices))))
    small = training._weight_matrix(list(columns), 1_000)  # 40,000 cells: kept dense
    assert isinstance(small, np.ndarray)
    big = training._weight_matrix(list(columns), 100_000)  # 4,000,000 cells, under 1% filled: sparse
    assert isinstance(big, sp.csr_matrix)
    assert np.array_equal(big.toarray()[:1_000], small) and big[1_000:].nnz == 0


def test_a_big_bot_trains_the_same_model_every_time_with_any_number_of_workers() -> None:
    """Over ``PARALLEL_FROM`` examples the intents were fitted in two threads, which share
    liblinear's random generator: the same bot files gave other weights on every training
    (CLINC150's scores moved by as much as the gap to a target). Now one process or many
    train the very same model."""
    spec = many_intents(100, per_intent=60)
    assert sum(len(intent.examples) for intent in spec.intents) >= training.PARALLEL_FROM
    first, again, two_workers = train(spec), train(spec), train(spec, n_jobs=2)
    for other in (again, two_workers):
        assert np.array_equal(np.asarray(other.matcher.weights), np.asarray(first.matcher.weights))
        assert np.array_equal(np.asarray(other.matcher.bias), np.asarray(first.matcher.bias))
