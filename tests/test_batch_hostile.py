"""The reviewers' batch against what strangers send (issue #21, third round): names that are formulas or hide
their direction, names that are no UTF-8, FIFOs and devices, folders that cannot be read, a cache that could be
forged, a --report that would overwrite a submission, and limits that are no numbers.

Kept lean: small folders, one worker where the pool does not matter, real processes where it does (the FIFO
run goes through `python -m xlperf` and its real process pool, under a timeout that an old hang would hit)."""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from xlperf.batch.cache import SECRET_NAME, ResultCache, content_digest
from xlperf.batch.job import (CHECKED_SHA256, FOLDER_LINK, FOLDER_UNREADABLE, NOT_REGULAR, UNREADABLE, Job, Options,
                              check_file)
from xlperf.batch.pipeline import run_batch
from xlperf.batch.summary import DETAIL_SHEET, SUMMARY_SHEET
from xlperf.cli import MAX_SIZE_MB, MAX_TIME_LIMIT, app

CORPUS = Path(__file__).parent / "corpus"
HEBEI = CORPUS / "national-hebei-langfang-shipin-2019.xlsx"
ANHUI = CORPUS / "national-anhui-tangxi-cunji-2022.xlsx"
ROOT = Path(__file__).parent.parent
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def lines_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def cell_xml(book: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(book) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


# ---- nothing a submitter types becomes a formula -------------------------------------------------------
INJECTED = ("=1+1.xlsx", "+SUM(1,2).xlsx", "-2+3.xlsx", "@SUM(1).xlsx", "\tTAB.xlsx", "\u202etxt.xlsx")


def test_file_names_and_texts_that_look_like_formulas_stay_text(tmp_path, monkeypatch):
    folder = tmp_path / "收到"
    folder.mkdir()
    for name in INJECTED:
        shutil.copy(HEBEI, folder / name)
    edited = load_workbook(HEBEI)  # a submitter's 主管部门 that is a formula
    edited["Sheet1"]["B4"].value = '=HYPERLINK("http://example.invalid","点我")'
    edited["Sheet1"]["B4"].data_type = "s"
    edited.save(folder / "部门.xlsx")
    monkeypatch.chdir(folder)  # relative names: the 文件 cell is "=1+1.xlsx" itself
    report = tmp_path / "审核汇总.xlsx"
    result = run("check", ".", "--report", report, "--workers", "1", "--no-cache")
    assert result.exit_code == 1, result.stdout
    for part, xml in cell_xml(report).items():
        assert b"<f>" not in xml and b"<f " not in xml, part  # not one formula anywhere
    book = load_workbook(report)
    shown = [row[0].value for row in book[SUMMARY_SHEET].iter_rows(min_row=2)]
    assert sorted(shown) == sorted(["=1+1.xlsx", "+SUM(1,2).xlsx", "-2+3.xlsx", "@SUM(1).xlsx", "\\x09TAB.xlsx",
                                    "txt.xlsx", "部门.xlsx"])  # the bidi override dropped from the name shown
    links = {row[0].value: row[0].hyperlink.target for row in book[SUMMARY_SHEET].iter_rows(min_row=2)}
    assert (report.parent / links["=1+1.xlsx"]).resolve() == (folder / "=1+1.xlsx").resolve()  # still a link
    assert (report.parent / links["txt.xlsx"]).resolve() == (folder / "\u202etxt.xlsx").resolve()  # to the real file
    assert all(isinstance(row[0].value, str) for row in book[DETAIL_SHEET].iter_rows(min_row=2))
    departments = [c.value for c in book[SUMMARY_SHEET]["D"][1:]]
    assert '=HYPERLINK("http://example.invalid","点我")' in departments
    assert "\u202e" not in result.stdout


# ---- names that are no UTF-8 ------------------------------------------------------------------------------
GBK_NAME = "测试单位.xlsx".encode("gbk")  # a Windows zip unpacked on Linux
RAW_NAME = b"\xff\xfe\x80.xlsx"  # not even GB18030


@pytest.mark.skipif(sys.platform == "win32", reason="file names are Unicode on Windows")
def test_gbk_file_names_give_a_valid_summary_with_every_row(tmp_path):
    folder = tmp_path / "收到"
    folder.mkdir()
    shutil.copy(HEBEI, os.fsdecode(os.fsencode(folder) + b"/" + GBK_NAME))
    Path(os.fsdecode(os.fsencode(folder) + b"/" + RAW_NAME)).write_bytes(b"PK\x03\x04 not a workbook")
    shutil.copy(ANHUI, folder / "正常.xlsx")
    report = tmp_path / "审核汇总.xlsx"
    result = run("check", folder, "--report", report, "--json-lines", "--workers", "1", "--no-cache")
    assert result.exit_code == 1, result.stderr
    # the stream keeps each exact name: its bytes come back from the JSON
    assert sorted(os.fsencode(Path(line["file"]).name) for line in lines_of(result)) == \
        sorted([GBK_NAME, RAW_NAME, "正常.xlsx".encode()])
    book = load_workbook(report)
    names = sorted(Path(row[0].value).name for row in book[SUMMARY_SHEET].iter_rows(min_row=2))
    assert names == sorted(["测试单位.xlsx", "\\xff\\xfe\\x80.xlsx", "正常.xlsx"])  # decoded, or escaped
    for row in book[SUMMARY_SHEET].iter_rows(min_row=2):
        assert not re.search("[\ud800-\udfff]", row[0].value)
        assert row[0].hyperlink is not None
    (gbk,) = [row[0] for row in book[SUMMARY_SHEET].iter_rows(min_row=2) if row[0].value.endswith("测试单位.xlsx")]
    from urllib.parse import unquote_to_bytes

    assert unquote_to_bytes(gbk.hyperlink.target).endswith(GBK_NAME)  # the link goes to the real bytes


@pytest.mark.libreoffice
@pytest.mark.skipif(sys.platform == "win32", reason="file names are Unicode on Windows")
def test_libreoffice_reads_every_row_of_a_summary_with_gbk_names(tmp_path):
    from xlperf import libreoffice

    if not libreoffice.available():
        pytest.skip("LibreOffice 未安装")
    folder = tmp_path / "收到"
    folder.mkdir()
    shutil.copy(HEBEI, os.fsdecode(os.fsencode(folder) + b"/" + GBK_NAME))
    shutil.copy(ANHUI, folder / "正常.xlsx")
    report = tmp_path / "审核汇总.xlsx"
    assert run("check", folder, "--report", report, "--workers", "1", "--no-cache").exit_code == 1
    out = tmp_path / "csv"
    out.mkdir()
    csv = libreoffice.convert(report, "csv:Text - txt - csv (StarCalc):44,34,76", out)  # UTF-8
    text = csv.read_bytes().decode("utf-8", "replace")
    rows = [line for line in text.splitlines() if line.strip()]
    assert len(rows) == 1 + len(load_workbook(report)[SUMMARY_SHEET]["A"]) - 1
    assert "测试单位.xlsx" in text and "正常.xlsx" in text


# ---- FIFOs, devices: a row, at once, nothing read ----------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_and_a_link_to_dev_zero_are_rows_within_the_time_limit(tmp_path):
    """Through the real command and its process pool, with the cache on (the lookup reads every file first):
    a FIFO nobody writes to, named in the folder and on the command line, and a link to /dev/zero."""
    folder = tmp_path / "收到"
    folder.mkdir()
    os.mkfifo(folder / "管道.xlsx")
    os.symlink("/dev/zero", folder / "零.xlsx")
    shutil.copy(HEBEI, folder / "表.xlsx")
    named = tmp_path / "另一个管道.docx"
    os.mkfifo(named)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "xlperf", "check", str(folder), str(named), "--json-lines",
                           "--report", str(tmp_path / "审核汇总.xlsx"), "--workers", "2", "--time-limit", "20"],
                          capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    codes = {Path(line["file"]).name: [f["code"] for f in line["findings"]] for line in map(json.loads, proc.stdout.splitlines())}
    assert codes["管道.xlsx"] == codes["零.xlsx"] == codes["另一个管道.docx"] == [NOT_REGULAR]
    assert NOT_REGULAR not in codes["表.xlsx"]
    assert "不是普通文件" in proc.stderr or "不是普通文件" in proc.stdout
    assert "3 个文件未能审核" in proc.stderr


def test_check_file_reads_nothing_that_is_no_regular_file(tmp_path):
    os.symlink("/dev/zero", tmp_path / "零.xlsx")
    got = check_file(Job(file="零.xlsx", path=str(tmp_path / "零.xlsx"), options=Options(max_bytes=10)))
    assert [f["code"] for f in got["findings"]] == [NOT_REGULAR] and "不是普通文件" in got["findings"][0]["message"]


# ---- folders and links that cannot be walked ---------------------------------------------------------------
def deep_folder(base: Path) -> Path:
    """Folders nested past PATH_MAX (a real failure that root cannot bypass): the walk cannot read the deepest."""
    fd = os.open(base, os.O_RDONLY)
    name = "长" * 80  # 240 bytes
    try:
        for _ in range(18):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("深处.xlsx", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.write(out, HEBEI.read_bytes())
        os.close(out)
    finally:
        os.close(fd)
    return base


def test_folders_it_cannot_read_and_links_it_does_not_follow_are_rows_and_counted(tmp_path):
    folder = tmp_path / "收到"
    folder.mkdir()
    shutil.copy(HEBEI, folder / "表.xlsx")
    deep_folder(folder)
    elsewhere = tmp_path / "别处"
    elsewhere.mkdir()
    shutil.copy(ANHUI, elsewhere / "别处的表.xlsx")
    os.symlink(elsewhere, folder / "链接的文件夹")
    os.symlink(tmp_path / "已删除", folder / "失效的链接")
    report = tmp_path / "审核汇总.xlsx"
    result = run("check", folder, "--report", report, "--json-lines", "--workers", "1", "--no-cache")
    assert result.exit_code == 1
    codes = {Path(line["file"]).name[:10]: [f["code"] for f in line["findings"]] for line in lines_of(result)}
    assert codes["链接的文件夹"] == [FOLDER_LINK]
    assert codes["失效的链接"] == [UNREADABLE]
    (deep,) = [c for name, c in codes.items() if name.startswith("长")]
    assert deep == [FOLDER_UNREADABLE]
    assert "审核了 2 个文件" in result.stderr and "另有 2 个文件夹或链接未能读取或未进入" in result.stderr
    rows = [row[0].value for row in load_workbook(report)[SUMMARY_SHEET].iter_rows(min_row=2)]
    assert len(rows) == 4  # 表.xlsx, the dangling link, the link to a folder, the folder too deep to read


# ---- --report never overwrites what is not its own --------------------------------------------------------
def test_report_refuses_a_checked_file_and_any_workbook_that_is_no_earlier_summary(tmp_path):
    folder = tmp_path / "收到"
    folder.mkdir()
    a, b = folder / "a.xlsx", folder / "b.xlsx"
    shutil.copy(HEBEI, a)
    shutil.copy(ANHUI, b)
    before = a.read_bytes()
    refused = run("check", a, b, "--report", a, "--no-cache")
    assert refused.exit_code == 2 and "要审核的文件之一" in refused.stderr and a.read_bytes() == before
    other = tmp_path / "我的工作簿.xlsx"
    shutil.copy(HEBEI, other)
    refused = run("check", folder, "--report", other, "--no-cache")
    assert refused.exit_code == 2 and "不是 xlperf 写出的审核汇总" in refused.stderr
    assert other.read_bytes() == HEBEI.read_bytes()
    inside = run("check", folder, "--report", folder / "b.xlsx", "--no-cache")  # in the folder: skipped, not ours
    assert inside.exit_code == 2 and b.read_bytes() == ANHUI.read_bytes()


def test_an_earlier_summary_is_replaced_and_one_inside_the_folder_is_skipped(tmp_path):
    folder = tmp_path / "收到"
    folder.mkdir()
    shutil.copy(HEBEI, folder / "a.xlsx")
    report = tmp_path / "审核汇总.xlsx"
    assert run("check", folder, "--report", report, "--workers", "1", "--no-cache").exit_code == 1
    shutil.copy(report, folder / "去年的审核汇总.xlsx")
    again = run("check", folder, "--report", report, "--workers", "1", "--no-cache", "--json-lines")
    assert again.exit_code == 1  # an earlier 审核汇总 of xlperf may be replaced
    assert [Path(line["file"]).name for line in lines_of(again)] == ["a.xlsx"]  # the copy in the folder: not audited
    assert "跳过了 1 个 xlperf 此前写出的审核汇总" in again.stderr and "去年的审核汇总.xlsx" in again.stderr


# ---- the cache never changes a verdict ----------------------------------------------------------------------
def test_cache_entries_are_authenticated_and_bound_to_content_and_options(tmp_path):
    folder = tmp_path / "c"
    cache = ResultCache(folder)
    digest = content_digest(b"abc")
    kept = {"file": "a", "tables": [{"sheet": "S", "total": "95.00"}], "findings": []}
    cache.put("opts", digest, kept)
    secret = folder / SECRET_NAME
    assert secret.stat().st_mode & 0o777 == 0o600
    assert ResultCache(folder).get("opts", digest, "b") == {**kept, "file": "b"}
    (entry,) = folder.glob("*/*.json")
    data = json.loads(entry.read_text())
    forged = {**data, "findings": [], "tables": [{"sheet": "S", "total": "100.00"}]}  # a better verdict
    entry.write_text(json.dumps(forged))
    assert ResultCache(folder).get("opts", digest, "a") is None
    for broken in ("", "[]", '{"mac": 1}', "null", "\x00" * 10, '{"tables": [], "findings": []}'):
        entry.write_text(broken)
        assert ResultCache(folder).get("opts", digest, "a") is None
    cache.put("opts", digest, kept)
    assert ResultCache(folder).get("other opts", digest, "a") is None  # options are part of the key
    assert ResultCache(folder).get("opts", content_digest(b"abd"), "a") is None
    # another cache's entry (another secret) copied in: not ours
    stranger = ResultCache(tmp_path / "other")
    stranger.put("opts", digest, {**kept, "tables": [{"sheet": "S", "total": "1.00"}]})
    (theirs,) = (tmp_path / "other").glob("*/*.json")
    (mine,) = folder.glob("*/*.json")
    shutil.copy(theirs, mine)
    assert ResultCache(folder).get("opts", digest, "a") is None
    # a secret others can read is no secret: replaced, and what it signed is void
    cache.put("opts", digest, kept)
    secret.chmod(0o644)
    assert ResultCache(folder).get("opts", digest, "a") is None
    fresh = ResultCache(folder)
    fresh.put("opts", digest, kept)
    assert secret.stat().st_mode & 0o777 == 0o600 and fresh.get("opts", digest, "a") == kept


def test_options_and_version_are_in_the_fingerprint():
    import xlperf

    base = Options()
    variants = [Options(profile="x"), Options(convert=True), Options(crosscheck=False), Options(password="p")]
    assert len({base.fingerprint(), *(v.fingerprint() for v in variants)}) == 5
    assert xlperf.__version__ in base.fingerprint()


def test_the_worker_reports_the_hash_of_what_it_checked(tmp_path):
    path = tmp_path / "a.xlsx"
    shutil.copy(HEBEI, path)
    got = check_file(Job(file=str(path), path=str(path), options=Options(), keep=True))
    assert got.pop(CHECKED_SHA256) == hashlib.sha256(HEBEI.read_bytes()).hexdigest()
    sent = check_file(Job(file=str(path), path=str(path), options=Options(), data=ANHUI.read_bytes(), keep=True))
    assert sent[CHECKED_SHA256] == hashlib.sha256(ANHUI.read_bytes()).hexdigest()  # the bytes checked, not the path's
    assert CHECKED_SHA256 not in check_file(Job(file=str(path), path=str(path), options=Options()))


def test_a_file_changed_between_lookup_and_check_is_kept_under_what_was_checked(tmp_path):
    """1.xlsx is looked up as table A, then (before the worker reads it) replaced by table B. B's result must
    not be kept under A's hash: a later run over A gets A's verdict, not B's."""
    folder = tmp_path / "收到"
    folder.mkdir()
    one, two = folder / "1.xlsx", folder / "2.xlsx"
    other = CORPUS / "national-ningxia-guyuan-jiaoyu-2021.xlsx"
    if not other.exists():
        other = sorted(p for p in CORPUS.glob("*.xlsx") if p not in (HEBEI, ANHUI))[0]
    shutil.copy(other, one)
    shutil.copy(other, two)
    cache = ResultCache(tmp_path / "cache")
    opts = Options()
    run_batch([one, two], opts, workers=1, cache=cache)  # both kept (the same content)
    shutil.copy(HEBEI, one)  # A: new, to be checked

    def swap(result):
        if result["file"] == str(two):  # 2.xlsx comes from the cache after 1.xlsx was looked up
            shutil.copy(ANHUI, one)  # B, before any worker reads 1.xlsx

    second = run_batch([one, two], opts, workers=1, cache=cache, on_result=swap)
    assert second.cached == 1
    b_alone = check_file(Job(file=str(one), path=str(one), options=opts))  # 1.xlsx now holds B
    assert second.results[0] == b_alone  # what the worker read and checked
    shutil.copy(HEBEI, one)
    third = run_batch([one, two], opts, workers=1, cache=cache)
    assert third.results[0] == check_file(Job(file=str(one), path=str(one), options=opts))  # A's own verdict
    assert third.results[0]["tables"] != b_alone["tables"]


# ---- limits that are no numbers -----------------------------------------------------------------------------
refused_seconds = st.one_of(st.sampled_from([math.inf, -math.inf, math.nan, 0.0, -1.0]),
                            st.floats(max_value=0.0), st.floats(min_value=MAX_TIME_LIMIT, exclude_min=True))
refused_megabytes = st.one_of(st.sampled_from([math.inf, -math.inf, math.nan, 0.0]),
                              st.floats(max_value=0.0), st.floats(min_value=MAX_SIZE_MB, exclude_min=True))


@pytest.fixture(scope="module")
def one_table(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("limits")
    shutil.copy(HEBEI, folder / "a.xlsx")
    return folder


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seconds=refused_seconds, megabytes=st.one_of(st.none(), refused_megabytes))
def test_non_finite_or_meaningless_limits_are_refused_in_chinese(one_table, seconds, megabytes):
    report = one_table / "审核汇总.xlsx"
    args = ["check", one_table, "--report", report, "--no-cache", "--workers", "1", "--time-limit", repr(seconds)]
    if megabytes is not None:
        args[-2:] = ["--max-size", repr(megabytes)]
    result = run(*args)
    assert result.exit_code == 2, (args, result.stdout)
    assert "错误" in result.stderr and not report.exists()
    assert re.search("[\u4e00-\u9fff]", result.stderr) and "Traceback" not in result.stderr


# ---- issue #27: the batch tests do not need the cluster extra -----------------------------------------------
def test_the_batch_tests_are_collected_without_dask(tmp_path):
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "distributed.py").write_text("raise ImportError('distributed is not installed here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/test_batch.py", "tests/test_batch_dask.py"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    collected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert sum("test_batch.py::" in line for line in collected) >= 11, proc.stdout[-2000:]
    assert not any("test_batch_dask.py::" in line for line in collected)  # skipped as a whole
