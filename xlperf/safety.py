"""Data safety when writing a user's workbook: nothing a user typed is ever lost.

`writers.save.save_workbook_atomic` calls `before_write` before it writes a
byte and `make_backup` just before it replaces an existing file:

* the target must be an ``.xlsx`` (a workbook converted from .xls/.et is written
  to a new .xlsx with ``-o``, never over the original), or an ``.xlsm`` for a
  workbook with macros;
* the target must not be open in Excel/WPS (``~$NAME.xlsx`` beside it) or
  LibreOffice (``.~lock.NAME.xlsx#``);
* a workbook read from a file is written back through `xlperf.package` (only
  xlperf's sheets change; charts, pivot tables, VBA… are never touched), so
  nothing is refused for its content; an ``.xlsm`` stays an ``.xlsm``;
* the previous version is kept as ``NAME.xlsx.bak`` (``--no-backup`` turns
  it off), itself written atomically.

The command line sets the options for one command with `file_options(...)`.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import shutil
import tempfile
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .workbook_io import UnreadableWorkbook, reading_options, source_info

BACKUP_SUFFIX = ".bak"


class WriteRefused(UnreadableWorkbook):
    """xlperf will not write this file; str(exc) says why and what to do (exit code 2, nothing written)."""


@dataclass(frozen=True)
class WritePolicy:
    backup: bool = True  # keep NAME.xlsx.bak before replacing NAME.xlsx


_POLICY: ContextVar[WritePolicy] = ContextVar("xlperf_write_policy", default=WritePolicy())


def write_policy() -> WritePolicy:
    return _POLICY.get()


@contextlib.contextmanager
def writing_options(backup: bool = True) -> Iterator[WritePolicy]:
    token = _POLICY.set(WritePolicy(backup=backup))
    try:
        yield _POLICY.get()
    finally:
        _POLICY.reset(token)


@contextlib.contextmanager
def file_options(password: str | None = None, convert: bool = False, backup: bool = True) -> Iterator[None]:
    """The command line's file options for one command: how to read (password, convert) and write (backup)."""
    with reading_options(password=password, convert=convert), writing_options(backup=backup):
        yield


# ---- checks before writing ---------------------------------------------------------------
def backup_path(target: Path) -> Path:
    return target.with_name(target.name + BACKUP_SUFFIX)


def lock_files(target: Path) -> list[Path]:
    """Lock files of Excel/WPS (~$NAME) and LibreOffice (.~lock.NAME#) beside target that exist."""
    candidates = (target.with_name("~$" + target.name), target.with_name(f".~lock.{target.name}#"))
    return [p for p in candidates if p.exists()]


def check_not_open(target: Path) -> None:
    locks = lock_files(target)
    if locks:
        raise WriteRefused(
            f"“{target.name}”正在被 Excel、WPS 或 LibreOffice 打开（发现锁文件 {locks[0].name}），为免覆盖您未保存的修改，"
            f"没有写入任何内容。请先在 Excel 中保存并关闭该文件后重试；如确认已关闭，可能是程序异常退出留下的锁文件，"
            f"删除 {locks[0].name} 后重试")


def check_suffix(wb, target: Path, macro: bool = False) -> None:
    """target must be what the package is: an .xlsx, or an .xlsm for a macro-enabled package."""
    wanted = ".xlsm" if macro else ".xlsx"
    if target.suffix.lower() == wanted:
        return
    info = source_info(wb)
    src = info.path if info else target
    if info is not None and info.converted_from:
        hint = f"原文件是{info.converted_from}，不会被改写；请用 -o 指定新的 .xlsx 文件，例如 -o {src.stem}.xlsx"
    elif macro:
        raise WriteRefused(f"不能把结果写入“{target.name}”：原工作簿含宏（.xlsm），结果也必须是 .xlsm 文件（宏原样保留）；"
                           f"请用 -o 指定以 .xlsm 结尾的文件名，例如 -o {src.stem}_结果.xlsm")
    else:
        hint = f"请用 -o 指定以 .xlsx 结尾的文件名，例如 -o {src.stem}.xlsx"
    raise WriteRefused(f"不能把结果写入“{target.name}”：xlperf 只写 .xlsx 工作簿（含宏的工作簿写 .xlsm）。{hint}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def before_write(wb, target: Path, macro: bool = False) -> None:
    """Every check before a workbook replaces or creates target; raises WriteRefused. macro: a grafted
    package (xlperf.package) of an .xlsm, which stays an .xlsm (its macros come along untouched)."""
    check_suffix(wb, target, macro)
    check_writable(target)
    check_not_open(target)


_OS_REASONS = {
    errno.ENOSPC: "磁盘空间不足", errno.EDQUOT: "超出磁盘配额", errno.EROFS: "磁盘或文件夹是只读的",
    errno.EACCES: "没有写入权限", errno.EPERM: "没有权限", errno.ENOENT: "文件或文件夹不存在",
    errno.EIO: "磁盘读写错误", errno.ENAMETOOLONG: "文件名太长", errno.EISDIR: "这是一个文件夹",
    errno.EMFILE: "打开的文件太多", errno.ENOTDIR: "路径中有一部分不是文件夹",
}


def os_reason(exc: OSError) -> str:
    """What went wrong in Chinese (disk full, no permission…), never the system's English text alone."""
    reason = _OS_REASONS.get(getattr(exc, "errno", None))
    if reason:
        return reason
    return f"系统错误：{exc.strerror or exc}"


def check_writable(target: Path) -> None:
    """A file marked read-only (no write permission for anyone: Windows' 只读 attribute, mode 444) is
    never replaced, even where the folder would allow it, as Excel asks before writing over it."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise WriteRefused(f"无法读取“{target.name}”的文件属性（{os_reason(exc)}）：原文件未被改动") from None
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise WriteRefused(f"“{target.name}”是只读文件，xlperf 不会覆盖它：请取消文件的只读属性后重试，"
                           "或用 -o 写入另一个文件")


# ---- backup --------------------------------------------------------------------------------
def make_backup(target: Path) -> Path | None:
    """Copy target to NAME.xlsx.bak (atomically: temp file, fsync, rename). None when off or nothing to keep."""
    if not write_policy().backup or not target.exists():
        return None
    from .writers.save import TEMP_SUFFIX, remove_stale_temporaries, temporary_prefix

    dest = backup_path(target)
    remove_stale_temporaries(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(dest), suffix=TEMP_SUFFIX, dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, open(target, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(target, tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return dest


# ---- one writer at a time ----------------------------------------------------------------------------
LOCK_WAIT_SECONDS = 60.0  # a second xlperf waits this long for the first to finish, then refuses
LOCK_POLL_SECONDS = 0.1


def writer_lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.xlperf-lock"


@contextlib.contextmanager
def writer_lock(target: Path, wait: float | None = None):
    """Hold the advisory lock of target from reading it to replacing it, so that two xlperf processes
    (recalc and add-project, say) never lose each other's update: the second waits for the first,
    then reads what the first wrote; after `wait` seconds it refuses with a message. A lock left by a
    process that no longer runs is taken over."""
    lock = writer_lock_path(Path(target))
    held = _acquire(lock, Path(target).name, LOCK_WAIT_SECONDS if wait is None else wait)
    try:
        yield
    finally:
        if held:
            with contextlib.suppress(OSError):
                lock.unlink()


def _acquire(lock: Path, name: str, wait: float) -> bool:
    """True once the lock file is ours; False when its folder does not exist (the write will say so)."""
    import time

    from .writers.save import _process_alive

    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileNotFoundError:
            return False
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner is not None and not _process_alive(owner):
                with contextlib.suppress(OSError):
                    lock.unlink()  # left by a process that was killed
                continue
            if time.monotonic() >= deadline:
                raise WriteRefused(f"另一个 xlperf 命令（进程 {owner or '未知'}）正在写入“{name}”，等待 {int(wait)} 秒后仍未结束，"
                                   f"本命令没有写入任何内容；请等它结束后重试（如确认没有其他 xlperf 在运行，可删除 {lock.name}）") from None
            time.sleep(LOCK_POLL_SECONDS)
            continue
        except OSError as exc:
            raise WriteRefused(f"无法在“{lock.parent}”中建立写入锁（{os_reason(exc)}）；没有写入任何内容") from None
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
        except OSError as exc:  # a full disk fails here first
            with contextlib.suppress(OSError):
                lock.unlink()
            raise WriteRefused(f"无法在“{lock.parent}”中建立写入锁（{os_reason(exc)}）；没有写入任何内容，原文件未被改动") from None
        return True


def _lock_owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None
