"""Sharing work among forked processes, for the command line's recalc on a machine with several cores.

    for result in fork_map(work, items, shared, workers):   # results in the order of items
        ...

A forked child sees `shared` (a big openpyxl Workbook, say) as the parent had it, without pickling it;
only each item's result is sent back. Forking is used only where it is safe and available (Linux) and
only from a process of its own: a threaded server never forks. Elsewhere, or with one worker, the work
runs in this process, giving the same results in the same order.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any, Callable, Iterable, Iterator

_SHARED: Any = None
_WORK: Callable | None = None


def can_fork() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def default_workers(items: int, from_items: int) -> int:
    """One per core once there are at least from_items items, else one."""
    return (os.cpu_count() or 1) if items >= from_items else 1


def _call(item):
    return _WORK(_SHARED, item)


def fork_map(work: Callable[[Any, Any], Any], items: Iterable, shared: Any, workers: int) -> Iterator:
    """work(shared, item) for each item, in order; in `workers` forked processes when that is possible."""
    global _SHARED, _WORK
    items = list(items)
    workers = max(1, min(workers, len(items)))
    if workers == 1 or not can_fork():
        for item in items:
            yield work(shared, item)
        return
    _SHARED, _WORK = shared, work
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_call, items)
    finally:
        _SHARED, _WORK = None, None
