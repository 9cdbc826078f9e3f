"""The 预算执行情况 table of one project as values (for the per-project export), styled like 附件1.

Rows (1)–(7) × 年度总金额, 财政资金 (小计/中央级/省级/市级/县区级), 上年结转资金,
其他资金, in the input sheet's order (layout.BUDGET_ROW_TITLES / BUDGET_COLUMN_TITLES).
Amounts in 万元; rows (6) and (7) as percentages (result.budget.amounts holds them
in percent points: 100.00 is written as 1 with the format 0.00%). A cell the
rules could not derive stays blank. Values only: no formula, no link.
"""
from __future__ import annotations

from decimal import Decimal

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..model import BUDGET_COLUMNS, BUDGET_ROWS, ProjectResult
from .cells import (
    finish_merges,
    merge,
    BOLD_FONT,
    CENTER,
    LEFT,
    PERCENT,
    RIGHT,
    TITLE_FONT,
    fit_row_heights,
    new_sheet,
    print_landscape,
    set_column_widths,
    set_number,
    set_text,
    style,
    style_header,
)

BUDGET_SHEET = "预算执行情况"
UNIT_COLUMNS = ("total", "carryover", "other")  # their titles carry the unit, as the seeds print them


def amount_unit(result: ProjectResult) -> str:
    return result.project.meta.get("amount_unit") or L.AMOUNT_UNITS[0]


def table_title(result: ProjectResult) -> str:
    return f"预算执行情况表（单位：{amount_unit(result)}）"
ITEM_TITLE = "项目"
NUMBER_TITLE = "行次"
FISCAL_TITLE = "财政资金"
AMOUNT_FORMAT = "#,##0.00"
RATE_ROWS = ("arrival_rate", "execution_rate")
FISCAL_COLUMNS = ("subtotal", "central", "provincial", "municipal", "county")
NCOLS = 2 + len(BUDGET_COLUMNS)  # 项目, 行次, then the eight money columns
COLUMN_WIDTHS = (16, 15, 17, 12, 11, 11, 11, 11, 19, 17)
_COL = {col: 3 + i for i, col in enumerate(BUDGET_COLUMNS)}  # 1-based column of each money column


def budget_column(col: str) -> int:
    """The 1-based column of a BUDGET_COLUMNS key in the written table."""
    return _COL[col]


def write_budget_table(ws: Worksheet, result: ProjectResult, first_row: int, title: bool | None = True) -> int:
    """Write the table at first_row (a title line if given, two header rows, rows (1)–(7)); return the next free row."""
    row = first_row
    if title:
        cell = ws.cell(row, 1)
        set_text(cell, table_title(result))
        style(cell, font=BOLD_FONT, alignment=LEFT, border=None)
        merge(ws, row, 1, row, NCOLS)
        row += 1
    _write_header(ws, row, amount_unit(result))
    row += 2
    amounts = result.budget.amounts if result.budget is not None else {}
    for key in BUDGET_ROWS:
        name, number = L.BUDGET_ROW_TITLES[key]
        set_text(ws.cell(row, 1), name)
        style(ws.cell(row, 1), alignment=LEFT)
        set_text(ws.cell(row, 2), number)
        style(ws.cell(row, 2), alignment=CENTER)
        for col in BUDGET_COLUMNS:
            cell = ws.cell(row, _COL[col])
            value: Decimal | None = amounts.get((key, col))
            if key in RATE_ROWS:
                set_number(cell, None if value is None else value / 100, PERCENT)
            else:
                set_number(cell, value, AMOUNT_FORMAT)
            style(cell, alignment=RIGHT)
        row += 1
    return row


def _write_header(ws: Worksheet, row: int, unit: str) -> None:
    def header(r: int, c: int, text: str | None) -> None:
        cell = ws.cell(r, c)
        set_text(cell, text)
        style_header(cell)

    for c in range(1, NCOLS + 1):  # every cell of both rows, so merged borders are drawn
        header(row, c, None)
        header(row + 1, c, None)
    titled = ((_COL[k], f"{L.BUDGET_COLUMN_TITLES[k]}({unit})") for k in UNIT_COLUMNS)
    for c, text in ((1, ITEM_TITLE), (2, NUMBER_TITLE), *titled):
        header(row, c, text)
        merge(ws, row, c, row + 1, c)
    first, last = _COL[FISCAL_COLUMNS[0]], _COL[FISCAL_COLUMNS[-1]]
    header(row, first, FISCAL_TITLE)
    merge(ws, row, first, row, last)
    for k in FISCAL_COLUMNS:
        header(row + 1, _COL[k], L.BUDGET_COLUMN_TITLES[k])


def write_budget_sheet(wb, result: ProjectResult, sheet_name: str = BUDGET_SHEET) -> Worksheet:
    """A sheet holding the project's name, unit and year and its 预算执行情况 table, print-ready."""
    ws = new_sheet(wb, sheet_name)
    title = ws.cell(1, 1)
    set_text(title, table_title(result))
    style(title, font=TITLE_FONT, alignment=CENTER, border=None)
    merge(ws, 1, 1, 1, NCOLS)
    ws.row_dimensions[1].height = 30
    meta = result.project.meta
    parts = [f"项目名称：{result.project.name}"]
    if (meta.get("unit") or "").strip():
        parts.append(f"预算单位：{meta['unit'].strip()}")
    if str(meta.get("year") or "").strip():
        parts.append(f"年度：{str(meta['year']).strip()}")
    info = ws.cell(2, 1)
    set_text(info, "　　".join(parts))
    style(info, font=BOLD_FONT, alignment=LEFT, border=None)
    merge(ws, 2, 1, 2, NCOLS)
    last = write_budget_table(ws, result, 3, title=None) - 1
    set_column_widths(ws, COLUMN_WIDTHS)
    fit_row_heights(ws, 2, last)
    print_landscape(ws, title_rows="1:4")
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_area = f"A1:{get_column_letter(NCOLS)}{last}"
    finish_merges(ws)
    return ws

