"""Hostile input, third round: messages an accountant can act on, in scoring and in the formula cross-check.

Functions the engines cannot compute, whole columns and OFFSET, numbers typed as text in budget and
weight cells, a target typed as a fraction, a zero budget, a negative actual, input sheets renamed or
moved. Each problem is one finding at the cell the user typed, in Chinese; the template's own formula
cells stay quiet.
"""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import Workbook, load_workbook

from xlperf import layout as L
from xlperf import libreoffice
from xlperf.formula.book import FormulaBook
from xlperf.pipeline import recalc_workbook, score_and_crosscheck
from xlperf.profiles import load_profile
from xlperf.readers.input_sheet import expected_formulas
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_projects

from .excel_edits import insert_cols

PROFILE = load_profile()
PROJECT = example_projects(1)[0]  # 信息化运行维护: 98.84 优秀, no findings
SHEET = PROJECT.name


def _book(tmp_path: Path, edits: dict | None = None, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    wb = new_workbook([PROJECT], PROFILE)
    for ref, value in (edits or {}).items():
        wb[SHEET][ref] = value
    wb.save(path)
    return path


def _recalc(path: Path):
    return recalc_workbook(path, path.with_name("out_" + path.name), PROFILE)


def _at(report, cell: str, sheet: str = SHEET):
    return [f for f in report.findings if f.sheet == sheet and f.cell == cell]


def _template_cells() -> set[str]:
    return set(expected_formulas(L.TEMPLATE_POSITIONS, PROFILE))


# ---- functions the engines cannot compute -----------------------------------------------------------
@pytest.mark.parametrize("formula, function, code", [
    ('=FOOBARFUNC(1)', "FOOBARFUNC", "formula-unknown-function"),
    ('=_xlfn.WEBSERVICE("http://127.0.0.1:9/")', "WEBSERVICE", "formula-unsupported-function"),
    ('=_xlfn.SEQUENCE(3)', "SEQUENCE", "formula-unsupported-function"),
    ('=SEQUENCE(3)', "SEQUENCE", "formula-unsupported-function"),
])
def test_a_function_nobody_computes_is_named_at_its_cell_without_a_traceback(tmp_path, capfd, formula, function, code):
    path = _book(tmp_path, {"N30": formula})
    report = _recalc(path)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "NotImplementedError" not in out + err
    found = _at(report, "N30")
    assert [f.code for f in found] == [code]
    assert function in found[0].message and "#UNSUPPORTED!" not in found[0].message
    assert "_xlfn" not in found[0].message.lower()  # the formula as Excel shows it
    assert all("#UNSUPPORTED!" not in f.message for f in report.findings)


def test_a_kept_result_of_an_uncomputable_function_is_what_the_cells_reading_it_see():
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "=_xlfn.WEBSERVICE(\"http://127.0.0.1:9/\")"
    ws["A2"] = "=A1*2"
    book = FormulaBook(wb, [ws.title], stored={ws.title: {(1, 1): 21.0}})
    assert book.value(ws.title, 2, 1) == 42.0
    assert book.uncomputable == {(ws.title, 1, 1): ["_XLFN.WEBSERVICE"]}


def test_a_typo_in_a_function_name_is_name_error_as_excel_shows_it():
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "=FOOBARFUNC(1)"
    ws["A2"] = "=ISERROR(A1)"
    book = FormulaBook(wb, [ws.title])
    assert book.value(ws.title, 1, 1).code == "#NAME?"
    assert book.value(ws.title, 2, 1) is True


# ---- whole columns and OFFSET ----------------------------------------------------------------------
def test_whole_columns_and_rows_and_offset_are_computed():
    wb = Workbook()
    ws = wb.active
    for r in range(1, 6):
        ws.cell(r, 5, float(r))
    ws["E9"] = "文字"
    ws["G1"] = "=SUM(E:E)"
    ws["G2"] = "=COUNTA($E:$E)"
    ws["G3"] = "=OFFSET(E1,2,0)"
    ws["G4"] = "=SUM(OFFSET(E1,1,0,3,1))"
    ws["G5"] = "=OFFSET(E1,-1,0)"
    ws["H7"] = "=SUM(1:3)"
    book = FormulaBook(wb, [ws.title])
    values = {ref: book.value(ws.title, ws[ref].row, ws[ref].column) for ref in ("G1", "G2", "G3", "G4", "H7")}
    assert values == {"G1": 15.0, "G2": 6.0, "G3": 3.0, "G4": 9.0, "H7": 1 + 2 + 3 + 15.0 + 6.0 + 3.0}
    assert book.value(ws.title, 5, 7).code == "#REF!"


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")
def test_offset_and_whole_columns_in_inputs_leave_the_template_cells_quiet(tmp_path):
    # As Excel saves it: every formula with its result, recalculated by LibreOffice.
    path = _book(tmp_path, {"G26": "=OFFSET(G24,1,0)", "N30": "=SUM(E:E)", "N31": "=COUNTA(A:A)"})
    shutil.copy(libreoffice.recalculate(path, tmp_path / "lo"), path)
    report = _recalc(path)
    template = _template_cells()
    assert [f for f in report.findings if f.cell in template and f.sheet == SHEET] == []
    assert all("请恢复模板公式" not in f.message for f in report.findings)
    assert all(f.code not in ("formula-error", "stale-cached-value") for f in report.findings)


# ---- numbers typed as text in budget and weight cells ---------------------------------------------
_BUDGET_INPUTS = [L.budget_cell(row, col) for row in ("initial", "annual", "received", "executed")
                  for col in ("central", "provincial", "municipal", "county", "carryover", "other")]
_WEIGHTS = [L.indicator_cell("weight", r) for r in range(L.INDICATOR_FIRST_ROW + 1, L.INDICATOR_FIRST_ROW + 7)]
_FULL = {ord(c): ord(c) + 0xFEE0 for c in "0123456789.,"}


def _shaped(number, shape: str) -> str:
    plain = f"{number:f}"
    return {
        "full-width": plain.translate(_FULL),
        "thousands": f"{number:,f}",
        "spaces": f" {plain} ",
        "万元": f"{plain}万元",
        "分": f"{plain}分",
        "text": plain,
    }[shape]


@st.composite
def _typed_as_text(draw):
    weight = draw(st.booleans())
    cell = draw(st.sampled_from(_WEIGHTS if weight else _BUDGET_INPUTS))
    number = draw(st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False))
    shapes = ["full-width", "thousands", "spaces", "text", "分" if weight else "万元"]
    return cell, number, _shaped(number, draw(st.sampled_from(shapes)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_typed_as_text())
def test_a_number_typed_as_text_is_one_finding_at_the_typed_cell(typed):
    cell, number, text = typed
    wb = new_workbook([PROJECT], PROFILE)
    wb[SHEET][cell] = text
    results = score_and_crosscheck(wb, Path("book.xlsx"), PROFILE, cached={})
    findings = [f for r in results for f in r.findings]
    at_cell = [f for f in findings if f.cell == cell]
    assert [f.code for f in at_cell] == ["number-as-text"], findings
    from xlperf.values import format_number
    assert f"请改为数字 {format_number(number)}" in at_cell[0].message
    template = _template_cells()
    assert [f for f in findings if f.cell in template] == []
    assert all("请恢复模板公式" not in f.message for f in findings)


@pytest.mark.parametrize("cell, text, words", [
    (L.budget_cell("executed", "provincial"), "９５", "全角字符"),
    (L.budget_cell("annual", "municipal"), "1,000.50", "千位分隔符"),
    (L.budget_cell("annual", "provincial"), " 95 ", "空格"),
    (L.budget_cell("annual", "provincial"), "95万元", "单位“万元”"),
    (L.indicator_cell("weight", L.INDICATOR_FIRST_ROW + 1), "20分", "单位“分”"),
])
def test_what_makes_the_number_text_is_said(cell, text, words):
    wb = new_workbook([PROJECT], PROFILE)
    wb[SHEET][cell] = text
    results = score_and_crosscheck(wb, Path("book.xlsx"), PROFILE, cached={})
    [finding] = [f for r in results for f in r.findings if f.cell == cell]
    assert words in finding.message and finding.severity == "error"


# ---- a target typed as a fraction -------------------------------------------------------------------
_ROW = L.INDICATOR_FIRST_ROW + 4  # 节省行政开支率: weight 15, ≥90%, 90%


@pytest.mark.parametrize("target, meant", [("0.95", "95%"), ("≥0.95", "≥95%")])
def test_a_target_typed_as_a_fraction_beside_a_percentage_is_a_warning_at_the_target(tmp_path, target, meant):
    target_cell, score_cell = L.indicator_cell("target", _ROW), L.indicator_cell("score", _ROW)
    path = _book(tmp_path, {target_cell: target})
    report = _recalc(path)
    [result] = report.results
    [row] = [r for r in result.indicators if r.indicator.row == _ROW]
    assert row.rate == Decimal("0.9474") and row.score == Decimal("14.21")  # 15 × 90/95, not full marks
    assert result.total == Decimal("98.05")
    [warning] = [f for f in _at(report, target_cell) if f.code == "unit-ambiguous"]
    assert warning.severity == "warning" and f"“{meant}”" in warning.message and "9473.68%" in warning.message
    template = _template_cells()
    assert [f for f in report.findings if f.cell in template] == []


def test_a_fraction_target_beside_a_fraction_actual_is_read_as_typed():
    wb = new_workbook([PROJECT], PROFILE)
    wb[SHEET][L.indicator_cell("target", _ROW)] = "0.95"
    wb[SHEET][L.indicator_cell("actual", _ROW)] = "0.9"
    [result] = score_and_crosscheck(wb, Path("book.xlsx"), PROFILE, cached={})
    [row] = [r for r in result.indicators if r.indicator.row == _ROW]
    assert row.rate == Decimal("0.9474")
    assert not [f for f in result.findings if f.code == "unit-ambiguous"]


# ---- a zero budget, a negative actual ---------------------------------------------------------------
def _scored(edits: dict):
    wb = new_workbook([PROJECT], PROFILE)
    for ref, value in edits.items():
        wb[SHEET][ref] = value
    [result] = score_and_crosscheck(wb, Path("book.xlsx"), PROFILE, cached={})
    return result


def _budget_rows(value) -> dict:
    return {L.budget_cell(row, col): (value if row in ("initial", "annual") else None)
            for row in ("initial", "annual", "received", "executed")
            for col in ("central", "provincial", "municipal", "county", "carryover", "other")}


def test_a_zero_budget_with_nothing_spent_is_said_at_the_budget_cell():
    edits = _budget_rows(None)
    edits[L.budget_cell("annual", "provincial")] = edits[L.budget_cell("initial", "provincial")] = 0
    result = _scored(edits)
    [finding] = [f for f in result.findings if f.code == "budget-zero"]
    assert finding.cell == L.budget_cell("annual", "provincial") and finding.severity == "error"
    assert "全年预算资金(2)为 0" in finding.message
    assert not [f for f in result.findings if f.code == "missing-actual"]
    assert [f for f in result.findings if f.cell == L.indicator_cell("actual", L.BUDGET_INDICATOR_ROW)] == []


def test_a_blank_budget_is_said_to_be_blank_not_an_empty_actual():
    result = _scored(_budget_rows(None))
    [finding] = [f for f in result.findings if f.code == "budget-zero"]
    assert "未填写" in finding.message and finding.cell == L.budget_cell("annual", "total")
    assert not [f for f in result.findings if f.code == "missing-actual"]


@pytest.mark.parametrize("actual", ["-5%", "-5", -5])
def test_a_negative_actual_against_an_at_least_target_says_it_is_negative(actual):
    cell = L.indicator_cell("actual", L.INDICATOR_FIRST_ROW + 5)  # 服务覆盖人口: ≥90%
    result = _scored({cell: actual})
    [finding] = [f for f in result.findings if f.cell == cell]
    assert finding.code == "negative-actual" and "负数" in finding.message


# ---- input sheets renamed, columns inserted ---------------------------------------------------------
def _listed_book(tmp_path: Path) -> Path:
    """A workbook whose 项目清单 names the sheet 项目1, as `xlperf new` makes it."""
    path = tmp_path / "book.xlsx"
    wb = new_workbook([PROJECT], PROFILE)
    wb[SHEET].title = "项目1"
    ws = wb[L.PROJECT_LIST_SHEET]
    ws.cell(L.PROJECT_LIST_FIRST_ROW, L.PROJECT_LIST_KEYS.index("sheet") + 1, "项目1")
    ws.cell(L.PROJECT_LIST_FIRST_ROW, L.PROJECT_LIST_KEYS.index("name") + 1, "项目1")
    ws.cell(L.PROJECT_LIST_FIRST_ROW, L.PROJECT_LIST_KEYS.index("unit") + 1, "市民政局")
    wb.save(path)
    return path


def test_an_input_sheet_renamed_to_its_project_is_still_its_listed_project(tmp_path):
    path = _listed_book(tmp_path)
    wb = load_workbook(path)
    wb["项目1"].title = PROJECT.name
    wb.save(path)
    report = _recalc(path)
    assert [(r.project.sheet, r.total) for r in report.results] == [(PROJECT.name, Decimal("98.84"))]
    assert report.results[0].project.meta.get("unit") == "市民政局"
    assert not report.has_errors
    assert [f.code for f in report.findings] == ["project-sheet-renamed"]


@pytest.mark.parametrize("columns", [1, 3, 12])
def test_columns_inserted_before_a_do_not_make_a_project_vanish(tmp_path, columns):
    path = _listed_book(tmp_path)
    wb = load_workbook(path)
    insert_cols(wb["项目1"], 1, columns)
    wb.save(path)
    report = _recalc(path)
    assert [(r.project.sheet, r.project.name, r.total) for r in report.results] == [("项目1", PROJECT.name, Decimal("98.84"))]
    assert not report.has_errors
    assert report.results[0].project.meta.get("unit") == "市民政局"


def test_other_sheets_are_not_taken_for_input_sheets(tmp_path):
    path = _listed_book(tmp_path)
    _recalc(path)  # 附件1, 汇总, 校验结果 written
    wb = load_workbook(path.with_name("out_" + path.name))
    note = wb.create_sheet("说明")
    note["D3"], note["D5"] = L.INPUT_TITLE + "的填写说明", "项目名称"
    note["F1"] = L.INPUT_TITLE  # the title alone, without the labels below it
    from xlperf.readers.input_sheet import input_sheets
    assert [ws.title for ws in input_sheets(wb)] == ["项目1"]
