"""``kefu lint``: problems a bot can load with but should not ship with.

Each finding says where, what, and what to do about it. Errors (exit 1): examples in
two intents that are the same sentence in all but spacing or punctuation. Warnings:
near-duplicate examples across intents, intents with too few examples, pairs of intents
that overlap, patterns that match none of their own intent's examples, and regexes that
run out of time on a crafted message (``kefu.bot_regex``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import scipy.sparse as sp

from kefu.bot_regex import TIMEOUT, compile_regex, runaway_probe, search
from kefu.normalize import normalize
from kefu.training import centroid_similarity

if TYPE_CHECKING:
    from kefu.model import Model

__all__ = ["Finding", "lint"]

DUPLICATE = 0.95
NEAR_DUPLICATE = 0.8
MIN_EXAMPLES = 5
OVERLAP = 0.6


@dataclass(frozen=True)
class Finding:
    """One lint finding with a suggested fix."""

    level: str  # "error" or "warning"
    code: str
    message: str
    fix: str
    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        return f"{where}{self.level}: {self.message} (fix: {self.fix})"


def lint(model: Model, *, near_duplicate: float = NEAR_DUPLICATE, overlap: float = OVERLAP) -> list[Finding]:
    """Every finding for a trained model, errors first."""
    findings = _duplicates(model, near_duplicate) + _few_examples(model) + _overlaps(model, overlap)
    findings += _idle_patterns(model) + _runaway_patterns(model)
    return sorted(findings, key=lambda f: (f.level != "error", f.code, f.file, f.line, f.message))


def _duplicates(model: Model, bound: float) -> list[Finding]:
    x = model.examples
    labels = model.matcher.example_intent
    similar = sp.triu(x @ x.T, k=1).tocoo()
    keep = (similar.data >= bound) & (labels[similar.row] != labels[similar.col])
    rows, columns = similar.row[keep].tolist(), similar.col[keep].tolist()
    pairs = dict(zip(zip(rows, columns, strict=True), similar.data[keep].tolist(), strict=True))
    # The same sentence but for spaces and punctuation, whatever its TF-IDF similarity.
    first: dict[str, int] = {}
    for i, text in enumerate(model.example_texts):
        j = first.setdefault(normalize(text).replace(" ", ""), i)
        if j != i and labels[i] != labels[j]:
            pairs[(j, i)] = 1.0
    first_example = model.matcher.intent_start
    findings = []
    for (i, j), score in sorted(pairs.items()):
        a, b = model.spec.intents[labels[i]], model.spec.intents[labels[j]]
        lines = b.example_lines  # the finding points at the second sentence, the one to move
        line = lines[j - first_example[labels[j]]] if lines else b.line
        text_a, text_b = model.example_texts[i], model.example_texts[j]
        error = score >= DUPLICATE
        findings.append(
            Finding(
                "error" if error else "warning",
                "duplicate-example" if error else "near-duplicate-example",
                f"{text_a!r} ({a.name}) and {text_b!r} ({b.name}) are {score:.0%} similar",
                "keep the sentence in the intent it belongs to and remove it from the other"
                if error
                else f"reword one of them so it says what is specific to {a.name} or {b.name}",
                b.file,
                line,
            )
        )
    return findings


def _few_examples(model: Model) -> list[Finding]:
    return [
        Finding(
            "warning",
            "few-examples",
            f"intent {intent.name!r} has only {len(intent.examples)} example(s)",
            f"add at least {MIN_EXAMPLES - len(intent.examples)} more, phrased the way customers write",
            intent.file,
            intent.line,
        )
        for intent in model.spec.intents
        if len(intent.examples) < MIN_EXAMPLES
    ]


def _overlaps(model: Model, bound: float) -> list[Finding]:
    n = len(model.spec.intents)
    similarity = centroid_similarity(model.examples, model.matcher.example_intent, n)
    findings = []
    for a in range(n):
        for b in range(a + 1, n):
            if similarity[a, b] >= bound:
                first, second = model.spec.intents[a], model.spec.intents[b]
                findings.append(
                    Finding(
                        "warning",
                        "overlapping-intents",
                        f"intents {first.name!r} and {second.name!r} overlap "
                        f"(similarity {similarity[a, b]:.2f})",
                        "merge them, or give each examples about what only it means; "
                        "`kefu test --cv 5` shows how often they are confused",
                        second.file,
                        second.line,
                    )
                )
    return findings


def _idle_patterns(model: Model) -> list[Finding]:
    findings = []
    for intent in model.spec.intents:
        examples = [normalize(e) for e in intent.examples]
        owner = f"intent {intent.name!r}"
        for pattern in intent.patterns:
            compiled = compile_regex(pattern)
            if not any(search(compiled, e, owner) for e in examples):
                findings.append(
                    Finding(
                        "warning",
                        "pattern-matches-no-example",
                        f"pattern {pattern!r} of intent {intent.name!r} matches none of its examples",
                        "patterns run on normalized text (lower case, punctuation as spaces); "
                        "fix the pattern or add an example it should match",
                        intent.file,
                        intent.line,
                    )
                )
    return findings


def _runaway_patterns(model: Model) -> list[Finding]:
    """Regexes that run out of time on a crafted message of the longest length kefu accepts."""
    length = model.spec.settings.max_input_length
    checks = [(f"entity {e.name!r}", e.regex, False, "", 0) for e in model.spec.entities if e.regex]
    for intent in model.spec.intents:
        where = (intent.file, intent.line)
        checks += [(f"intent {intent.name!r}", pattern, False, *where) for pattern in intent.patterns]
        checks += [
            (f"slot {s.name!r} of intent {intent.name!r}", s.regex, True, *where)
            for s in intent.slots
            if s.regex
        ]
    findings = []
    for owner, pattern, whole, file, line in checks:
        probe = runaway_probe(compile_regex(pattern), length, whole=whole)
        if probe is not None:
            findings.append(
                Finding(
                    "warning",
                    "runaway-regex",
                    f"regex {pattern!r} of {owner} runs out of time ({TIMEOUT} s) on {probe}; "
                    "such messages are treated as not matching it",
                    "remove nested repetition such as (a+)+ or (a|aa)+; "
                    "an atomic group (?>...) or a possessive a++ stops the backtracking",
                    file,
                    line,
                )
            )
    return findings
