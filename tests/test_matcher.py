"""The fast match path gives the same numbers as the straightforward computation."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest
import scipy.sparse as sp

from kefu.csr import CsrArrays
from kefu.features import QueryVector
from kefu.matcher import DENSE_EXAMPLES_FROM, Matcher
from kefu.model import Model, train
from kefu.runtime import build_runtime
from kefu.spec import BotSettings, BotSpec, IntentSpec, MatcherSettings, NlpSettings

CHARS = "退款快递订单运费发票优惠券积分会员密码登录地址取消修改尺码颜色库存质量投诉客服人工你好谢谢再见在吗"


def random_bot(seed: int, head: str = "linear") -> BotSpec:
    rng = random.Random(seed)
    intents = []
    for k in range(rng.randint(3, 12)):
        examples = {
            "".join(rng.choice(CHARS) for _ in range(rng.randint(2, 12))) for _ in range(rng.randint(4, 15))
        }
        intents.append(IntentSpec(f"intent{k}", tuple(sorted(examples))))
    matcher = MatcherSettings(head=head, cache_size=0)
    return BotSpec(
        BotSettings(threshold=0.0, ambiguity_margin=0.0), NlpSettings(), matcher, (), tuple(intents)
    )


def queries(seed: int) -> list[str]:
    rng = random.Random(seed + 1000)
    return ["".join(rng.choice(CHARS + "股市天气") for _ in range(rng.randint(1, 15))) for _ in range(40)]


def dense(query: QueryVector, width: int) -> np.ndarray:
    vector = np.zeros(width)
    vector[query.indices] = query.values
    return vector


def matcher_of(
    examples: sp.csr_matrix,
    example_intent: np.ndarray,
    weights: np.ndarray | sp.csr_matrix | None,
    bias: np.ndarray | None,
    head: str = "linear",
) -> Matcher:
    """A Matcher over the given arrays, its intents named intent0, intent1, ... (a = 1, c = 0)."""
    n_intents = int(example_intent.max()) + 1
    spec = BotSpec(
        BotSettings(), NlpSettings(), MatcherSettings(head=head), (),
        tuple(IntentSpec(f"intent{k}", (f"例句{k}",)) for k in range(n_intents)),
    )  # fmt: skip
    return Matcher(
        spec,
        examples=CsrArrays.of(examples),
        example_intent=example_intent,
        weights=CsrArrays.of(weights) if sp.issparse(weights) else weights,
        bias=bias,
        calibration=(1.0, 0.0),
    )


def sampled_queries(rng: np.random.Generator, pool: np.ndarray, count: int = 20) -> list[QueryVector]:
    """``count`` queries of 1-39 distinct features drawn from ``pool``, with random values."""
    out = []
    for _ in range(count):
        indices = rng.choice(pool, size=min(pool.size, int(rng.integers(1, 40))), replace=False)
        out.append(QueryVector(indices.astype(np.int32), rng.random(indices.size)))
    return out


@pytest.fixture(scope="module", params=range(6))
def bot(request: pytest.FixtureRequest) -> tuple[int, Model]:
    return request.param, train(random_bot(request.param))


def test_query_vectors_equal_their_training_rows(bot: tuple[int, Model]) -> None:
    _, model = bot
    for row, text in enumerate(model.example_texts):
        query = model.features.vector(text)
        expected = model.examples[row].toarray().ravel()
        assert np.allclose(dense(query, model.features.n_features), expected, atol=1e-12)
        assert query.known == pytest.approx(1.0)


def test_linear_scores_equal_the_dense_product(bot: tuple[int, Model]) -> None:
    seed, model = bot
    matcher = model.matcher
    assert isinstance(matcher.weights, np.ndarray) and matcher.bias is not None
    for text in queries(seed):
        query = model.features.vector(text)
        expected = dense(query, model.features.n_features) @ matcher.weights + matcher.bias
        assert np.allclose(matcher.linear_scores(query), expected)


def test_sparse_weights_score_like_dense_ones(bot: tuple[int, Model]) -> None:
    seed, model = bot
    matcher = model.matcher
    assert isinstance(matcher.weights, np.ndarray)
    sparse = Matcher(
        model.spec,
        examples=model.example_rows,
        example_intent=matcher.example_intent,
        weights=CsrArrays.of(sp.csr_matrix(matcher.weights)),
        bias=matcher.bias,
        calibration=matcher.calibration,
    )
    for text in queries(seed):
        query = model.features.vector(text)
        assert np.allclose(sparse.linear_scores(query), matcher.linear_scores(query))


def test_sparse_weights_of_many_intents_score_like_the_dense_product() -> None:
    """A big bot's common features (non-zero for many intents) are multiplied as dense rows,
    the rest entry by entry: queries mixing both kinds, or holding one kind only, score as
    the plain product does."""
    rng = np.random.default_rng(0)
    n_intents, n_features = 300, 400
    # Feature j is non-zero for about j * 0.75 of the 300 intents: 0 to all of them.
    mask = rng.random((n_features, n_intents)) < np.linspace(0, 1, n_features)[:, None]
    weights = np.where(mask, rng.normal(size=(n_features, n_intents)), 0.0)
    bias = rng.normal(size=n_intents)
    intents = np.arange(n_intents, dtype=np.int32)
    matcher = matcher_of(sp.identity(n_intents, format="csr"), intents, sp.csr_matrix(weights), bias)
    row_sizes = mask.sum(axis=1)
    kinds = {
        "mixed": np.arange(n_features),
        "short rows only": np.flatnonzero(row_sizes < 20),
        "long rows only": np.flatnonzero(row_sizes > 250),
        "empty rows only": np.flatnonzero(row_sizes == 0),
    }
    for name, pool in kinds.items():
        assert pool.size, name
        for query in sampled_queries(rng, pool):
            expected = query.values @ weights[query.indices] + bias
            assert np.allclose(matcher.linear_scores(query), expected, rtol=0, atol=1e-12), name


def test_examples_of_the_cosine_head_score_like_the_plain_product() -> None:
    """The cosine and ensemble heads keep features found in many examples as dense rows (at
    most as many bytes as the examples take): queries mixing both kinds of feature, or
    holding one kind only, score every example as the plain product does, and each intent
    by its nearest example."""
    rng = np.random.default_rng(1)
    per_intent, n_features = 10, 400
    n_intents = DENSE_EXAMPLES_FROM // per_intent  # just enough examples for dense rows
    n_examples = n_intents * per_intent
    # Feature j is in about j / 400 of the examples: none of them to all of them.
    mask = rng.random((n_examples, n_features)) < np.linspace(0, 1, n_features)[None, :]
    examples = sp.csr_matrix(np.where(mask, rng.random((n_examples, n_features)), 0.0))
    intents = np.repeat(np.arange(n_intents, dtype=np.int32), per_intent)
    matcher = matcher_of(examples, intents, None, None, head="cosine")
    # The dense rows hold the busiest features, and no more bytes than the sparse examples.
    assert matcher._postings is not None  # the cosine head indexes its examples at once
    dense = matcher._postings.dense
    assert dense is not None and 0 < dense.nbytes <= examples.nnz * 12
    column_sizes = mask.sum(axis=0)
    kinds = {
        "mixed": np.arange(n_features),
        "rare features only": np.flatnonzero(column_sizes < 40),
        "common features only": np.flatnonzero(column_sizes > 0.9 * n_examples),
        "features in no example": np.flatnonzero(column_sizes == 0),
    }
    for name, pool in kinds.items():
        assert pool.size, name
        for query in sampled_queries(rng, pool):
            expected = examples[:, query.indices] @ query.values
            assert np.allclose(matcher.example_scores(query), expected, rtol=0, atol=1e-12), name
            nearest = expected.reshape(n_intents, per_intent).max(axis=1)
            assert np.allclose(matcher.cosine_scores(query), nearest, rtol=0, atol=1e-12), name


@pytest.mark.parametrize("n_intents", [8, 48, 250])
def test_tied_scores_rank_the_intent_defined_first(n_intents: int) -> None:
    """The second half of the intents score the same, the first half less: the candidates
    are the first five of the second half, as a stable sort of every confidence gives (the
    top-k selection once let a later tied intent, or a lower score, in)."""
    weights = np.zeros((2, n_intents))
    weights[0, n_intents // 2 :] = 1.0
    intents = np.arange(n_intents, dtype=np.int32)
    matcher = matcher_of(sp.identity(n_intents, format="csr"), intents, weights, np.zeros(n_intents))
    query = QueryVector(np.array([0], np.int32), np.array([1.0]))
    for top_k in (1, 5, 6, 12):
        ranking = matcher.rank(query, "", frozenset(), top_k)
        half = n_intents // 2
        expected = [*range(half, n_intents), *range(half)][:top_k]
        assert ranking.order == expected, top_k
        confidences = [1 / (1 + math.exp(-1.0 if i >= half else 0.0)) for i in expected]
        assert ranking.confidences == pytest.approx(confidences)


def test_cosine_scores_equal_the_brute_force_nearest_example(bot: tuple[int, Model]) -> None:
    seed, model = bot
    matcher = model.matcher
    for text in queries(seed):
        query = model.features.vector(text)
        similarity = model.examples @ dense(query, model.features.n_features)
        expected = [similarity[matcher.example_intent == k].max() for k in range(matcher.n_intents)]
        assert np.allclose(matcher.cosine_scores(query), expected)


def test_ranking_equals_calibrating_every_intent_and_sorting(bot: tuple[int, Model]) -> None:
    """rank() calibrates only the top raw scores; the result must be as if all were."""
    seed, model = bot
    runtime = build_runtime(model, with_plugins=False)
    a, c = model.matcher.calibration
    for text in queries(seed):
        query = model.features.vector(text)
        match = runtime.match(text)
        if query.indices.size == 0:
            assert match.candidates == ()
            continue
        raw = model.matcher.raw_scores(query)
        blended = query.known * raw + (1 - query.known) * -1.0
        expected = 1 / (1 + np.exp(-(a * blended + c)))
        order = np.argsort(-expected, kind="stable")[: len(match.candidates)]
        assert [model.matcher.intents[i] for i in order] == [cand.intent for cand in match.candidates]
        assert [cand.confidence for cand in match.candidates] == pytest.approx(expected[order].tolist())


@pytest.mark.parametrize("head", ["cosine", "ensemble"])
def test_other_heads_rank_like_their_definition(head: str) -> None:
    spec = random_bot(7, head)
    model = train(spec)
    runtime = build_runtime(model, with_plugins=False)
    a, c = model.matcher.calibration
    for text in queries(7):
        query = model.features.vector(text)
        if query.indices.size == 0:
            continue
        cosine = model.matcher.cosine_scores(query)
        raw = cosine if head == "cosine" else model.matcher.linear_scores(query) + cosine
        empty = 0.0 if head == "cosine" else -1.0
        expected = [1 / (1 + math.exp(-(a * (query.known * r + (1 - query.known) * empty) + c))) for r in raw]
        top = runtime.match(text).candidates[0]
        assert top.confidence == pytest.approx(max(expected))


def test_a_one_intent_bot_matches_without_a_linear_head() -> None:
    spec = dataclasses.replace(random_bot(3), intents=random_bot(3).intents[:1])
    model = train(spec)
    assert model.matcher.weights is None
    match = build_runtime(model, with_plugins=False).match(spec.intents[0].examples[0])
    assert match.intent == spec.intents[0].name


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_only_the_ratio_of_the_block_weights_counts(scale: float) -> None:
    """Weights of 1e200 overflowed when squared, and of 1e-200 vanished: the bot's own
    examples then got confidence 0. Both blocks weighed alike are the same bot at any scale."""
    spec = random_bot(3)
    alike = dataclasses.replace(spec.matcher, word_weight=1.0, char_weight=1.0)
    scaled = dataclasses.replace(spec.matcher, word_weight=scale, char_weight=scale)
    runtimes = [
        build_runtime(train(dataclasses.replace(spec, matcher=m)), with_plugins=False)
        for m in (alike, scaled)
    ]
    for text in [*queries(3), *(e for i in spec.intents for e in i.examples[:2])]:
        expected, got = (runtime.match(text) for runtime in runtimes)
        assert got.intent == expected.intent
        assert [c.confidence for c in got.candidates] == pytest.approx(
            [c.confidence for c in expected.candidates]
        )
    assert runtimes[1].match(spec.intents[0].examples[0]).confidence > 0.5


def test_keywords_of_a_bot_built_in_code_are_read_like_the_loader_reads_them() -> None:
    # "" failed training with an IndexError, and "VIP" never fired (messages are case folded).
    intents = (
        IntentSpec("vip", ("会员权益", "会员有什么用"), keywords=("VIP", "")),
        IntentSpec("other", ("今天天气", "明天下雨吗")),
    )
    spec = BotSpec(BotSettings(threshold=0.5), NlpSettings(), MatcherSettings(cache_size=0), (), intents)
    match = build_runtime(train(spec), with_plugins=False).match("我是VIP")
    assert (match.intent, match.rule) == ("vip", "keyword:vip")


def test_an_intent_is_found_by_its_name_and_only_by_it() -> None:
    """BotSpec.intent looks names up in a dict: the first intent of a name wins, as the scan
    it replaced found, and anything that is no intent's name, unhashable ones included, is
    a KeyError."""
    first, second = IntentSpec("退款", ("我要退款",)), IntentSpec("退款", ("退钱",))
    spec = BotSpec(
        BotSettings(), NlpSettings(), MatcherSettings(), (), (first, IntentSpec("物流", ("快递",)), second)
    )
    assert spec.intent("退款") is first
    assert spec.intent("物流").examples == ("快递",)
    for name in ("退", "", 3, None, ["退款"], {"退款": 1}):
        with pytest.raises(KeyError):
            spec.intent(name)  # type: ignore[arg-type]
