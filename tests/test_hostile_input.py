"""Hostile input, second round: what a careful attacker and an unlucky user still broke.

Names with control characters, a read-only file, a project sheet deleted by hand or missing from
the package, console markup in user text, a full disk, temporary files of interrupted writes.
Each gives a clear Chinese message and the documented exit code, never a traceback, and the
input file is unchanged unless the command succeeded.
"""
from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree
from openpyxl import load_workbook
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf.cli import app
from xlperf.writers import save as save_module

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _book(tmp_path: Path, name: str = "book.xlsx", projects: int = 1) -> Path:
    path = tmp_path / name
    assert run("new", path, "--projects", projects, "--example").exit_code == 0
    return path


def _valid_package(path: Path) -> None:
    """Every XML part parses (strictly, lxml) and the workbook opens in openpyxl."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(z.read(name))
    load_workbook(path)


# ---- names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, kept", [
    ("铃\x07声", "铃声"), ("纵\v表", "纵 表"), ("换\f页", "换 页"), ("转\x1b[31m义", "转[31m义"),
    ("换\n行", "换 行"), ("反向\u202e覆盖", "反向覆盖"), ("坏\udcff\udcfe编码", "坏编码"),
])
def test_add_project_cleans_control_characters_and_says_so(tmp_path, typed, kept):
    path = _book(tmp_path)
    result = run("add-project", path, "--name", typed)
    assert result.exit_code == 0, result.stderr
    assert "已删除" in result.stderr and kept in result.stderr
    _valid_package(path)
    wb = load_workbook(path)
    assert kept in [str(ws[L.NAME_CELL].value) for ws in wb.worksheets]
    for name in wb.sheetnames:
        assert name.isprintable() and "\u202e" not in name, repr(name)
    assert run("recalc", path).exit_code in (0, 1)
    _valid_package(path)


def test_a_name_of_control_characters_only_is_refused(tmp_path):
    path = _book(tmp_path)
    before = path.read_bytes()
    result = run("add-project", path, "--name", "\x07\x1b\u202e")
    assert result.exit_code == 2 and "项目名称不能为空" in result.stderr
    assert path.read_bytes() == before


# ---- a read-only workbook ------------------------------------------------------------------------
def test_a_read_only_file_is_never_replaced(tmp_path):
    path = _book(tmp_path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    for args in (("recalc", path), ("add-project", path, "--name", "新项目")):
        result = run(*args)
        assert result.exit_code == 2 and "只读文件" in result.stderr, result.stderr
    assert path.read_bytes() == before and stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert not list(tmp_path.glob(".*.tmp"))
    assert run("recalc", path, "-o", tmp_path / "out.xlsx").exit_code in (0, 1)  # -o still works


# ---- sheets that are gone ----------------------------------------------------------------------
def test_a_project_sheet_deleted_by_hand_is_reported_not_dropped(tmp_path):
    import json

    path = _book(tmp_path, projects=2)
    wb = load_workbook(path)
    gone = wb.sheetnames[3]
    del wb[gone]
    wb.save(path)
    result = run("recalc", path, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    (missing,) = [f for f in data["findings"] if f["code"] == "project-sheet-missing"]
    assert (missing["severity"], missing["sheet"], missing["cell"]) == ("error", L.PROJECT_LIST_SHEET, "A3")
    assert gone in missing["message"]
    (project,) = [p for p in data["projects"] if p["annex_sheet"] is None]
    assert (project["total"], project["grade"]) == (None, "未评分")
    summary = [c.value for row in load_workbook(path)[L.SUMMARY_SHEET].iter_rows() for c in row]
    assert "未评分" in summary


def test_a_sheet_part_missing_from_the_package_is_reported(tmp_path):
    path = _book(tmp_path, projects=2)
    with zipfile.ZipFile(path) as src:
        items = [(i, src.read(i.filename)) for i in src.infolist()]
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in items:
            if info.filename != "xl/worksheets/sheet4.xml":  # the second project's input sheet
                dst.writestr(info, data)
    result = run("recalc", broken, "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 1
    assert "找不到录入表" in result.stdout.replace("\n", "").replace("│", "").replace(" ", "")


# ---- console markup in user text ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["项目[/]", "[x]项目", "[bold red]项目[/]", "项目\\[x]"])
def test_user_text_is_never_read_as_console_markup(tmp_path, name):
    book = tmp_path / f"{name.replace('/', '_')}.xlsx"
    assert run("new", book).exit_code == 0
    result = run("add-project", book, "--name", name)
    assert result.exit_code == 0, result.stderr
    assert name in result.stdout
    for command in ("recalc", "check"):
        result = run(command, book)
        assert result.exit_code in (0, 1), result.stdout
        flat = result.stdout.replace("│", "").replace("\n", "").replace(" ", "")
        assert name.replace(" ", "") in flat or command == "check"


# ---- a full disk ---------------------------------------------------------------------------------
_FULL_DISK = """
import errno, os, sys
import xlperf.writers.save as save
real = os.fdopen
class Full:
    def __init__(self, f): self.f = f
    def write(self, data): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    def __getattr__(self, name): return getattr(self.f, name)
    def __enter__(self): return self
    def __exit__(self, *a): self.f.close()
save.os.fdopen = lambda fd, *a, **k: Full(real(fd, *a, **k))
from xlperf.cli import main
sys.argv = ["xlperf"] + sys.argv[1:]
main()
"""


def _run_on_a_full_disk(*args):
    return subprocess.run([sys.executable, "-c", _FULL_DISK, *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("command", ["recalc", "add-project"])
def test_a_full_disk_is_a_message_not_a_traceback(tmp_path, command):
    path = _book(tmp_path)
    before = path.read_bytes()
    args = (command, path) + (("--name", "新项目") if command == "add-project" else ())
    result = _run_on_a_full_disk(*args)
    assert result.returncode == 2, result.stderr
    assert "磁盘空间不足" in result.stderr and "原文件未被改动" in result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_export_on_a_full_disk_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    import xlperf.export as export

    path = _book(tmp_path)

    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export, "write_text_atomic", full)
    result = run("export", path, "--outdir", tmp_path / "out", "--force")
    assert result.exit_code == 2
    assert "磁盘空间不足" in result.stderr and "导出清单" in result.stderr


# ---- temporary files of interrupted writes ---------------------------------------------------------
def test_temporary_files_of_interrupted_writes_are_removed_by_the_next_run(tmp_path):
    path = _book(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".{path.name}.xlperf-{dead}-x1.tmp"
    old = tmp_path / f".{path.name}.abc123.tmp"  # an older version's name: removed once it is old
    fresh = tmp_path / f".{path.name}.def456.tmp"
    for p in (stale, old, fresh):
        p.write_bytes(b"half a workbook")
    os.utime(old, (0, 0))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = tmp_path / f".{path.name}.xlperf-{live.pid}-x2.tmp"  # another xlperf still writing
        running.write_bytes(b"in progress")
        assert run("recalc", path).exit_code in (0, 1)
        assert not stale.exists() and not old.exists()
        assert fresh.exists() and running.exists()
    finally:
        live.kill()
        live.wait()
    assert save_module.remove_stale_temporaries(path) == [running]


def test_a_killed_recalc_leaves_the_original_and_its_temporary_file_is_cleaned(tmp_path):
    path = _book(tmp_path, projects=30)
    before = path.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "xlperf", "recalc", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import time

    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(f".{path.name}.xlperf-*.tmp")) and proc.poll() is None:
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert path.read_bytes() == before or load_workbook(path)  # the original, or the complete new file
    assert run("recalc", path).exit_code in (0, 1)
    assert not list(tmp_path.glob(".*.tmp"))


# ---- any text as a name ------------------------------------------------------------------------------
def _project_names(path: Path) -> set[str]:
    """The 项目名称 column of 项目清单."""
    ws = load_workbook(path)[L.PROJECT_LIST_SHEET]
    col = L.PROJECT_LIST_COLUMNS.index("项目名称") + 1
    return {str(ws.cell(r, col).value).strip() for r in range(L.PROJECT_LIST_FIRST_ROW, ws.max_row + 1)
            if ws.cell(r, col).value not in (None, "")}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(["项目1", " 项目1\n", "\x07", "   "])))
def test_any_text_as_a_project_name_keeps_the_workbook_valid(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("n")
    path = folder / "book.xlsx"
    new_result = run("new", path)
    assert new_result.exit_code == 0
    before = path.read_bytes()
    existing = _project_names(path)
    result = run("add-project", path, "--name", name)
    assert "Traceback" not in result.stderr
    kept = L.printable_name(name)
    if not kept or kept in existing:  # nothing printable left, or a project of that name exists: refused
        assert result.exit_code == 2, result.stdout + result.stderr
        assert ("不能为空" if not kept else "已存在") in result.stderr
        assert path.read_bytes() == before
    else:
        assert result.exit_code == 0, result.stderr
        assert kept in _project_names(path)  # listed in 项目清单 under the name kept
    _valid_package(path)
    recalc = run("recalc", path)
    assert recalc.exit_code in (0, 1)
    _valid_package(path)
    exported = run("export", path, "--outdir", folder / "out", "--force")
    assert exported.exit_code in (0, 1), exported.stdout + exported.stderr
    for xlsx in (folder / "out").glob("*.xlsx"):
        _valid_package(xlsx)


# ---- two writers at once -----------------------------------------------------------------------------
# Runs xlperf with a gate around the writer lock: the "first" process, once it holds the lock, says so
# and waits for the test's "go"; the "second" says when it starts to wait for the lock.
_GATED_XLPERF = """
import os, pathlib, sys, time
from xlperf import safety
gate, role, acquire = pathlib.Path(os.environ["XLPERF_TEST_GATE"]), os.environ["XLPERF_TEST_ROLE"], safety._acquire
def gated(lock, name, wait):
    if role == "second":
        (gate / "second-waits").write_text(lock.read_text() if lock.exists() else "")
    held = acquire(lock, name, wait)
    if role == "first":
        (gate / "first-holds").touch()
        while not (gate / "go").exists():
            time.sleep(0.01)
    else:
        (gate / "second-holds").touch()
    return held
safety._acquire = gated
from xlperf.cli import main
sys.argv[0] = "xlperf"
main()
"""


def _gated(gate: Path, role: str, *args) -> subprocess.Popen:
    env = dict(os.environ, XLPERF_TEST_GATE=str(gate), XLPERF_TEST_ROLE=role)
    return subprocess.Popen([sys.executable, "-c", _GATED_XLPERF, *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, f"exited {process.returncode} before {path.name}: {process.stderr.read()}"
        assert time.monotonic() < deadline, f"no {path.name} after {seconds} s"
        time.sleep(0.01)


def test_two_concurrent_writers_never_lose_an_update(tmp_path):
    """recalc holds the writer lock (held there by a gate) while add-project starts and waits for it:
    the two overlap for certain, and the second keeps the first's work."""
    import time

    from xlperf.safety import LOCK_POLL_SECONDS, writer_lock_path

    path = _book(tmp_path, projects=20)
    gate = tmp_path / "gate"
    gate.mkdir()
    recalc = _gated(gate, "first", "recalc", path)
    add = None
    try:
        _wait_for(gate / "first-holds", recalc)
        add = _gated(gate, "second", "add-project", path, "--name", "后来的项目")
        _wait_for(gate / "second-waits", add)
        # The overlap: add-project asked for the lock while recalc, still running, held it.
        assert (gate / "second-waits").read_text() == str(recalc.pid)
        time.sleep(5 * LOCK_POLL_SECONDS)
        assert recalc.poll() is None and add.poll() is None
        assert not (gate / "second-holds").exists()  # it waits; it did not go ahead
        assert writer_lock_path(path).read_text() == str(recalc.pid)
    finally:
        (gate / "go").touch()
    assert recalc.wait(timeout=300) in (0, 1), recalc.stderr.read()
    assert add.wait(timeout=300) == 0, add.stderr.read()
    wb = load_workbook(path)
    assert "后来的项目" in wb.sheetnames  # add-project's change
    assert L.SUMMARY_SHEET in wb.sheetnames  # recalc's change
    assert not writer_lock_path(path).exists()


def test_a_lock_left_by_a_killed_process_is_taken_over_and_a_live_one_waited_for(tmp_path):
    from xlperf.safety import WriteRefused, writer_lock, writer_lock_path

    path = _book(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    writer_lock_path(path).write_text(dead)
    assert run("recalc", path).exit_code in (0, 1)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        writer_lock_path(path).write_text(str(live.pid))
        with pytest.raises(WriteRefused) as refused:
            with writer_lock(path, wait=0.3):
                pass
        assert "正在写入" in str(refused.value)
    finally:
        live.kill()
        live.wait()
        writer_lock_path(path).unlink()


# ---- what the package itself says is wrong -------------------------------------------------------------
def _rewrite(path: Path, out: Path, change) -> Path:
    with zipfile.ZipFile(path) as src:
        items = [(i, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in items:
            data = change(info.filename, data)
            if data is not None:
                dst.writestr(info, data)
    return out


def test_a_missing_sheet_part_and_duplicate_sheet_names_are_findings(tmp_path):
    import json

    path = _book(tmp_path, projects=2)
    missing = _rewrite(path, tmp_path / "missing.xlsx",
                       lambda name, data: None if name == "xl/worksheets/sheet4.xml" else data)
    data = json.loads(run("recalc", missing, "-o", tmp_path / "m.xlsx", "--json").stdout)
    assert any(f["code"] == "package-problem" and "缺少它的内容" in f["message"] for f in data["findings"])

    first, second = load_workbook(path).sheetnames[2:4]

    def twin(name, data):  # the second project's sheet renamed to the first's: two sheets of one name
        if name != "xl/workbook.xml":
            return data
        return data.replace(f'name="{second}"'.encode(), f'name="{first}"'.encode())

    duplicate = _rewrite(path, tmp_path / "twins.xlsx", twin)
    result = run("check", duplicate, "--json")
    assert result.exit_code == 1
    found = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "package-problem"]
    assert found and f"两张工作表都叫“{first}”" in found[0]["message"]


def test_an_unknown_structure_is_said_in_chinese_without_english(tmp_path, monkeypatch):
    import xlperf.workbook_io as wio

    path = _book(tmp_path)

    def stumble(*_a, **_k):
        raise TypeError("Nested.from_tree() missing 1 required positional argument: 'node'")

    monkeypatch.setattr(wio, "load_workbook", stumble)
    result = run("check", path)
    assert result.exit_code == 2
    assert "不支持的内容" in result.stderr and "另存为" in result.stderr
    assert "Nested" not in result.stderr and "missing" not in result.stderr


# ---- real Excel-written files ------------------------------------------------------------------------------
POI = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "excel-real" / "poi"
ENGLISH_EXCEPTION = __import__("re").compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback|from_tree")


@pytest.mark.skipif(not POI.is_dir(), reason="../shared/corpus/excel-real/poi 不在此处")
def test_every_real_excel_file_opens_or_gets_a_chinese_message():
    """Apache POI's test workbooks (real Excel files and deliberately broken ones): each one is read, or
    refused with a Chinese message that names no English exception."""
    from xlperf.workbook_io import UnreadableWorkbook, open_workbook

    files = sorted(POI.glob("*.xls[xm]"))
    assert len(files) > 250
    opened = 0
    for path in files:
        try:
            open_workbook(path)
            opened += 1
        except UnreadableWorkbook as exc:
            message = str(exc)
            assert path.name in message and not ENGLISH_EXCEPTION.search(message), (path.name, message)
    assert opened > 250


@pytest.mark.libreoffice
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_convert_reads_chinese_csv_in_any_of_its_usual_encodings(tmp_path, encoding):
    """A CSV saved by Excel/WPS in China (GB18030) or elsewhere (UTF-8, with or without BOM): --convert hands
    LibreOffice UTF-8 and says so, so the Chinese headers are read, not mojibake."""
    from xlperf import libreoffice
    from xlperf.workbook_io import open_workbook, reading_options

    if not libreoffice.available():
        pytest.skip("LibreOffice 未安装")
    path = tmp_path / "数据.csv"
    path.write_bytes("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值,得分\n产出指标,数量指标,培训人次,95,95,20,20\n"
                     .encode(encoding))
    with reading_options(convert=True):
        ws = open_workbook(path).worksheets[0]
    assert [ws.cell(1, c).value for c in (1, 3, 7)] == ["一级指标", "三级指标", "得分"] and ws["C2"].value == "培训人次"
