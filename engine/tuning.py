"""Threshold tuning: sweep the fallback threshold and ambiguity margin, recommend a pair,
and write the choice back into the bot file without disturbing anything else in it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kefu.errors import SpecError
from kefu.evaluate import Prediction
from kefu.matcher import verdict
from kefu.yamlsource import read_yaml

__all__ = ["OBJECTIVES", "TuningPoint", "recommend", "sweep", "write_thresholds"]

OBJECTIVES = ("balanced", "accuracy", "oos")
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 20))
MARGINS = (0.0, 0.02, 0.05, 0.1)


@dataclass(frozen=True)
class TuningPoint:
    """In-scope accuracy and out-of-scope recall at one threshold and margin."""

    threshold: float
    margin: float
    in_scope_accuracy: float
    oos_recall: float | None
    answered: float
    """Share of in-scope rows the bot answered (not fallback, not a clarification)."""


def sweep(
    predictions: Sequence[Prediction],
    thresholds: Sequence[float] = THRESHOLDS,
    margins: Sequence[float] = MARGINS,
) -> list[TuningPoint]:
    """Every (threshold, margin) pair's trade-off, computed from one set of predictions.

    Replays the engine's decision on each prediction's top two confidences; per-intent
    thresholds and pattern rules of the bot are not part of the sweep.
    """
    in_scope = [p for p in predictions if not p.row.oos]
    oos = [p for p in predictions if p.row.oos]
    points = []
    for margin in margins:
        for threshold in thresholds:
            answers = [_answer(p, threshold, margin) for p in in_scope]
            right = sum(a == p.row.intent for a, p in zip(answers, in_scope, strict=True))
            rejected = sum(_answer(p, threshold, margin) is None for p in oos)
            points.append(
                TuningPoint(
                    threshold,
                    margin,
                    right / len(in_scope) if in_scope else 0.0,
                    rejected / len(oos) if oos else None,
                    sum(a is not None for a in answers) / len(in_scope) if in_scope else 0.0,
                )
            )
    return points


def _answer(p: Prediction, threshold: float, margin: float) -> str | None:
    # No runner-up: as in the engine, a lone candidate has no rival to be ambiguous with.
    runner_up = -math.inf if p.runner_up is None else p.runner_up
    if p.top is None or verdict(p.confidence, runner_up, threshold, margin) != "answer":
        return None
    return p.top


def recommend(
    points: Sequence[TuningPoint], objective: str = "balanced", floor: float | None = None
) -> TuningPoint:
    """The best point for an objective.

    ``balanced``: the highest mean of in-scope accuracy and out-of-scope recall.
    ``accuracy``: the highest in-scope accuracy with out-of-scope recall >= ``floor``.
    ``oos``: the highest out-of-scope recall with in-scope accuracy >= ``floor``.
    Without out-of-scope rows: the highest threshold whose in-scope accuracy is within
    one point of the best (a cautious bot that still answers what it knows).
    Ties go to the smaller margin, then the lower threshold.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
    if all(p.oos_recall is None for p in points):
        best = max(p.in_scope_accuracy for p in points)
        near = [p for p in points if p.in_scope_accuracy >= best - 0.01]
        return max(near, key=lambda p: (p.threshold, -p.margin))

    def oos(p: TuningPoint) -> float:
        return p.oos_recall or 0.0

    if objective == "balanced":
        return max(points, key=lambda p: ((p.in_scope_accuracy + oos(p)) / 2, -p.margin, -p.threshold))
    if objective == "accuracy":
        allowed = [p for p in points if oos(p) >= (floor or 0.0)] or list(points)
        return max(allowed, key=lambda p: (p.in_scope_accuracy, oos(p), -p.margin))
    allowed = [p for p in points if p.in_scope_accuracy >= (floor or 0.0)] or list(points)
    return max(allowed, key=lambda p: (oos(p), p.in_scope_accuracy, -p.margin))


def write_thresholds(files: Sequence[str | Path], threshold: float, margin: float) -> Path:
    """Set ``bot.threshold`` and ``bot.ambiguity_margin`` in the file that has the ``bot:``
    section, editing only those values: comments, key order and layout stay as they were."""
    for name in files:
        src = read_yaml(Path(name))
        if isinstance(src.data, dict) and "bot" in src.data:
            lines = src.raw.decode("utf-8-sig").splitlines(keepends=True)
            bot = src.data["bot"] if isinstance(src.data["bot"], dict) else {}
            values = {"threshold": f"{threshold:g}", "ambiguity_margin": f"{margin:g}"}
            missing = {}
            for key, value in values.items():  # replacements first: they never move a line
                if key in bot:
                    index = src.key_line(("bot", key)) - 1
                    lines[index] = _value_pattern(key).sub(_replacement(value), lines[index], count=1)
                else:
                    missing[key] = value
            if missing:
                _insert(lines, src.key_line(("bot",)) - 1, missing)
            src.path.write_text("".join(lines), encoding="utf-8")
            return src.path
    raise SpecError.single(
        Path(files[0]), 1, "no file of this bot has a `bot:` section to write thresholds into"
    )


def _value_pattern(key: str) -> re.Pattern[str]:
    """``key: value`` up to a comma, closing brace, comment or line end; the spacing before a
    comment is kept (``threshold: 0.3  # 兜底``)."""
    return re.compile(rf"(\b{key}\s*:\s*)([^,}}#\s][^,}}#\n]*?)(\s*(?:[,}}#].*)?\n?)$", re.S)


_FLOW_SECTION = re.compile(r"^\s*bot\s*:\s*\{")


def _replacement(value: str) -> Callable[[re.Match[str]], str]:
    return lambda match: f"{match.group(1)}{value}{match.group(3)}"


def _insert(lines: list[str], index: int, values: dict[str, str]) -> None:
    """Add keys to the ``bot:`` section that starts on line ``index``."""
    header = lines[index]
    if _FLOW_SECTION.match(header):  # bot: {name: x}
        added = "".join(f"{key}: {value}, " for key, value in values.items())
        lines[index] = header.replace("{", "{" + added, 1)
        return
    following = next(
        (ln for ln in lines[index + 1 :] if ln.strip() and not ln.lstrip().startswith("#")), "  x"
    )
    indent = following[: len(following) - len(following.lstrip())] or "  "
    for offset, (key, value) in enumerate(values.items(), 1):
        lines.insert(index + offset, f"{indent}{key}: {value}\n")
