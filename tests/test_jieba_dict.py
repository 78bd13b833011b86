"""jieba's dictionary in kefu's cache folder: the same dictionary jieba builds, read back
fast, and rebuilt whenever the file is not whole."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from kefu.jieba_dict import MAGIC, cache_name, load_dictionary
from kefu.jieba_import import jieba

Dictionary = tuple[dict[str, int], int]


@pytest.fixture(scope="module")
def jiebas() -> Dictionary:
    """What jieba itself builds from its dict.txt (the independent computation)."""
    tokenizer = jieba.Tokenizer()
    freq: dict[str, int]
    total: int
    freq, total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
    return freq, total


def refuse_to_build(_: object) -> None:
    """Stands in for jieba's builder: from then on the dictionary can only come from kefu's file."""
    raise AssertionError("jieba was asked to build its dictionary")


def same(loaded: Dictionary, expected: Dictionary) -> bool:
    return loaded[1] == expected[1] and list(loaded[0].items()) == list(expected[0].items())


def test_the_dictionary_is_the_one_jieba_builds(tmp_path: Path, jiebas: Dictionary) -> None:
    (tmp_path / "jieba.cache").write_bytes(b"the marshal earlier kefu versions had jieba write")
    assert same(load_dictionary(tmp_path), jiebas)
    # Saved under a name of its own; the old 9 MB cache no kefu reads is gone.
    assert [p.name for p in tmp_path.iterdir()] == [cache_name()]


def test_a_saved_dictionary_is_read_back_without_jieba(
    tmp_path: Path, jiebas: Dictionary, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_dictionary(tmp_path)
    saved = (tmp_path / cache_name()).read_bytes()
    monkeypatch.setattr(jieba.Tokenizer, "gen_pfdict", staticmethod(refuse_to_build))
    assert same(load_dictionary(tmp_path), jiebas)
    assert (tmp_path / cache_name()).read_bytes() == saved


def jieba_copy(folder: Path, dictionary: bytes, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cache name when jieba is installed in ``folder`` with ``dictionary`` as its dict.txt."""
    folder.mkdir()
    (folder / jieba.DEFAULT_DICT_NAME).write_bytes(dictionary)
    os.utime(folder / jieba.DEFAULT_DICT_NAME, (1_000_000_000, 1_000_000_000))  # another install's date
    with monkeypatch.context() as patch:
        patch.setattr(jieba, "__file__", str(folder / "__init__.py"))
        return cache_name()


def test_installs_of_the_same_jieba_share_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Keyed on dict.txt's date, every new virtual environment left one more 8.8 MB file.
    dictionary = (Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME).read_bytes()
    assert jieba_copy(tmp_path / "other_venv", dictionary, monkeypatch) == cache_name()
    edited = dictionary.replace("退货".encode(), "退貨".encode(), 1)
    assert edited != dictionary
    assert jieba_copy(tmp_path / "edited", edited, monkeypatch) != cache_name()


def written(payload: bytes, **header: object) -> bytes:
    """A file of ``payload`` whose header is right except for ``header``'s overrides."""
    fields: dict[str, object] = {"entries": 2, "total": 3, "text_bytes": 7, "crc32": zlib.crc32(payload)}
    fields.update(header)
    return MAGIC + json.dumps(fields).encode() + b"\n" + payload


def counts(*values: int) -> bytes:
    return b"".join(v.to_bytes(8, sys.byteorder, signed=True) for v in values)


TWO_WORDS = "好的\n退货".encode()  # 13 bytes


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    # name: (what it does to a good file, the reason the warning gives)
    # an empty file (a disk that filled up)
    "empty": (lambda good: b"", "not a kefu jieba dictionary"),
    # cut short
    "truncated": (lambda good: good[: len(good) // 2], "truncated or altered"),
    # one byte of the words changed: the CRC-32 catches it
    "altered": (lambda good: good[:-100] + bytes([good[-100] ^ 1]) + good[-99:], "truncated or altered"),
    # some other file (jieba's marshal, say)
    "foreign": (lambda good: b"\xfb\x00\x00\x00" + good[4:], "not a kefu jieba dictionary"),
    # the header is not JSON, or not a JSON object
    "header not json": (
        lambda good: MAGIC + b"{entries: 2}\n" + good[len(MAGIC) :],
        "Expecting property name",
    ),
    "header a list": (lambda good: MAGIC + b"[1, 2]\n", "no valid header"),
    # no line ends the header within its 200 bytes
    "header unended": (lambda good: MAGIC + b" " * 300, "no valid header"),
    # a field missing, or a bool where a count belongs
    "no crc": (lambda good: written(TWO_WORDS + counts(1, 2), text_bytes=13, crc32=None), "no valid header"),
    "bool entries": (
        lambda good: written(TWO_WORDS + counts(1, 2), text_bytes=13, entries=True),
        "no valid header",
    ),
    # sizes that add up only with a negative one (-8 + 2 x 8 = 8 bytes)
    "negative size": (lambda good: written(counts(5), text_bytes=-8, entries=2), "entries and counts differ"),
    # well formed, but no entries: jieba would cut every text into single characters
    "no entries": (lambda good: written(b"", entries=0, text_bytes=0), "entries and counts differ"),
    # sizes and CRC right, words not UTF-8
    "not utf-8": (lambda good: written(b"\xff\xfe\n\xc3\x28xy" + counts(1, 2)), "'utf-8' codec can't decode"),
    # sizes and CRC right, three words for two counts
    "words and counts differ": (
        lambda good: written(b"a\nb\nc\xe5\xa5\xbd" + counts(1, 2), text_bytes=8),
        "entries and counts differ",
    ),
    # sizes and CRC right, counts that jieba's logarithms would turn into nonsense
    "negative count": (
        lambda good: written(TWO_WORDS + counts(-1, 4), text_bytes=13),
        "counts below 0 or above the total",
    ),
    "counts above the total": (
        lambda good: written(TWO_WORDS + counts(1, 5), text_bytes=13),
        "counts below 0 or above the total",
    ),
}


@pytest.mark.parametrize(("damage", "reason"), DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_file_is_rebuilt(
    tmp_path: Path,
    jiebas: Dictionary,
    damage: Callable[[bytes], bytes],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    load_dictionary(tmp_path)
    path = tmp_path / cache_name()
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="kefu.jieba_dict"):
        assert same(load_dictionary(tmp_path), jiebas)
    # Each kind of damage is caught by the check meant for it, not by an earlier one.
    assert f"jieba dictionary cache {path} is damaged ({reason}" in caplog.text
    # Rebuilt whole: read back without jieba.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jieba.Tokenizer, "gen_pfdict", staticmethod(refuse_to_build))
        assert same(load_dictionary(tmp_path), jiebas)


def test_a_named_pipe_in_its_place_is_replaced_not_waited_on(tmp_path: Path, jiebas: Dictionary) -> None:
    path = tmp_path / cache_name()
    os.mkfifo(path)
    assert same(load_dictionary(tmp_path), jiebas)
    assert path.is_file()


def test_a_folder_that_cannot_be_made_costs_only_the_saving(
    tmp_path: Path, jiebas: Dictionary, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "blocked").write_text("a file, where the cache folder should be")
    folder = tmp_path / "blocked" / "kefu"
    with caplog.at_level(logging.WARNING, logger="kefu.jieba_dict"):
        assert same(load_dictionary(folder), jiebas)
    assert caplog.messages == [
        f"could not save jieba's dictionary in {folder} ([Errno 20] Not a directory: '{folder}');"
        " it is rebuilt at every start"
    ]


def test_a_folder_in_place_of_the_file_is_neither_read_nor_replaced(
    tmp_path: Path, jiebas: Dictionary, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / cache_name()).mkdir()
    with caplog.at_level(logging.WARNING, logger="kefu.jieba_dict"):
        assert same(load_dictionary(tmp_path), jiebas)
    assert f"is damaged ([Errno {errno.EISDIR}] {os.strerror(errno.EISDIR)}: " in caplog.messages[0]
    assert caplog.messages[1].startswith(f"could not save jieba's dictionary in {tmp_path}")
    assert (tmp_path / cache_name()).is_dir()
    assert list(tmp_path.glob(".jieba-dict-*")) == []  # no half-written file left behind
