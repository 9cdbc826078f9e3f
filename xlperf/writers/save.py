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


TEMP_MARK = "xlperf"
TEMP_SUFFIX = ".tmp"
LEGACY_STALE_SECONDS = 600  # a temporary file of an older version (no process id in its name): stale after this


def temporary_prefix(target: Path) -> str:
    """The recognisable name of a temporary file beside target: .NAME.xlsx.xlperf-PID-…tmp."""
    return f".{target.name}.{TEMP_MARK}-{os.getpid()}-"


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove what an interrupted write (killed, power cut) left beside target: temporary files whose
    process no longer runs (or, from older versions without a process id, older than ten minutes).
    A temporary file of a write still running is never touched. Returns what was removed."""
    import re
    import time

    directory = target.parent if str(target.parent) else Path(".")
    pattern = re.compile(re.escape(f".{target.name}.") + r"(?:" + TEMP_MARK + r"-(\d+)-)?[^/\\]*" + re.escape(TEMP_SUFFIX))
    removed = []
    try:
        candidates = [p for p in directory.iterdir() if p.name.startswith(f".{target.name}.")]
    except OSError:
        return removed
    for path in candidates:
        m = pattern.fullmatch(path.name)
        if not m:
            continue
        try:
            if m.group(1) is not None:
                if _process_alive(int(m.group(1))):
                    continue
            elif time.time() - path.stat().st_mtime < LEGACY_STALE_SECONDS:
                continue
            path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process (or a platform that cannot tell): leave its file alone
    return True


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
    """The whole package is made in memory, then written in one go: a full disk or a failing
    device interrupts a plain file write (reported), never openpyxl's zip writer halfway
    (whose ZipFile would later complain from its destructor)."""
    from ..workbook_io import source_info

    plain = io.BytesIO()
    wb.save(plain)
    info = source_info(wb)
    _write_bytes(plain.getvalue(), info.password if info else None, fh)


def _write_bytes(package: bytes, password: str | None, fh) -> None:
    """package to fh, encrypted again with password when the file read was encrypted."""
    if not password:
        fh.write(package)
        return
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(package)).encrypt(password, encrypted)
    fh.write(encrypted.getbuffer())


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
    from ..safety import before_write

    return replace_atomically(Path(path), lambda fh: _write(wb, fh), lambda target: before_write(wb, target))


def write_package_atomic(wb, package, path: Path, macro: bool = False) -> Path:
    """Write a finished package (xlperf.package) of the workbook wb was read as the same way: temporary
    file, fsync, replace; encrypted again when the file read was. macro: the package is macro-enabled
    (.xlsm), so the target must be an .xlsm too. package: its bytes, or a function writing it into a file."""
    from ..safety import before_write
    from ..workbook_io import source_info

    info = source_info(wb)
    password = info.password if info else None
    if callable(package) and password:  # encrypted as a whole: made in memory first
        made = io.BytesIO()
        package(made)
        package = made.getvalue()
    write = package if callable(package) else (lambda fh: _write_bytes(package, password, fh))
    return replace_atomically(Path(path), write, lambda target: before_write(wb, target, macro))


def replace_atomically(path: Path, write, check) -> Path:
    """The one way xlperf replaces or creates a workbook file: check(target) (raises WriteRefused),
    write(fh) into a temporary file beside it, fsync, keep a .bak, os.replace, fsync the folder."""
    from ..safety import WriteRefused, make_backup, os_reason

    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    directory = target.parent if str(target.parent) else Path(".")
    check(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    remove_stale_temporaries(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(target), suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise WriteRefused(f"无法在文件夹“{directory}”中写入（{os_reason(exc)}）；请检查文件夹是否存在、是否有写入权限") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        make_backup(target)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise WriteRefused(f"无法写入“{target.name}”（{os_reason(exc)}）：原文件未被改动。请检查磁盘空间和写入权限，"
                           "或确认文件没有被其他程序打开") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)
    return target
