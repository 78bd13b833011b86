"""``kefu lint``: problems a bot can load with but should not ship with.

Each finding says where, what, and what to do about it. Errors (exit 1): examples in
two intents that are the same sentence in all but spacing or punctuation. Warnings:
near-duplicate examples across intents, intents with too few examples, pairs of intents
that overlap, patterns that match none of their own intent's examples, regexes that run
out of time on a crafted message (``kefu.bot_regex``), a slot written as a literal
``{{name}}``, and examples longer than the bot reads. (A slot value that is also a cancel
word is none either: the value is read first, so "不用了" answers "要发票吗".)
(An intent without responses is no finding: a program that answers intents itself needs
none.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from kefu.bot_regex import TIMEOUT, compile_regex, runaway_probe, search
from kefu.explain import cut
from kefu.model import Model
from kefu.normalize import normalize
from kefu.training import centroid_similarity

__all__ = ["Finding", "lint", "similar_pairs"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
PAIR_BLOCK = 1_024  # rows whose candidate pairs are held at once

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
    if not isinstance(model, Model):
        raise TypeError(
            f"lint takes a trained kefu.Model (engine.model, kefu.train(spec)), not {type(model).__name__}"
        )
    for name, bound in (("near_duplicate", near_duplicate), ("overlap", overlap)):
        if not 0.0 <= bound <= 1.0:
            raise ValueError(f"{name} must be a number from 0 to 1, not {bound}")
    findings = _duplicates(model, near_duplicate) + _few_examples(model) + _overlaps(model, overlap)
    findings += _idle_patterns(model) + _runaway_patterns(model)
    findings += _literal_placeholders(model) + _cut_examples(model)
    return sorted(findings, key=lambda f: (f.level != "error", f.code, f.file, f.line, f.message))


def _duplicates(model: Model, bound: float) -> list[Finding]:
    labels = model.matcher.example_intent
    rows, columns, scores = similar_pairs(model.examples, bound)
    keep = labels[rows] != labels[columns]
    pairs = dict(
        zip(zip(rows[keep].tolist(), columns[keep].tolist(), strict=True), scores[keep].tolist(), strict=True)
    )
    # The same sentence but for spaces and punctuation, whatever its TF-IDF similarity
    # (None: it is said so, not as a similarity it does not have).
    same: dict[tuple[int, int], float | None] = dict(pairs)
    first: dict[str, int] = {}
    for i, text in enumerate(model.example_texts):
        j = first.setdefault(normalize(text).replace(" ", ""), i)
        if j != i and labels[i] != labels[j]:
            same[(j, i)] = None
    first_example = model.matcher.intent_start
    findings = []
    for (i, j), score in sorted(same.items()):
        a, b = model.spec.intents[labels[i]], model.spec.intents[labels[j]]
        lines = b.example_lines  # the finding points at the second sentence, the one to move
        line = lines[j - first_example[labels[j]]] if lines else b.line
        text_a, text_b = model.example_texts[i], model.example_texts[j]
        error = score is None or score >= DUPLICATE
        # A tenth of a percent, cut: 0.948 (a warning) and 0.952 (an error) both read "95%
        # similar", and 0.9496 rounded reads "95.0%", the error bound.
        alike = (
            "the same but for spacing and punctuation"
            if score is None
            else f"{cut(100 * score, 1):.1f}% similar"
        )
        findings.append(
            Finding(
                "error" if error else "warning",
                "duplicate-example" if error else "near-duplicate-example",
                f"{text_a!r} ({a.name}) and {text_b!r} ({b.name}) are {alike}",
                "keep the sentence in the intent it belongs to and remove it from the other"
                if error
                else f"reword one of them so it says what is specific to {a.name} or {b.name}",
                b.file,
                line,
            )
        )
    return findings


def similar_pairs(x: sp.csr_matrix, bound: float) -> tuple[IntArray, IntArray, FloatArray]:
    """Every pair of rows ``i < j`` of ``x`` (rows of unit length) with cosine >= ``bound`` > 0.

    All pairs at once (``x @ x.T``) took 15 s and 6 GB for 15,000 examples: nearly every
    two sentences share a character. Instead each row is compared only with the rows that
    share one of its rarest features, as many of them as it takes for the rest of the row
    to weigh less than ``bound``. A row sharing none of those scores at most the norm of
    that rest (Cauchy-Schwarz), so no pair is missed (prefix filtering, Bayardo et al. 2007).
    """
    x = sp.csr_matrix(x)
    n = x.shape[0]
    counts = np.diff(x.indptr)
    frequency = np.bincount(x.indices, minlength=x.shape[1])
    row_of = np.repeat(np.arange(n), counts)
    order = np.lexsort((frequency[x.indices], row_of))  # each row's entries, rarest first
    squares = x.data[order] ** 2
    total = np.cumsum(squares)
    row_end = np.repeat(total[np.maximum(x.indptr[1:] - 1, 0)], counts)
    from_here = row_end - total + squares  # this entry's and the later entries' weight
    # The prefix: entries while what is left still weighs >= bound (the slack for rounding
    # can only add candidates, never lose a pair).
    in_prefix = from_here >= bound * bound - 1e-9
    prefix = sp.csr_matrix(
        (np.ones(int(in_prefix.sum())), x.indices[order][in_prefix], _indptr(row_of[in_prefix], n)),
        shape=x.shape,
    )
    present = sp.csr_matrix((np.ones(x.nnz), x.indices, x.indptr), shape=x.shape)
    found = []
    for start in range(0, n, PAIR_BLOCK):
        candidates = sp.coo_matrix(prefix[start : start + PAIR_BLOCK] @ present.T)
        rows, columns = candidates.row.astype(np.int64) + start, candidates.col.astype(np.int64)
        later = columns > rows
        rows, columns = rows[later], columns[later]
        scores = np.asarray(x[rows].multiply(x[columns]).sum(axis=1), np.float64).ravel()
        close = scores >= bound
        found.append((rows[close], columns[close], scores[close]))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    pairs_rows, pairs_columns, pairs_scores = (np.concatenate(part) for part in zip(*found, strict=True))
    return pairs_rows, pairs_columns, pairs_scores


def _indptr(rows: IntArray, n: int) -> IntArray:
    return np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n))))


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
    findings = []
    for start, block in centroid_similarity(model.examples, model.matcher.example_intent, n):
        # Pairs a < b only: row i of the block is intent start + i.
        for row, b in zip(*np.nonzero(np.triu(block >= bound, k=start + 1)), strict=True):
            a = start + row
            first, second = model.spec.intents[a], model.spec.intents[b]
            findings.append(
                Finding(
                    "warning",
                    "overlapping-intents",
                    f"intents {first.name!r} and {second.name!r} overlap (similarity {block[row, b]:.2f})",
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
    checks = [(f"entity {e.name!r}", e.regex, False, e.file, e.line) for e in model.spec.entities if e.regex]
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


def _literal_placeholders(model: Model) -> list[Finding]:
    """Responses that write a slot of their intent in double braces: ``{{order_id}}`` is
    sent as the literal text {order_id} (the Jinja habit), never the slot's value."""
    findings = []
    for intent in model.spec.intents:
        names = {slot.name for slot in intent.slots}
        for response in intent.responses:
            literal = next((n for n in _DOUBLE_BRACED.findall(response) if n.strip() in names), None)
            if literal is not None:
                findings.append(
                    Finding(
                        "warning",
                        "literal-placeholder",
                        f"a response of intent {intent.name!r} sends the literal text {{{literal}}}: "
                        f"{{{{{literal}}}}} is a brace pair, not slot {literal.strip()!r}",
                        f"write {{{literal.strip()}}} to fill in the slot's value",
                        intent.file,
                        intent.line,
                    )
                )
    return findings


_DOUBLE_BRACED = re.compile(r"\{\{([^{}]*)\}\}")


def _cut_examples(model: Model) -> list[Finding]:
    """Examples longer than ``bot.max_input_length``: trained on their first characters only,
    as messages are read, so two long examples can look alike that are not."""
    limit = model.spec.settings.max_input_length
    findings = []
    for intent in model.spec.intents:
        long = [e for e in intent.examples if len(e) > limit]
        if long:
            more = f" (and {len(long) - 1} more)" if len(long) > 1 else ""
            shown = repr(long[0]) if len(long[0]) <= 20 else f"{long[0][:20]!r}..."
            findings.append(
                Finding(
                    "warning",
                    "example-cut",
                    f"intent {intent.name!r} has an example of {len(long[0])} characters{more}, but the "
                    f"bot reads only the first {limit} (bot.max_input_length): {shown}",
                    "shorten the example, or raise bot.max_input_length",
                    intent.file,
                    intent.line,
                )
            )
    return findings
