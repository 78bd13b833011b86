"""Reading a file whole, and only a regular file: opening a named pipe waits for a writer
forever, and a link to /dev/zero is never read to its end."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["FileTooLarge", "read_regular_file"]


class FileTooLarge(ValueError):
    """The file holds more than the reader's limit; it was not read further."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        size = f"{limit >> 20} MiB" if limit and limit % 2**20 == 0 else f"{limit:,} bytes"
        super().__init__(f"file is larger than {size}")


def read_regular_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the file at ``path`` (a link is followed).

    ``OSError`` when it cannot be opened or read, ``IsADirectoryError`` for a folder,
    ``OSError("not a regular file")`` for a named pipe, a device or a socket, and
    ``FileTooLarge`` when it holds more than ``limit`` bytes.
    """
    # Opened first and checked after, on the open descriptor: a check of the name before
    # opening it could pass for a file that a pipe replaces in between. Non-blocking, as
    # opening a named pipe blocks until a writer comes.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise OSError("not a regular file")
        file = open(descriptor, "rb")  # noqa: SIM115 -- closed by the with below
    except BaseException:
        os.close(descriptor)  # open() of a descriptor leaves it open when it fails
        raise
    with file:
        data = file.read() if limit is None else file.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise FileTooLarge(limit)
    return data
