"""Reading only regular files, whole or up to a limit (bot, test and model files, word lists)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from kefu.fileread import FileTooLarge, read_regular_file

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="named pipes and /dev/zero are POSIX")


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def test_a_regular_file_is_read_whole_up_to_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path) == b"x" * 100
    assert read_regular_file(path, limit=100) == b"x" * 100  # exactly the limit is fine
    with pytest.raises(FileTooLarge, match=r"^file is larger than 99 bytes$") as caught:
        read_regular_file(path, limit=99)
    assert caught.value.limit == 99
    assert isinstance(caught.value, ValueError)


def test_the_limit_is_named_in_mib_when_it_is_a_whole_number_of_them(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * (2**20 + 1))
    with pytest.raises(FileTooLarge, match=r"^file is larger than 1 MiB$"):
        read_regular_file(path, limit=2**20)


def test_a_link_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("你好", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    assert read_regular_file(tmp_path / "link.txt").decode("utf-8") == "你好"


def test_a_folder_is_refused_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_regular_file(tmp_path)


@posix_only
def test_a_device_behind_a_link_is_refused_not_read_until_memory_ends(tmp_path: Path) -> None:
    (tmp_path / "model.json").symlink_to("/dev/zero")
    before = open_descriptors()
    with pytest.raises(OSError, match=r"^not a regular file$"):
        read_regular_file(tmp_path / "model.json")
    assert open_descriptors() == before  # the descriptor opened to look is closed again


@posix_only
def test_a_named_pipe_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    pipe = tmp_path / "bot.yaml"
    os.mkfifo(pipe)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_regular_file(pipe, limit=10)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock the reader so the test run can end, then fail
        with open(pipe, "wb"):
            pass
        pytest.fail("opening a named pipe waited for a writer")
    assert len(outcome) == 1 and isinstance(outcome[0], OSError)
    assert str(outcome[0]) == "not a regular file"


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "nothing.yaml")
