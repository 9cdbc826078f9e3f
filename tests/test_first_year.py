"""An accountant's first year: an unused project sheet, removing a project, a blank template."""
from __future__ import annotations

import dataclasses
import json

from openpyxl import load_workbook
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf.cli import app
from xlperf.formula.book import FormulaBook
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_project
from xlperf.template.inputs import ProjectInput, type_into

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _two_projects_one_filled(tmp_path):
    path = tmp_path / "测试.xlsx"
    assert run("new", path, "--projects", 2).exit_code == 0
    wb = load_workbook(path)
    type_into(wb["项目1"], dataclasses.replace(example_project(0), name="项目1"))
    wb.save(path)
    return path


def test_an_unused_project_sheet_is_said_once_and_left_out(tmp_path):
    path = _two_projects_one_filled(tmp_path)
    result = run("recalc", path, "--json")
    assert result.exit_code == 0, result.stdout  # an unused sheet is not an error
    data = json.loads(result.stdout)
    (unused,) = [f for f in data["findings"] if f["code"] == "project-not-filled"]
    assert (unused["severity"], unused["sheet"], unused["cell"]) == ("warning", "项目2", "B2")
    assert "尚未填写" in unused["message"] and "remove-project" in unused["message"]
    assert not [f for f in data["findings"] if f["sheet"] == "项目2" and f["code"] != "project-not-filled"]
    wb = load_workbook(path)
    assert [n for n in wb.sheetnames if n.startswith(L.ANNEX_PREFIX)] == ["附件1-项目1"]
    names = [c.value for c in wb[L.SUMMARY_SHEET]["A"]]
    assert "项目1" in names and "项目2" not in names
    exported = run("export", path, "--outdir", tmp_path / "out")
    assert exported.exit_code == 0, exported.stdout
    assert [p.name for p in (tmp_path / "out").glob("*.xlsx")] == ["项目1_项目支出绩效自评表.xlsx"]
    assert "尚未填写" in exported.stdout and "未导出或失败" not in exported.stdout


def test_remove_project_removes_its_sheet_row_and_annex_and_nothing_else(tmp_path):
    path = _two_projects_one_filled(tmp_path)
    assert run("add-project", path, "--name", "项目3", "--example").exit_code == 0
    assert run("recalc", path).exit_code in (0, 1)
    before = load_workbook(path)
    kept = {name: [[c.value for c in row] for row in before[name].iter_rows()]
            for name in ("使用说明", "项目1", "附件1-项目1", "项目3", "附件1-项目3")}
    result = run("remove-project", path, "--name", "项目3")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "项目3" in result.stdout and "recalc" in result.stdout
    after = load_workbook(path)
    assert "项目3" not in after.sheetnames and "附件1-项目3" not in after.sheetnames
    for name in ("使用说明", "项目1", "附件1-项目1"):
        assert [[c.value for c in row] for row in after[name].iter_rows()] == kept[name], name
    listed = [row[0] for row in after[L.PROJECT_LIST_SHEET].iter_rows(min_row=2, values_only=True)]
    assert listed == ["项目1", "项目2"]
    links = [c.hyperlink.target for row in after[L.PROJECT_LIST_SHEET].iter_rows(min_row=2) for c in row if c.hyperlink]
    assert links == ["#'项目1'!A1", "#'项目2'!A1"]
    assert run("recalc", path).exit_code == 0  # nothing left pointing at the removed project


def test_remove_project_refuses_what_it_cannot_find(tmp_path):
    path = _two_projects_one_filled(tmp_path)
    before = path.read_bytes()
    result = run("remove-project", path, "--name", "没有这个项目")
    assert result.exit_code == 2 and "现有项目：项目1、项目2" in result.stderr
    assert path.read_bytes() == before


def test_a_blank_project_sheet_shows_no_total_and_no_grade(tmp_path):
    path = tmp_path / "blank.xlsx"
    new_workbook([ProjectInput(name="项目1")], form="national").save(path)
    book = FormulaBook(load_workbook(path), ["项目1"])
    row, column = int(L.TOTAL_SCORE_CELL[1:]), L.column_index(L.TOTAL_SCORE_CELL[0])
    assert book.value("项目1", row, column) in ("", None)
    row, column = int(L.GRADE_CELL[1:]), L.column_index(L.GRADE_CELL[0])
    assert book.value("项目1", row, column) in ("", None)


def test_mail_subject_without_a_year_and_drafts_say_smtp_is_not_configured(tmp_path, monkeypatch):
    from email import message_from_bytes, policy

    for var in ("XLPERF_SMTP_HOST", "XLPERF_SMTP_FROM", "XLPERF_SMTP_USER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no user config file
    monkeypatch.setenv("APPDATA", str(tmp_path))
    path = _two_projects_one_filled(tmp_path)
    wb = load_workbook(path)
    ws = wb[L.PROJECT_LIST_SHEET]
    ws.cell(2, L.PROJECT_LIST_KEYS.index("year") + 1).value = None
    ws.cell(2, L.PROJECT_LIST_KEYS.index("email") + 1).value = "a@unit.example"
    wb.save(path)
    assert run("export", path).exit_code == 0
    result = run("mail", path, "--dry-run")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "尚未配置" in result.stderr and "Outlook" in result.stderr
    (draft,) = (tmp_path / "测试_导出" / "待发送邮件").glob("*.eml")
    message = message_from_bytes(draft.read_bytes(), policy=policy.default)
    assert message["Subject"].startswith("项目支出绩效自评表：项目1")
