"""Save a workbook atomically: the target is either the old file or the complete new one."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable. Not possible on every platform (Windows): then skip."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_workbook_atomic(wb, path: Path) -> Path:
    """Write wb to a temporary file beside path, fsync it, then os.replace it onto path.

    On any failure (including Ctrl-C) the temporary file is removed and the
    exception re-raised; path is never left half written. A symlink is
    followed (its target is replaced, the link kept). The file keeps the
    permissions of the file it replaces. Returns the path written.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    directory = target.parent if str(target.parent) else Path(".")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            wb.save(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)
    return target
