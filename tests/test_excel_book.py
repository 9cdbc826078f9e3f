"""Issue 7A: one engine, run on an xlwings Book (xlperf.excel).

Round trips through xlwings' remote book: the Office.js payload is built from an
openpyxl workbook, `recalc(xw.Book(json=payload))` runs, its actions are applied
back onto the workbook, and every generated sheet is compared cell by cell
(values and formatting) with `xlperf recalc` on the same file.
"""
from __future__ import annotations

import os
from copy import copy
from pathlib import Path

import openpyxl
import pytest

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # read once, when xlwings is first imported
xw = pytest.importorskip("xlwings")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

import xlperf
from xlperf import layout as L
from xlperf.crosscheck import same
import xlperf.excel as excel
from xlperf.excel import reader as excel_reader
from xlperf.formula import runtime as rt
from xlperf.formula.book import FormulaBook
from xlperf.pipeline import generated_sheet_names, recalc_workbook, score_workbook
from xlperf.profiles import load_profile
from xlperf.readers.input_sheet import expected_formulas, input_sheets
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_projects
from xlperf.template.inputs import IndicatorInput, ProjectInput, Typed
from xlperf.template.seeds import SEEDS
from xlperf.values import is_percent_format

from .remote_book import apply_actions, payload_from_openpyxl
from .strategies import project_inputs

PROFILE = load_profile()


# ---- helpers -------------------------------------------------------------------------
def remote_book(path: Path):
    """The Book xlwings Server builds for the workbook at path, and the openpyxl workbook behind it."""
    wb = openpyxl.load_workbook(path)
    return xw.Book(json=payload_from_openpyxl(wb, name=path.name)), wb


def applied(book, wb, tmp_path: Path, name: str = "applied.xlsx"):
    """wb after Excel ran the Book's actions, saved and read back as a file."""
    apply_actions(wb, book.json())
    out = tmp_path / name
    wb.save(out)
    return openpyxl.load_workbook(out)


def file_recalc(path: Path, tmp_path: Path, name: str = "file.xlsx"):
    out = tmp_path / name
    report = recalc_workbook(path, out, PROFILE)
    return openpyxl.load_workbook(out), report


def alerts(book) -> list[str]:
    return [a["args"][0] for a in book.json()["actions"] if a["func"] == "alert"]


def _color(c) -> str | None:
    return c.rgb[-6:] if c is not None and isinstance(c.rgb, str) else None


def look(cell) -> tuple:
    """Everything a reader sees in one cell: value and type, number format, font, fill, borders, alignment."""
    f, b, a = cell.font, cell.border, cell.alignment
    return (cell.value, type(cell.value).__name__, cell.number_format, f.name, f.sz, bool(f.b), bool(f.i), _color(f.color),
            cell.fill.fill_type, _color(cell.fill.fgColor) if cell.fill.fill_type else None,
            tuple((s.style, _color(s.color) if s.style else None) for s in (b.left, b.right, b.top, b.bottom)),
            a.horizontal, a.vertical, bool(a.wrap_text),
            cell.hyperlink.location if cell.hyperlink is not None else None)


def sheet_look(ws) -> dict:
    return {
        "cells": {(r, c): look(ws.cell(r, c)) for r in range(1, ws.max_row + 1) for c in range(1, ws.max_column + 1)},
        "merged": sorted(str(m) for m in ws.merged_cells.ranges),
        "widths": {k: round(d.width, 2) for k, d in ws.column_dimensions.items() if d.width and d.customWidth},
        "heights": {r: d.height for r, d in ws.row_dimensions.items() if d.height},
        "freeze": ws.freeze_panes,
        "print_area": ws.print_area,
        "charts": len(ws._charts),
        "marker": ws.defined_names[L.GENERATED_MARKER].attr_text if L.GENERATED_MARKER in ws.defined_names else None,
    }


def assert_same_generated(got, want) -> None:
    """The sheets xlperf generated in got and want: same names, same order, same cells and formatting."""
    assert got.sheetnames == want.sheetnames
    assert generated_sheet_names(got) == generated_sheet_names(want)
    for name in generated_sheet_names(want):
        g, w = sheet_look(got[name]), sheet_look(want[name])
        for part in w:
            if part == "cells":
                diff = {k: (g["cells"].get(k), v) for k, v in w["cells"].items() if g["cells"].get(k) != v}
                diff.update({k: (v, None) for k, v in g["cells"].items() if k not in w["cells"] and v[0] is not None})
                assert not diff, (name, sorted(diff.items())[:5])
            else:
                assert g[part] == w[part], (name, part, g[part], w[part])


def save(wb, tmp_path: Path, name: str = "自评.xlsx") -> Path:
    path = tmp_path / name
    wb.save(path)
    return path


# ---- the round trips ------------------------------------------------------------------------
def test_demo_round_trip_equals_file_recalc(tmp_path):
    path = save(new_workbook(list(SEEDS), PROFILE), tmp_path)
    want, file_report = file_recalc(path, tmp_path)
    book, wb = remote_book(path)

    report = excel.recalc(book)

    assert [(r.project.name, r.total, r.grade) for r in report.results] == \
        [(r.project.name, r.total, r.grade) for r in file_report.results]
    assert report.findings == file_report.findings
    assert_same_generated(applied(book, wb, tmp_path), want)
    (alert,) = alerts(book)
    assert "忻州市政府信息化建设经费：89.5 分（良好）" in alert and "信息化运行维护：99.78 分（优秀）" in alert
    assert "校验结果" in alert and "网页版" in alert  # the payload held values only: the user is told what that means


def values_equivalent(path: Path, out: Path) -> Path:
    """The workbook as Excel on the web can convey it (values only; see README "Excel 中的按钮"):

    a typed 指标方向 or 业绩值 equal to what the template's formula there shows is the formula,
    and a typed number in a percent format shows its percentage without fixed decimals ("0%"),
    a typed 0 as a plain 0 (its helper column shows 0 either way).
    """
    wb = openpyxl.load_workbook(path)
    for ws in input_sheets(wb):
        pos = L.locate_input_positions(ws)
        book = FormulaBook(wb, [ws.title])
        for ref, formula in expected_formulas(pos, PROFILE).items():
            cell = ws[ref]
            if cell.data_type != "f" and cell.value is not None and \
                    same(rt.cell_value(cell.value), book.evaluate(ws.title, cell.row, cell.column, formula)):
                cell.value = formula
        for row in pos.indicator_rows:
            for field in ("target", "actual"):
                cell = ws[pos.indicator_cell(field, row)]
                if isinstance(cell.value, (int, float)) and is_percent_format(cell.number_format):
                    cell.number_format = "0%" if cell.value else "General"
    wb.save(out)
    return out


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(data=st.data(), size=st.integers(min_value=1, max_value=2))
def test_random_workbooks_round_trip(tmp_path_factory, data, size):
    tmp_path = tmp_path_factory.mktemp("remote")
    projects = [data.draw(project_inputs(index=i)) for i in range(size)]
    path = save(new_workbook(projects, PROFILE), tmp_path)
    want, file_report = file_recalc(values_equivalent(path, tmp_path / "values.xlsx"), tmp_path)
    original = score_workbook(openpyxl.load_workbook(path), path, PROFILE)
    book, wb = remote_book(path)

    report = excel.recalc(book, alert=False)

    assert_same_generated(applied(book, wb, tmp_path), want)
    # What the payload cannot convey changes no score.
    assert [(r.total, r.grade) for r in report.results] == [(r.total, r.grade) for r in original]


def test_desktop_excel_gives_formulas_and_formats(tmp_path, monkeypatch):
    """Desktop Excel's Range has formulas and number formats: no guessing, the result is exactly the file's."""
    project = ProjectInput(
        name="=桌面项目", budget={("annual", "municipal"): 100.0, ("executed", "municipal"): 95.0},
        indicators=(IndicatorInput("预算执行指标", "预算执行指标", "预算执行率", 10, "100%"),
                    IndicatorInput("产出指标", "数量指标", "群众投诉率", 40, "≤5%", Typed(0.04, "0.00%"), direction="反向"),
                    IndicatorInput("效益指标", "社会效益指标", "培训人次", 50, "100", "120", direction="正向")),
        budget_actual_typed=Typed(0.95, "0.00%"))
    path = save(new_workbook([project], PROFILE), tmp_path)
    want, _ = file_recalc(path, tmp_path)
    book, wb = remote_book(path)
    _as_desktop(monkeypatch, openpyxl.load_workbook(path))  # reading as desktop Excel does

    report = excel.recalc(book)

    assert_same_generated(applied(book, wb, tmp_path), want)
    assert not any("网页版" in a for a in alerts(book))
    annex = want[report.annex_sheets[0]]
    assert [annex.cell(r, 6).value for r in (4, 5)] == ["95.00%", "4.00%"]  # the cells' own decimals


# ---- what recalc(book) leaves alone -------------------------------------------------------
def test_user_sheets_and_cells_are_never_written(tmp_path):
    """Formulas, validations, styles of the user's sheets survive; the only actions touch xlperf's own sheets."""
    wb = new_workbook(list(SEEDS), PROFILE)
    mine = wb.create_sheet("我的计算")
    mine["A1"], mine["A2"], mine["B1"] = 5, "=A1*2", "备注"
    mine["B1"].font = Font(name="黑体", bold=True, color="FF0000")
    mine["B1"].fill = PatternFill("solid", fgColor="FFFF00")
    dv = DataValidation(type="list", formula1='"是,否"')
    mine.add_data_validation(dv)
    dv.add("C1:C5")
    path = save(wb, tmp_path)
    before = openpyxl.load_workbook(path)
    book, wb = remote_book(path)
    kept = set(wb.sheetnames)

    excel.recalc(book)

    added = set()
    sheets = list(wb.sheetnames)
    for action in book.json()["actions"]:
        if action["func"] == "addSheet":
            sheets.insert(action["args"][0], action["args"][1])
            added.add(action["args"][1])
        elif action["func"] == "sheetDelete":
            assert sheets.pop(action["sheet_position"]) not in kept
        elif action["func"] != "alert":
            assert sheets[action["sheet_position"]] in added, action
    after = applied(book, wb, tmp_path)
    for name in kept:
        assert sheet_look(after[name])["cells"] == sheet_look(before[name])["cells"], name
        assert [str(v.sqref) for v in after[name].data_validations.dataValidation] == \
            [str(v.sqref) for v in before[name].data_validations.dataValidation]
    assert after["我的计算"]["A2"].value == "=A1*2"


def test_only_generated_sheets_are_replaced(tmp_path):
    """Run on a workbook recalc wrote: xlperf's sheets are replaced in place, a copy or the user's namesake is kept."""
    path = save(new_workbook(list(SEEDS), PROFILE), tmp_path)
    first, _ = file_recalc(path, tmp_path, "first.xlsx")
    backup = first.copy_worksheet(first[L.SUMMARY_SHEET])  # Excel's 移动或复制 keeps the sheet's names:
    backup.title = "汇总的备份"  # the copy carries a marker naming 汇总, not itself
    backup.defined_names[L.GENERATED_MARKER] = copy(first[L.SUMMARY_SHEET].defined_names[L.GENERATED_MARKER])
    del first[L.FINDINGS_SHEET]
    first.create_sheet(L.FINDINGS_SHEET).append(["我自己的校验记录"])
    twice = save(first, tmp_path, "twice.xlsx")
    want, _ = file_recalc(twice, tmp_path, "want.xlsx")
    book, wb = remote_book(twice)

    excel.recalc(book)

    got = applied(book, wb, tmp_path)
    assert_same_generated(got, want)
    assert got["汇总的备份"]["A1"].value == "项目名称" and got[L.FINDINGS_SHEET]["A1"].value == "我自己的校验记录"
    assert "校验结果(2)" in generated_sheet_names(got) and L.SUMMARY_SHEET in generated_sheet_names(got)
    # Run again: the same sheets, nothing accumulates.
    book, wb = xw.Book(json=payload_from_openpyxl(got, name="again.xlsx")), got
    excel.recalc(book)
    assert_same_generated(applied(book, wb, tmp_path, "again.xlsx"), want)


def test_text_stays_text(tmp_path):
    """Names typed as "=…", "-5", "95%" reach Excel with an apostrophe: text, never a formula or a number."""
    project = ProjectInput(name="=SUM(1,2)", indicators=(IndicatorInput("产出指标", "数量指标", "-5", 100, "95%", "95%"),))
    path = save(new_workbook([project], PROFILE), tmp_path)
    want, _ = file_recalc(path, tmp_path)
    book, wb = remote_book(path)

    report = excel.recalc(book)

    got = applied(book, wb, tmp_path)
    assert_same_generated(got, want)
    annex = got[report.annex_sheets[0]]
    assert got[L.SUMMARY_SHEET]["A2"].value == "=SUM(1,2)" and got[L.SUMMARY_SHEET]["A2"].data_type == "s"
    (row,) = [r for r in range(1, annex.max_row + 1) if annex.cell(r, 3).value == "-5"]
    assert annex.cell(row, 3).data_type == "s" and annex.cell(row, 5).value == "95%"


# ---- check, the entry point, errors -------------------------------------------------------------
def test_check_writes_only_the_findings_sheet(tmp_path):
    path = save(new_workbook(list(SEEDS), PROFILE), tmp_path)
    want, file_report = file_recalc(path, tmp_path)
    book, wb = remote_book(path)

    report = excel.check(book)

    assert report.findings == file_report.findings and report.annex_sheets == ()
    added = [a["args"][1] for a in book.json()["actions"] if a["func"] == "addSheet"]
    assert added == [L.FINDINGS_SHEET]
    got = applied(book, wb, tmp_path)
    assert sheet_look(got[L.FINDINGS_SHEET]) == sheet_look(want[L.FINDINGS_SHEET])
    assert "已检查 2 个项目" in alerts(book)[0]


def test_desktop_entry_point_runs_recalc_on_the_caller(tmp_path):
    path = save(new_workbook(example_projects(2), PROFILE), tmp_path)
    want, _ = file_recalc(path, tmp_path)
    book, wb = remote_book(path)
    book.set_mock_caller()

    xlperf.main()

    assert_same_generated(applied(book, wb, tmp_path), want)
    assert alerts(book) and alerts(book)[0].startswith("已计算 2 个项目")


@pytest.mark.parametrize("build", ["seed_000", "seed_004_tampered"])
def test_check_on_a_units_own_table_audits_it_like_xlperf_check(tmp_path, monkeypatch, build):
    """A reviewer clicks 检查 on a unit's 附件1 (no input sheets): the findings of `xlperf check`, in 校验结果 only.

    Seed 004's table types its percentages as numbers in percent-formatted cells: read as desktop
    Excel gives them (number formats); Excel on the web cannot send formats, and says so.
    """
    from xlperf.check import check_workbook

    from .annex_builders import seed_000_workbook, seed_004_workbook

    desktop = build == "seed_004_tampered"
    path = seed_004_workbook(tmp_path / "004.xlsx", tamper=True) if desktop else seed_000_workbook(tmp_path / "000.xlsx")
    want = check_workbook(path, PROFILE, crosscheck=False)
    assert want.tables and want.findings  # both tables hold mistakes to find
    book, wb = remote_book(path)
    before = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}
    if desktop:
        _as_desktop(monkeypatch, openpyxl.load_workbook(path))

    report = excel.check(book, PROFILE)

    assert [(t.total, t.grade, t.published_total, t.published_grade) for t in report.tables] == \
        [(t.total, t.grade, t.published_total, t.published_grade) for t in want.tables]
    assert [(f.code, f.sheet, f.cell) for f in report.findings] == [(f.code, f.sheet, f.cell) for f in want.findings]
    actions = book.json()["actions"]
    assert [a["args"][1] for a in actions if a["func"] == "addSheet"] == [L.FINDINGS_SHEET]
    out = applied(book, wb, tmp_path)
    assert {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in out if ws.title in before} == before
    written = [row for row in out[L.FINDINGS_SHEET].iter_rows(values_only=True)]
    assert any(f.message in row for f in want.findings for row in written)
    (prompt,) = alerts(book)
    assert prompt.startswith("已审核 1 张自评表")
    assert f"重算 {want.tables[0].total.normalize():f} 分（{want.tables[0].grade}）" in prompt
    assert "网页版不传送数字格式" not in prompt  # seed 000 types its numbers as text; 004 was read with formats


def test_check_on_the_web_says_percent_formats_are_unknown(tmp_path):
    from .annex_builders import seed_004_workbook

    book, _ = remote_book(seed_004_workbook(tmp_path / "004.xlsx"))

    report = excel.check(book, PROFILE)

    assert report.tables
    (prompt,) = alerts(book)
    assert "网页版不传送数字格式" in prompt and "xlperf check" in prompt


def test_check_on_a_workbook_without_any_table_says_so(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "别人的表格"
    book, _ = remote_book(save(wb, tmp_path))

    report = excel.check(book, PROFILE)

    assert [f.code for f in report.findings] == ["no-table"]
    (action,) = [a for a in book.json()["actions"] if a["func"] == "alert"]
    assert "未找到项目支出绩效自评表" in action["args"][0] and action["args"][3] == "critical"


def _as_desktop(monkeypatch, source) -> None:
    """Desktop Excel's Range: formulas and number formats, read from the source workbook."""
    def formula(rng):  # as COM's Range.Formula: the formula, else the constant as text
        ws = source[rng.sheet.name]
        return [["" if ws.cell(r, c).value is None else str(ws.cell(r, c).value)
                 for c in range(rng.column, rng.column + rng.shape[1])] for r in range(rng.row, rng.row + rng.shape[0])]

    def number_format(rng):
        return source[rng.sheet.name].cell(rng.row, rng.column).number_format

    for name, getter in (("formula", formula), ("number_format", number_format)):
        monkeypatch.setattr(xw.main.Range, name, property(getter, getattr(xw.main.Range, name).fset))


def test_desktop_formula_reading_another_sheet_is_evaluated_with_that_sheets_values(tmp_path, monkeypatch):
    """=我的计算!D10 in an input sheet: the other sheet is read too, so no false cross-check finding."""
    import datetime as dt

    from xlperf import libreoffice

    if not libreoffice.available():
        pytest.skip("LibreOffice 未安装：需要它把公式结果存进文件，作为 xlperf recalc 的对照")
    wb = new_workbook(list(SEEDS), PROFILE)
    other = wb.create_sheet("我的计算")
    other["D10"], other["A1"] = 120, dt.date(2024, 1, 5)
    sheet = SEEDS[1].name
    wb[sheet][L.indicator_cell("actual", L.INDICATOR_FIRST_ROW + 2)] = "=我的计算!D10"
    path = libreoffice.recalculate(save(wb, tmp_path, "源.xlsx"), tmp_path / "lo")
    want, report_file = file_recalc(path, tmp_path)
    book, payload_wb = remote_book(path)
    _as_desktop(monkeypatch, openpyxl.load_workbook(path))

    report = excel.recalc(book, PROFILE, alert=False)

    assert [(f.code, f.sheet, f.cell) for f in report.findings] == [(f.code, f.sheet, f.cell) for f in report_file.findings]
    assert not [f for f in report.findings if f.code in ("formula-rule-mismatch", "stale-cached-value")]


@pytest.mark.parametrize("field, error", [("actual", "#DIV/0!"), ("weight", "#REF!")])
def test_error_values_shown_by_formulas_are_errors_not_stale_text(tmp_path, field, error):
    """An error pasted into an input cell flows into the formulas: Excel shows "#DIV/0!" there, as the file would."""
    wb = new_workbook(list(SEEDS), PROFILE)
    cell = wb[SEEDS[1].name][L.indicator_cell(field, L.INDICATOR_FIRST_ROW + 2)]
    cell.value, cell.data_type = error, "e"
    path = save(wb, tmp_path)
    _, report_file = file_recalc(path, tmp_path)
    book, _ = remote_book(path)

    report = excel.recalc(book, PROFILE, alert=False)

    assert [(f.code, f.cell) for f in report.findings] == [(f.code, f.cell) for f in report_file.findings]
    assert "stale-cached-value" not in {f.code for f in report.findings}


def test_desktop_excel_does_not_redraw_while_sheets_are_written():
    """Screen updating is off while writing and back as it was afterwards, also when writing fails."""
    from types import SimpleNamespace

    from xlperf.excel.writer import screen_paused

    app = SimpleNamespace(engine=SimpleNamespace(type="excel"), screen_updating=True)
    book = SimpleNamespace(app=app)
    with screen_paused(book):
        assert app.screen_updating is False
    assert app.screen_updating is True
    with pytest.raises(RuntimeError), screen_paused(book):
        raise RuntimeError("写入中断")
    assert app.screen_updating is True
    app.screen_updating = False  # a user's macro had switched it off: left so
    with screen_paused(book):
        pass
    assert app.screen_updating is False


def test_desktop_entry_point_takes_the_profile_from_the_environment(tmp_path, monkeypatch):
    """$XLPERF_PROFILE chooses the scoring profile where no option can be given (the ribbon, xlperf serve)."""
    path = save(new_workbook(list(SEEDS), PROFILE), tmp_path)
    book, _ = remote_book(path)
    book.set_mock_caller()
    monkeypatch.setenv("XLPERF_PROFILE", "national")

    report = excel.recalc(xw.Book.caller(), alert=False)

    assert {r.grade for r in report.results} <= set(load_profile("national").grade_labels)
    assert "优" in {r.grade for r in report.results}  # 99.78: 优秀 under the default profile

    monkeypatch.setenv("XLPERF_PROFILE", "全国")
    assert excel.recalc(xw.Book.caller()) is None
    assert any("XLPERF_PROFILE 有误" in a and "national" in a for a in alerts(book))


def test_no_input_sheet_is_an_alert_and_nothing_is_written(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "附件1"
    wb.active["A1"] = "别人的表格"
    book, _ = remote_book(save(wb, tmp_path))

    assert excel.recalc(book) is None

    (action,) = book.json()["actions"]
    assert action["func"] == "alert" and "没有找到项目录入表" in action["args"][0] and action["args"][3] == "critical"


def test_a_bug_is_an_alert_and_leaves_the_workbook_as_it_was(tmp_path, monkeypatch):
    path = save(new_workbook(list(SEEDS), PROFILE), tmp_path)
    book, _ = remote_book(path)

    def broken(book, ws):
        book.sheets.add(ws.title)  # something is half-done when it breaks
        raise KeyError("一个错误")

    monkeypatch.setattr("xlperf.excel.writer.write_sheet", broken)
    assert excel.recalc(book) is None

    (action,) = book.json()["actions"]
    assert action["func"] == "alert" and "xlperf 运行出错" in action["args"][0] and "Traceback" not in action["args"][0]


def test_export_and_mail_need_the_file_on_disk(tmp_path):
    book, _ = remote_book(save(new_workbook(list(SEEDS), PROFILE), tmp_path))

    assert excel.export(book) is None and excel.mail(book) is None

    messages = alerts(book)
    assert "导出需要保存在本机的工作簿" in messages[0] and "xlperf export" in messages[0]
    assert "发送邮件需要保存在本机的工作簿" in messages[1]


def test_export_on_desktop_runs_on_the_saved_file(tmp_path, monkeypatch):
    path = save(new_workbook(list(SEEDS), PROFILE), tmp_path)
    recalc_workbook(path, None, PROFILE)
    book, _ = remote_book(path)
    monkeypatch.setattr(excel, "_saved_file", lambda book: path)

    report = excel.export(book)

    assert len(report.items) == 2 and all(i.xlsx is None or i.xlsx.is_file() for i in report.items)
    assert f"导出 {len(report.exported)} 个项目" in alerts(book)[0]


def test_old_workbook_without_markers_uses_the_saved_files_property(tmp_path, monkeypatch):
    """A workbook recalc wrote before the markers existed lists its sheets in a document property only."""
    path = save(new_workbook(list(SEEDS), PROFILE), tmp_path)
    first, _ = file_recalc(path, tmp_path, "first.xlsx")
    for ws in first.worksheets:
        ws.defined_names.pop(L.GENERATED_MARKER, None)
    old = save(first, tmp_path, "old.xlsx")
    want, _ = file_recalc(old, tmp_path, "want.xlsx")

    book, wb = remote_book(old)  # Excel on the web: no file, no property: xlperf's old sheets look like the user's
    excel.recalc(book, alert=False)
    assert "汇总(2)" in applied(book, wb, tmp_path, "web.xlsx").sheetnames

    book, wb = remote_book(old)
    monkeypatch.setattr(excel, "_saved_file", lambda book: old)  # desktop Excel: the saved file has the property
    excel.recalc(book, alert=False)
    assert_same_generated(applied(book, wb, tmp_path, "desktop.xlsx"), want)


def test_reader_takes_a_percent_from_the_helper_column(tmp_path):
    """Values only: 0.95 whose 业绩值(数) helper shows 95 was typed in a percent-formatted cell."""
    project = ProjectInput(name="百分比", indicators=(
        IndicatorInput("产出指标", "质量指标", "验收合格率", 100, "90%", Typed(0.95, "0.0%")),))
    book, _ = remote_book(save(new_workbook([project], PROFILE), tmp_path))

    copy_ = excel_reader.read_book(book, PROFILE)

    ws = copy_.wb[project.name]
    row = next(r for r in L.indicator_rows() if ws[L.indicator_cell("level3", r)].value == "验收合格率")
    actual, target = ws[L.indicator_cell("actual", row)], ws[L.indicator_cell("target", row)]
    assert actual.value == 0.95 and actual.number_format == excel_reader.PERCENT
    assert target.value == "90%" and target.number_format == "General"  # text: the helper shows 90 anyway
    assert ws[L.indicator_cell("rate", row)].data_type == "f" and not copy_.formulas_read


def test_the_ribbon_writes_the_form_the_workbook_records(tmp_path):
    """xlperf new --form yunnan: the button writes the 云南 附件1, as `xlperf recalc` does."""
    path = save(new_workbook(list(SEEDS), PROFILE, form="yunnan"), tmp_path)
    want, _ = file_recalc(path, tmp_path)
    book, wb = remote_book(path)
    excel.recalc(book)
    got = applied(book, wb, tmp_path)
    assert_same_generated(got, want)
    annex = next(name for name in got.sheetnames if name.startswith(L.ANNEX_PREFIX))
    header = [c.value for row in got[annex].iter_rows() for c in row]
    assert "指标性质" in header and "度量单位" in header
