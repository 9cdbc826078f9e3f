"""A per-file time limit where the file's check runs in a thread of a process that goes on (a dask
worker): a watchdog thread (one per process) raises an exception in the checking thread once its file is
past its time; the file is reported as timed out and the thread is free for the next file at its next
Python instruction (a thread inside one long C call stops when that call returns).

In the process pool the stuck worker is killed instead (run.run_pool). Both report the same finding, so a
local run and a cluster run give the same 审核汇总.
"""
from __future__ import annotations

import ctypes
import threading
import time

from .job import TIMED_OUT, Job, check_file, file_result


class _Stopped(BaseException):
    """Raised inside a check past its time (a BaseException: `except Exception` in the check lets it through)."""


class _Watchdog:
    """Deadlines of the threads checking a file; one daemon thread raises _Stopped in those past theirs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, float] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, ident: int, seconds: float) -> None:
        with self._lock:
            self._deadlines[ident] = time.monotonic() + seconds
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="xlperf-time-limit", daemon=True)
                self._thread.start()
        self._wake.set()

    def forget(self, ident: int) -> None:
        with self._lock:
            self._deadlines.pop(ident, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                for ident in [i for i, d in self._deadlines.items() if d <= now]:
                    del self._deadlines[ident]
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(_Stopped))
                following = min(self._deadlines.values(), default=None)
            self._wake.wait(None if following is None else max(0.0, following - now))
            self._wake.clear()


_WATCHDOG = _Watchdog()


def timed_out(job: Job) -> dict:
    limit = job.options.time_limit
    return file_result(job.file, TIMED_OUT, f"检查该文件超过时间限制（{limit:g} 秒），未检查完；可用 --time-limit 放宽")


def check_file_limited(job: Job) -> dict:
    """check_file(job) in this thread, or the time-out result once job.options.time_limit seconds have passed."""
    me = threading.get_ident()
    try:
        _WATCHDOG.watch(me, job.options.time_limit)
        try:
            return check_file(job)
        finally:
            _WATCHDOG.forget(me)
    except _Stopped:
        return timed_out(job)


def check_files_limited(jobs: list[Job]) -> list[dict]:
    """check_file_limited of each job, in order (one task of a cluster run)."""
    return [check_file_limited(job) for job in jobs]
