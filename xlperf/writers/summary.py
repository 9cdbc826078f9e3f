"""The 汇总 sheet: one row per project, and a bar chart of 总得分."""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Sequence

import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.utils import get_column_letter
from openpyxl.utils.dataframe import dataframe_to_rows
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..model import ERROR, INFO, WARNING, ProjectResult
from .cells import (
    BODY_FONT,
    CENTER,
    GENERAL,
    INTEGER,
    LEFT,
    PERCENT,
    fit_row_heights,
    new_sheet,
    print_landscape,
    set_column_widths,
    set_internal_link,
    set_number,
    set_text,
    style,
    style_header,
)

NAME, TOTAL, GRADE, RATE, ERRORS, WARNINGS, INFOS = L.SUMMARY_COLUMNS
COUNT_COLUMNS = {ERRORS: ERROR, WARNINGS: WARNING, INFOS: INFO}
NUMBER_FORMATS = {TOTAL: "0.00", RATE: PERCENT, ERRORS: INTEGER, WARNINGS: INTEGER, INFOS: INTEGER}
# Proposed for layout.py as SUMMARY_COLUMN_WIDTHS.
SUMMARY_COLUMN_WIDTHS = (40, 10, 10, 12, 8, 8, 8)
CHART_TITLE = "各项目总得分"
CHART_Y_TITLE = "总得分"
NO_PROJECTS = "未找到项目录入表"
HEADER_ROW = 1
FIRST_ROW = 2


def _float(d: Decimal | None) -> float:
    return math.nan if d is None else float(d)


def summary_frame(results: Sequence[ProjectResult]) -> pd.DataFrame:
    """One row per project, columns layout.SUMMARY_COLUMNS.

    总得分 is a float, 预算执行率 a fraction (1.0 = 100.00%; NaN when the
    project has no budget rate), 错误/警告/提示 counts of findings.
    """
    rows = []
    for r in results:
        row = {
            NAME: r.project.name,
            TOTAL: _float(r.total),
            GRADE: r.grade,
            RATE: _float(None if r.budget_execution_rate is None else r.budget_execution_rate / 100),
        }
        for column, severity in COUNT_COLUMNS.items():
            row[column] = sum(1 for f in r.findings if f.severity == severity)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(L.SUMMARY_COLUMNS))
    return frame.astype({NAME: object, TOTAL: float, GRADE: object, RATE: float,
                         ERRORS: "int64", WARNINGS: "int64", INFOS: "int64"})


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def write_summary_sheet(wb, results: list[ProjectResult], sheet_name: str = L.SUMMARY_SHEET,
                        annex_sheets: Sequence[str | None] | None = None) -> Worksheet:
    """Add the 汇总 sheet. annex_sheets (optional, same order as results) links each name to its 附件1."""
    ws = new_sheet(wb, sheet_name)
    frame = summary_frame(results)
    columns = list(frame.columns)
    for r, values in enumerate(dataframe_to_rows(frame, index=False, header=True), start=HEADER_ROW):
        for c, (column, v) in enumerate(zip(columns, values), start=1):
            cell = ws.cell(r, c)
            if r == HEADER_ROW:
                set_text(cell, v)
                style_header(cell)
                continue
            if column in NUMBER_FORMATS:
                set_number(cell, None if _is_missing(v) else _number(v), NUMBER_FORMATS[column])
            else:
                set_text(cell, None if _is_missing(v) else v)
            style(cell, font=BODY_FONT, alignment=LEFT if column == NAME else CENTER)
    last_row = HEADER_ROW + len(frame)
    if annex_sheets:
        for i, annex in enumerate(annex_sheets):
            if annex:
                set_internal_link(ws.cell(FIRST_ROW + i, columns.index(NAME) + 1), annex, "A1")
    if frame.empty:
        note = ws.cell(FIRST_ROW, 1)
        set_text(note, NO_PROJECTS)
        style(note, alignment=LEFT, border=None)
    else:
        _add_chart(ws, len(frame), columns)
    set_column_widths(ws, SUMMARY_COLUMN_WIDTHS)
    fit_row_heights(ws, HEADER_ROW, max(last_row, FIRST_ROW))
    print_landscape(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    ws.freeze_panes = ws.cell(FIRST_ROW, 1).coordinate
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(columns))}{max(last_row, HEADER_ROW)}"
    return ws


def _number(v):
    """numpy scalars → plain Python numbers for openpyxl."""
    if hasattr(v, "item"):
        v = v.item()
    return v


def _add_chart(ws: Worksheet, n: int, columns: list[str]) -> None:
    total_col = columns.index(TOTAL) + 1
    name_col = columns.index(NAME) + 1
    chart = BarChart()
    chart.type = "col"
    chart.title = CHART_TITLE
    chart.y_axis.title = CHART_Y_TITLE
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 100
    chart.y_axis.majorUnit = 20
    # openpyxl 3.1 marks axes deleted by default; Excel then draws none.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend = None
    data = Reference(ws, min_col=total_col, min_row=HEADER_ROW, max_row=HEADER_ROW + n)
    categories = Reference(ws, min_col=name_col, min_row=FIRST_ROW, max_row=HEADER_ROW + n)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    # Say every flag: LibreOffice reads a missing one as "show" and prints names over the bars.
    chart.dataLabels = DataLabelList(showVal=True, showCatName=False, showSerName=False,
                                     showLegendKey=False, showPercent=False, showBubbleSize=False)
    chart.width = min(max(12.0, 2.0 * n + 6), 40.0)
    chart.height = 8.0
    anchor = ws.cell(HEADER_ROW, len(columns) + 2).coordinate  # one empty column beside the table
    ws.add_chart(chart, anchor)
