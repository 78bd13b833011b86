"""jieba's default dictionary, kept in kefu's cache folder in a form that loads fast.

jieba's prefix dictionary has about 500,000 entries (its words and every prefix of
them). jieba caches it as a marshal, which takes 0.8-1.0 s to read in a new process, most
of a cold ``kefu predict``; building it from jieba's ``dict.txt`` takes as long. Kept as
one UTF-8 text of the entries and one array of their counts, it loads in about 0.2 s.

The file is checked whole (its sizes, a CRC-32, its counts against their total) and
rebuilt from jieba's own files when it is missing, damaged or made from another jieba;
reading it runs nothing from it.
A cache folder that cannot be written costs the saving only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sys
import zlib
from pathlib import Path

import numpy as np

from kefu.fileread import read_regular_file
from kefu.filewrite import write_then_rename
from kefu.jieba_import import jieba

__all__ = ["load_dictionary"]

log = logging.getLogger(__name__)

MAGIC = b"kefu jieba dictionary 1\n"
_COUNT = np.dtype(np.int64)  # 8-byte counts in this machine's byte order, which the file name records
_HEADER_BYTES = 200
_JIEBA_CACHE = "jieba.cache"  # where kefu had jieba keep its own cache before


def load_dictionary(folder: Path) -> tuple[dict[str, int], int]:
    """jieba's default prefix dictionary (entry -> count) and its total count, read from
    ``folder`` or built by jieba and saved there."""
    path = folder / cache_name()
    try:
        return _read(path)
    except (FileNotFoundError, NotADirectoryError):  # not saved yet, or no folder for it
        pass
    except (OSError, ValueError) as exc:
        log.warning("jieba dictionary cache %s is damaged (%s); rebuilding it", path, exc)
    tokenizer = jieba.Tokenizer()
    freq: dict[str, int]
    total: int
    freq, total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Not replace_file: that writes into a named pipe in the file's place, and would
        # wait for a reader forever; a cache file is simply replaced.
        write_then_rename(path, _encoded(freq, total))
    except (OSError, ValueError, OverflowError) as exc:
        log.warning("could not save jieba's dictionary in %s (%s); it is rebuilt at every start", folder, exc)
    else:
        with contextlib.suppress(OSError):  # jieba's own marshal, 9 MB, which kefu reads no more
            (folder / _JIEBA_CACHE).unlink(missing_ok=True)
    return freq, total


def cache_name() -> str:
    """The file name for this jieba's dictionary on this machine: jieba's version, the
    content of its ``dict.txt`` and the byte order. The content, not the file's size and
    date: every new virtual environment installs jieba anew, with new dates, and left one
    more 8.8 MB file here; installs of the same jieba now share one. Hashing the 5 MB takes
    about 9 ms."""
    source = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
    try:
        stamp = hashlib.blake2b(source.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        stamp = "unknown"
    key = f"{jieba.__version__}:{stamp}:{sys.byteorder}"
    return f"jieba-dict-{hashlib.sha256(key.encode()).hexdigest()[:16]}.bin"


def _encoded(freq: dict[str, int], total: int) -> bytes:
    text = "\n".join(freq).encode("utf-8")
    if text.count(b"\n") != max(0, len(freq) - 1):
        raise ValueError("a dictionary entry holds a line break")
    payload = text + np.fromiter(freq.values(), _COUNT, len(freq)).tobytes()
    header = {"entries": len(freq), "total": total, "text_bytes": len(text), "crc32": zlib.crc32(payload)}
    return MAGIC + json.dumps(header).encode() + b"\n" + payload


def _read(path: Path) -> tuple[dict[str, int], int]:
    data = read_regular_file(path)
    if not data.startswith(MAGIC):
        raise ValueError("not a kefu jieba dictionary")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _HEADER_BYTES)
    header = json.loads(data[len(MAGIC) : end]) if end > 0 else None
    if not isinstance(header, dict) or not all(
        type(header.get(key)) is int for key in ("entries", "total", "text_bytes", "crc32")
    ):
        raise ValueError("no valid header")
    payload = memoryview(data)[end + 1 :]
    entries, text_bytes = header["entries"], header["text_bytes"]
    if len(payload) != text_bytes + _COUNT.itemsize * entries or zlib.crc32(payload) != header["crc32"]:
        raise ValueError("truncated or altered")
    words = str(payload[:text_bytes], "utf-8").split("\n")
    if len(words) != entries:
        raise ValueError("entries and counts differ")
    # jieba takes the log of count / total: a negative count or total would segment every
    # text wrongly without an error. The total is at least the counts' sum, not equal to
    # it: a word listed twice in dict.txt is counted twice in it (3 more of 60,101,967
    # with jieba 0.42.1). NumPy checks the 500,000 counts in 1 ms, a Python loop in 25.
    counts = np.frombuffer(payload, dtype=_COUNT, offset=text_bytes)
    if int(counts.min()) < 0 or not 0 < int(counts.sum()) <= header["total"]:
        raise ValueError("counts below 0 or above the total")
    return dict(zip(words, counts.tolist(), strict=True)), header["total"]
