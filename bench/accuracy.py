"""Accuracy on real data: SMP2017 (Chinese) and CLINC150 (English, out-of-scope).

Reads ``../shared/data`` (or ``$KEFU_BENCH_DATA``); says so and exits 0 when it is absent.
For each matcher variant, each test split is read once, after everything was fitted
on train (and the CLINC threshold picked on dev):

* SMP2017: train -> test and train+dev -> test; accuracy and macro-F1.
* CLINC150, "threshold" setting: trained on in-scope train rows only; one confidence
  threshold picked on dev (maximizing dev accuracy with out-of-scope as a class);
  in-scope accuracy and out-of-scope recall on test.

Published reference points are printed beside the results.

``--dev`` is the study that chooses the defaults: it never opens a test split. For each
variant (the reported ones plus more), SMP2017 train -> dev, and CLINC150 in-scope
train -> dev: top-1 in-scope accuracy, and in-scope accuracy / out-of-scope recall with
the threshold cross-fitted on dev (picked on one half, scored on the other, averaged).

    python bench/accuracy.py                 # every variant (about 10-20 minutes)
    python bench/accuracy.py --only default  # just the shipped defaults
    python bench/accuracy.py --dev           # the dev-only study (about 10 minutes)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

import benchlib
import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from kefu.model import Model, train
from kefu.runtime import build_runtime
from kefu.spec import BotSettings, BotSpec, IntentSpec, MatcherSettings, NlpSettings

DATA = Path(os.environ.get("KEFU_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
DEFAULT = MatcherSettings()
VARIANTS: dict[str, MatcherSettings] = {
    "default": DEFAULT,
    "no-unknown-words": dataclasses.replace(DEFAULT, count_unknown=False),
    "ensemble": dataclasses.replace(DEFAULT, head="ensemble"),
    "cosine": dataclasses.replace(DEFAULT, head="cosine"),
    "char-only": dataclasses.replace(DEFAULT, word_weight=0.0),
    "words-only": dataclasses.replace(DEFAULT, char_weight=0.0),
    "unpadded-chars": dataclasses.replace(DEFAULT, char_padding=False, word_weight=1.0),
}
DEV_VARIANTS: dict[str, MatcherSettings] = {
    **VARIANTS,
    "char 1-4": dataclasses.replace(DEFAULT, char_ngrams=(1, 4)),
    "char 1-5": dataclasses.replace(DEFAULT, char_ngrams=(1, 5)),
    "char 2-5": dataclasses.replace(DEFAULT, char_ngrams=(2, 5)),
    "words 1-3": dataclasses.replace(DEFAULT, word_ngrams=(1, 3)),
    "word_weight 0.5": dataclasses.replace(DEFAULT, word_weight=0.5),
    "word_weight 1.0": dataclasses.replace(DEFAULT, word_weight=1.0),
    "c 0.3": dataclasses.replace(DEFAULT, c=0.3),
    "c 1.0": dataclasses.replace(DEFAULT, c=1.0),
    "ensemble, cosine_weight 0.5": dataclasses.replace(DEFAULT, head="ensemble", cosine_weight=0.5),
    "ensemble, cosine_weight 0.25": dataclasses.replace(DEFAULT, head="ensemble", cosine_weight=0.25),
}
PUBLISHED = [
    ("ST-UIC (neural, NLPCC 2018)", "SMP F1 94.5", ""),
    ("multi-layer ensemble (arXiv:1806.07914)", "SMP F1 93.55", ""),
    ("char 1-3 TF-IDF + LinearSVC", "SMP 89.4/90.5 (train), 90.7/92.0 (train+dev)", "CLINC 91.7 / 58.1"),
    ("BERT (Larson et al. 2019)", "", "CLINC 96.2 / 52.3"),
    ("Rasa / Dialogflow (Larson et al.)", "", "CLINC 90.9 / 31.2, 90.8 / 26.7"),
]


def rows(name: str, split: str) -> list[dict[str, Any]]:
    """One split of a data set (JSON lines)."""
    return benchlib.jsonl(DATA / name / f"{split}.jsonl")


def bot(examples: list[dict[str, Any]], matcher: MatcherSettings) -> BotSpec:
    """A bot with one intent per label; built directly (the data has label noise the
    YAML validator would rightly refuse, such as one sentence under two labels)."""
    grouped: dict[str, list[str]] = {}
    for row in examples:
        grouped.setdefault(row["intent"], []).append(row["text"])
    intents = tuple(IntentSpec(name, tuple(dict.fromkeys(texts))) for name, texts in sorted(grouped.items()))
    return BotSpec(BotSettings(threshold=0.0, ambiguity_margin=0.0), NlpSettings(), matcher, (), intents)


def predict(model: Model, texts: list[str]) -> tuple[list[str | None], np.ndarray, float]:
    """Top intent and confidence of each text (no threshold), and the median latency."""
    runtime = build_runtime(model, with_plugins=False)
    labels: list[str | None] = []
    confidences = np.zeros(len(texts))
    latencies = []
    for i, text in enumerate(texts):
        start = time.perf_counter()
        match = runtime.match(text)
        latencies.append(time.perf_counter() - start)
        top = match.candidates[0] if match.candidates else None
        labels.append(top.intent if top else None)
        confidences[i] = top.confidence if top else 0.0
    return labels, confidences, float(np.median(latencies))


def smp(matcher: MatcherSettings) -> dict[str, float]:
    """SMP2017 trained on train and on train+dev, scored on test."""
    test = rows("smp2017", "test")
    train_rows = rows("smp2017", "train")
    out: dict[str, float] = {}
    for tag, training in (("train", train_rows), ("train+dev", train_rows + rows("smp2017", "dev"))):
        started = time.perf_counter()
        model = train(bot(training, matcher))
        out[f"{tag} train s"] = time.perf_counter() - started
        scores, latency = scored(model, test)
        out.update({f"{tag} {metric}": value for metric, value in scores.items()})
        out["match us"] = 1e6 * latency
    return out


def scored(model: Model, evaluation: list[dict[str, Any]]) -> tuple[dict[str, float], float]:
    """Accuracy and macro-F1 (in percent) of ``model`` on labelled rows, and the median latency."""
    truth = [r["intent"] for r in evaluation]
    predicted, _, latency = predict(model, [r["text"] for r in evaluation])
    answers = [p or "" for p in predicted]
    return {
        "acc": 100 * accuracy_score(truth, answers),
        "macro-F1": 100 * f1_score(truth, answers, labels=sorted(set(truth)), average="macro"),
    }, latency


def clinc_training() -> list[dict[str, Any]]:
    """CLINC150's in-scope training rows: the threshold setting never trains on out-of-scope."""
    return [r for r in rows("clinc150", "train") if not r.get("oos")]


def clinc(matcher: MatcherSettings) -> dict[str, float]:
    """CLINC150 threshold setting: in-scope training rows, threshold from dev."""
    started = time.perf_counter()
    model = train(bot(clinc_training(), matcher))
    seconds = time.perf_counter() - started
    dev, test = rows("clinc150", "dev"), rows("clinc150", "test")
    dev_labels, dev_conf, _ = predict(model, [r["text"] for r in dev])
    threshold = pick_threshold(dev, dev_labels, dev_conf)
    test_labels, test_conf, latency = predict(model, [r["text"] for r in test])
    in_scope_accuracy, oos_recall = at_threshold(test, test_labels, test_conf, threshold)
    return {
        "in-scope acc": 100 * in_scope_accuracy,
        "oos recall": 100 * oos_recall,
        "threshold": threshold,
        "train s": seconds,
        "match us": 1e6 * latency,
    }


def smp_dev(matcher: MatcherSettings) -> dict[str, float]:
    """SMP2017 trained on train, scored on dev."""
    return scored(train(bot(rows("smp2017", "train"), matcher)), rows("smp2017", "dev"))[0]


def clinc_dev(matcher: MatcherSettings) -> dict[str, float]:
    """CLINC150 in-scope train -> dev: top-1 in-scope accuracy, and the threshold setting
    with the threshold cross-fitted on dev (picked on one half, scored on the other)."""
    model = train(bot(clinc_training(), matcher))
    dev = rows("clinc150", "dev")
    labels, confidence, _ = predict(model, [r["text"] for r in dev])
    order = np.random.default_rng(0).permutation(len(dev))
    halves = (order[::2], order[1::2])
    accuracy, recall = [], []
    for pick, score in (halves, halves[::-1]):
        threshold = pick_threshold([dev[i] for i in pick], [labels[i] for i in pick], confidence[pick])
        in_scope_accuracy, oos_recall = at_threshold(
            [dev[i] for i in score], [labels[i] for i in score], confidence[score], threshold
        )
        accuracy.append(in_scope_accuracy)
        recall.append(oos_recall)
    return {
        "top-1": 100 * at_threshold(dev, labels, confidence, -np.inf)[0],
        "in-scope acc": 100 * float(np.mean(accuracy)),
        "oos recall": 100 * float(np.mean(recall)),
    }


def at_threshold(
    evaluation: list[dict[str, Any]], labels: list[str | None], confidence: np.ndarray, threshold: float
) -> tuple[float, float]:
    """In-scope accuracy (answered, and rightly) and out-of-scope recall (not answered)
    of the top intents ``labels`` when answers below ``threshold`` fall back."""
    accepted = confidence >= threshold
    oos, right = outcomes(evaluation, labels)
    return float(np.mean((accepted & right)[~oos])), float(np.mean(~accepted[oos]))


def outcomes(evaluation: list[dict[str, Any]], labels: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are out of scope, and which rows' top intent is the right one."""
    oos = np.array([bool(r.get("oos")) for r in evaluation])
    right = np.array([label == r["intent"] for label, r in zip(labels, evaluation, strict=True)])
    return oos, right


def pick_threshold(dev: list[dict[str, Any]], labels: list[str | None], confidence: np.ndarray) -> float:
    """The threshold with the best dev accuracy, out-of-scope counted as a class (the
    middle of the best interval, so a flat optimum does not pick its edge)."""
    candidates = np.unique(np.concatenate([[0.0, 1.0], confidence]))
    oos, right = outcomes(dev, labels)
    accepted = confidence >= candidates[:, None]  # one row per candidate threshold
    scores = np.where(oos, ~accepted, accepted & right).mean(axis=1)
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    return float((candidates[best[0]] + candidates[best[-1]]) / 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", nargs="*", choices=sorted(DEV_VARIANTS), help="Variants to run (default: all)."
    )
    parser.add_argument("--dev", action="store_true", help="The dev-only study: no test split is read.")
    args = parser.parse_args()
    if not (DATA / "smp2017").is_dir() or not (DATA / "clinc150").is_dir():
        print(f"benchmark data not found at {DATA}: nothing to measure (set KEFU_BENCH_DATA)")
        return 0
    if args.dev:
        return dev_study(args.only or list(DEV_VARIANTS))
    unknown = sorted(set(args.only or ()) - set(VARIANTS))
    if unknown:
        parser.error(f"not a reported variant (run it with --dev): {', '.join(unknown)}")
    results = {}
    for name in args.only or list(VARIANTS):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = {"smp": smp(VARIANTS[name]), "clinc": clinc(VARIANTS[name])}
    header = ["variant", "SMP acc/F1 (train)", "SMP acc/F1 (train+dev)", "CLINC in-scope/oos", "thr",
              "train s (SMP, CLINC)", "match us (SMP, CLINC)"]  # fmt: skip
    table = [
        [
            name,
            f"{r['smp']['train acc']:.1f} / {r['smp']['train macro-F1']:.1f}",
            f"{r['smp']['train+dev acc']:.1f} / {r['smp']['train+dev macro-F1']:.1f}",
            f"{r['clinc']['in-scope acc']:.1f} / {r['clinc']['oos recall']:.1f}",
            f"{r['clinc']['threshold']:.3f}",
            f"{r['smp']['train train s']:.1f}, {r['clinc']['train s']:.1f}",
            f"{r['smp']['match us']:.0f}, {r['clinc']['match us']:.0f}",
        ]
        for name, r in results.items()
    ]
    print(benchlib.table(header, table))
    print("\npublished, same splits:")
    for name, smp_ref, clinc_ref in PUBLISHED:
        print(f"  {name:<42} {smp_ref:<45} {clinc_ref}")
    path = benchlib.write(
        "accuracy", {"variants": results, "settings": {n: dataclasses.asdict(v) for n, v in VARIANTS.items()}}
    )
    print(f"\nwrote {path}")
    return 0


def dev_study(names: list[str]) -> int:
    """Every variant on the dev splits; prints a table and writes ``accuracy-dev.json``."""
    results = {}
    for name in names:
        print(f"running {name} (dev) ...", file=sys.stderr, flush=True)
        results[name] = {"smp": smp_dev(DEV_VARIANTS[name]), "clinc": clinc_dev(DEV_VARIANTS[name])}
    header = ["variant", "SMP dev acc / F1", "CLINC dev top-1", "CLINC dev in-scope / oos (cross-fitted)"]
    table = [
        [
            name,
            f"{r['smp']['acc']:.1f} / {r['smp']['macro-F1']:.1f}",
            f"{r['clinc']['top-1']:.2f}",
            f"{r['clinc']['in-scope acc']:.2f} / {r['clinc']['oos recall']:.1f}",
        ]
        for name, r in results.items()
    ]
    print(benchlib.table(header, table))
    settings = {n: dataclasses.asdict(DEV_VARIANTS[n]) for n in names}
    print(f"\nwrote {benchlib.write('accuracy-dev', {'variants': results, 'settings': settings})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
