"""Threshold tuning: sweep the fallback threshold and ambiguity margin and recommend a pair
(``kefu.thresholds_file.write_thresholds`` writes the choice into the bot file)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from kefu.evaluate import Prediction
from kefu.matcher import verdict
from kefu.spec import BotSpec

__all__ = ["OBJECTIVES", "TuningPoint", "highest_threshold", "recommend", "sweep"]

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

    Replays the engine's decision on each prediction's top two confidences, as the bot
    would with that threshold and margin: an intent with its own threshold keeps it, and a
    top candidate a pattern or keyword raised skips the ambiguity check. Thresholds and
    margins are numbers from 0 to 1 (``ValueError`` otherwise, nan included).
    """
    for name, values in (("thresholds", thresholds), ("margins", margins)):
        bad = [v for v in values if not 0.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"{name} must be numbers from 0 to 1, not {bad[0]}")
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
    own = threshold if p.top_threshold is None else p.top_threshold
    if p.top is None or verdict(p.confidence, runner_up, own, margin, "rule" if p.rule else None) != "answer":
        return None
    return p.top


def highest_threshold(spec: BotSpec) -> float:
    """The highest ``bot.threshold`` ``spec`` can take: ``bot.keyword_score`` when an intent
    with keywords has no threshold of its own (the loader refuses a keyword that could
    never answer its intent), else 1."""
    if any(intent.keywords and intent.threshold is None for intent in spec.intents):
        return spec.settings.keyword_score
    return 1.0


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
    if floor is not None and not 0.0 <= floor <= 1.0:  # also refuses NaN, which no point reaches
        raise ValueError(f"floor must be between 0 and 1, got {floor}")
    if not points:
        raise ValueError("recommend needs at least one tuning point (from sweep(predictions))")
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
