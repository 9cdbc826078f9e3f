"""One file of a batch, checked: the function every runner calls (in this process, a pool worker or a
dask worker), so every runner gives the same result for the same file.

The result is a plain dict, `check --json`'s fields (file, tables, findings) and nothing a machine
alone would differ in, so local and cluster runs give the same 审核汇总. A file that cannot be
checked is a result with one finding saying why (codes in FILE_CODES), never an exception.
"""
from __future__ import annotations

import os
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
FILE_CODES = (UNREADABLE, TOO_LARGE, TIMED_OUT, CRASHED, NEEDS_CONVERT, FAILED)


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
        """What a cached result depends on besides the file's content (the password does not change a result)."""
        from .. import __version__

        return f"{__version__}|{self.profile}|{int(self.convert)}|{int(self.crosscheck)}"


@dataclass(frozen=True)
class Job:
    file: str  # the path as the reviewer gave it: shown, linked and streamed
    path: str  # where it is read (absolute; on a cluster, a path every worker shares)
    options: Options
    data: bytes | None = None  # --send-files: the content travels with the job
    size: int | None = None  # bytes, as the collector saw them (None: ask the file system)


def file_result(file: str, code: str, message: str) -> dict:
    """The result of a file that could not be checked: no tables, one error saying why."""
    finding = Finding(ERROR, code, "", "", message)
    return {"file": file, "tables": [], "findings": [finding.as_json()]}


def check_file(job: Job) -> dict:
    """`xlperf check` of one file as a dict; every failure is a finding."""
    opts = job.options
    try:
        size = job.size if job.size is not None else len(job.data) if job.data is not None else os.stat(job.path).st_size
    except OSError as exc:
        return file_result(job.file, UNREADABLE, f"无法读取该文件（{_os_reason(exc)}）")
    if size > opts.max_bytes:
        return file_result(job.file, TOO_LARGE, f"文件大小 {_megabytes(size)} 超过上限 {_megabytes(opts.max_bytes)}，"
                                                "未检查（可用 --max-size 放宽）")
    from .files import needs_convert

    if needs_convert(Path(job.file)) and not opts.convert:
        return file_result(job.file, NEEDS_CONVERT, f"{Path(job.file).suffix} 文件需要先用 LibreOffice 转换，未检查；"
                                                    "请加 --convert 重新运行")
    if job.data is None:
        return _checked(job.file, Path(job.path), opts)
    with tempfile.TemporaryDirectory(prefix="xlperf-batch-") as tmp:
        staged = Path(tmp) / Path(job.file).name  # the name tells the format, as it does for the original
        staged.write_bytes(job.data)
        return _checked(job.file, staged, opts)


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
