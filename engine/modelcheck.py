"""Checking a loaded model's metadata and arrays before anything is built from them.

A model's checksums are plain sha256, so a forged model can carry valid ones: the archive,
every key, type, dtype, shape and CSR index is checked here instead. Each check returns
what is wrong, or None; ``kefu.model`` turns a problem into a ``ModelError``.
"""

from __future__ import annotations

import io
import math
import zipfile
from typing import Any

import numpy as np

__all__ = ["ARRAY_NAMES", "arrays_problem", "meta_problem", "read_npz"]

LARGEST_VALUE = 1e12
"""No trained weight, bias, idf or feature value comes near this; a forged one beyond it
would overflow the scores to infinity."""
_DTYPES = frozenset({np.dtype("<f8"), np.dtype("<i4"), np.dtype("<i8")})
"""What ``save_model`` writes: little-endian float64, int32 and int64."""

ARRAY_NAMES = (
    "word_idf",
    "char_idf",
    "x_data",
    "x_indices",
    "x_indptr",
    "x_shape",
    "example_intent",
)
"""The arrays every model holds."""
_HEAD_ARRAYS: tuple[set[str], ...] = (
    set(),
    {"weights", "bias"},
    {"w_data", "w_indices", "w_indptr", "w_shape", "bias"},
)
"""Arrays beyond ``ARRAY_NAMES``: none (cosine head), dense or sparse linear weights."""
_META_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "fingerprint": (str, "a string"),
    "intents": (list, "a list"),
    "calibration": (list, "a list"),
    "example_texts": (list, "a list"),
    "fast_tokenizer": ((bool, type(None)), "true, false or null"),
    "features": (dict, "an object"),
    "arrays": (list, "a list"),
    "arrays_sha256": (str, "a string"),
}
"""The metadata ``load_model`` reads, and its JSON types."""


def meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with the metadata's keys and types, or None."""
    for key, (kind, described) in _META_KEYS.items():
        if key not in meta:
            return f"{key!r} is missing"
        if not isinstance(meta[key], kind):
            return f"{key!r} is not {described}"
    features = meta["features"]
    lists = {key: meta[key] for key in ("intents", "example_texts", "arrays")}
    lists.update({f"features.{key}": features.get(key) for key in ("word_terms", "char_terms")})
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return f"{key!r} is not a list of strings"
    for key in ("word_terms", "char_terms"):
        if len(set(features[key])) != len(features[key]):
            return f"'features.{key}' repeats a term"
    if features.get("n_docs") != len(meta["example_texts"]) or isinstance(features["n_docs"], bool):
        return f"'features.n_docs' is not the number of examples ({len(meta['example_texts'])})"
    calibration = meta["calibration"]
    if len(calibration) != 2 or not all(_finite_float(v) for v in calibration):
        return "'calibration' is not two finite numbers"
    return None


def read_npz(data: bytes) -> tuple[dict[str, np.ndarray[Any, Any]] | None, str | None]:
    """The arrays of ``arrays.npz`` as ``save_model`` writes it (``np.savez``: members stored,
    not compressed, each a ``.npy`` file of one of ``_DTYPES``), or what is wrong with it.

    Read here rather than by ``np.load``, which raised a dozen kinds of error on damaged
    archives (NotImplementedError for a compression method, TokenError for a header) and
    inflated a compressed member of any declared size before its shape could be checked.
    Stored members are never larger than the file already in memory.
    """
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x61:
                    return None, f"{info.filename} is compressed or encrypted (kefu stores arrays plain)"
                if name == info.filename or name in arrays:
                    return None, f"{info.filename} is not one .npy array"
                with archive.open(info) as member:
                    array, problem = _npy(member.read(), info.filename)
                if array is None:
                    return None, problem
                arrays[name] = array
    except Exception as exc:  # any failure of a forged archive is damage, not a crash
        return None, f"{type(exc).__name__}: {exc}"
    return arrays, None


def _npy(raw: bytes, name: str) -> tuple[np.ndarray[Any, Any] | None, str | None]:
    """One ``.npy`` member, read only if its header describes exactly its bytes."""
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(stream)
    except Exception as exc:  # numpy's header parser raises many kinds
        return None, f"{name}: bad .npy header ({type(exc).__name__}: {exc})"
    if dtype not in _DTYPES or not all(type(n) is int and n >= 0 for n in shape):
        return None, f"{name} holds {dtype} of shape {shape}, not a number array kefu writes"
    body = raw[stream.tell() :]
    if len(body) != math.prod(shape) * dtype.itemsize:
        return (
            None,
            f"{name} holds {len(body)} bytes, not the {math.prod(shape) * dtype.itemsize} its shape needs",
        )
    return np.frombuffer(body, dtype).reshape(shape, order="F" if fortran else "C"), None


def _finite_float(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def arrays_problem(meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]) -> str | None:
    """What is wrong with the arrays, checked against metadata that passed ``meta_problem``
    and against each other, or None."""
    try:
        _check_arrays(meta, arrays)
    except _Invalid as exc:
        return str(exc)
    return None


class _Invalid(Exception):
    """An array that does not fit the metadata or the other arrays."""


def _check_arrays(meta: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]) -> None:
    """Check every array against the metadata and each other before anything indexes with
    them: a bad CSR index makes scipy's C code read out of bounds (a crash, not an error)."""
    names = set(arrays)
    missing = set(ARRAY_NAMES) - names
    if missing:
        raise _Invalid(f"arrays {sorted(missing)} are missing")
    if sorted(names) != sorted(meta["arrays"]) or names - set(ARRAY_NAMES) not in _HEAD_ARRAYS:
        raise _Invalid(f"unexpected set of arrays {sorted(names)}")
    words, chars = len(meta["features"]["word_terms"]), len(meta["features"]["char_terms"])
    n_features, n_intents = words + chars, len(meta["intents"])
    _array(arrays, "word_idf", (words,))
    _array(arrays, "char_idf", (chars,))
    _csr(arrays, "x", (len(meta["example_texts"]), n_features))
    intent = _array(arrays, "example_intent", (len(meta["example_texts"]),), "i")
    # Grouped by intent in order, each with an example: the matcher's per-intent maximum needs
    # it. A leading -1 was not seen by the diff and served an example as intent -1.
    firsts = np.flatnonzero(np.diff(intent, prepend=-1))
    if (intent.size and intent[0] != 0) or not np.array_equal(intent[firsts], np.arange(n_intents)):
        raise _Invalid("example_intent does not number the intents' examples in order")
    if "weights" in names:
        _array(arrays, "weights", (n_features, n_intents))
    if "w_data" in names:
        _csr(arrays, "w", (n_features, n_intents))
    if "bias" in names:
        _array(arrays, "bias", (n_intents,))


def _array(
    arrays: dict[str, np.ndarray[Any, Any]], name: str, shape: tuple[int, ...], kind: str = "f"
) -> np.ndarray[Any, Any]:
    """``arrays[name]`` if it has ``shape`` (-1: any length) and the dtype ``save_model``
    writes: finite float64, or (kind "i") int32 or int64."""
    array = arrays[name]
    dtypes = ("float64",) if kind == "f" else ("int32", "int64")
    fits = len(array.shape) == len(shape) and all(
        s in (n, -1) for n, s in zip(array.shape, shape, strict=True)
    )
    if array.dtype not in dtypes or not fits:
        raise _Invalid(f"{name} is {array.dtype} of shape {array.shape}, not {dtypes[0]} of shape {shape}")
    if kind == "f" and not (np.abs(array) <= LARGEST_VALUE).all():  # NaN fails too
        raise _Invalid(f"{name} holds a value that is not a finite number of at most {LARGEST_VALUE:g}")
    return array


def _csr(arrays: dict[str, np.ndarray[Any, Any]], prefix: str, shape: tuple[int, int]) -> None:
    """A CSR matrix stored as ``{prefix}_shape``, ``_data``, ``_indices`` and ``_indptr``."""
    rows, columns = shape
    if _array(arrays, f"{prefix}_shape", (2,), "i").tolist() != [rows, columns]:
        raise _Invalid(f"{prefix}_shape is {arrays[f'{prefix}_shape'].tolist()}, not {[rows, columns]}")
    nnz = len(_array(arrays, f"{prefix}_data", (-1,)))
    indices = _array(arrays, f"{prefix}_indices", (nnz,), "i")
    indptr = _array(arrays, f"{prefix}_indptr", (rows + 1,), "i")
    if indptr[0] != 0 or indptr[-1] != nnz or (np.diff(indptr) < 0).any():
        raise _Invalid(f"{prefix}_indptr does not run from 0 to {nnz} in order")
    if nnz and (indices.min() < 0 or indices.max() >= columns):
        raise _Invalid(f"{prefix}_indices has a column outside 0..{columns - 1}")
