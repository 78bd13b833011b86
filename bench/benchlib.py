"""Shared plumbing for the benchmarks: machine details, tables, JSON results.

Benchmarks are scripts, not tests: each measures its subject beside a baseline in the
same run (machines here are shared and noisy, so we quote medians and ratios), prints
a table and writes ``bench/results/<name>.json``.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import kefu

RESULTS = Path(__file__).resolve().parent / "results"
DEMO_BOT = Path(__file__).resolve().parent.parent / "intents"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "kefu": kefu.__version__,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def forget_texts() -> None:
    """Empty kefu's caches of recently seen texts (normalized forms, entity forms), so the
    next message is new to it: what a latency of "every message new" must measure. Code
    from before those caches (``instructions.py`` runs older revisions) has none to empty."""
    # The modules by name: `kefu.normalize` is also the name of the function kefu exports.
    for module, name in (("kefu.normalize", "_remembered"), ("kefu.entities", "_remembered_message")):
        cache = getattr(importlib.import_module(module), name, None)
        if cache is not None:
            cache.cache_clear()


def forget_messages(engine: kefu.Engine) -> None:
    """Empty the engine's verdict cache and kefu's text caches: the next message of any
    text is new to it."""
    engine._runtime._cached_verdict.cache_clear()  # type: ignore[attr-defined]
    forget_texts()


def per_call(function: Callable[[], object], repeat: int, inner: int = 1) -> list[float]:
    """Seconds per call, one sample per ``inner`` calls, ``repeat`` samples."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            function()
        samples.append((time.perf_counter() - start) / inner)
    return samples


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of ``samples``."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: Sequence[float]) -> float:
    """The median of ``samples``."""
    return statistics.median(samples)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned numbers."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file; blank lines are skipped."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(name: str, data: dict[str, Any]) -> Path:
    """Save results with machine details to bench/results/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(
        json.dumps({"machine": machine(), **data}, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return path
