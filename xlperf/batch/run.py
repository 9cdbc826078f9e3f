"""Run check_file over jobs and yield (index, result) as each file finishes.

    run_inline(jobs)                      one file after another in this process (no time limit)
    run_pool(jobs, workers)               a process pool sized to the cores (concurrent.futures): a file
                                          past its time limit is reported and its stuck worker killed; a
                                          worker that dies (killed, out of memory) has its files run again
    run_cluster(jobs, scheduler, ...)     the same function through a dask.distributed Client; the
                                          scheduler re-runs the files of a worker that dies

Every file is yielded exactly once, whatever happened to the processes that ran it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import time
from collections import deque
import os
import uuid
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Iterator

from .job import CRASHED, Job, check_file, file_result
from .limits import check_files_limited, timed_out

CRASH_MESSAGE = "检查该文件时处理进程意外退出（文件可能损坏，或内存不足），未检查"
CONNECT_TIMEOUT = "20s"  # how long an unreachable scheduler is tried before the batch is refused
PRELOAD = ["xlperf.batch.job", "xlperf.check", "xlperf.check_docx"]


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_inline(jobs: list[Job]) -> Iterator[tuple[int, dict]]:
    for i, job in enumerate(jobs):
        yield i, check_file(job)


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:  # never fork a process that has threads (progress bar, pool handlers)
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def run_pool(jobs: list[Job], workers: int, retries: int = 1) -> Iterator[tuple[int, dict]]:
    """Each job in a concurrent.futures ProcessPoolExecutor, two files in flight per worker (one running, one
    waiting, so no worker waits for this process); a file's time limit runs from when it is handed over.

    A file past its time limit is reported as timed out and the pool is killed (its worker is stuck; a pool
    cannot kill one worker); the files that were running with it start again in a new pool. A worker that
    dies breaks the pool: the files in flight run again, one at a time, so the one that kills its worker is
    found and, after `retries`, reported as crashed, while the others give their results."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    tries = [0] * len(jobs)
    todo = deque(range(len(jobs)))
    size = max(1, min(workers, len(jobs) or 1))
    while todo:
        executor = ProcessPoolExecutor(max_workers=size, mp_context=_context())
        running: dict = {}  # future → (index, deadline)
        broken = False
        try:
            while (todo or running) and not broken:
                while todo and not _solo(running, tries) and (len(running) < 2 * size) and \
                        (not running or not tries[todo[0]]):  # a file that broke a pool runs alone
                    i = todo.popleft()
                    running[executor.submit(check_file, jobs[i])] = (i, time.monotonic() + jobs[i].options.time_limit)
                first_deadline = min(d for _, d in running.values())
                done, _ = wait(list(running), timeout=max(0.0, first_deadline - time.monotonic()),
                               return_when=FIRST_COMPLETED)
                for future in done:
                    i, _ = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        tries[i] += 1
                        if tries[i] <= retries:
                            todo.appendleft(i)
                            continue
                        result = file_result(jobs[i].file, CRASHED, CRASH_MESSAGE)
                    yield i, result
                now = time.monotonic()
                for future, (i, deadline) in list(running.items()):
                    if deadline <= now and not future.done():
                        del running[future]
                        broken = True  # its worker is stuck: the pool goes, the others start again
                        yield i, timed_out(jobs[i])
            for i, _ in running.values():
                todo.appendleft(i)  # in flight when the pool went: not their fault, no try counted
        finally:
            if broken:
                _kill(executor)
            executor.shutdown(wait=not broken, cancel_futures=True)


def _solo(running: dict, tries: list[int]) -> bool:
    """A file that broke a pool before is running: it runs alone."""
    return any(tries[i] for i, _ in running.values())


def _kill(executor) -> None:
    kill = getattr(executor, "kill_workers", None)  # Python 3.14
    if kill is not None:
        kill()
        return
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.kill()


def run_cluster(jobs: list[Job], scheduler: str, send_files: bool = False,
                chunk: int | None = None) -> Iterator[tuple[int, dict]]:
    """Through dask.distributed, files in tasks of `chunk` (default: enough for about sixteen tasks per worker
    thread, at most 16 files; a task costs the scheduler more than a small file costs a worker), at most four
    tasks per worker thread in flight, so the scheduler never holds a whole year's files (with send_files,
    their bytes) at once. Without send_files the workers read each file at its absolute path, which they must
    share with this machine. Each file keeps its own time limit inside its task."""
    from distributed import Client, as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    if not jobs:
        return
    with Client(scheduler, timeout=CONNECT_TIMEOUT) as client:
        threads = sum(client.nthreads().values()) or 1
        chunk = chunk or max(1, min(16, len(jobs) // (16 * threads)))
        pending = deque(list(range(i, min(i + chunk, len(jobs)))) for i in range(0, len(jobs), chunk))
        run = uuid.uuid4().hex  # keys of this run only: another run on the same scheduler never shares one
        members: dict[str, list[int]] = {}

        def submit():
            if not pending:
                return None
            group = pending.popleft()
            batch = [_with_data(jobs[i]) if send_files else jobs[i] for i in group]
            future = client.submit(check_files_limited, batch, key=f"xlperf-check-{run}-{group[0]}-{len(group)}",
                                   pure=False, retries=0)
            members[future.key] = group
            return future

        queue = as_completed([f for f in (submit() for _ in range(4 * threads)) if f is not None], with_results=False)
        for future in queue:
            indices = members.pop(future.key)
            try:
                results = future.result()
            except (KilledWorker, FutureCancelledError):  # the scheduler gave up on it: it kept killing workers
                if len(indices) > 1:  # one file of the task did: each runs alone, so only that one is lost
                    pending.extendleft([i] for i in reversed(indices))
                    results = []
                else:
                    results = [file_result(jobs[indices[0]].file, CRASHED, CRASH_MESSAGE)]
            future.release()
            yield from zip(indices, results)
            for _ in range(1 if results else len(indices)):
                following = submit()
                if following is not None:
                    queue.add(following)


def _with_data(job: Job) -> Job:
    from .job import NotRegular, TooLarge, read_regular

    try:
        return dataclasses.replace(job, data=read_regular(job.path, job.options.max_bytes))
    except (OSError, NotRegular, TooLarge):
        return job  # nothing read: the worker reports the file (not regular, too large, unreadable)
