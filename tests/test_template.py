"""The master template: in sync with its code, laid out as layout.py says, protected, with live formulas."""
from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from xlperf import layout as L
from xlperf.template.build import TEMPLATE_PATH, new_workbook, template_bytes, workbook_bytes
from xlperf.template.examples import example_projects
from xlperf.template.formulas import template_formulas
from xlperf.template.inputs import ProjectInput


def test_template_file_is_in_sync_with_code():
    """Regenerate with: python -m xlperf.template"""
    assert TEMPLATE_PATH.read_bytes() == template_bytes(), "workbook_templates 已过期：运行 python -m xlperf.template"


def test_template_bytes_are_deterministic():
    assert template_bytes() == template_bytes()
    with zipfile.ZipFile(io.BytesIO(template_bytes())) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def _load(wb):
    return load_workbook(io.BytesIO(workbook_bytes(wb)))


def test_sheets_and_project_list():
    wb = _load(new_workbook([ProjectInput(name=f"项目{i}") for i in (1, 2, 3)]))
    assert wb.sheetnames == [L.INSTRUCTIONS_SHEET, L.PROJECT_LIST_SHEET, "项目1", "项目2", "项目3"]
    header = [c.value for c in wb[L.PROJECT_LIST_SHEET][1]]
    assert header[:8] == ["项目名称", "预算单位", "主管部门", "项目负责人", "联系人", "联系电话", "电子邮箱", "年度"]
    assert [wb[L.PROJECT_LIST_SHEET].cell(row=r, column=1).value for r in (2, 3, 4)] == ["项目1", "项目2", "项目3"]
    assert wb[L.PROJECT_LIST_SHEET].cell(row=2, column=9).hyperlink.location == "'项目1'!A1" or \
        wb[L.PROJECT_LIST_SHEET].cell(row=2, column=9).hyperlink.target == "#'项目1'!A1"
    assert len(wb[L.INSTRUCTIONS_SHEET]["A1"].value) > 5


def test_input_sheet_formulas_validation_protection():
    wb = _load(new_workbook([ProjectInput(name="项目1")]))
    ws = wb["项目1"]
    assert ws[L.TITLE_CELL].value == L.INPUT_TITLE
    formulas = template_formulas()
    for ref, formula in formulas.items():
        assert ws[ref].value == formula, ref
        assert ws[ref].protection.locked or ref in (L.indicator_cell("direction", r) for r in L.indicator_rows()) \
            or ref == L.indicator_cell("actual", L.BUDGET_INDICATOR_ROW)
    # every 完成率 and 指标得分, 小计, 年度总金额, rows (5)–(7), 总得分, 评价等级
    assert all(L.indicator_cell(f, r) in formulas for r in L.indicator_rows() for f in ("rate", "score"))
    assert all(L.budget_cell(r, c) in formulas for r in ("balance", "arrival_rate", "execution_rate")
               for c in L.BUDGET_COLUMN_LETTERS)
    assert {L.TOTAL_SCORE_CELL, L.GRADE_CELL, L.WEIGHT_TOTAL_CELL} <= set(formulas)
    assert ws.protection.sheet and not ws.protection.password
    for r in (L.INDICATOR_FIRST_ROW, L.INDICATOR_LAST_ROW):
        for f in L.INDICATOR_INPUT_FIELDS:
            assert ws[L.indicator_cell(f, r)].protection.locked is False
    assert ws[L.indicator_cell("target", 30)].number_format == "@"  # "90%" stays as typed
    assert L.INDICATOR_ROWS >= 30
    validated = {str(r) for dv in ws.data_validations.dataValidation for r in dv.sqref.ranges}
    for field in ("level1", "level2", "direction"):
        letter = L.INDICATOR_COLUMN_LETTERS[field]
        assert f"{letter}{L.INDICATOR_FIRST_ROW}:{letter}{L.INDICATOR_LAST_ROW}" in validated
    fills = {ws[L.indicator_cell("weight", 30)].fill.fgColor.rgb, ws[L.indicator_cell("score", 30)].fill.fgColor.rgb}
    assert len(fills) == 2  # input cells look different from computed cells
    assert ws[L.indicator_cell("level3", L.BUDGET_INDICATOR_ROW)].value == "预算执行率"


def test_is_input_cell_matches_unlocked_cells():
    wb = _load(new_workbook([ProjectInput(name="项目1")]))
    ws = wb["项目1"]
    for row in ws.iter_rows(min_row=1, max_row=L.GRADE_ROW, max_col=L.INPUT_LAST_COLUMN):
        for cell in row:
            if type(cell).__name__ == "MergedCell":
                continue
            assert L.is_input_cell(cell.coordinate) == (cell.protection.locked is False), cell.coordinate


def test_sheet_names_are_safe_and_unique():
    taken = {"项目"}
    assert L.safe_sheet_name("a/b:c*d?[e]", set()) == "a_b_c_d__e_"
    assert L.safe_sheet_name("项目", taken) == "项目(2)"
    long = "很长的项目名称" * 10
    assert len(L.safe_sheet_name(long, set())) == 31
    assert L.safe_sheet_name("汇总", set()) == "汇总(2)"  # never a name xlperf generates


def test_example_projects_are_varied_and_deterministic():
    a, b = example_projects(12), example_projects(12)
    assert a == b
    assert len({p.name for p in a}) == 12
    assert any(p.budget_actual_typed for p in a)
    targets = {i.target for p in a for i in p.indicators}
    assert any(t.startswith("≤") for t in targets) and any(t.startswith("≥") for t in targets)
