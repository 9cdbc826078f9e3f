"""Hostile input, third round: messages an accountant can act on, in scoring and in the formula cross-check.

Functions the engines cannot compute, whole columns and OFFSET, numbers typed as text in budget and
weight cells, a target typed as a fraction, a zero budget, a negative actual, input sheets renamed or
moved. Each problem is one finding at the cell the user typed, in Chinese; the template's own formula
cells stay quiet.
"""
from __future__ import annotations

import shutil
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
