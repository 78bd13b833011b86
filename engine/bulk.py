"""``match_many``: matching many texts, spread over processes with joblib.

Tokenizers hold locks and cannot be sent to another process, so each worker loads the
model from its saved directory once and keeps it for later batches.
"""

from __future__ import annotations

from pathlib import Path

from kefu.errors import ModelError
from kefu.jobs import worker_count
from kefu.model import is_model_dir
from kefu.runtime import Runtime, build_runtime, load_or_train, store_in_cache
from kefu.values import Match

__all__ = ["match_many"]

# Below this many texts per worker, starting workers costs more than it saves.
MIN_TEXTS_PER_WORKER = 2_000

_worker_runtimes: dict[str, Runtime] = {}


def match_many(runtime: Runtime, texts: list[str], n_jobs: int = 1) -> list[Match]:
    """Match every text; with ``n_jobs`` != 1 the texts are split over worker processes."""
    workers = worker_count(n_jobs, len(texts) // MIN_TEXTS_PER_WORKER)
    if workers == 1:
        return [runtime.match(t) for t in texts]
    import joblib

    folder = runtime.model_dir
    if not is_model_dir(folder):
        store_in_cache(runtime.model, folder)
    chunks = [texts[i::workers] for i in range(workers)]

    def run() -> list[list[Match]]:
        jobs = (joblib.delayed(_match_chunk)(str(folder), c) for c in chunks)
        return list(joblib.Parallel(n_jobs=workers)(jobs))

    try:
        parts = run()
    except ModelError:  # the cached copy was damaged after this bot started: write it again
        store_in_cache(runtime.model, folder)
        parts = run()
    # Undo the round-robin split so results line up with ``texts``.
    results: list[Match | None] = [None] * len(texts)
    for offset, part in enumerate(parts):
        results[offset::workers] = part
    return [m for m in results if m is not None]


def _match_chunk(folder: str, texts: list[str]) -> list[Match]:
    runtime = _worker_runtimes.get(folder)
    if runtime is None:
        runtime = _worker_runtimes[folder] = build_runtime(load_or_train(Path(folder)), with_plugins=False)
    return [runtime.match(t) for t in texts]
