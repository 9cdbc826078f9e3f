"""The reviewers' batch: `xlperf check PATH...` over a year's submissions.

One pipeline, each stage a plain function or a small record:

    files.collect(paths, convert)      → the files to check, in a stable order (folders walked, globs expanded)
    job.check_file(job)                → one file's result: `check --json`'s fields plus `file`; never raises
    pipeline.run_batch(files, ...)     → results as files finish (run.py): in a process pool (a per-file
                                         time limit that kills a stuck worker), or on a dask.distributed
                                         cluster (the same check_file submitted through a Client)
    cache.ResultCache                  → results by content hash: a rerun checks only new or changed files
    summary.write_summary(results, …)  → the 审核汇总 workbook (pandas, with openpyxl charts), atomically

A file that cannot be read, is too large, takes too long or kills its worker is a result with one
finding saying so, never a stopped batch.
"""
