"""The 附件1.项目支出绩效自评表 sheet of one project, in the seeds' layout, print-ready.

Row 1 the title, row 2 项目名称 (and 预算单位/年度 when known), row 3 the
column header, then one row per indicator, then 总分 and 评价等级. 一级 and
二级指标 are merged vertically over consecutive rows of the same group, as
in the seeds (产出指标 spans 数量/质量/时效/成本).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..forms import Form
from ..model import IndicatorResult, ProjectResult, Value
from .cells import (
    finish_merges,
    merge,
    BODY_FONT,
    BOLD_FONT,
    BORDER,
    CENTER,
    GENERAL,
    LEFT,
    PERCENT,
    TEXT,
    TITLE_FONT,
    TOTAL_FILL,
    fit_row_heights,
    new_sheet,
    print_landscape,
    set_column_widths,
    set_number,
    set_text,
    style,
    style_header,
)

# The seeds put the header right under the title; the generated sheet adds a
# 项目名称 line between them. Proposed for layout.py: ANNEX_INFO_ROW = 2,
# ANNEX_HEADER_ROW = 3, ANNEX_FIRST_ROW = 4 (until then these local constants).
ANNEX_TITLE_ROW = L.ANNEX_TITLE_ROW
ANNEX_INFO_ROW = ANNEX_TITLE_ROW + 1
ANNEX_HEADER_ROW = ANNEX_INFO_ROW + 1
ANNEX_FIRST_ROW = ANNEX_HEADER_ROW + 1

NCOLS = len(L.ANNEX_COLUMNS)
LAST_COLUMN = get_column_letter(NCOLS)  # I
# The 附件1 columns are the input sheet's indicator fields without 指标方向.
# Proposed for layout.py as ANNEX_FIELDS (beside ANNEX_COLUMNS, same order).
ANNEX_FIELDS = tuple(f for f in L.INDICATOR_FIELDS if f != "direction")
assert len(ANNEX_FIELDS) == NCOLS, "layout.ANNEX_COLUMNS and INDICATOR_FIELDS disagree"
COL = {field: i for i, field in enumerate(ANNEX_FIELDS, start=1)}  # 1-based column of each field
LEFT_ALIGNED = {COL["level3"], COL["reason"]}

TOTAL_LABEL = "总分"
GRADE_LABEL = "评价等级"
NAME_LABEL = "项目名称："
UNIT_LABEL = "预算单位："
YEAR_LABEL = "年度："
FOOTER = "第 &P 页，共 &N 页"
SCORE = "0.00"  # scores and totals with two decimals, as the seeds print them


def annex_rows(result: ProjectResult) -> tuple[int, int]:
    """(总分 row, 评价等级 row) of the sheet written for result."""
    total_row = ANNEX_FIRST_ROW + len(result.indicators)
    return total_row, total_row + 1


def write_annex_sheet(wb, result: ProjectResult, sheet_name: str, unit: str | None = None,
                      year: str | None = None, form: Form | None = None) -> Worksheet:
    """Add one 附件1 sheet for result in `form` (default: the seeds' 山西 layout). Deterministic."""
    if form is not None and form.info != "line":
        from .annex_form import annex_context, write_form_annex

        ws = write_form_annex(wb, result, sheet_name, form, annex_context(result))
        finish_merges(ws)
        return ws
    ws = new_sheet(wb, sheet_name)
    _write_title(ws, result.project.name, unit, year)
    _write_header(ws)
    rows = list(result.indicators)
    for i, ir in enumerate(rows):
        _write_indicator(ws, ANNEX_FIRST_ROW + i, ir)
    _merge_groups(ws, rows)
    total_row, grade_row = annex_rows(result)
    _write_totals(ws, result, total_row, grade_row)
    _frame(ws, ANNEX_HEADER_ROW, grade_row)
    set_column_widths(ws, L.ANNEX_COLUMN_WIDTHS)
    fit_row_heights(ws, ANNEX_INFO_ROW, grade_row)
    _page_setup(ws, grade_row)
    finish_merges(ws)
    return ws


# ---- parts --------------------------------------------------------------------
def _write_title(ws: Worksheet, name: str, unit: str | None, year: str | None) -> None:
    title = ws.cell(ANNEX_TITLE_ROW, 1)
    set_text(title, L.ANNEX_TITLE)
    style(title, font=TITLE_FONT, alignment=CENTER, border=None)
    merge(ws, ANNEX_TITLE_ROW, 1, ANNEX_TITLE_ROW, NCOLS)
    ws.row_dimensions[ANNEX_TITLE_ROW].height = 30

    split = COL["target"]  # 项目名称 over 一级…权重, 预算单位/年度 over the rest
    left = ws.cell(ANNEX_INFO_ROW, 1)
    set_text(left, NAME_LABEL + (name or "").strip())
    style(left, font=BOLD_FONT, alignment=LEFT, border=None)
    merge(ws, ANNEX_INFO_ROW, 1, ANNEX_INFO_ROW, split - 1)
    parts = []
    if unit and unit.strip():
        parts.append(UNIT_LABEL + unit.strip())
    if year and str(year).strip():
        parts.append(YEAR_LABEL + str(year).strip())
    right = ws.cell(ANNEX_INFO_ROW, split)
    set_text(right, "　　".join(parts))
    style(right, font=BOLD_FONT, alignment=LEFT, border=None)
    merge(ws, ANNEX_INFO_ROW, split, ANNEX_INFO_ROW, NCOLS)


def _write_header(ws: Worksheet) -> None:
    for c, title in enumerate(L.ANNEX_COLUMNS, start=1):
        cell = ws.cell(ANNEX_HEADER_ROW, c)
        set_text(cell, title)
        style_header(cell)


def _write_value_as_typed(cell, v: Value) -> None:
    set_text(cell, v.shown if not v.is_blank else None)
    cell.number_format = TEXT


def _plain_weight(v: Value) -> Decimal | None:
    """The weight as a number when it is one (no operator, no unit)."""
    if v.kind == "number" and v.op is None and v.unit is None and v.number is not None:
        return v.number
    return None


def _write_indicator(ws: Worksheet, row: int, ir: IndicatorResult) -> None:
    ind = ir.indicator
    set_text(ws.cell(row, COL["level1"]), (ind.level1 or "").strip())
    set_text(ws.cell(row, COL["level2"]), (ind.level2 or "").strip())
    set_text(ws.cell(row, COL["level3"]), (ind.level3 or "").strip())
    weight = _plain_weight(ind.weight)
    if weight is not None:
        set_number(ws.cell(row, COL["weight"]), weight, GENERAL)
    else:
        _write_value_as_typed(ws.cell(row, COL["weight"]), ind.weight)
    _write_value_as_typed(ws.cell(row, COL["target"]), ind.target)
    _write_value_as_typed(ws.cell(row, COL["actual"]), ind.actual)
    set_number(ws.cell(row, COL["rate"]), ir.rate, PERCENT)
    set_number(ws.cell(row, COL["score"]), ir.score, SCORE)
    set_text(ws.cell(row, COL["reason"]), (ind.reason or "").strip())


def group_runs(values: Sequence[str], start: int = 0) -> list[tuple[int, int, str]]:
    """Runs (first, last, text) of consecutive equal values; "" means "same as above".

    Indices are offsets from start. A run of "" (no group named yet) is not
    returned: there is nothing to merge.
    """
    runs: list[tuple[int, int, str]] = []
    current = ""
    for i, raw in enumerate(values):
        text = (raw or "").strip()
        if text and text != current:
            current = text
            runs.append((start + i, start + i, text))
        elif current:
            first, _, name = runs[-1]
            runs[-1] = (first, start + i, name)
    return runs


def _merge_groups(ws: Worksheet, rows: Sequence[IndicatorResult]) -> None:
    level1 = [r.indicator.level1 for r in rows]
    for first, last, name in group_runs(level1):
        _merge_vertical(ws, COL["level1"], first, last, name)
        # 二级 groups never cross a 一级 boundary; "" at the group's top stays blank.
        level2 = [rows[i].indicator.level2 for i in range(first, last + 1)]
        for f2, l2, name2 in group_runs(level2, start=first):
            _merge_vertical(ws, COL["level2"], f2, l2, name2)
    # Rows before the first named 一级 group still get their 二级 groups merged.
    head = next((first for first, _, _ in group_runs(level1)), len(rows))
    for f2, l2, name2 in group_runs([r.indicator.level2 for r in rows[:head]]):
        _merge_vertical(ws, COL["level2"], f2, l2, name2)


def _merge_vertical(ws: Worksheet, column: int, first: int, last: int, text: str) -> None:
    top = ANNEX_FIRST_ROW + first
    set_text(ws.cell(top, column), text)
    for i in range(first + 1, last + 1):
        ws.cell(ANNEX_FIRST_ROW + i, column).value = None
    if last > first:
        merge(ws, top, column, ANNEX_FIRST_ROW + last, column)


def _write_totals(ws: Worksheet, result: ProjectResult, total_row: int, grade_row: int) -> None:
    label_end = COL["level3"]
    weights = [w for w in (_plain_weight(r.indicator.weight) for r in result.indicators) if w is not None]
    weight_sum = sum(weights, Decimal(0)) if weights else None

    set_text(ws.cell(total_row, 1), TOTAL_LABEL)
    set_number(ws.cell(total_row, COL["weight"]), weight_sum, GENERAL)
    set_number(ws.cell(total_row, COL["score"]), result.total, SCORE)
    set_text(ws.cell(grade_row, 1), GRADE_LABEL)
    set_text(ws.cell(grade_row, COL["score"]), result.grade)

    merge(ws, total_row, 1, total_row, label_end)
    merge(ws, grade_row, 1, grade_row, label_end)
    if COL["rate"] > COL["weight"] + 1:  # 目标值…完成率 carry nothing on the 总分 row
        merge(ws, total_row, COL["weight"] + 1, total_row, COL["rate"])
    merge(ws, grade_row, COL["weight"], grade_row, COL["rate"])


def _frame(ws: Worksheet, first_row: int, last_row: int) -> None:
    """Thin borders, the Chinese font and wrapping on every cell below the header (styled already)."""
    totals = {last_row - 1, last_row}
    for row in ws.iter_rows(min_row=first_row + 1, max_row=last_row, min_col=1, max_col=NCOLS):
        for cell in row:
            is_total = cell.row in totals
            align = LEFT if cell.column in LEFT_ALIGNED and not is_total else CENTER
            style(cell, font=BOLD_FONT if is_total else BODY_FONT, alignment=align, border=BORDER,
                  fill=TOTAL_FILL if is_total else None)


def _page_setup(ws: Worksheet, last_row: int) -> None:
    print_landscape(ws, title_rows=f"{ANNEX_TITLE_ROW}:{ANNEX_HEADER_ROW}")
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_area = f"A{ANNEX_TITLE_ROW}:{LAST_COLUMN}{last_row}"
    ws.oddFooter.center.text = FOOTER
    ws.freeze_panes = ws.cell(ANNEX_FIRST_ROW, 1).coordinate

