"""Training, and saving/loading a trained model as a directory in a safe format.

A model directory holds ``model.json`` (versions, fingerprint, vocabulary, checksums),
``arrays.npz`` (NumPy arrays, read with ``allow_pickle=False``) and ``bot/`` (a copy of
the bot files, re-validated on load, or only checked byte for byte against the fingerprint
when the caller supplies the bot). Nothing in it is executable; loading it can only
fail with a ``ModelError``. Saving replaces only an empty folder or another model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from kefu._version import __version__
from kefu.errors import ModelError, SpecError
from kefu.features import FeatureSpace
from kefu.loader import bot_files, load_spec
from kefu.loader import fingerprint as files_fingerprint
from kefu.matcher import Matcher
from kefu.modelcheck import ARRAY_NAMES, arrays_problem, meta_problem
from kefu.plugin_settings import bundled_data_files
from kefu.spec import BotSpec
from kefu.specdump import dump_spec
from kefu.text import TextAnalyzer
from kefu.training import fit_head

__all__ = [
    "FORMAT_VERSION",
    "Model",
    "ModelSaveError",
    "check_model_target",
    "is_model_dir",
    "load_model",
    "save_model",
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
    examples: sp.csr_matrix
    example_texts: tuple[str, ...]
    plugins_left_behind: str | None = None
    """The ``plugins: {dir}`` of a bot served from a saved model's copy: a model carries
    no code (plugin files in it would run on load), so that folder must come from elsewhere."""

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the bot files this model was trained from."""
        return self.spec.fingerprint


def train(spec: BotSpec, *, n_jobs: int = 1) -> Model:
    """Train a model from a validated spec (tokenize, fit TF-IDF, fit the scoring head)."""
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
    head = fit_head(x, y, len(spec.intents), spec.matcher)
    matcher = Matcher(spec, examples=x, example_intent=y, **head)
    return Model(spec, features, matcher, x, tuple(texts))


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


class ModelSaveError(ModelError, OSError):
    """A model cannot be saved at a path: something other than a model is there, or the
    system refused the write. Also an ``OSError``: what callers of a failed write catch."""


def save_model(model: Model, directory: str | Path, *, portable: bool = True) -> Path:
    """Write ``model`` to ``directory`` atomically (a failed save leaves the old model).

    ``directory`` must not exist, be an empty folder or hold a saved model; anything else
    is refused with ``ModelSaveError`` rather than overwritten. The data files the bot's
    plugin settings name (a risk-control ``words_file``) are copied beside the bot files;
    one outside the bot's folder is a ``ModelError`` unless ``portable=False`` (kefu's
    cache, whose models are always loaded with the real bot files).
    """
    if not isinstance(model, Model):
        raise TypeError(
            f"save_model takes a trained kefu.Model (kefu.train(spec)), not {type(model).__name__}"
        )
    target = Path(directory)
    try:
        check_model_target(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise _save_error(target, exc) from None
    try:
        _write(model, staging, portable)
        _replace(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _save_error(target, exc) from None
        raise
    return target


def _save_error(target: Path, exc: OSError) -> ModelSaveError:
    if isinstance(exc, ModelSaveError):
        return exc
    name = exc.filename
    if name and str(name) != str(target) and exc.errno in {errno.EEXIST, errno.ENOTDIR}:
        # mkdir of the folders on the way says "File exists" of a file where one should be.
        with contextlib.suppress(OSError):
            if os.path.lexists(name) and not os.path.isdir(name):
                return ModelSaveError(
                    f"{target}: cannot save the model there: {name} is a file, not a folder"
                )
    where = f" ({name})" if name and str(name) != str(target) else ""
    return ModelSaveError(f"{target}: cannot save the model there: {exc.strerror or exc}{where}")


def check_model_target(directory: str | Path) -> None:
    """Raise ``ModelSaveError`` unless ``save_model`` may write to ``directory``: nothing is
    there, an empty folder or a saved model. Cheap, so callers can check before training."""
    target = Path(directory)
    try:
        _check_save_target(target)
    except OSError as exc:  # e.g. a folder that cannot be listed
        raise _save_error(target, exc) from None


def _check_save_target(target: Path) -> None:
    """Refuse to replace anything but nothing, an empty folder or a saved model folder."""
    if target.is_symlink():
        problem = "is a symbolic link"
    elif not target.exists():
        return
    elif not target.is_dir():
        problem = "is a file, not a model folder"
    else:
        names = sorted(entry.name for entry in target.iterdir())
        if not names:
            return
        extra = sorted(set(names) - MODEL_ENTRIES)
        if _has_model_marker(target) and not extra:
            return
        shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
        problem = (
            f"is a folder that is not a kefu model (it holds {shown})"
            if extra
            else "holds a damaged kefu model (its model.json is unreadable)"
        )
    raise ModelSaveError(
        f"{target} {problem}; refusing to replace it: save the model to a new or empty folder"
    )


def _has_model_marker(folder: Path) -> bool:
    """Whether ``folder/model.json`` is a JSON object with the format ``save_model`` writes."""
    try:
        meta = json.loads(_file_bytes(folder / "model.json").decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def _replace(staging: Path, target: Path) -> None:
    """Move the finished ``staging`` folder to ``target``; an old model there is moved
    aside first and put back if the move fails."""
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()  # fails, and so refuses, if a file arrived since the check
    if not target.exists():
        staging.rename(target)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    old = trash / "model"
    try:
        target.rename(old)
    except OSError:
        trash.rmdir()
        raise
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)  # if this fails too, the old model stays in ``trash``
        raise
    shutil.rmtree(trash, ignore_errors=True)


def _write(model: Model, folder: Path, portable: bool) -> None:
    bot_dir = folder / "bot"
    bot_dir.mkdir()
    names = []
    for file in model.spec.files:
        shutil.copyfile(file, bot_dir / Path(file).name)
        names.append(Path(file).name)
    _copy_data_files(model.spec, bot_dir, portable)
    fingerprint = model.spec.fingerprint
    if not names:  # a bot built in code: write it out as a bot file
        (bot_dir / "bot.yaml").write_text(dump_spec(model.spec), encoding="utf-8")
        names.append("bot.yaml")
        fingerprint = load_spec(bot_dir).fingerprint
    arrays = _arrays(model)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    data = buffer.getvalue()
    (folder / "arrays.npz").write_bytes(data)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kefu_version": __version__,
        "fingerprint": fingerprint,
        "bot_files": names,
        "intents": list(model.matcher.intents),
        "calibration": list(model.matcher.calibration),
        "example_texts": list(model.example_texts),
        "fast_tokenizer": model.features.analyzer.fast_tokenizer_matches,
        "features": model.features.state(),
        "arrays": sorted(arrays),
        "arrays_sha256": hashlib.sha256(data).hexdigest(),
    }
    meta["checksum"] = _checksum(meta)
    (folder / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def _arrays(model: Model) -> dict[str, np.ndarray[Any, Any]]:
    x = model.examples
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "word_idf": model.features.word_idf,
        "char_idf": model.features.char_idf,
        "x_data": x.data,
        "x_indices": x.indices,
        "x_indptr": x.indptr,
        "x_shape": np.asarray(x.shape, np.int64),
        "example_intent": model.matcher.example_intent,
    }
    weights, bias = model.matcher.weights, model.matcher.bias
    if isinstance(weights, sp.csr_matrix) and bias is not None:
        arrays.update(w_data=weights.data, w_indices=weights.indices, w_indptr=weights.indptr,
                      w_shape=np.asarray(weights.shape, np.int64), bias=bias)  # fmt: skip
    elif weights is not None and bias is not None:
        arrays.update(weights=weights, bias=bias)
    return arrays


def _copy_data_files(spec: BotSpec, bot_dir: Path, portable: bool) -> None:
    """Copy the files plugin settings name, at the same place relative to the bot files,
    so the bot copy in the model validates (a risk-control words list is read then)."""
    for name, settings in spec.plugins.config.items():
        for key in bundled_data_files(name):
            relative = settings.get(key)
            if not isinstance(relative, str):
                continue
            inside = not Path(relative).is_absolute() and ".." not in Path(relative).parts
            if not inside:
                if portable:
                    raise ModelError(
                        f"plugins.{name}.{key}: {relative} is outside the bot's folder, so a saved model "
                        "cannot carry it; move it into the bot's folder"
                    )
                continue
            target = bot_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(settings["_base_dir"])) / relative, target)


def _file_bytes(path: Path) -> bytes:
    """A model file's bytes. Only a regular file is read: a model file linked to /dev/zero
    was read until memory ran out, and opening a named pipe waits for a writer forever."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise OSError(f"{path.name} is not a regular file")
    return path.read_bytes()


def _checksum(meta: dict[str, Any]) -> str:
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
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:  # checked above; a backstop
        raise ModelError(
            f"{folder}: model is incomplete or inconsistent ({type(exc).__name__}: {exc})"
        ) from None


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "model.json"
    try:
        meta = json.loads(_file_bytes(path).decode("utf-8"))
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
    try:
        checksum = _checksum(meta)
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
        stored = files_fingerprint(files, (_file_bytes(file) for file in files))
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
        data = _file_bytes(path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model arrays: {exc}") from None
    if hashlib.sha256(data).hexdigest() != meta["arrays_sha256"]:
        raise ModelError(f"{path}: model arrays were edited or damaged (checksum mismatch)")
    if not data.startswith(ZIP_MAGIC):  # np.load would read it as a single array, or fail oddly
        raise ModelError(f"{path}: damaged model arrays: not an npz archive")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, MemoryError) as exc:
        raise ModelError(f"{path}: damaged model arrays: {type(exc).__name__}: {exc}") from None
    problem = arrays_problem(meta, arrays)
    if problem:
        raise ModelError(f"{path}: damaged model arrays: {problem}")
    return arrays


def _rebuild(spec: BotSpec, meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]) -> Model:
    missing = [name for name in ARRAY_NAMES if name not in arrays]
    if missing or meta.get("intents") != [i.name for i in spec.intents]:
        raise ModelError(f"model arrays or intents do not match the bot (missing: {missing})")
    analyzer = TextAnalyzer(spec.nlp)
    texts = meta["example_texts"]
    if meta.get("fast_tokenizer") is not False:  # False: rjieba already cut this bot differently
        analyzer.use_fast_tokenizer(texts[:: max(1, len(texts) // FAST_TOKENIZER_PROBE)])
    features = FeatureSpace(analyzer, spec.matcher, spec.settings.max_input_length)
    features.restore(meta["features"], arrays["word_idf"], arrays["char_idf"])
    shape = tuple(int(v) for v in arrays["x_shape"])
    x = sp.csr_matrix((arrays["x_data"], arrays["x_indices"], arrays["x_indptr"]), shape=shape)
    weights: np.ndarray[Any, Any] | sp.csr_matrix | None = arrays.get("weights")
    if "w_data" in arrays:
        w_shape = tuple(int(v) for v in arrays["w_shape"])
        weights = sp.csr_matrix((arrays["w_data"], arrays["w_indices"], arrays["w_indptr"]), shape=w_shape)
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
