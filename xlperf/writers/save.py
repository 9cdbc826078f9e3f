"""Save a workbook atomically: the target is either the old file or the complete new one.

Before a byte is written, `xlperf.safety.before_write` refuses targets that
are open in Excel, are not .xlsx, or whose content openpyxl could not keep;
the previous version is kept as NAME.xlsx.bak. A workbook read from an
encrypted file is encrypted again with the same password: the decrypted
package is never written to disk.
"""
from __future__ import annotations

import contextlib
import io
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


def _write(wb, fh) -> None:
    from ..workbook_io import source_info

    info = source_info(wb)
    if info is None or not info.password:
        wb.save(fh)
        return
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO()
    wb.save(plain)
    plain.seek(0)
    OOXMLFile(plain).encrypt(info.password, fh)


def save_workbook_atomic(wb, path: Path) -> Path:
    """Write wb to a temporary file beside path, fsync it, then os.replace it onto path.

    On any failure (including Ctrl-C) the temporary file is removed and the
    exception re-raised; path is never left half written. A symlink is
    followed (its target is replaced, the link kept). The file keeps the
    permissions of the file it replaces. Returns the path written.

    Raises `xlperf.safety.WriteRefused` (a Chinese message, nothing written)
    when the target is open in Excel, is not an .xlsx, would lose content
    openpyxl cannot keep, or cannot be written (permissions, disk full).
    """
    from ..safety import WriteRefused, before_write, make_backup

    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    directory = target.parent if str(target.parent) else Path(".")
    before_write(wb, target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise WriteRefused(f"无法在文件夹“{directory}”中写入（{exc.strerror or exc}）；请检查文件夹是否存在、是否有写入权限") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(wb, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        make_backup(target)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise WriteRefused(f"无法写入“{target.name}”（{exc.strerror or exc}）：原文件未被改动。请检查磁盘空间和写入权限，"
                           "或确认文件没有被其他程序打开") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)
    return target
