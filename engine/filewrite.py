"""Replacing a file the user keeps (a bot file, an export) without ever leaving half of it."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

__all__ = ["replace_file"]


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file beside ``path``, then move it over ``path``, so a
    failure half-way leaves an existing file whole (``OSError`` says why).

    A symbolic link is written through, as a plain write would; an existing file keeps its
    permissions, a new one gets the umask's. A named pipe or a device (``/dev/stdout``,
    ``/dev/null``) is written to as it is, never replaced by a file.
    """
    try:
        mode = path.stat().st_mode
    except OSError:  # not there yet, or not reachable: the write below says why
        mode = stat.S_IFREG
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with path.open("wb") as out:
            out.write(data)
        return
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
