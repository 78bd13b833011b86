"""``kefu explain``: why a message got the answer it got, in terms a bot owner can act on.

Shows the text as the matcher saw it (normalized, segmented, synonyms applied), its
strongest features, which features pushed the winning intent up, the top intents with
their nearest examples, and which threshold or rule decided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from kefu.csr import CsrArrays
from kefu.features import QueryVector
from kefu.matcher import CONTEXT_BOOST
from kefu.normalize import clean, normalize

if TYPE_CHECKING:
    from kefu.engine import Engine

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True)
class Explanation:
    """Everything ``kefu explain`` prints, as data (``to_dict`` for ``--json``)."""

    text: str
    normalized: str
    tokens: list[str]
    words: list[str]
    unknown: list[str]
    """Unseen character n-grams (the first 20)."""
    unknown_words: list[str]
    """Every word of the message the bot never saw, in order."""
    features: list[tuple[str, float]]
    candidates: list[dict[str, Any]]
    contributions: list[tuple[str, float]]
    decision: str
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable form."""
        return {
            "text": self.text,
            "normalized": self.normalized,
            "tokens": self.tokens,
            "words": self.words,
            "unknown_words": self.unknown_words,
            "unknown_char_ngrams": self.unknown,
            "features": [{"feature": f, "weight": round(w, 4)} for f, w in self.features],
            "contributions": [{"feature": f, "score": round(w, 4)} for f, w in self.contributions],
            "candidates": self.candidates,
            "decision": self.decision,
            "settings": self.settings,
        }


def explain(
    engine: Engine, text: str, contexts: Sequence[str] | str | None = (), top_k: int = 5
) -> Explanation:
    """Explain how ``engine`` matches ``text`` with ``contexts`` open.

    Text or a context that is not a ``str`` is the ``TypeError`` ``Engine.match`` raises.
    """
    from kefu.engine import Engine  # here: kefu.engine is not loaded for kefu.explain's sake

    if not isinstance(engine, Engine):
        raise TypeError(
            f"explain takes a kefu.Engine (kefu.Engine.from_path(...)), not {type(engine).__name__}"
        )
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a whole number of at least 1, not {top_k!r}")
    # First: it refuses text and contexts of the wrong type with the engine's own errors.
    match = engine.match(text, contexts)
    contexts = (contexts,) if isinstance(contexts, str) else tuple(contexts or ())  # as match reads them
    model, spec = engine.model, engine.spec
    features = model.features
    cleaned = clean(text, spec.settings.max_input_length)
    normalized = normalize(cleaned, spec.settings.max_input_length)
    tokens = features.analyzer.tokens(normalized)
    _, chars = features.terms(normalized, normalized=True)
    names = _feature_names(features)
    query = features.vector(normalized, normalized=True)
    idx, val = query.indices, query.values
    order = np.argsort(-val)[:12]
    # As they are, padding included: " 款" (款 starting the message) is unknown where 款 is not.
    unknown = sorted({c for c in chars if c not in features.char_vocab})
    segmented = features.analyzer.words(tokens)
    unknown_words = list(dict.fromkeys(w for w in segmented if w not in features.word_vocab))
    top = match.top.intent if match.top else None
    scores = model.matcher.example_scores(query)  # one pass over the examples serves every candidate
    return Explanation(
        text=text,
        normalized=normalized,
        tokens=[t for t in tokens if t != " "],
        words=segmented,
        unknown=unknown[:20],
        unknown_words=unknown_words,
        features=[(names[int(idx[i])], float(val[i])) for i in order],
        candidates=[_candidate(engine, c.intent, c.confidence, scores) for c in match.candidates[:top_k]],
        contributions=_contributions(engine, top, query, names),
        decision=_decision(engine, match, normalized) + _locked_out(engine, scores, contexts),
        settings={
            "threshold": spec.settings.threshold,
            "ambiguity_margin": spec.settings.ambiguity_margin,
            "head": spec.matcher.head,
            "contexts": list(contexts),
        },
    )


def _feature_names(features: Any) -> list[str]:
    names = [""] * features.n_features
    for term, i in features.word_vocab.items():
        names[i] = f"word:{term}"
    offset = len(features.word_vocab)
    for term, i in features.char_vocab.items():
        names[offset + i] = f"char:{term}"
    return names


def _candidate(engine: Engine, intent: str, confidence: float, scores: NDArray[np.float64]) -> dict[str, Any]:
    """An intent's confidence and its two examples nearest the message (``scores``: cosine per example)."""
    model = engine.model
    index = model.matcher.intents.index(intent)
    rows = np.flatnonzero(model.matcher.example_intent == index)
    nearest = rows[np.argsort(-scores[rows])[:2]]
    return {
        "intent": intent,
        "confidence": cut(confidence, 4),
        "nearest_examples": [
            {"text": model.example_texts[i], "cosine": round(float(scores[i]), 4)} for i in nearest
        ],
    }


def _contributions(
    engine: Engine, intent: str | None, query: QueryVector, names: list[str]
) -> list[tuple[str, float]]:
    """Features that most raised the top intent's linear score (feature weight x classifier weight)."""
    matcher = engine.model.matcher
    idx, val = query.indices, query.values
    if intent is None or matcher.weights is None or idx.size == 0:
        return []
    column = matcher.intents.index(intent)
    if isinstance(matcher.weights, CsrArrays):  # big bots keep their weights sparse
        weights = matcher.weights.matrix()[idx, column].toarray()
    else:
        weights = matcher.weights[idx, column]
    parts = val * np.ravel(weights)
    order = np.argsort(-parts)[:8]
    return [(names[int(idx[i])], float(parts[i])) for i in order if parts[i] > 0]


def _decision(engine: Engine, match: Any, normalized: str) -> str:
    settings = engine.spec.settings
    if (
        match.rule and match.candidates
    ):  # the winner's own pattern or keyword (kefu.matcher); '^\d*$' matches ""
        return f"answered {match.candidates[0].intent}: decided by the rule {match.rule}"
    if not normalized:  # an emoji alone has no unknown word either: "no known word" puzzled
        return "fallback: nothing is left of the message once punctuation, emoji and spaces are dropped"
    if not match.candidates:
        return "fallback: no known word or character in the message"
    best = match.candidates[0]
    intent = engine.spec.intent(best.intent)
    threshold = engine.spec.threshold_of(intent)
    which = "the bot's threshold" if intent.threshold is None else f"{best.intent}'s own threshold"
    confidence = _beside(best.confidence, threshold)
    if intent.input_contexts:  # a candidate only with them open; 1.000 for a middling sentence puzzled
        capped = ", capped at 1" if best.confidence >= 1.0 else ""
        confidence += f" (+{CONTEXT_BOOST:g} for the open context {', '.join(intent.input_contexts)}{capped})"
    if match.intent is None and not match.ambiguous:
        return f"fallback: best confidence {confidence} ({best.intent}) < {which} {threshold:g}"
    margin = settings.ambiguity_margin
    gap = best.confidence - (match.candidates[1].confidence if len(match.candidates) > 1 else 0.0)
    lead = _beside(gap, margin)
    if match.ambiguous:
        second = match.candidates[1].intent
        return f"clarify: {best.intent} leads {second} by {lead} < ambiguity_margin {margin:g}"
    answered = f"answered {best.intent}: confidence {confidence} >= {which} {threshold:g}"
    if len(match.candidates) == 1:  # the engine compares it with no one: "lead 0.371 >= 0.5" was false
        return f"{answered}, no other candidate to be ambiguous with"
    return f"{answered}, lead {lead} >= ambiguity_margin {margin:g}"


def _locked_out(engine: Engine, scores: NDArray[np.float64], contexts: Sequence[str]) -> str:
    """A note when the example nearest the message belongs to an intent out of the running
    for want of a context: "那运费呢" fell back, and nothing said its intent needs ``order``."""
    if scores.size == 0 or scores.max() <= 0:
        return ""
    row = int(np.argmax(scores))
    intent = engine.spec.intents[int(engine.model.matcher.example_intent[row])]
    missing = [c for c in intent.input_contexts if c not in contexts]
    if not missing:
        return ""
    needs = " ".join(f"-c {c}" for c in missing)
    return (f"; the example nearest the message, {engine.model.example_texts[row]!r} ({scores[row]:.2f}), "
            f"is {intent.name}'s, which needs the context {', '.join(missing)} open ({needs})")  # fmt: skip


def cut(value: float, digits: int) -> float:
    """``value`` cut (not rounded) to ``digits`` decimals: a confidence of 0.59998 shown as
    0.6 beside a threshold of 0.6 read as an answer; 0.5999 does not."""
    scale = 10.0**digits
    return math.floor(value * scale + 1e-9) / scale  # 1e-9: 0.29 * 10**4 is 2899.9999999999995


def _beside(value: float, bound: float) -> str:
    """``value`` to 3 decimals, or as many more as it takes to fall on its side of ``bound``:
    a confidence of 0.5996 read "0.600 < the bot's threshold 0.6"."""
    for digits in range(3, 17):
        shown = f"{value:.{digits}f}"
        if (float(shown) < bound) == (value < bound):
            return shown
    return repr(value)
