"""A batch from files to results: cached results first, then the rest through a runner, each result
handed to `on_result` as it comes (the --json-lines stream, the progress bar) and kept in file order."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from .cache import ResultCache, content_digest
from .job import CHECKED_SHA256, Job, NotRegular, Options, TooLarge, read_regular
from .run import run_cluster, run_pool


@dataclasses.dataclass(frozen=True)
class BatchResults:
    results: tuple[dict, ...]  # one per file, in the order of the files
    checked: int  # files checked in this run
    cached: int  # files whose result came from the cache


def make_jobs(files: list[Path], options: Options) -> list[Job]:
    return [Job(file=str(f), path=str(f.resolve()), options=options) for f in files]


def run_batch(files: list[Path], options: Options, *, workers: int, scheduler: str | None = None,
              send_files: bool = False, cache: ResultCache | None = None,
              on_result: Callable[[dict], None] | None = None) -> BatchResults:
    jobs = make_jobs(files, options)
    fingerprint = options.fingerprint()
    if cache is not None:  # each result carries the SHA-256 of the bytes its worker checked: kept under that
        jobs = [dataclasses.replace(job, keep=True) for job in jobs]
    results: list[dict | None] = [None] * len(jobs)
    todo: list[int] = []
    for i, job in enumerate(jobs):
        if cache is not None:
            digest = _digest(job)
            hit = cache.get(fingerprint, digest, job.file) if digest else None
            if hit is not None:
                results[i] = hit
                if on_result:
                    on_result(hit)
                continue
        todo.append(i)
    pending = [jobs[i] for i in todo]
    runner = (run_cluster(pending, scheduler, send_files=send_files) if scheduler
              else run_pool(pending, workers))
    for k, result in runner:
        i = todo[k]
        digest = result.pop(CHECKED_SHA256, None)
        results[i] = result
        if cache is not None and isinstance(digest, str):
            cache.put(fingerprint, digest, result)
        if on_result:
            on_result(result)
    return BatchResults(tuple(results), checked=len(todo), cached=len(jobs) - len(todo))


def _digest(job: Job) -> str | None:
    """The SHA-256 of the file's content, to look its result up (None when it is no regular file within the
    size limit, or cannot be read: the worker says why)."""
    try:
        return content_digest(read_regular(job.path, job.options.max_bytes))
    except (OSError, NotRegular, TooLarge):
        return None
