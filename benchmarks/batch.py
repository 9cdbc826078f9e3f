"""The reviewers' batch benchmark: `xlperf check FOLDER` on N files, measured in one run.

    python benchmarks/batch.py [--sizes 1000,10000] [--workers 2] [--sample 30]

It builds a base set of real and generated submissions (the published tables of tests/corpus, the
two seed reports as .docx, and the 附件1 files `xlperf export` writes in every writable form), copies
it to N files, and measures, each in a fresh process:
  one        every file checked one after another in one process (xlperf.batch.run.run_inline)
  pool       the default: the process pool at --workers workers
  cluster    a distributed.LocalCluster of --workers single-threaded worker processes on 127.0.0.1
and, once, `xlperf check FILE --json` run as a separate process for --sample files (what a reviewer
without the batch runs), per file. It prints files/s, the speed-up over one process, the scaling
efficiency (speed-up ÷ workers), the peak memory of a worker, and the per-file cost at each size.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def base_set(folder: Path) -> list[Path]:
    """The distinct submissions every size is copied from."""
    from openpyxl import load_workbook  # noqa: F401  (imported before xlperf sets its parser: harmless)

    from tests.docx_builders import GOLDEN, seed_docx
    from xlperf.export import export_workbook
    from xlperf.forms import writable_forms
    from xlperf.pipeline import recalc_workbook
    from xlperf.profiles import load_profile
    from xlperf.safety import file_options
    from xlperf.template.build import new_workbook
    from xlperf.template.examples import example_projects

    folder.mkdir(parents=True, exist_ok=True)
    files = [Path(shutil.copy(t, folder / t.name)) for t in sorted((ROOT / "tests" / "corpus").glob("*.xlsx"))]
    files += [seed_docx(seed, folder / f"{seed.stem[:3]}_自评报告.docx") for seed in sorted(GOLDEN.glob("0*.txt"))]
    profile = load_profile()
    with file_options(backup=False):
        for form in writable_forms():
            book = folder / f"主-{form}.xlsx"
            new_workbook(example_projects(3), profile, form=form).save(book)
            recalc_workbook(book, None, profile)
            out = folder / f"导出-{form}"
            export = export_workbook(book, out, profile)
            for item in export.items:
                if item.xlsx is not None:
                    files.append(Path(shutil.move(item.xlsx, folder / f"{form}-{item.xlsx.name}")))
            book.unlink()
            shutil.rmtree(out, ignore_errors=True)
    return files


def fill(folder: Path, base: list[Path], n: int) -> list[Path]:
    """n files, copies of the base set, 200 to a sub-folder (as a year's submissions arrive by unit)."""
    made = []
    for i, source in zip(range(n), itertools.cycle(base)):
        sub = folder / f"单位{i // 200:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        made.append(Path(shutil.copyfile(source, sub / f"{i:05d}-{source.name}")))
    return made


class _WorkerPeaks:
    """The peak RSS (VmHWM) of every process below this one, sampled while they live (Linux /proc): pool
    workers are the forkserver's children, not this process's, so getrusage cannot see them."""

    def __init__(self):
        import threading

        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _descendants(self) -> list[int]:
        children, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            try:
                found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            children += [int(c) for c in found]
            todo += [int(c) for c in found]
        return children

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for pid in self._descendants():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]) / 1024)

    def largest(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peaks.values(), default=0.0)


def measure(mode: str, folder: Path, workers: int) -> dict:
    """One measurement inside this (fresh) process."""
    from xlperf.batch.files import collect
    from xlperf.batch.job import Options
    from xlperf.batch.pipeline import make_jobs
    from xlperf.batch.run import run_cluster, run_inline, run_pool

    jobs = make_jobs(list(collect([folder]).files), Options())
    start = time.perf_counter()
    worker_peak = None
    if mode == "one":
        results = list(run_inline(jobs))
        worker_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    elif mode == "pool":
        peaks = _WorkerPeaks()
        results = list(run_pool(jobs, workers))
        worker_peak = peaks.largest()
    else:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            results = list(run_cluster(jobs, cluster.scheduler_address))
            with Client(cluster.scheduler_address) as client:
                peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            worker_peak = max(peaks.values())
    seconds = time.perf_counter() - start
    assert len(results) == len(jobs) and len({i for i, _ in results}) == len(jobs)
    return {"files": len(jobs), "seconds": seconds, "worker_mb": worker_peak,
            "tables": sum(len(r["tables"]) for _, r in results)}


def _in_fresh_process(mode: str, folder: Path, workers: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", mode, str(folder), "--workers", str(workers)],
                         capture_output=True, text=True, env=_ENV, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_process(files: list[Path], sample: int) -> float:
    """Seconds per file of `xlperf check FILE --json` as its own process (the interpreter started each time)."""
    chosen = files[:sample]
    start = time.perf_counter()
    for f in chosen:
        subprocess.run([sys.executable, "-m", "xlperf", "check", str(f), "--json"], capture_output=True, env=_ENV,
                       check=False)
    return (time.perf_counter() - start) / len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=30, help="files run as separate `xlperf check` processes")
    parser.add_argument("--modes", default="one,pool,cluster")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), args.workers)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    print(f"# xlperf batch benchmark — {platform.python_version()}, {os.cpu_count()} cores, workers={args.workers}")
    with tempfile.TemporaryDirectory(prefix="xlperf-batch-bench-") as tmp:
        base = base_set(Path(tmp) / "base")
        print(f"base set: {len(base)} distinct files (published tables, seed reports, every writable form)")
        separate = per_process(base, args.sample)
        print(f"xlperf check FILE as its own process: {separate:.3f} s per file ({1 / separate:.1f} files/s)")
        print()
        print("| files | mode | seconds | files/s | × one process | efficiency | × separate processes | "
              "ms per file | peak MB per worker |")
        print("|---|---|---|---|---|---|---|---|---|")
        for n in sizes:
            folder = Path(tmp) / f"n{n}"
            fill(folder, base, n)
            one = None
            for mode in modes:
                got = _in_fresh_process(mode, folder, args.workers)
                rate = got["files"] / got["seconds"]
                one = rate if mode == "one" else one
                speedup = rate / one if one else float("nan")
                parallel = 1 if mode == "one" else args.workers
                print(f"| {n:,} | {mode} | {got['seconds']:.1f} | {rate:.1f} | {speedup:.2f} | "
                      f"{speedup / parallel:.0%} | {rate * separate:.1f} | "
                      f"{1000 * got['seconds'] / got['files'] * parallel:.1f} | {got['worker_mb']:.0f} |", flush=True)
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
