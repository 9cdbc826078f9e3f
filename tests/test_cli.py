"""The `xlperf` command: new, add-project, recalc, check, demo — outputs, JSON contract, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf.cli import app
from xlperf.readers.input_sheet import input_sheets

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def snapshot(path, sheets=None) -> dict:
    """Every cell value of the given sheets (default: all), for before/after comparisons."""
    wb = load_workbook(path)
    names = sheets if sheets is not None else wb.sheetnames
    return {name: [[c.value for c in row] for row in wb[name].iter_rows()] for name in names}


def test_new_creates_master_workbook(tmp_path):
    book = tmp_path / "绩效自评.xlsx"
    result = run("new", book, "--projects", 3)
    assert result.exit_code == 0, result.stderr
    wb = load_workbook(book)
    assert wb.sheetnames == [L.INSTRUCTIONS_SHEET, L.PROJECT_LIST_SHEET, "项目1", "项目2", "项目3"]
    assert run("new", book).exit_code == 2  # never overwrites without --force
    assert "已存在" in run("new", book).stderr


def test_new_example_has_findings_to_find(tmp_path):
    book = tmp_path / "示例.xlsx"
    assert run("new", book, "--projects", 9, "--example").exit_code == 0
    result = run("recalc", book, "--json")
    data = json.loads(result.stdout)
    assert len(data["projects"]) == 9
    assert {f["code"] for f in data["findings"]} & {"budget-rate-mismatch", "weights-sum", "invalid-value"}
    assert result.exit_code == 1  # some finding is an error
    totals = {p["total"] for p in data["projects"]}
    assert len(totals) > 3  # varied values


def test_add_project_touches_nothing_else(tmp_path):
    book = tmp_path / "绩效自评.xlsx"
    run("new", book, "--projects", 2, "--example")
    before = snapshot(book)
    result = run("add-project", book, "--name", "新增项目")
    assert result.exit_code == 0, result.stderr
    after = snapshot(book)
    assert [n for n in after if n not in before] == ["新增项目"]
    for name, cells in before.items():
        if name != L.PROJECT_LIST_SHEET:
            assert after[name] == cells, name
    assert after[L.PROJECT_LIST_SHEET][:len(before[L.PROJECT_LIST_SHEET])] == before[L.PROJECT_LIST_SHEET]
    assert after[L.PROJECT_LIST_SHEET][-1][0] == "新增项目"
    assert run("add-project", book, "--name", "新增项目").exit_code == 2  # duplicate name


def test_recalc_json_contract_and_idempotence(tmp_path):
    assert run("demo", tmp_path).exit_code == 0
    book = tmp_path / "绩效自评示例.xlsx"
    inputs_before = snapshot(book, [ws.title for ws in input_sheets(load_workbook(book))])
    first = run("recalc", book, "--json")
    snap1 = snapshot(book)
    second = run("recalc", book, "--json")
    assert first.stdout == second.stdout
    assert snapshot(book) == snap1  # running it twice gives the same workbook
    assert snapshot(book, list(inputs_before)) == inputs_before  # no typed cell changed
    data = json.loads(first.stdout)
    assert set(data) == {"file", "projects", "findings"}
    assert [(p["name"], p["total"], p["grade"], p["budget_execution_rate"]) for p in data["projects"]] == [
        ("忻州市政府信息化建设经费", "89.50", "良好", "100.00"), ("信息化运行维护", "99.78", "优秀", "100.00")]
    for p in data["projects"]:
        assert set(p) == {"name", "sheet", "annex_sheet", "total", "grade", "budget_execution_rate"}
        assert p["annex_sheet"] in snap1
    for f in data["findings"]:
        assert set(f) == {"severity", "code", "sheet", "cell", "message", "published", "expected", "project"}
        assert f["project"] == (f["sheet"] if f["sheet"] in {p["sheet"] for p in data["projects"]} else None)
        assert f["severity"] in ("error", "warning", "info")
        assert not any(isinstance(v, float) for v in f.values())
    assert first.exit_code == 1  # seed 000's 预算执行率 error
    sheets = load_workbook(book).sheetnames
    assert L.SUMMARY_SHEET in sheets and L.FINDINGS_SHEET in sheets


def test_recalc_to_other_file_leaves_source_alone(tmp_path):
    run("demo", tmp_path)
    book, out = tmp_path / "绩效自评示例.xlsx", tmp_path / "结果.xlsx"
    before = book.read_bytes()
    run("recalc", book, "--json")  # make the source a finished workbook
    before = book.read_bytes()
    result = run("recalc", book, "-o", out)
    assert result.exit_code == 1
    assert book.read_bytes() == before
    assert L.SUMMARY_SHEET in load_workbook(out).sheetnames


def test_recalc_keeps_user_sheets(tmp_path):
    run("demo", tmp_path)
    book = tmp_path / "绩效自评示例.xlsx"
    wb = load_workbook(book)
    wb.create_sheet("我的备注")["A1"] = "请勿删除"
    wb.create_sheet(L.SUMMARY_SHEET + "(旧)")["A1"] = "用户自己的表"
    wb.save(book)
    run("recalc", book)
    wb = load_workbook(book)
    assert wb["我的备注"]["A1"].value == "请勿删除"
    assert wb[L.SUMMARY_SHEET + "(旧)"]["A1"].value == "用户自己的表"


def test_user_sheet_named_like_generated_is_never_replaced(tmp_path):
    run("new", tmp_path / "a.xlsx", "--projects", 1, "--example")
    wb = load_workbook(tmp_path / "a.xlsx")
    wb.create_sheet(L.SUMMARY_SHEET)["A1"] = "我自己的汇总"
    wb.save(tmp_path / "a.xlsx")
    run("recalc", tmp_path / "a.xlsx")
    run("recalc", tmp_path / "a.xlsx")
    wb = load_workbook(tmp_path / "a.xlsx")
    assert wb[L.SUMMARY_SHEET]["A1"].value == "我自己的汇总"
    assert sum(1 for n in wb.sheetnames if n.startswith(L.SUMMARY_SHEET)) == 2


def test_check_json_contract(tmp_path):
    run("demo", tmp_path)
    result = run("check", tmp_path / "绩效自评示例.xlsx", "--json")
    data = json.loads(result.stdout)
    assert set(data) == {"file", "tables", "findings"}
    for t in data["tables"]:
        assert set(t) == {"sheet", "header_row", "form", "total", "grade", "published_total", "published_grade",
                          "project", "unit", "department"}
    totals = sorted(t["total"] for t in data["tables"])
    assert totals == ["99.50", "99.78"]  # scores always with two decimals  # seed 000's 预算执行率 rescored from its budget table
    assert {t["form"] for t in data["tables"]} == {"shanxi"}


@pytest.mark.parametrize("command", ["recalc", "check"])
def test_unreadable_files_exit_2_without_traceback(tmp_path, command, monkeypatch):
    cases = {
        "missing.xlsx": None,
        "empty.xlsx": b"",
        "text.xlsx": "这不是工作簿".encode(),
        "old.xls": b"\xd0\xcf\x11\xe0" + b"0" * 100,
        "broken.xlsx": b"PK\x03\x04" + b"0" * 50,
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result = run(command, path)
        assert result.exit_code == 2, (name, result.stdout)
        assert "Traceback" not in result.stderr and result.stderr.strip(), name
    monkeypatch.chdir(tmp_path)
    result = run(command, tmp_path)
    if command == "recalc":
        assert result.exit_code == 2 and "文件夹" in result.stderr
    else:  # check reads a folder as a reviewer's batch: each file a row with its reason, in 审核汇总.xlsx
        assert result.exit_code == 1 and "4 个文件未能审核" in result.stdout, result.stdout
        assert (tmp_path / "审核汇总.xlsx").is_file()


def test_console_script_separates_json_and_progress(tmp_path):
    book = tmp_path / "大.xlsx"
    run("new", book, "--projects", 25, "--example")
    proc = subprocess.run([sys.executable, "-m", "xlperf", "recalc", str(book), "--json"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)  # stdout is pure JSON even with progress on stderr
    assert len(data["projects"]) == 25
    assert "Traceback" not in proc.stderr


def test_help_is_chinese():
    result = run("--help")
    assert "绩效" in result.stdout
    for command in ("new", "add-project", "recalc", "check", "demo", "export", "mail", "serve", "addin"):
        assert command in result.stdout


@pytest.mark.parametrize("command", [[], ["recalc"], ["check"], ["new"], ["export"], ["mail"], ["serve"], ["addin"],
                                     ["addin", "install"]])
def test_help_pages_have_no_english_frame(command):
    """Not only our texts: click's frame around them ("Usage:", "Options", "Show this message and exit.") too."""
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("用法：")
    assert "显示本帮助并退出" in result.stdout
    for english in ("Usage:", "Options", "Arguments", "Commands", "Show this message", "[required]", "[default:"):
        assert english not in result.stdout, english


@pytest.mark.parametrize("args, message", [
    (["recalc"], "错误：缺少参数 book"),
    (["recalc", "a.xlsx", "--bogus"], "错误：没有选项 --bogus"),
    (["new", "a.xlsx", "--projects", "abc"], "错误：--projects 的值无效：应为整数"),
    (["new", "a.xlsx", "--projects", "0"], "错误：--projects 的值无效：应不小于 1"),
    (["recalc", "a.xlsx", "b.xlsx"], "错误：多余的参数：b.xlsx"),
    (["nosuch"], "错误：没有命令"),
])
def test_usage_errors_are_chinese(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "运行 xlperf" in result.stderr and "查看帮助" in result.stderr
    assert "Error" not in result.stderr and "Try '" not in result.stderr


def test_recalc_refuses_a_workbook_without_input_sheets(tmp_path):
    from openpyxl import Workbook

    book = tmp_path / "别人的附件1.xlsx"
    wb = Workbook()
    wb.active["A1"] = "附件1.项目支出绩效自评表"
    wb.save(book)
    before = book.read_bytes()
    result = run("recalc", book)
    assert result.exit_code == 2 and "xlperf check" in result.stderr
    assert book.read_bytes() == before
