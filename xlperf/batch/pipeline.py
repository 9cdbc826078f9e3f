"""A batch from files to results: cached results first, then the rest through a runner, each result
handed to `on_result` as it comes (the --json-lines stream, the progress bar) and kept in file order."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from .cache import ResultCache, content_key
from .job import Job, Options
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
    results: list[dict | None] = [None] * len(jobs)
    keys: list[str | None] = [None] * len(jobs)
    todo: list[int] = []
    for i, job in enumerate(jobs):
        if cache is not None:
            keys[i] = _key(job)
            hit = cache.get(keys[i], job.file) if keys[i] else None
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
        results[i] = result
        if cache is not None and keys[i]:
            cache.put(keys[i], result)
        if on_result:
            on_result(result)
    return BatchResults(tuple(results), checked=len(todo), cached=len(jobs) - len(todo))


def _key(job: Job) -> str | None:
    """The cache key of the file's content (None when it cannot be read or is refused by size anyway)."""
    try:
        if Path(job.path).stat().st_size > job.options.max_bytes:
            return None
        return content_key(job.options.fingerprint(), Path(job.path))
    except OSError:
        return None
