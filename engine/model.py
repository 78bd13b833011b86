"""Training, and loading a trained model from a directory in a safe format (saving: ``kefu.model_save``).

A model directory holds ``model.json`` (versions, fingerprint, vocabulary, checksums),
``arrays.npz`` (NumPy arrays, read with ``allow_pickle=False``) and ``bot/`` (a copy of
the bot files, re-validated on load, or only checked byte for byte against the fingerprint
when the caller supplies the bot). Nothing in it is executable; loading it can only
fail with a ``ModelError``. Saving replaces only an empty folder or another model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kefu.csr import CsrArrays
from kefu.errors import ModelError, SpecError
from kefu.features import FeatureSpace
from kefu.fileread import read_regular_file
from kefu.loader import bot_files, load_spec
from kefu.loader import fingerprint as files_fingerprint
from kefu.matcher import Matcher
from kefu.modelcheck import arrays_problem, meta_problem, read_npz
from kefu.normalize import NORMALIZATION
from kefu.spec import BotSpec
from kefu.text import TextAnalyzer

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "FORMAT_VERSION",
    "Model",
    "is_model_dir",
    "load_model",
    "meta_checksum",
    "read_model_file",
    "saved_fingerprint",
    "train",
]

log = logging.getLogger(__name__)

FORMAT = "kefu-model"
FAST_TOKENIZER_PROBE = 1000  # examples checked before a loaded model segments with rjieba
FORMAT_VERSION = 1
ZIP_MAGIC = b"PK\x03\x04"  # how an npz archive starts
MODEL_ENTRIES = frozenset({"model.json", "arrays.npz", "bot"})
"""What ``save_model`` writes in a model folder; a folder holding more is not replaced."""


@dataclass
class Model:
    """A trained bot: its spec, feature space and matcher."""

    spec: BotSpec
    features: FeatureSpace
    matcher: Matcher
    example_rows: CsrArrays
    """The examples' feature vectors, one row each, as plain arrays (``examples`` for SciPy)."""
    example_texts: tuple[str, ...]
    plugins_left_behind: str | None = None
    """The ``plugins: {dir}`` of a bot served from a saved model's copy: a model carries
    no code (plugin files in it would run on load), so that folder must come from elsewhere."""

    @property
    def examples(self) -> sp.csr_matrix:
        """The examples' feature vectors as a SciPy matrix (made on first use: serving needs none)."""
        made: sp.csr_matrix | None = self.__dict__.get("_examples")
        if made is None:  # two threads may both make it; either serves
            made = self.__dict__["_examples"] = self.example_rows.matrix()
        return made

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the bot files this model was trained from."""
        return self.spec.fingerprint


def train(spec: BotSpec, *, n_jobs: int = 1) -> Model:
    """Train a model from a validated spec (tokenize, fit TF-IDF, fit the scoring head).

    ``n_jobs`` > 1 spreads a big bot's work over processes; the model does not depend on it."""
    if not isinstance(spec, BotSpec):
        raise TypeError(f"train takes a BotSpec (kefu.load_spec(path)), not {type(spec).__name__}")
    texts: list[str] = []
    labels: list[int] = []
    for index, intent in enumerate(spec.intents):
        texts.extend(intent.examples)
        labels.extend([index] * len(intent.examples))
    analyzer = TextAnalyzer(spec.nlp)
    analyzer.use_fast_tokenizer(texts)  # checked against every example
    features = FeatureSpace(analyzer, spec.matcher, spec.settings.max_input_length)
    x = features.fit_transform(texts, n_jobs=n_jobs)
    y = np.asarray(labels, np.int32)
    from kefu.training import fit_head  # SciPy and scikit-learn: only when training

    head = fit_head(x, y, len(spec.intents), spec.matcher, n_jobs)
    weights = head["weights"]
    if weights is not None and not isinstance(weights, np.ndarray):  # big bots: sparse
        head["weights"] = CsrArrays.of(weights)
    rows = CsrArrays.of(x)
    matcher = Matcher(spec, examples=rows, example_intent=y, **head)
    return Model(spec, features, matcher, rows, tuple(texts))


def saved_fingerprint(directory: str | Path) -> str | None:
    """The bot fingerprint recorded in a saved model, or None if there is no valid model."""
    try:
        return str(_read_meta(Path(directory))["fingerprint"])
    except ModelError:
        return None


def is_model_dir(path: str | Path) -> bool:
    """Whether ``path`` looks like a saved model (a directory with model.json)."""
    try:
        return (Path(path) / "model.json").is_file()
    except (OSError, ValueError):  # a name the system refuses (too long, a NUL byte) names no model
        return False


def read_model_file(path: Path) -> bytes:
    """A model file's bytes; ``OSError`` if it cannot be read or is not a regular file (a
    model file linked to /dev/zero was read until memory ran out)."""
    return read_regular_file(path)


def meta_checksum(meta: dict[str, Any]) -> str:
    """The checksum ``model.json`` carries of the rest of itself."""
    body = {k: v for k, v in meta.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def load_model(directory: str | Path, *, bot: str | Path | BotSpec | None = None) -> Model:
    """Load a saved model; ``ModelError`` if it is damaged, edited, of another format, or
    (when ``bot`` is given) trained from bot files other than the ones at ``bot`` now.

    With ``bot`` the model serves that bot's spec (so paths in it, such as a plugins
    folder, stay relative to the real bot files); otherwise the copy inside the model.
    """
    folder = Path(directory)
    meta = _read_meta(folder)
    left_behind = None
    if bot is None:
        spec = _read_spec(folder, meta)
        if spec.plugins.dir is not None:  # inside the model folder: never import from there
            left_behind = Path(os.path.relpath(spec.plugins.dir, folder / "bot")).as_posix()
            spec = dataclasses.replace(spec, plugins=dataclasses.replace(spec.plugins, dir=None))
    else:
        _check_bot_copy(folder, meta)  # bytes only: the copy is not served, so not parsed
        spec = bot if isinstance(bot, BotSpec) else load_spec(bot)
        if spec.fingerprint != meta["fingerprint"]:
            raise ModelError(
                f"{folder}: model is stale: the bot files at {bot} changed since training; retrain it"
            )
    arrays = _read_arrays(folder, meta)
    try:
        return dataclasses.replace(_rebuild(spec, meta, arrays), plugins_left_behind=left_behind)
    except ModelError as exc:
        raise ModelError(f"{folder}: {exc}") from None
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:  # checked above; a backstop
        raise ModelError(
            f"{folder}: model is incomplete or inconsistent ({type(exc).__name__}: {exc})"
        ) from None


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "model.json"
    try:
        meta = json.loads(read_model_file(path).decode("utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder}: not a kefu model (no model.json)") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise ModelError(f"{path}: damaged model file: {type(exc).__name__}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not a kefu model file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path}: model format version {meta.get('format_version')!r}; this kefu reads "
            f"version {FORMAT_VERSION}; retrain with `kefu train`"
        )
    if meta.get("normalization") != NORMALIZATION:
        # Before the fingerprint checks: for a model saved before NORMALIZATION joined the
        # fingerprint, they would say the bot files inside were edited.
        raise ModelError(
            f"{path}: model trained on text normalized otherwise than this kefu does "
            f"(it now folds Traditional Chinese to Simplified); retrain with `kefu train`"
        )
    try:
        checksum = meta_checksum(meta)
    except (ValueError, RecursionError) as exc:  # a lone surrogate cannot be encoded
        raise ModelError(f"{path}: damaged model file: {type(exc).__name__}: {exc}") from None
    if meta.get("checksum") != checksum:
        raise ModelError(f"{path}: model file was edited or damaged (checksum mismatch); retrain it")
    problem = meta_problem(meta)  # checksums are plain sha256: they prove nothing
    if problem:
        raise ModelError(f"{path}: damaged model file: {problem}")
    return meta


def _read_spec(folder: Path, meta: dict[str, Any]) -> BotSpec:
    try:
        spec = load_spec(folder / "bot")
    except SpecError as exc:
        raise ModelError(f"{folder}: the bot files inside the model are invalid:\n{exc}") from None
    if spec.fingerprint != meta["fingerprint"]:
        raise _edited_copy(folder)
    return spec


def _check_bot_copy(folder: Path, meta: dict[str, Any]) -> None:
    """Raise ``ModelError`` unless the bot files inside the model are byte for byte the
    ones it was trained from (the same fingerprint ``load_spec`` computes)."""
    try:
        files = bot_files(folder / "bot")
        stored = files_fingerprint(files, (read_model_file(file) for file in files))
    except SpecError as exc:
        raise ModelError(f"{folder}: the bot files inside the model are invalid:\n{exc}") from None
    except OSError as exc:
        raise ModelError(f"{folder}: cannot read the bot files inside the model: {exc}") from None
    if stored != meta["fingerprint"]:
        raise _edited_copy(folder)


def _edited_copy(folder: Path) -> ModelError:
    return ModelError(f"{folder}: the bot files inside the model were edited (fingerprint mismatch)")


def _read_arrays(folder: Path, meta: dict[str, Any]) -> dict[str, np.ndarray[Any, Any]]:
    path = folder / "arrays.npz"
    try:
        data = read_model_file(path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model arrays: {exc}") from None
    if hashlib.sha256(data).hexdigest() != meta["arrays_sha256"]:
        raise ModelError(f"{path}: model arrays were edited or damaged (checksum mismatch)")
    if not data.startswith(ZIP_MAGIC):  # np.load would read it as a single array, or fail oddly
        raise ModelError(f"{path}: damaged model arrays: not an npz archive")
    arrays, problem = read_npz(data)
    if arrays is None:
        raise ModelError(f"{path}: damaged model arrays: {problem}")
    problem = arrays_problem(meta, arrays)
    if problem:
        raise ModelError(f"{path}: damaged model arrays: {problem}")
    return arrays


def _rebuild(spec: BotSpec, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]) -> Model:
    names = [i.name for i in spec.intents]
    if meta["intents"] != names:  # only with ``bot`` given, whose fingerprint matched
        differ = sorted(set(meta["intents"]) ^ set(names))
        how = f"{', '.join(differ)} differ" if differ else "in another order"
        raise ModelError(f"the model's intents are not the bot's ({how}); retrain it")
    analyzer = TextAnalyzer(spec.nlp)
    texts = meta["example_texts"]
    if meta.get("fast_tokenizer") is not False:  # False: rjieba already cut this bot differently
        analyzer.use_fast_tokenizer(texts[:: max(1, len(texts) // FAST_TOKENIZER_PROBE)])
    features = FeatureSpace(analyzer, spec.matcher, spec.settings.max_input_length)
    features.restore(meta["features"], arrays["word_idf"], arrays["char_idf"])
    shape = tuple(int(v) for v in arrays["x_shape"])
    x = CsrArrays(arrays["x_data"], arrays["x_indices"], arrays["x_indptr"], (shape[0], shape[1]))
    weights: np.ndarray[Any, Any] | CsrArrays | None = arrays.get("weights")
    if "w_data" in arrays:
        rows, columns = (int(v) for v in arrays["w_shape"])
        weights = CsrArrays(arrays["w_data"], arrays["w_indices"], arrays["w_indptr"], (rows, columns))
    a, c = (float(v) for v in meta["calibration"])
    matcher = Matcher(
        spec,
        examples=x,
        example_intent=arrays["example_intent"],
        weights=weights,
        bias=arrays.get("bias"),
        calibration=(a, c),
    )
    return Model(spec, features, matcher, x, tuple(meta["example_texts"]))
