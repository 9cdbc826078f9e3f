"""A per-file time limit where the file's check runs in a thread of a process that goes on (a dask
worker): the check runs in a thread of its own; past the limit the file is reported as timed out and
the thread is asked to stop (an exception raised in it at its next Python instruction).

In the process pool the stuck worker is killed instead (run.run_pool). Both
report the same finding, so a local run and a cluster run give the same 审核汇总.
"""
from __future__ import annotations

import ctypes
import threading

from .job import TIMED_OUT, Job, check_file, file_result


class _Stopped(BaseException):
    """Raised inside a check past its time (a BaseException: `except Exception` in the check lets it through)."""


def timed_out(job: Job) -> dict:
    limit = job.options.time_limit
    return file_result(job.file, TIMED_OUT, f"检查该文件超过时间限制（{limit:g} 秒），未检查完；可用 --time-limit 放宽")


def check_file_limited(job: Job) -> dict:
    """check_file(job), or the time-out result once job.options.time_limit seconds have passed."""
    box: dict = {}

    def work():
        try:
            box["result"] = check_file(job)
        except _Stopped:
            pass

    thread = threading.Thread(target=work, name=f"xlperf-check {job.file}", daemon=True)
    thread.start()
    thread.join(job.options.time_limit)
    if thread.is_alive():
        _stop(thread)
        return timed_out(job)
    return box["result"]


def _stop(thread: threading.Thread) -> None:
    """Raise _Stopped in thread (CPython's PyThreadState_SetAsyncExc; a thread inside C code stops when it returns)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Stopped))
