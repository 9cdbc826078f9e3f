"""kill -9 through a 200-project recalc in place, at 20 moments: the workbook is always either the file it was
or the complete new one, and the next run leaves no temporary file behind (issue 12)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlperf import layout as L
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_project
from xlperf.writers.save import save_workbook_atomic

from .package_check import changed_outside, owned_parts

PROJECTS = 200
MOMENTS = 20
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _recalc(book: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xlperf", "recalc", str(book), "--json"], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _leftovers(folder: Path, book: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{book.name}."))


def _temporary_appears(proc: subprocess.Popen, folder: Path, book: Path) -> tuple[float, float]:
    """Run to the end; (seconds until its temporary file appeared, seconds in all)."""
    start = time.perf_counter()
    appeared = None
    while proc.poll() is None:
        if appeared is None and any(n.endswith(".tmp") for n in _leftovers(folder, book)):
            appeared = time.perf_counter() - start
        time.sleep(0.002)
    total = time.perf_counter() - start
    assert proc.returncode in (0, 1)
    return (appeared if appeared is not None else total * 0.9), total


def _complete(path: Path, generated: bool = True) -> None:
    """A whole workbook: every member's CRC checks, openpyxl reads it (with the generated sheets)."""
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    import io

    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    assert L.PROJECT_LIST_SHEET in wb.sheetnames and (L.SUMMARY_SHEET in wb.sheetnames or not generated)
    wb.close()


@pytest.mark.slow
def test_kill_9_at_twenty_moments_of_a_200_project_recalc(tmp_path):
    book = tmp_path / "绩效自评.xlsx"
    save_workbook_atomic(new_workbook([example_project(i) for i in range(PROJECTS)], load_profile("default")), book)
    appeared, total = _temporary_appears(_recalc(book), tmp_path, book)  # the first recalc, measured
    # half the moments while it reads and scores, half from the temporary file's appearance to the end
    moments = [appeared * (i + 0.5) / (MOMENTS // 2) for i in range(MOMENTS // 2)]
    moments += [appeared + (total - appeared) * (i + 0.5) / (MOMENTS - MOMENTS // 2) for i in range(MOMENTS - MOMENTS // 2)]
    outcomes = {"untouched": 0, "new": 0}
    for moment in moments:
        before = book.read_bytes()
        proc = _recalc(book)
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = book.read_bytes()
        if after == before:
            outcomes["untouched"] += 1
        else:
            _complete(book)
            assert changed_outside(before, after, owned_parts(before)) == []
            outcomes["new"] += 1
        backup = book.with_name(book.name + ".bak")
        if backup.exists():
            _complete(backup, generated=False)
    assert outcomes["untouched"] > 0  # the moments did fall before the replacement …
    # … and the next run cleans up what the killed ones left (temporary files, the writer lock)
    proc = _recalc(book)
    assert proc.wait() in (0, 1)
    _complete(book)
    assert _leftovers(tmp_path, book) == []
