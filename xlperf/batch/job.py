"""One file of a batch, checked: the function every runner calls (in this process, a pool worker or a
dask worker), so every runner gives the same result for the same file.

The result is a plain dict, `check --json`'s fields (file, tables, findings) and nothing a machine
alone would differ in, so local and cluster runs give the same 审核汇总. A file that cannot be
checked is a result with one finding saying why (codes in FILE_CODES), never an exception.
"""
from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..model import ERROR, Finding

UNREADABLE = "file-unreadable"
TOO_LARGE = "file-too-large"
TIMED_OUT = "file-timeout"
CRASHED = "file-crashed"
NEEDS_CONVERT = "file-needs-convert"
FAILED = "file-failed"
NOT_REGULAR = "file-not-regular"
FOLDER_UNREADABLE = "folder-unreadable"
FOLDER_LINK = "folder-link"
FILE_CODES = (UNREADABLE, TOO_LARGE, TIMED_OUT, CRASHED, NEEDS_CONVERT, FAILED, NOT_REGULAR, FOLDER_UNREADABLE,
              FOLDER_LINK)
FOLDER_CODES = (FOLDER_UNREADABLE, FOLDER_LINK)
NOT_REGULAR_MESSAGE = "不是普通文件（命名管道、设备或指向它们的链接），未读取、未检查"
CHECKED_SHA256 = "_checked_sha256"  # with Job.keep: the SHA-256 of the bytes checked (the cache's; never shown)


@dataclass(frozen=True)
class Options:
    """How every file of the batch is checked (the same on every worker)."""

    profile: str = "default"
    convert: bool = False
    password: str | None = None
    crosscheck: bool = True
    max_bytes: int = 50 * 1024 * 1024
    time_limit: float = 120.0

    def fingerprint(self) -> str:
        """What a cached result depends on besides the file's content: this xlperf and the options (the password
        too: an encrypted file reads differently with it). Only ever an input to the cache's HMAC, never stored."""
        from .. import __version__

        return "\0".join((__version__, self.profile, str(int(self.convert)), str(int(self.crosscheck)),
                          self.password or ""))


@dataclass(frozen=True)
class Job:
    file: str  # the path as the reviewer gave it: shown, linked and streamed
    path: str  # where it is read (absolute; on a cluster, a path every worker shares)
    options: Options
    data: bytes | None = None  # --send-files: the content travels with the job
    keep: bool = False  # the result is to be cached: it carries the SHA-256 of the bytes checked (CHECKED_SHA256)


class NotRegular(Exception):
    """A FIFO, a device, a socket (or a link to one): nothing is read from it."""


class TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def open_regular(path: str | Path, max_bytes: int):
    """path opened for reading once it is known to be a regular file of at most max_bytes: stat first (a link
    is followed: a link to /dev/zero is a device), opened without blocking (a FIFO swapped in meanwhile never
    waits for a writer) and checked again on the open file. Raises NotRegular, TooLarge or OSError."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegular(path)
    if st.st_size > max_bytes:
        raise TooLarge(st.st_size)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    fh = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(path)
        if st.st_size > max_bytes:
            raise TooLarge(st.st_size)
    except BaseException:
        fh.close()
        raise
    return fh


def read_regular(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most max_bytes (open_regular; a file that grows past it: TooLarge)."""
    with open_regular(path, max_bytes) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(len(data))
    return data


def file_result(file: str, code: str, message: str) -> dict:
    """The result of a file that could not be checked: no tables, one error saying why."""
    finding = Finding(ERROR, code, "", "", message)
    return {"file": file, "tables": [], "findings": [finding.as_json()]}


def check_file(job: Job) -> dict:
    """`xlperf check` of one file as a dict; every failure is a finding. Nothing is read before the file is
    known to be regular and within the size limit; what is checked is the bytes read then (a private copy),
    so a file changed meanwhile never gives a result for other bytes than those it is kept under."""
    opts = job.options
    too_large = lambda size: file_result(  # noqa: E731
        job.file, TOO_LARGE, f"文件大小 {_megabytes(size)} 超过上限 {_megabytes(opts.max_bytes)}，未检查（可用 --max-size 放宽）")
    from .files import needs_convert

    data = job.data
    if data is not None and len(data) > opts.max_bytes:
        return too_large(len(data))
    if data is None:
        try:
            with open_regular(job.path, opts.max_bytes) as fh:
                if needs_convert(Path(job.file)) and not opts.convert:
                    return _needs_convert(job.file)
                data = fh.read(opts.max_bytes + 1)
        except NotRegular:
            return file_result(job.file, NOT_REGULAR, NOT_REGULAR_MESSAGE)
        except TooLarge as exc:
            return too_large(exc.size)
        except OSError as exc:
            return file_result(job.file, UNREADABLE, f"无法读取该文件（{_os_reason(exc)}）")
        if len(data) > opts.max_bytes:
            return too_large(len(data))
    if needs_convert(Path(job.file)) and not opts.convert:
        return _needs_convert(job.file)
    with tempfile.TemporaryDirectory(prefix="xlperf-batch-") as tmp:
        staged = Path(tmp) / Path(job.file).name  # the name tells the format, as it does for the original
        try:
            staged.write_bytes(data)
        except OSError as exc:
            return file_result(job.file, FAILED, f"无法把该文件复制到临时文件夹（{_os_reason(exc)}），未检查")
        result = _checked(job.file, staged, opts)
    if job.keep:
        result[CHECKED_SHA256] = hashlib.sha256(data).hexdigest()
    return result


def _needs_convert(file: str) -> dict:
    return file_result(file, NEEDS_CONVERT, f"{Path(file).suffix} 文件需要先用 LibreOffice 转换，未检查；请加 --convert 重新运行")


def _checked(file: str, path: Path, opts: Options) -> dict:
    from ..check import check_workbook
    from ..check_docx import check_document, is_document
    from ..profiles import load_profile
    from ..workbook_io import UnreadableWorkbook, reading_options

    try:
        profile = load_profile(opts.profile)  # the command line has refused an unknown one already
    except KeyError as exc:
        return file_result(file, FAILED, str(exc.args[0]))
    try:
        with reading_options(password=opts.password, convert=opts.convert):
            report = (check_document(path, profile) if is_document(path)
                      else check_workbook(path, profile, crosscheck=opts.crosscheck))
    except UnreadableWorkbook as exc:  # and UnreadableDocument: the reason, in Chinese
        return file_result(file, UNREADABLE, str(exc))
    except MemoryError:
        return file_result(file, FAILED, "检查该文件时内存不足，未检查完")
    except RecursionError:
        return file_result(file, FAILED, "该文件的结构嵌套过深，无法检查")
    except Exception as exc:  # noqa: BLE001 - a batch reports every file; the rest of the batch goes on
        return file_result(file, FAILED, f"检查该文件时出错（{type(exc).__name__}：{exc}），未检查完；请把该文件发给 xlperf 维护者")
    data = report.as_json()
    data["file"] = file
    return data


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _os_reason(exc: OSError) -> str:
    from ..safety import os_reason

    return os_reason(exc)
