"""Saving a trained model as a directory, atomically, replacing only an empty folder or another model.

What a model directory holds is described in ``kefu.model``, which reads it back.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from kefu._version import __version__
from kefu.csr import CsrArrays
from kefu.errors import ModelError
from kefu.loader import load_spec
from kefu.model import FORMAT, FORMAT_VERSION, MODEL_ENTRIES, Model, meta_checksum, read_model_file
from kefu.normalize import NORMALIZATION
from kefu.plugin_settings import bundled_data_files
from kefu.spec import BotSpec
from kefu.specdump import dump_spec

__all__ = ["ModelSaveError", "check_model_target", "save_model"]


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
        meta = json.loads(read_model_file(folder / "model.json").decode("utf-8"))
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
        "normalization": NORMALIZATION,
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
    meta["checksum"] = meta_checksum(meta)
    (folder / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def _arrays(model: Model) -> dict[str, np.ndarray[Any, Any]]:
    x = model.example_rows
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
    if isinstance(weights, CsrArrays) and bias is not None:
        arrays.update(w_data=weights.data, w_indices=weights.indices, w_indptr=weights.indptr,
                      w_shape=np.asarray(weights.shape, np.int64), bias=bias)  # fmt: skip
    elif isinstance(weights, np.ndarray) and bias is not None:
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
