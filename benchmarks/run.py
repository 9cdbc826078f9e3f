"""xlperf benchmarks: one command, ratios against a floor measured in the same run.

    python benchmarks/run.py [--sizes 10,100,500,1000] [--excelmodel-max 100] [--no-libreoffice]

For each size it builds a workbook with `xlperf new --example`, then measures,
each in a fresh process (seconds and peak RSS):
  floor          openpyxl loading and saving the output workbook of the same run
  recalc         `xlperf recalc BOOK -o OUT --json` end to end, with the formula cross-check (first recalc)
  again          `xlperf recalc COPY --json` in place on a copy of OUT (its 附件1 etc. replaced): what an
                 accountant runs all year; only the generated sheets are written (xlperf.package)
  crosscheck     the formula cross-check alone (evaluate every formula, compare)
  excelmodel     formulas.ExcelModel loading and calculating the same workbook (small sizes only)
  libreoffice    LibreOffice headless recalculating the workbook (when installed)
and prints each as seconds, ratio to the floor and peak memory.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Measure this checkout even when xlperf is not installed (or installed from elsewhere).
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _peak_rss_mb() -> float:
    """Peak RSS of this process or of any child it waited for (LibreOffice runs as a child)."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def _worker(task: str, book: Path, out: Path) -> dict:
    """One measurement inside this (fresh) process."""
    start = time.perf_counter()
    if task == "floor":
        from openpyxl import load_workbook

        wb = load_workbook(out)
        wb.save(out.with_name("floor.xlsx"))
    elif task == "crosscheck":
        from openpyxl import load_workbook

        from xlperf.crosscheck import crosscheck
        from xlperf.pipeline import score_workbook
        from xlperf.profiles import load_profile

        wb = load_workbook(book)
        results = score_workbook(wb, book, load_profile())
        start = time.perf_counter()  # the cross-check alone
        crosscheck(wb, book, results)
    elif task == "excelmodel":
        import formulas

        from xlperf.formula.functions import register_with_formulas

        register_with_formulas()
        model = formulas.ExcelModel().loads(str(book)).finish()
        model.calculate()
    elif task == "libreoffice":
        from xlperf import libreoffice

        libreoffice.recalculate(book, out.parent / "lo")
    else:
        raise SystemExit(f"unknown task {task}")
    return {"seconds": time.perf_counter() - start, "rss_mb": _peak_rss_mb()}


def _measure(task: str, book: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", task, str(book), str(out)],
                          capture_output=True, text=True, env=_ENV)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure_recalc(book: Path, out: Path | None) -> dict:
    """`xlperf recalc` as a user runs it (in place when out is None); peak RSS of the child from wait4."""
    start = time.perf_counter()
    target = ["-o", str(out)] if out is not None else []
    proc = subprocess.Popen([sys.executable, "-m", "xlperf", "recalc", str(book), *target, "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        return {"error": f"exit {code}"}
    return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024}


def _build(size: int, folder: Path) -> Path:
    book = folder / f"bench_{size}.xlsx"
    subprocess.run([sys.executable, "-m", "xlperf", "new", str(book), "--projects", str(size), "--example"],
                   check=True, capture_output=True, env=_ENV)
    return book


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,500,1000")
    parser.add_argument("--excelmodel-max", type=int, default=100, help="skip formulas.ExcelModel above this size")
    parser.add_argument("--no-libreoffice", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("TASK", "BOOK", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task, book, out = args.worker
        print(json.dumps(_worker(task, Path(book), Path(out))))
        return

    from xlperf import libreoffice

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"机器 / machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="xlperf-bench-") as tmp:
        for size in sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            book = _build(size, folder)
            out = folder / "out.xlsx"
            measured = {"recalc": _measure_recalc(book, out)}
            again = folder / "again.xlsx"
            again.write_bytes(out.read_bytes())
            measured["again"] = _measure_recalc(again, None)
            measured["floor"] = _measure("floor", book, out)
            measured["crosscheck"] = _measure("crosscheck", book, out)
            if size <= args.excelmodel_max:
                measured["excelmodel"] = _measure("excelmodel", book, out)
            if not args.no_libreoffice and libreoffice.available():
                measured["libreoffice"] = _measure("libreoffice", book, out)
            measured["formulas"] = _count_formulas(book)
            rows.append((size, measured))
            _print_row(size, measured)
    print()
    print("projects  what          seconds   × floor   peak RSS MB")
    for size, measured in rows:
        _print_row(size, measured)


def _count_formulas(book: Path) -> int:
    """Formula cells in the workbook, counted in the sheet XML (no need to load it)."""
    import re
    import zipfile

    with zipfile.ZipFile(book) as z:
        return sum(len(re.findall(rb"<f[ >/]", z.read(n))) for n in z.namelist() if n.startswith("xl/worksheets/sheet"))


def _print_row(size: int, measured: dict) -> None:
    floor = measured.get("floor", {}).get("seconds")
    print(f"{size:>8}  formulas      {measured.get('formulas', 0):>7}", flush=True)
    for what in ("floor", "recalc", "again", "crosscheck", "excelmodel", "libreoffice"):
        m = measured.get(what)
        if m is None:
            continue
        if "error" in m:
            print(f"{size:>8}  {what:<12}  失败: {m['error']}")
            continue
        ratio = f"{m['seconds'] / floor:7.2f}" if floor else "      -"
        print(f"{size:>8}  {what:<12}  {m['seconds']:7.2f}   {ratio}   {m['rss_mb']:9.0f}", flush=True)


if __name__ == "__main__":
    main()
