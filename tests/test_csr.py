"""Serving a saved model without SciPy: its sparse rows as plain arrays (``kefu.csr``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from test_training import many_intents

import kefu
from kefu import training
from kefu.csr import CsrArrays
from kefu.matcher import _Postings
from kefu.model import train

HELDOUT = Path(kefu.__file__).parent / "intents" / "tests" / "heldout.jsonl"


def answers_in_a_new_process(model_dir: Path, texts: list[str]) -> tuple[list[list[object]], bool, bool]:
    """Each text's intent and confidence from a fresh interpreter that loads ``model_dir``,
    whether SciPy was imported by then, and whether it was after an ``explain``."""
    code = (
        "import json, sys, kefu\n"
        "engine = kefu.Engine.load(sys.argv[1], load_entry_points=False)\n"
        "texts = json.loads(sys.stdin.read())\n"
        "answers = [[m.intent, m.confidence] for m in map(engine.match, texts)]\n"
        "served = 'scipy' in sys.modules\n"
        "kefu.explain(engine, texts[0])\n"
        "print(json.dumps([answers, served, 'scipy' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(model_dir)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answers, served, explained = json.loads(done.stdout)
    return answers, served, explained


def test_a_saved_demo_model_answers_without_importing_scipy(tmp_path: Path) -> None:
    engine = kefu.Engine.from_path(Path(kefu.__file__).parent / "intents", load_entry_points=False)
    saved = engine.save(tmp_path / "demo")
    texts = [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines()][:60]
    answers, served, explained = answers_in_a_new_process(saved, texts)
    assert answers == [[m.intent, m.confidence] for m in map(engine.match, texts)]
    assert not served  # 0.1-0.2 s of every cold start
    assert explained  # nearest examples still come from SciPy, when asked for


def test_a_saved_model_with_sparse_weights_answers_the_same_without_scipy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(training, "HARD_NEGATIVE_WORK", 10_000)  # a small bot trained like a big one
    monkeypatch.setattr(training, "SPARSE_FROM", 0)  # and its weights kept sparse
    spec = many_intents(300)
    model = train(spec)
    assert isinstance(model.matcher.weights, CsrArrays)
    saved = kefu.save_model(model, tmp_path / "many")
    engine = kefu.Engine(model, load_entry_points=False)
    texts = [text for intent in spec.intents[:40] for text in intent.examples]
    answers, served, _ = answers_in_a_new_process(saved, texts)
    assert answers == [[m.intent, m.confidence] for m in map(engine.match, texts)]
    assert not served


def random_csr(rows: int, columns: int, density: float, seed: int) -> sp.csr_matrix:
    matrix = sp.random(rows, columns, density=density, format="csr", random_state=seed)
    matrix.data += 0.5  # no explicit zeros
    return matrix


def test_unsorted_rows_are_sorted_and_sorted_rows_are_kept() -> None:
    matrix = random_csr(30, 50, 0.2, seed=1)
    sorted_rows = CsrArrays.of(matrix)
    assert sorted_rows.sorted() is sorted_rows
    shuffled = matrix.copy()
    rng = np.random.default_rng(0)
    for row in range(shuffled.shape[0]):  # each row's entries in another order
        part = slice(shuffled.indptr[row], shuffled.indptr[row + 1])
        order = rng.permutation(part.stop - part.start)
        shuffled.indices[part] = shuffled.indices[part][order]
        shuffled.data[part] = shuffled.data[part][order]
    unsorted = CsrArrays(shuffled.data, shuffled.indices, shuffled.indptr, shuffled.shape)
    assert unsorted.sorted() is not unsorted
    again = unsorted.sorted()
    assert np.array_equal(again.indices, sorted_rows.indices)
    assert np.array_equal(again.data, sorted_rows.data)
    assert (again.matrix() != matrix).nnz == 0


@pytest.mark.parametrize("dense_min", [0, 1, 8], ids=["sparse", "all dense", "busy columns dense"])
def test_postings_multiply_a_sparse_query_like_the_matrix_does(dense_min: int) -> None:
    matrix = random_csr(40, 300, 0.1, seed=2)  # 40 rows (intents or examples) x 300 features
    postings = _Postings(CsrArrays.of(matrix.T.tocsr()), dense_min=dense_min)
    assert (postings.dense is not None) == (dense_min > 0)
    rng = np.random.default_rng(3)
    for _ in range(20):
        idx = np.sort(rng.choice(300, 12, replace=False)).astype(np.int32)
        val = rng.random(12)
        query = np.zeros(300)
        query[idx] = val
        assert np.allclose(postings.product(idx, val, 40), matrix @ query, rtol=0, atol=1e-12)
