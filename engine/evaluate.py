"""Evaluation: labeled test data in, metrics a bot owner can trust out.

Test files are JSONL (``{"text", "intent"}``, optionally ``"oos": true`` and
``"contexts": [...]`` for follow-ups), CSV with ``text,intent`` columns, or a kefu YAML
test file (``version: 1`` + ``tests: [{text, intent}]``). A row is out of scope when its
intent is the out-of-scope label (default ``out_of_scope``) or it carries
``"oos": true``; the bot answers such a row correctly by falling back.

The metrics follow scikit-learn's definitions exactly (tests check them against
``sklearn.metrics``): macro-F1 averages over the in-scope intents present in the data.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kefu.checks import version_problem
from kefu.errors import SpecError
from kefu.table_import import check_csv_quotes, quote_hint
from kefu.yamlsource import json_line, json_lines, lone_surrogate, parse_yaml, read_limited

if TYPE_CHECKING:
    from kefu.engine import Engine
    from kefu.spec import BotSpec
    from kefu.values import Match

__all__ = [
    "EvalReport",
    "IntentScore",
    "Prediction",
    "TestRow",
    "confidence_histogram",
    "evaluate",
    "predict_rows",
    "prediction_of",
    "read_test_file",
]

OOS = "out_of_scope"


@dataclass(frozen=True)
class TestRow:
    """One labeled utterance."""

    __test__ = False  # not a pytest class

    text: str
    intent: str
    oos: bool = False
    contexts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prediction:
    """What the bot made of one row: intent (None = fallback) and confidence."""

    row: TestRow
    intent: str | None
    confidence: float
    ambiguous: bool = False
    top: str | None = None
    """The best candidate, even when it was below the threshold (for tuning)."""
    runner_up: float | None = None
    """The second candidate's confidence (for tuning the ambiguity margin); None when the
    top candidate had no rival (the engine never calls a lone candidate ambiguous)."""
    rule: bool = False
    """A pattern or keyword of the top candidate raised it: the engine then skips the
    ambiguity check (for tuning)."""
    top_threshold: float | None = None
    """The top candidate's own ``threshold`` from the bot file, which the bot's does not
    override; None when it has none (for tuning)."""

    @property
    def expected_label(self) -> str:
        """The row's intent as reports name it: ``out_of_scope`` for every out-of-scope row."""
        return OOS if self.row.oos else self.row.intent

    @property
    def predicted_label(self) -> str:
        """The predicted intent as reports name it: ``out_of_scope`` for a fallback."""
        return self.intent or OOS

    @property
    def correct(self) -> bool:
        """In scope: the right intent; out of scope: no intent."""
        return self.intent is None if self.row.oos else self.intent == self.row.intent


@dataclass(frozen=True)
class IntentScore:
    """Precision, recall, F1 and support of one intent."""

    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    """All metrics for one evaluation run."""

    total: int
    accuracy: float
    macro_f1: float
    in_scope: int
    in_scope_accuracy: float
    out_of_scope: int
    oos_recall: float
    oos_precision: float
    per_intent: list[IntentScore]
    confusions: list[tuple[str, str, list[str]]] = field(default_factory=list)
    """(expected, predicted, texts) for the most frequent mistakes."""
    histogram: list[tuple[float, float, int, int]] = field(default_factory=list)
    """Confidence bins (low, high, right answers, wrong answers)."""
    predictions: list[Prediction] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable summary (without per-row predictions)."""
        return {
            "total": self.total,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "in_scope": self.in_scope,
            "in_scope_accuracy": self.in_scope_accuracy,
            "out_of_scope": self.out_of_scope,
            "oos_recall": self.oos_recall,
            "oos_precision": self.oos_precision,
            "per_intent": [vars(s) for s in self.per_intent],
            "confusions": [
                {"expected": e, "predicted": p, "count": len(t), "texts": t[:5]}
                for e, p, t in self.confusions
            ],
            "histogram": [
                {"low": low, "high": high, "right": right, "wrong": wrong}
                for low, high, right, wrong in self.histogram
            ],
        }


def read_test_file(path: str | Path, oos_label: str = OOS) -> list[TestRow]:
    """Read labeled rows from a .jsonl, .csv or .yaml test file; ``SpecError`` on bad rows."""
    file = Path(path)
    try:
        data = read_limited(file)
    except FileNotFoundError:
        raise SpecError.single(file, 1, "no such test file") from None
    except OSError as exc:  # a folder, no permission: the system's words, not Python's repr
        raise SpecError.single(file, 1, f"cannot read test file: {exc.strerror or exc}") from None
    except ValueError as exc:  # too big, or a name with a NUL byte
        raise SpecError.single(file, 1, f"cannot read test file: {exc}") from None
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # at its line, as bot files say it
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError.single(file, line, f"test file is not UTF-8 (byte 0x{data[exc.start]:02x})") from None
    suffix = file.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        records = _yaml_rows(file, raw)
    elif suffix == ".csv":
        records = _csv_rows(file, raw)
    else:
        records = _jsonl_rows(file, raw)
    return _rows(file, records, oos_label)


_READ_AS_JSONL = " (test files not named .csv, .yaml or .yml are read as JSON Lines)"
_READ_KEYS = frozenset({"text", "intent", "oos", "contexts"})
"""The keys of a test row kefu reads (another may repeat: a labelling tool's own)."""


def _jsonl_rows(file: Path, raw: str) -> list[tuple[int, Any]]:
    records = []
    for number, line in enumerate(json_lines(raw), 1):
        if line.strip():
            try:
                records.append((number, json_line(line, _READ_KEYS)))
            except ValueError as exc:
                hint = "" if file.suffix.lower() == ".jsonl" else _READ_AS_JSONL
                raise SpecError.single(file, number, f"invalid JSON: {exc}{hint}") from None
            except RecursionError:
                raise SpecError.single(file, number, "invalid JSON: nested too deeply") from None
    return records


def _csv_rows(file: Path, raw: str) -> list[tuple[int, Any]]:
    check_csv_quotes(file, raw)  # else the rest of the file was read as one value, silently
    reader = csv.DictReader(io.StringIO(raw), strict=True)  # "你"好" is an error, not 你好"
    try:
        reader.fieldnames  # noqa: B018 -- reads the header row, which may be past csv's field limit
    except csv.Error as exc:
        raise SpecError.single(file, 1, f"invalid CSV: {exc}") from None
    if not reader.fieldnames or not {"text", "intent"} <= set(reader.fieldnames):
        raise SpecError.single(file, 1, "CSV test file needs a header with `text` and `intent` columns")
    if twice := sorted({c for c in ("text", "intent", "oos", "contexts") if reader.fieldnames.count(c) > 1}):
        raise SpecError.single(file, 1, f"CSV test file has the column `{twice[0]}` twice: keep one")
    # reader.line_num is the line a row ended on (blank lines are skipped, not counted).
    rows = []
    try:
        for row in reader:
            # DictReader keeps the fields past the header under None: a text with an unquoted comma
            # was read as text + intent. Empty ones (a trailing comma) lose nothing.
            if any(extra.strip() for extra in row.get(None) or ()):
                fields, columns = len(reader.fieldnames) + len(row[None]), len(reader.fieldnames)
                raise SpecError.single(
                    file,
                    reader.line_num,
                    f"row has {fields} fields, the header {columns}: "
                    "put a text that contains a comma in double quotes",
                )
            rows.append((reader.line_num, row))
    except csv.Error as exc:  # a field over csv's 131,072-character limit, say; line_num
        # counts the lines read before the bad one
        raise SpecError.single(file, reader.line_num + 1, f"invalid CSV: {exc}{quote_hint(exc)}") from None
    return rows


def _yaml_rows(file: Path, raw: str) -> list[tuple[int, Any]]:
    src = parse_yaml(file, raw)
    if src.problems:
        raise SpecError(src.problems)
    data = src.data
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise SpecError.single(file, 1, "YAML test file needs `tests: [{text, intent}, ...]`")
    problem = version_problem(data)
    if problem is not None:
        raise SpecError.single(file, src.line(("version",)) if "version" in data else 1, problem)
    return [(src.line(("tests", i)), row) for i, row in enumerate(data["tests"])]


def _rows(file: Path, records: list[tuple[int, Any]], oos_label: str) -> list[TestRow]:
    rows = []
    for number, record in records:
        ok = isinstance(record, dict) and isinstance(record.get("text"), str)
        ok = ok and isinstance(record.get("intent"), str)
        if not ok:
            raise SpecError.single(file, number, "each row needs text `text` and `intent`")
        if not record["text"].strip():  # a spreadsheet row with the text left out
            raise SpecError.single(file, number, "row has no text")
        oos = record["intent"] == oos_label or _oos_flag(file, number, record.get("oos"))
        if not oos and not record["intent"].strip():  # an unlabeled spreadsheet row: "在吗," read as
            # the intent "", counted wrong, and named as an intent the bot does not have
            raise SpecError.single(
                file, number, f"row has no intent: label it ({oos_label} if the bot should not answer it)"
            )
        contexts = record.get("contexts") or []
        if isinstance(contexts, str):
            contexts = [contexts]  # one context written as text
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise SpecError.single(file, number, "`contexts` must be a list of context names")
        for text in (record["text"], record["intent"], *contexts):
            if problem := lone_surrogate(text):
                raise SpecError.single(file, number, problem)
        rows.append(TestRow(record["text"], record["intent"], oos, tuple(contexts)))
    if not rows:
        raise SpecError.single(file, 1, "test file has no rows")
    return rows


def _oos_flag(file: Path, number: int, value: object) -> bool:
    """A row's ``oos`` column: true or false (JSON and YAML booleans, 1 or 0, or the words in
    a CSV cell; empty or absent is false). Anything else is an error at the row: "yes" or
    1.0 were read as false, and the row scored as an in-scope question."""
    if value is None or isinstance(value, bool):
        return bool(value)
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in {"", "false", "0"}:
        return False
    if word in {"true", "1"}:
        return True
    raise SpecError.single(file, number, f"`oos` must be true or false, not {value!r}")


def predict_rows(engine: Engine, rows: Sequence[TestRow], n_jobs: int = 1) -> list[Prediction]:
    """The engine's verdict on every row (rows with contexts are matched with them open)."""
    plain = [i for i, row in enumerate(rows) if not row.contexts]
    matches = dict(zip(plain, engine.match_many([rows[i].text for i in plain], n_jobs=n_jobs), strict=True))
    predictions = []
    for i, row in enumerate(rows):
        match = matches[i] if i in matches else engine.match(row.text, contexts=row.contexts)
        predictions.append(prediction_of(row, match, engine.spec))
    return predictions


def prediction_of(row: TestRow, match: Match, spec: BotSpec) -> Prediction:
    """A row's prediction from the engine's ``Match`` of it by the bot ``spec``."""
    top = match.top.intent if match.top else None
    runner_up = match.candidates[1].confidence if len(match.candidates) > 1 else None
    # A rule only ever raises its intent to an answer (the loader refuses a keyword intent
    # whose threshold is above keyword_score), so a Match without one had none.
    own = spec.intent(top).threshold if top is not None else None
    return Prediction(
        row, match.intent, match.confidence, match.ambiguous, top, runner_up, match.rule is not None, own
    )


def evaluate(predictions: Sequence[Prediction], *, top_confusions: int = 10) -> EvalReport:
    """Compute every metric from predictions (see the module docstring for definitions)."""
    if isinstance(top_confusions, bool) or not isinstance(top_confusions, int) or top_confusions < 0:
        raise ValueError(f"top_confusions must be a whole number, 0 or more, not {top_confusions!r}")
    total = len(predictions)
    in_scope = [p for p in predictions if not p.row.oos]
    oos = [p for p in predictions if p.row.oos]
    predicted_oos = [p for p in predictions if p.intent is None]
    labels = sorted({p.row.intent for p in in_scope})
    per_intent = _intent_scores(predictions, labels)
    return EvalReport(
        total=total,
        accuracy=_ratio(sum(p.correct for p in predictions), total),
        macro_f1=sum(s.f1 for s in per_intent) / len(per_intent) if per_intent else 0.0,
        in_scope=len(in_scope),
        in_scope_accuracy=_ratio(sum(p.correct for p in in_scope), len(in_scope)),
        out_of_scope=len(oos),
        oos_recall=_ratio(sum(p.correct for p in oos), len(oos)),
        oos_precision=_ratio(sum(p.row.oos for p in predicted_oos), len(predicted_oos)),
        per_intent=per_intent,
        confusions=_confusions(predictions, top_confusions),
        histogram=confidence_histogram(predictions),
        predictions=list(predictions),
    )


def confidence_histogram(
    predictions: Sequence[Prediction], bins: int = 10
) -> list[tuple[float, float, int, int]]:
    """How many right and wrong answers fell in each confidence bin (the top bin includes 1.0)."""
    right = [0] * bins
    wrong = [0] * bins
    for p in predictions:
        index = min(bins - 1, max(0, int(p.confidence * bins)))
        if p.correct:
            right[index] += 1
        else:
            wrong[index] += 1
    return [(i / bins, (i + 1) / bins, right[i], wrong[i]) for i in range(bins)]


def _intent_scores(predictions: Sequence[Prediction], labels: Sequence[str]) -> list[IntentScore]:
    predicted = Counter(p.intent for p in predictions)
    support = Counter(p.row.intent for p in predictions if not p.row.oos)
    true_pos = Counter(p.intent for p in predictions if not p.row.oos and p.intent == p.row.intent)
    scores = []
    for label in labels:
        precision = _ratio(true_pos[label], predicted[label])
        recall = _ratio(true_pos[label], support[label])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(label, precision, recall, f1, support[label]))
    return scores


def _confusions(predictions: Sequence[Prediction], limit: int) -> list[tuple[str, str, list[str]]]:
    pairs: Counter[tuple[str, str]] = Counter()
    texts: dict[tuple[str, str], list[str]] = {}
    for p in predictions:
        if not p.correct:
            key = (p.expected_label, p.predicted_label)
            pairs[key] += 1
            texts.setdefault(key, []).append(p.row.text)
    return [(e, pr, texts[(e, pr)]) for (e, pr), _ in pairs.most_common(limit)]


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
