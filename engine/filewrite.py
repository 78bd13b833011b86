"""Replacing a file the user keeps (a bot file, an export) without ever leaving half of it."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

__all__ = ["replace_file", "write_then_rename"]


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file beside ``path``, then move it over ``path``, so a
    failure half-way leaves an existing file whole (``OSError`` says why).

    A symbolic link is written through, as a plain write would; an existing file keeps its
    permissions, a new one gets the umask's. A named pipe or a device (``/dev/stdout``,
    ``/dev/null``) is written to as it is, never replaced by a file.

    A file the user may not write is refused, as a plain write would be (``os.replace``
    needs only the folder's permission). So is a file with other hard links: replacing it
    would leave them with the old contents, and writing it in place could leave it half
    written.
    """
    try:
        info = path.stat()
    except OSError:  # not there yet, or not reachable: the write below says why
        info = None
    mode = info.st_mode if info else stat.S_IFREG
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with path.open("wb") as out:
            out.write(data)
        return
    if info and stat.S_ISREG(mode):
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied", str(path))
        if info.st_nlink > 1:
            reason = (
                f"it has {info.st_nlink} hard links and only this name would get the new contents; "
                "make it a file of its own first (copy it, then move the copy over it)"
            )
            raise OSError(errno.EMLINK, reason, str(path))
    write_then_rename(path, data)


def write_then_rename(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file beside ``path`` (through a symbolic link), then rename
    it over whatever is there: a reader sees the old file or the new one, never half of
    one. The checks of ``replace_file`` are left to the caller."""
    target = path.resolve()
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
