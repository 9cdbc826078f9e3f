"""The 校验结果 sheet: every finding, errors first, each 位置 a link to its cell (naming the project, as typed,
when the sheet is a project's input sheet not named after it)."""
from __future__ import annotations

from typing import Sequence

from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..model import ERROR, INFO, SEVERITIES, SEVERITY_LABELS, WARNING, Finding
from .cells import (
    finish_merges,
    merge,
    CENTER,
    FONT_NAME,
    FONT_SIZE,
    LEFT,
    TEXT,
    fit_row_heights,
    new_sheet,
    print_landscape,
    set_column_widths,
    set_internal_link,
    set_text,
    style,
    style_header,
)

SEVERITY_COLUMN, CODE_COLUMN, WHERE_COLUMN, MESSAGE_COLUMN, PUBLISHED_COLUMN, EXPECTED_COLUMN = range(1, 7)
assert len(L.FINDINGS_COLUMNS) == 6
# Proposed for layout.py as FINDINGS_COLUMN_WIDTHS.
FINDINGS_COLUMN_WIDTHS = (10, 26, 24, 80, 16, 16)
NO_FINDINGS = "未发现问题"
HEADER_ROW = 1
FIRST_ROW = 2

SEVERITY_FILLS = {
    ERROR: PatternFill("solid", fgColor="FFC7CE"),
    WARNING: PatternFill("solid", fgColor="FFEB9C"),
    INFO: PatternFill("solid", fgColor="DDEBF7"),
}
SEVERITY_FONTS = {
    ERROR: Font(name=FONT_NAME, size=FONT_SIZE, bold=True, color="9C0006"),
    WARNING: Font(name=FONT_NAME, size=FONT_SIZE, bold=True, color="9C5700"),
    INFO: Font(name=FONT_NAME, size=FONT_SIZE, bold=True, color="1F4E78"),
}
_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


def sorted_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Errors, then warnings, then info; otherwise the order they came in (stable)."""
    return sorted(findings, key=lambda f: _ORDER.get(f.severity, len(_ORDER)))


def write_findings_sheet(wb, findings: list[Finding], sheet_name: str = L.FINDINGS_SHEET,
                         sheets: Sequence[str] | None = None) -> Worksheet:
    """Add the 校验结果 sheet. 位置 links to its cell when that sheet is in wb (or in `sheets`, the
    sheets of the workbook this one is grafted into)."""
    ws = new_sheet(wb, sheet_name)
    ncols = len(L.FINDINGS_COLUMNS)
    for c, title in enumerate(L.FINDINGS_COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, c)
        set_text(cell, title)
        style_header(cell)
    rows = sorted_findings(findings)
    for r, f in enumerate(rows, start=FIRST_ROW):
        _write_finding(ws, r, f, wb.sheetnames if sheets is None else sheets)
    last_row = HEADER_ROW + len(rows)
    if not rows:
        last_row = FIRST_ROW
        cell = ws.cell(FIRST_ROW, 1)
        set_text(cell, NO_FINDINGS)
        merge(ws, FIRST_ROW, 1, FIRST_ROW, ncols)
        for c in range(1, ncols + 1):
            style(ws.cell(FIRST_ROW, c), alignment=CENTER)
    set_column_widths(ws, FINDINGS_COLUMN_WIDTHS)
    ws.freeze_panes = ws.cell(FIRST_ROW, 1).coordinate
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(ncols)}{last_row}"
    fit_row_heights(ws, HEADER_ROW, last_row)
    print_landscape(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    finish_merges(ws)
    return ws


def _write_finding(ws: Worksheet, row: int, f: Finding, sheets: Sequence[str]) -> None:
    fill = SEVERITY_FILLS.get(f.severity)
    values = {
        SEVERITY_COLUMN: SEVERITY_LABELS.get(f.severity, f.severity),
        CODE_COLUMN: f.code,
        WHERE_COLUMN: f.place,  # 项目1!E64（项目名称）: the project as typed, when the sheet is not named after it
        MESSAGE_COLUMN: f.message,
        PUBLISHED_COLUMN: f.published,
        EXPECTED_COLUMN: f.expected,
    }
    for c, v in values.items():
        cell = ws.cell(row, c)
        set_text(cell, v)
        cell.number_format = TEXT
        style(cell, alignment=LEFT if c in (MESSAGE_COLUMN, WHERE_COLUMN) else CENTER, fill=fill)
    ws.cell(row, SEVERITY_COLUMN).font = SEVERITY_FONTS.get(f.severity, ws.cell(row, SEVERITY_COLUMN).font)
    if f.sheet in sheets:
        set_internal_link(ws.cell(row, WHERE_COLUMN), f.sheet, f.cell or "A1")
