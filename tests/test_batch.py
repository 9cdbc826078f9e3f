"""The reviewers' batch: `xlperf check FOLDER` over a year's submissions, on this machine or a Dask cluster.

The mixed folder holds the real published tables (tests/corpus, several copies in subfolders), both seed
reports as .docx, the hostile files of tests/bad_files, a file that takes far longer than the time
limit, one over the size limit, and the lock/backup files a folder really has. The same folder is
checked by the process pool, by a distributed.LocalCluster and by a `dask scheduler` with `dask worker`
subprocesses (one of them killed mid-run); the three 审核汇总 workbooks must hold the same cells.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from xlperf.batch.cache import ResultCache, content_digest
from xlperf.batch.files import collect
from xlperf.batch.job import CRASHED, NEEDS_CONVERT, TIMED_OUT, TOO_LARGE, UNREADABLE, Job, Options, check_file
from xlperf.batch.run import run_pool
from xlperf.batch.summary import CHART_SHEET, DETAIL_SHEET, SUMMARY_COLUMNS, SUMMARY_SHEET
from xlperf.cli import app

from .bad_files import FILE_CASES
from .docx_builders import GOLDEN, seed_docx

CORPUS = Path(__file__).parent / "corpus"
COPIES = 9  # 20 published tables × 9 copies, plus the reports and the bad files: a few hundred files
TIME_LIMIT = "25"  # a real file takes well under a second; under a loaded CI machine, seconds
MAX_SIZE_MB = "2"
BAD = [name for name in FILE_CASES if name not in ("missing", "directory", "encrypted-wrong-password")]
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def slow_workbook(path: Path, rows: int = 2500) -> Path:
    """A real table with 20,000 running sums beside it: its formula cross-check takes minutes."""
    wb = load_workbook(CORPUS / "national-anhui-tangxi-cunji-2022.xlsx")
    ws = wb.worksheets[0]
    for r in range(1, rows + 1):
        ws.cell(r, 30, r)
        for c in range(31, 41):
            ws.cell(r, c, f"=SUM(AD1:AD{r})*{c}")
    wb.save(path)
    return path


def mixed_folder(root: Path, copies: int = COPIES) -> Path:
    folder = root / "2025年度"
    tables = sorted(CORPUS.glob("*.xlsx"))
    for k in range(copies):
        sub = folder / f"单位{k:02d}"
        sub.mkdir(parents=True)
        for t in tables:
            shutil.copy(t, sub / t.name)
    reports = folder / "自评报告"
    reports.mkdir()
    for seed in sorted(GOLDEN.glob("0*.txt")):
        seed_docx(seed, reports / f"{seed.stem[:3]}_自评报告.docx")
    bad = folder / "有问题的文件"
    bad.mkdir()
    for name in BAD:
        made = FILE_CASES[name].build(bad)
        made.rename(bad / f"{name}__{made.name}")
    slow_workbook(folder / "慢.xlsx")
    (folder / "过大.xlsx").write_bytes(os.urandom(3 * 1024 * 1024))
    (folder / "~$正在编辑.xlsx").write_bytes(b"lock")  # never taken: Excel's lock file, a backup, a hidden file
    (folder / "单位00" / "x.xlsx.bak").write_bytes(b"old")
    (folder / ".隐藏.xlsx").write_bytes(b"hidden")
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    return mixed_folder(tmp_path_factory.mktemp("batch"))


def same_cells(a: Path, b: Path) -> list:
    """The rows that differ between two 审核汇总 workbooks (empty when they are the same cell by cell)."""
    left, right = cells(a), cells(b)
    return [(sheet, x, y) for sheet in sorted(set(left) | set(right))
            for x, y in zip(left.get(sheet, []) + [None] * 9999, right.get(sheet, []))
            if x != y][:5] + ([("sheets", sorted(left), sorted(right))] if sorted(left) != sorted(right) else []) + \
        [(sheet, len(left[sheet]), len(right.get(sheet, []))) for sheet in left if len(left[sheet]) != len(right.get(sheet, []))]


def cells(book: Path) -> dict[str, list[tuple]]:
    """Every sheet's values (and links) as a reviewer sees them."""
    wb = load_workbook(book)
    return {ws.title: [tuple((c.value, c.hyperlink.target if c.hyperlink else None) for c in row)
                       for row in ws.iter_rows()] for ws in wb.worksheets}


def batch_args(folder: Path, report: Path, *extra) -> list:
    return ["check", folder, "--report", report, "--time-limit", TIME_LIMIT, "--max-size", MAX_SIZE_MB,
            "--no-cache", *extra]


# ---- which files ------------------------------------------------------------------------------
def test_collect_walks_folders_and_globs_and_leaves_out_locks_backups_and_its_own_output(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/1.xlsx", "a/b/2.docx", "a/b/3.xls", "a/4.csv", "a/~$1.xlsx", "a/.~lock.1.xlsx#", "a/1.xlsx.bak",
                 "a/.1.xlsx.xlperf-1-x.tmp", "a/审核汇总.xlsx", "a/审核汇总.xlperf-cache/ab/ab.json", "c.xlsx"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = collect([tmp_path / "a", str(tmp_path / "*.xlsx"), tmp_path / "a" / "1.xlsx"],
                    skip=(tmp_path / "a" / "审核汇总.xlsx", tmp_path / "a" / "审核汇总.xlperf-cache"))
    names = [f.relative_to(tmp_path).as_posix() for f in found.files]
    assert names == ["a/1.xlsx", "a/b/2.docx", "a/b/3.xls", "c.xlsx"]  # each once, folders sorted
    assert found.missing == ()
    assert collect([tmp_path / "没有.xlsx", str(tmp_path / "*.ods")]).missing == (str(tmp_path / "没有.xlsx"),
                                                                                  str(tmp_path / "*.ods"))


def test_a_single_file_keeps_checks_contract(tmp_path):
    """One file, no batch option: the console report (or --json) and exit 0/1/2 as before; nothing written."""
    table = CORPUS / "national-hebei-langfang-shipin-2019.xlsx"
    single = run("check", table, "--json")
    assert single.exit_code == 1
    data = json.loads(single.stdout)
    assert set(data) == {"file", "tables", "findings"} and data["file"] == str(table)
    assert run("check", tmp_path / "没有.xlsx").exit_code == 2
    assert not Path("审核汇总.xlsx").exists()


# ---- one file, as every runner checks it ----------------------------------------------------
def test_check_file_equals_check_json_and_turns_every_failure_into_a_finding(tmp_path):
    table = CORPUS / "national-hebei-langfang-shipin-2019.xlsx"
    opts = Options(max_bytes=1024 * 1024)
    result = check_file(Job(file=str(table), path=str(table), options=opts))
    assert result == json.loads(run("check", table, "--json").stdout)
    sent = check_file(Job(file="寄来的.xlsx", path="/不存在/寄来的.xlsx", options=opts, data=table.read_bytes()))
    assert sent["tables"] == result["tables"] and len(sent["findings"]) == len(result["findings"])
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"0" * (1024 * 1024 + 1))
    old = tmp_path / "旧.xls"
    old.write_bytes(b"x")
    for path, code, fragment in ((big, TOO_LARGE, "超过上限 1.0 MB"), (old, NEEDS_CONVERT, "--convert"),
                                 (tmp_path / "没有.xlsx", UNREADABLE, "无法读取")):
        got = check_file(Job(file=str(path), path=str(path), options=opts))
        (finding,) = got["findings"]
        assert (got["tables"], finding["severity"], finding["code"]) == ([], "error", code)
        assert fragment in finding["message"]


# ---- the process pool -------------------------------------------------------------------------
def test_pool_time_limit_kills_the_worker_and_the_others_go_on(tmp_path):
    slow = slow_workbook(tmp_path / "慢.xlsx", rows=1500)
    table = CORPUS / "national-hebei-langfang-shipin-2019.xlsx"
    opts = Options(time_limit=2)
    jobs = [Job(file=str(p), path=str(p), options=opts) for p in (table, slow, table, table)]
    started = time.monotonic()
    got = dict(run_pool(jobs, workers=2))
    assert time.monotonic() - started < 60  # the slow file alone takes minutes
    assert sorted(got) == [0, 1, 2, 3]
    assert [f["code"] for f in got[1]["findings"]] == [TIMED_OUT] and "2 秒" in got[1]["findings"][0]["message"]
    assert got[0] == got[2] == got[3] == check_file(jobs[0])


def test_pool_worker_killed_mid_run_still_gives_every_file_once(tmp_path):
    files = []
    for i, table in enumerate(sorted(CORPUS.glob("*.xlsx")) * 2):
        files.append(tmp_path / f"{i:02d}-{table.name}")
        shutil.copy(table, files[-1])
    jobs = [Job(file=str(p), path=str(p), options=Options()) for p in files]
    expected = {i: check_file(job) for i, job in enumerate(jobs)}
    seen: list[int] = []
    killed: list[int] = []
    me = os.getpid()

    def kill_a_worker():
        while len(seen) < 3:
            time.sleep(0.01)
        children = subprocess.run(["pgrep", "-P", str(me)], capture_output=True, text=True).stdout.split()
        servers = [int(c) for c in children if "forkserver" in _cmdline(int(c))]
        for pid in servers:  # the forkserver's children are the pool's workers
            for grandchild in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split():
                killed.append(int(grandchild))
                os.kill(int(grandchild), signal.SIGKILL)
                return

    killer = threading.Thread(target=kill_a_worker, daemon=True)
    killer.start()
    for i, result in run_pool(jobs, workers=2):
        seen.append(i)
        assert result == expected[i] or [f["code"] for f in result["findings"]] == [CRASHED]
        assert result == expected[i], f"{jobs[i].file} was re-run after its worker died and must check normally"
    killer.join(5)
    assert killed, "no worker was found to kill"
    assert sorted(seen) == list(range(len(jobs)))  # every file, once


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# ---- the whole command on a mixed folder ---------------------------------------------------------
@pytest.fixture(scope="module")
def local_run(mixed, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    report = out / "审核汇总.xlsx"
    result = run(*batch_args(mixed, report, "--json-lines", "--workers", "2"))
    return result, report


def test_batch_streams_one_json_line_per_file_and_writes_the_summary(mixed, local_run):
    result, report = local_run
    assert result.exit_code == 1  # the published tables carry real errors
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    files = collect([mixed]).files
    assert sorted(line["file"] for line in lines) == sorted(str(f) for f in files)  # each file exactly once
    assert all(set(line) == {"file", "tables", "findings"} for line in lines)
    by_file = {line["file"]: line for line in lines}
    # the same fields and values as `check --json` on that file alone
    one = next(f for f in files if f.name == "national-hebei-langfang-shipin-2019.xlsx")
    assert by_file[str(one)] == json.loads(run("check", one, "--json").stdout)
    docx = next(f for f in files if f.name == "000_自评报告.docx")
    assert by_file[str(docx)] == json.loads(run("check", docx, "--json").stdout)
    # what could not be checked is a line with its reason, never a stopped batch
    codes = {Path(line["file"]).name: [f["code"] for f in line["findings"]] for line in lines}
    assert codes["慢.xlsx"] == [TIMED_OUT] and codes["过大.xlsx"] == [TOO_LARGE]
    for name in BAD:
        taken = [f for f in codes if f.split("__")[0] == name]
        if not taken:  # a folder gives no .csv: such a file is checked only when named
            assert list((mixed / "有问题的文件").glob(f"{name}__*.csv")), name
            continue
        (file,) = taken
        line = by_file[next(str(f) for f in files if f.name == file)]
        if file.endswith((".xls", ".et", ".ods", ".xlsb")):
            assert codes[file] == [NEEDS_CONVERT], file
        else:
            assert line["tables"] == [] and codes[file] == [UNREADABLE], file
            assert FILE_CASES[name].message in line["findings"][0]["message"], file
    assert "审核汇总" in result.stderr or report.exists()


def test_the_summary_workbook_a_row_per_table_details_and_charts(mixed, local_run):
    _, report = local_run
    wb = load_workbook(report)
    assert wb.sheetnames == [SUMMARY_SHEET, DETAIL_SHEET, CHART_SHEET]
    summary = wb[SUMMARY_SHEET]
    assert tuple(c.value for c in summary[1]) == SUMMARY_COLUMNS
    rows = [dict(zip(SUMMARY_COLUMNS, (c.value for c in row))) for row in summary.iter_rows(min_row=2)]
    files = collect([mixed]).files
    assert {r["文件"] for r in rows} == {str(f) for f in files}  # every file has a row, checked or not
    # a real table: its unit, department and project from the rows above its header, published and recomputed
    (hebei,) = [r for r in rows if r["文件"].endswith("单位00/national-hebei-langfang-shipin-2019.xlsx")]
    assert (hebei["预算单位"], hebei["主管部门"], hebei["项目名称"], hebei["表样"]) == (
        "廊坊市食品工程学校", "廊坊市发改委", "办公宿舍楼、食堂及餐厅暖通改造经费", "national")
    assert hebei["错误数"] >= 1 and "8.62" in hebei["首个错误"]
    assert isinstance(hebei["复核总分"], float)
    (seed000,) = [r for r in rows if r["文件"].endswith("000_自评报告.docx")]
    assert (seed000["填报总分"], seed000["复核总分"], seed000["复核等级"]) == (89.5, 99.5, "优秀")
    assert seed000["项目名称"] == "忻州市政府信息化建设经费"  # a report states it in its text, above the 附件1
    (broken,) = [r for r in rows if "truncated__" in r["文件"]]
    assert broken["工作表"] is None and broken["错误数"] == 1 and "已损坏" in broken["首个错误"]
    # links: relative to the report, and in 问题明细 to the cell of a workbook
    link = summary.cell(2, 1).hyperlink.target
    assert (report.parent / link).resolve() == Path(summary.cell(2, 1).value).resolve()
    detail = wb[DETAIL_SHEET]
    targets = [row[0].hyperlink.target for row in detail.iter_rows(min_row=2) if row[0].hyperlink]
    assert any("#'Sheet1'!H13" in t for t in targets)
    total_findings = sum(len(json.loads(line)["findings"]) for line in local_run[0].stdout.splitlines())
    assert detail.max_row - 1 == total_findings
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref, ws.title
    charts = wb[CHART_SHEET]._charts
    assert len(charts) == 3 and all(c.tagname == "barChart" for c in charts)
    grades = {r[0].value: (r[1].value, r[2].value) for r in wb[CHART_SHEET].iter_rows(min_row=2, max_col=3)
              if r[0].value}
    tables = [r for r in rows if r["工作表"]]
    assert sum(v[1] for v in grades.values()) == len(tables)
    assert grades["优秀"][1] == sum(r["复核等级"] == "优秀" for r in tables)


def test_a_rerun_checks_only_what_is_new(tmp_path):
    folder = tmp_path / "收到的"
    folder.mkdir()
    tables = sorted(CORPUS.glob("*.xlsx"))
    for t in tables[:6]:
        shutil.copy(t, folder / t.name)
    report = tmp_path / "审核汇总.xlsx"
    first = run("check", folder, "--report", report, "--workers", "2")
    assert first.exit_code == 1 and (tmp_path / "审核汇总.xlperf-cache").is_dir()
    before = cells(report)
    for t in tables[6:8]:
        shutil.copy(t, folder / t.name)
    lines = run("check", folder, "--report", report, "--workers", "2", "--json-lines")
    assert "其中 6 个文件与上次相同" in lines.stderr
    # the cached results are the results: a full rerun gives the same workbook
    again = run("check", folder, "--report", tmp_path / "全部.xlsx", "--workers", "2", "--no-cache")
    assert "与上次相同" not in again.stdout
    assert cells(report) == {k: [tuple((v, t.replace("全部", "审核汇总") if t else t) for v, t in row) for row in rows]
                             for k, rows in cells(tmp_path / "全部.xlsx").items()}
    assert len(cells(report)[SUMMARY_SHEET]) == 1 + 8 and len(before[SUMMARY_SHEET]) == 1 + 6


def test_cache_keeps_no_result_that_says_nothing_about_the_file(tmp_path):
    cache = ResultCache(tmp_path / "c")
    digest = content_digest(b"abc")
    for code in (TIMED_OUT, CRASHED, TOO_LARGE, NEEDS_CONVERT):
        cache.put("v1", digest, {"file": "a", "tables": [], "findings": [{"code": code}]})
        assert cache.get("v1", digest, "a") is None
    cache.put("v1", digest, {"file": "a", "tables": [{"sheet": "S"}], "findings": []})
    assert cache.get("v1", digest, "b") == {"file": "b", "tables": [{"sheet": "S"}], "findings": []}
    assert cache.get("v2", digest, "b") is None  # other options: another entry
    (entry,) = (tmp_path / "c").glob("*/*.json")
    entry.write_text("{broken")
    assert cache.get("v1", digest, "a") is None


def test_bad_invocations_exit_2_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("xlperf.batch.run.CONNECT_TIMEOUT", "2s")
    report = tmp_path / "审核汇总.xlsx"
    assert run("check", tmp_path / "没有", tmp_path, "--report", report).exit_code == 2
    assert run("check", tmp_path, "--report", report).exit_code == 2  # an empty folder
    (tmp_path / "a.xlsx").write_bytes((CORPUS / "national-hebei-langfang-shipin-2019.xlsx").read_bytes())
    assert run("check", tmp_path, "--json").exit_code == 2
    assert run("check", tmp_path, "--report", tmp_path / "汇总.csv").exit_code == 2
    assert "不存在" in run("check", tmp_path, "--report", tmp_path / "没有的文件夹" / "汇总.xlsx").stderr
    (tmp_path / "~$审核汇总.xlsx").write_bytes(b"lock")  # open in Excel: refused before anything is checked
    assert "正在被" in run("check", tmp_path, "--report", report).stderr
    (tmp_path / "~$审核汇总.xlsx").unlink()
    refused = run("check", tmp_path, "--report", report, "--scheduler", "tcp://127.0.0.1:9")
    assert refused.exit_code == 2 and "调度器" in refused.stderr
    assert not report.exists()


def test_progress_shows_files_per_second_and_the_time_left():
    import io

    from rich.console import Console

    from xlperf import cli

    stream = io.StringIO()
    saved = cli.err
    cli.err = Console(file=stream, force_terminal=True, width=100)
    try:
        bar = cli._BatchProgress(10)
        for _ in range(4):
            time.sleep(0.05)
            bar.advance()
        bar.progress.refresh()
        bar.close()
    finally:
        cli.err = saved
    shown = stream.getvalue()
    assert "4/10" in shown and "个/秒" in shown and "剩余" in shown


@pytest.mark.libreoffice
def test_convert_in_a_batch_reads_old_formats_in_every_worker(tmp_path):
    """.xls and .doc in the folder: without --convert each is a row saying so; with it, LibreOffice converts a
    copy in each worker (in parallel) and the tables are checked as the .xlsx and .docx they came from."""
    from xlperf import libreoffice

    if not libreoffice.available():
        pytest.skip("LibreOffice 未安装")
    folder = tmp_path / "旧格式"
    folder.mkdir()
    table = CORPUS / "national-hebei-langfang-shipin-2019.xlsx"
    libreoffice.convert(table, "xls", folder)
    report_docx = seed_docx(sorted(GOLDEN.glob("000_*.txt"))[0], tmp_path / "000.docx")
    libreoffice.convert(report_docx, "doc", folder)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["000.doc", "national-hebei-langfang-shipin-2019.xls"]
    plain = run("check", folder, "--json-lines", "--workers", "2", "--no-cache")
    assert [[f["code"] for f in json.loads(line)["findings"]] for line in plain.stdout.splitlines()] == \
        [[NEEDS_CONVERT], [NEEDS_CONVERT]]
    converted = run("check", folder, "--json-lines", "--workers", "2", "--no-cache", "--convert")
    got = {Path(json.loads(line)["file"]).suffix: json.loads(line) for line in converted.stdout.splitlines()}
    xls, doc = got[".xls"], got[".doc"]
    original = json.loads(run("check", table, "--json").stdout)
    assert [(t["total"], t["published_total"], t["project"]) for t in xls["tables"]] == \
        [(t["total"], t["published_total"], t["project"]) for t in original["tables"]]
    assert [(t["total"], t["grade"]) for t in doc["tables"]] == [("99.50", "优秀")]
