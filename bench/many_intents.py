"""Training a bot of many small intents, beside the same examples in a few big intents.

15,000 examples (speed.py's synthetic sentences) are grouped into 150, 1,500 and 5,000
intents. Each bot is trained in its own process, so its peak resident memory is its own:
the 150-intent bot (CLINC150's shape) is the baseline measured in the same run, and the
ratios say what many intents cost on top of the examples themselves. Also: the weight
matrix kept (dense or sparse, MB), match latency and ``kefu lint`` time. (What
hard-negative training costs in accuracy is measured on CLINC150 dev in docs/accuracy.md.)

    python bench/many_intents.py   # about 2 minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import benchlib
import numpy as np
import speed

import kefu
from kefu.csr import CsrArrays
from kefu.model import train
from kefu.normalize import normalize
from kefu.runtime import build_runtime
from kefu.spec import BotSpec, IntentSpec

EXAMPLES = 15_000
INTENT_COUNTS = (150, 1_500, 5_000)


def grouped_bot(pairs: list[tuple[str, str]], n_intents: int) -> BotSpec:
    """EXAMPLES sentences, sorted by source label, cut into ``n_intents`` intents of equal
    size: neighbouring intents share a label and near-duplicate sentences, the hard case
    that hard-negative training picks its negatives for."""
    source = speed.synthetic_bot(pairs, EXAMPLES, 1)
    examples = [text for intent in source.intents for text in intent.examples]
    bounds = np.linspace(0, len(examples), n_intents + 1).astype(int)
    intents = tuple(
        IntentSpec(f"intent{k:05d}", tuple(examples[bounds[k] : bounds[k + 1]])) for k in range(n_intents)
    )
    return dataclasses.replace(source, intents=intents)


def measure(n_intents: int) -> dict[str, Any]:
    """One bot, in this process (run by ``main`` in a child process per bot)."""
    pairs, queries = speed.base_sentences()
    spec = grouped_bot(pairs, n_intents)
    queries = list(dict.fromkeys(q for q in queries if normalize(q)))[:500]
    start = time.perf_counter()
    model = train(spec)
    train_s = time.perf_counter() - start
    weights = model.matcher.weights
    if isinstance(weights, CsrArrays):
        weights_mb = (weights.data.nbytes + weights.indices.nbytes + weights.indptr.nbytes) / 1e6
    else:
        weights_mb = np.asarray(weights).nbytes / 1e6
    runtime = build_runtime(model, with_plugins=False)
    latency = speed.latencies(runtime.match, queries)
    start = time.perf_counter()
    findings = kefu.lint(model)
    lint_s = time.perf_counter() - start
    return {
        "intents": len(spec.intents),
        "examples": sum(len(i.examples) for i in spec.intents),
        "features": model.features.n_features,
        "train s": train_s,
        "peak RSS MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        "weights": "sparse" if isinstance(weights, CsrArrays) else "dense",
        "weights MB": weights_mb,
        "match p50 us": 1e6 * statistics.median(latency),
        "lint s": lint_s,
        "lint findings": len(findings),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return 0
    rows = []
    for count in INTENT_COUNTS:
        print(f"bot of {count:,} intents ...", file=sys.stderr, flush=True)
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(count)], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(child.stdout.splitlines()[-1]))
    base = rows[0]
    for row in rows:
        row["train / base"] = row["train s"] / base["train s"]
        row["RSS / base"] = row["peak RSS MB"] / base["peak RSS MB"]
    print(benchlib.table(list(rows[0]), [list(r.values()) for r in rows]))
    path = benchlib.write("many_intents", {"examples": EXAMPLES, "bots": rows})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
