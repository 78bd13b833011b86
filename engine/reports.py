"""Writing an evaluation report: ``report.json``, ``report.md`` and, with ``kefu[plots]``,
a confusion-matrix PNG and a confidence-histogram PNG."""

from __future__ import annotations

import io
import json
import logging
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kefu.errors import KefuError
from kefu.evaluate import OOS, EvalReport
from kefu.filewrite import replace_file

__all__ = ["one_line", "write_report"]

log = logging.getLogger(__name__)

Segmenter = Callable[[str], list[str]]


def write_report(report: EvalReport, folder: str | Path, *, segment: Segmenter | None = None) -> list[Path]:
    """Write the report files into ``folder``; returns the paths written."""
    out = Path(folder)
    data = report.to_dict()
    segmented = None
    if segment is not None:  # the texts both files show, each segmented once
        segmented = {text: " / ".join(segment(text)) for item in data["confusions"] for text in item["texts"]}
        for item in data["confusions"]:
            item["segmented"] = [segmented[text] for text in item["texts"]]
    written = [out / "report.json", out / "report.md"]
    try:
        out.mkdir(parents=True, exist_ok=True)
        # Whole or not at all: a report a CI job keeps must not be left half written.
        replace_file(written[0], json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
        replace_file(written[1], markdown(report, segmented).encode("utf-8"))
        written += _plots(report, out)
    except OSError as exc:  # a file by that name, or a place the user cannot write
        raise KefuError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return written


def one_line(text: str) -> str:
    """``text`` on one line: a line break, tab or other invisible character shown escaped
    (``\\n``, ``\\t``, ``\\u200b``), as ``kefu predict`` shows it; chat logs hold such messages.
    Spaces stay, the full-width one too."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or unicodedata.category(c) == "Zs" else repr(c)[1:-1] for c in text)


def _cell(text: str) -> str:
    """``text`` as one Markdown table cell: a ``|`` in an intent name started a new column."""
    return one_line(text).replace("|", "\\|")


def markdown(report: EvalReport, segmented: Mapping[str, str] | None = None) -> str:
    """The report as Markdown: summary, per-intent table, confusions (each shown text with its
    segmentation from ``segmented``, when given), histogram."""
    lines = [
        "# kefu evaluation report",
        "",
        "| metric | value |",
        "|---|---|",
        f"| rows | {report.total} ({report.in_scope} in scope, {report.out_of_scope} out of scope) |",
        f"| accuracy | {report.accuracy:.4f} |",
    ]
    if report.in_scope:  # else no intent to score: 0.0000 read as a bot that got every one wrong
        lines += [
            f"| macro-F1 | {report.macro_f1:.4f} |",
            f"| in-scope accuracy | {report.in_scope_accuracy:.4f} |",
        ]
    else:
        lines += ["| macro-F1 | - (no in-scope rows) |", "| in-scope accuracy | - (no in-scope rows) |"]
    if report.out_of_scope:
        lines += [
            f"| out-of-scope recall | {report.oos_recall:.4f} |",
            f"| out-of-scope precision | {report.oos_precision:.4f} |",
        ]
    lines += [
        "",
        "## Per intent",
        "",
        "| intent | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {_cell(s.intent)} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.support} |"
        for s in report.per_intent
    ]
    lines += ["", "## Most confused (expected → predicted)", ""]
    if report.total and report.accuracy == 1.0:  # else an empty section, as if it failed to list them
        lines.append("None: every row got the right answer.")
    for expected, predicted, texts in report.confusions:
        lines.append(f"- **{expected} → {predicted}** ({len(texts)})")
        for text in texts[:5]:
            shown = one_line(text) + (f"  〔{segmented[text]}〕" if segmented is not None else "")
            lines.append(f"  - {shown}")
    lines += [
        "",
        "## Confidence of right and wrong answers",
        "",
        "| confidence | right | wrong |",
        "|---|---|---|",
    ]
    lines += [f"| {low:.1f}–{high:.1f} | {right} | {wrong} |" for low, high, right, wrong in report.histogram]
    return "\n".join(lines) + "\n"


# Each label takes 0.3 in of the confusion matrix: 60 labels make an 18 in (2,160 px) square, still
# readable at font size 6; thousands of labels made a figure too big for memory (2,500: 90,000 px square).
MAX_MATRIX_LABELS = 60


def _plots(report: EvalReport, out: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        log.info("matplotlib not installed (pip install 'kefu[plots]'): no PNG plots")
        return []
    # matplotlib's default font has no Chinese: the names were drawn as empty boxes.
    fonts = _cjk_fonts()
    if not fonts and any(not label.isascii() for label in _labels(report)):
        log.warning(
            "no Chinese font found, so Chinese intent names in the plots show as boxes: install one "
            "(Debian: apt-get install fonts-noto-cjk) and delete matplotlib's font cache (%s)",
            matplotlib.get_cachedir(),
        )
    settings = {
        "text.parse_math": False,  # intent names are plain text: a `$` started mathtext (`$5_$` raised)
        "font.sans-serif": [*fonts, *matplotlib.rcParams["font.sans-serif"]],
    }
    # A Chinese font often lacks the "normal" weight (WenQuanYi's is 500), which matplotlib
    # logs as a warning for every label drawn; the font is the right one, so that is noise.
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(max(level, logging.ERROR))
    try:
        with matplotlib.rc_context(settings):  # type: ignore[arg-type]
            return [
                _confusion_plot(report, out / "confusion.png"),
                _histogram_plot(report, out / "confidence.png"),
            ]
    finally:
        font_log.setLevel(level)


CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB",
)  # fmt: skip
"""Fonts with Chinese glyphs, as Linux, Windows and macOS name them; the first installed wins."""


def _cjk_fonts() -> list[str]:
    """The fonts of ``CJK_FONTS`` matplotlib knows on this machine."""
    from matplotlib import font_manager

    known = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in known]


def _labels(report: EvalReport) -> list[str]:
    """The intent names the plots draw."""
    return [score.intent for score in report.per_intent]


def _confusion_plot(report: EvalReport, path: Path) -> Path:
    import matplotlib.pyplot as plt

    labels = [s.intent for s in report.per_intent] + ([OOS] if report.out_of_scope else [])
    title = None
    if len(labels) > MAX_MATRIX_LABELS:
        mistakes: Counter[str] = Counter()
        for p in report.predictions:
            if p.expected_label != p.predicted_label:
                mistakes[p.expected_label] += 1
                mistakes[p.predicted_label] += 1
        order = {name: i for i, name in enumerate(labels)}
        shown = set(sorted(labels, key=lambda name: (-mistakes[name], order[name]))[:MAX_MATRIX_LABELS])
        title = f"the {MAX_MATRIX_LABELS} most confused of {len(labels)} labels"
        labels = [name for name in labels if name in shown]
    index = {name: i for i, name in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for p in report.predictions:
        expected, predicted = p.expected_label, p.predicted_label
        if expected in index and predicted in index:
            matrix[index[expected]][index[predicted]] += 1
    size = max(6.0, len(labels) * 0.3)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    axes.set_yticks(range(len(labels)), labels, fontsize=6)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def _save(figure: Any, path: Path) -> Path:
    """Write ``figure`` as a PNG at ``path``, whole or not at all (as the other report files)."""
    import matplotlib.pyplot as plt

    png = io.BytesIO()
    try:
        figure.savefig(png, format="png", dpi=120)
    finally:
        plt.close(figure)
    replace_file(path, png.getvalue())
    return path


def _histogram_plot(report: EvalReport, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    centers = [(low + high) / 2 for low, high, _, _ in report.histogram]
    axes.bar(centers, [r for _, _, r, _ in report.histogram], width=0.09, label="right")
    axes.bar(centers, [w for _, _, _, w in report.histogram], width=0.09,
             bottom=[r for _, _, r, _ in report.histogram], label="wrong")  # fmt: skip
    axes.set_xlabel("confidence")
    axes.set_ylabel("answers")
    axes.legend()
    figure.tight_layout()
    return _save(figure, path)
