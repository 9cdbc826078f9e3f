"""Small helpers shared by the writers: typed cell values and the standard styles.

Every style a generated sheet uses is defined here once. Values go in through
`set_text` (always a string, even "=1+1" or "-5") and `set_number` (a
Decimal becomes an int or a float, None a blank cell).
"""
from __future__ import annotations

from copy import copy

from openpyxl.styles.cell_style import StyleArray

import math
import re
import unicodedata
from decimal import Decimal
from typing import Sequence

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import absolute_coordinate
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.worksheet import Worksheet

# ---- number formats ----------------------------------------------------------
GENERAL = "General"
PERCENT = "0.00%"
TEXT = "@"
INTEGER = "0"

# ---- styles --------------------------------------------------------------------
FONT_NAME = "宋体"
FONT_SIZE = 11
BODY_FONT = Font(name=FONT_NAME, size=FONT_SIZE)
BOLD_FONT = Font(name=FONT_NAME, size=FONT_SIZE, bold=True)
TITLE_FONT = Font(name=FONT_NAME, size=16, bold=True)
LINK_FONT = Font(name=FONT_NAME, size=FONT_SIZE, color="0563C1", underline="single")

_THIN = Side(style="thin", color="000000")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
NO_BORDER = Border()

HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")

CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center", wrap_text=True)

# Excel refuses a cell longer than this.
MAX_CELL_CHARS = 32767


def _plain_number(value: Decimal | int | float) -> int | float:
    """What openpyxl should store: an int when integral (10, not 10.0), else a float."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """What a cell can hold: no control or non-XML characters, Excel's line breaks, at most 32767 characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _NOT_XML.sub("", ILLEGAL_CHARACTERS_RE.sub("", text))
    return text[:MAX_CELL_CHARS]


def set_text(cell, s: object) -> None:
    """Write s so that it stays text: "=1+1", "+5", "-5", "@x" are never formulas.

    None and "" give a blank cell. Characters Excel cannot store (control
    characters) are dropped, a CR LF line break becomes LF, and text longer
    than Excel's cell limit is cut.
    """
    if s is None:
        cell.value = None
        return
    text = s if isinstance(s, str) else str(s)
    text = clean_text(text)
    if text == "":
        cell.value = None
        return
    cell.value = text
    cell.data_type = "s"  # openpyxl took a leading "=" for a formula


def set_number(cell, value: Decimal | int | float | None, number_format: str = GENERAL) -> None:
    """Write a number (Decimal → int/float for openpyxl); None leaves the cell blank."""
    cell.value = None if value is None else _plain_number(value)
    cell.number_format = number_format


def style(cell, *, font: Font = BODY_FONT, alignment: Alignment = CENTER, border: Border | None = BORDER,
          fill: PatternFill | None = None) -> None:
    """Apply the standard look to one cell (also works on a merged cell's hidden parts).

    openpyxl looks every style object up in a list on each assignment (slow on
    thousands of cells); the resulting style record is cached per workbook and
    copied, keyed by the objects themselves and the cell's other style parts.
    """
    if cell._style is None:  # a new cell has no style record yet
        cell._style = StyleArray()
    base = cell._style
    key = (font, alignment, border if border is not None else base.borderId,
           fill if fill is not None else base.fillId, base.numFmtId, base.protectionId, base.xfId)
    cache = _style_cache(cell)
    cached = cache.get(key)
    if cached is not None:
        cell._style = copy(cached)
        return
    cell.font = font
    cell.alignment = alignment
    if border is not None:
        cell.border = border
    if fill is not None:
        cell.fill = fill
    cache[key] = copy(cell._style)


def _style_cache(cell) -> dict:
    wb = cell.parent.parent
    cache = getattr(wb, "_xlperf_style_cache", None)
    if cache is None:
        cache = {}
        wb._xlperf_style_cache = cache
    return cache


def style_header(cell) -> None:
    style(cell, font=BOLD_FONT, alignment=CENTER, border=BORDER, fill=HEADER_FILL)


def set_column_widths(ws: Worksheet, widths: Sequence[float], first_column: int = 1) -> None:
    for i, width in enumerate(widths, start=first_column):
        ws.column_dimensions[get_column_letter(i)].width = width


def new_sheet(wb, sheet_name: str, index: int | None = None) -> Worksheet:
    """Create sheet_name; refuse to overwrite a sheet that already exists."""
    if sheet_name.lower() in {name.lower() for name in wb.sheetnames}:  # Excel ignores case
        raise ValueError(f"工作表“{sheet_name}”已存在，不能重复生成")
    return wb.create_sheet(title=sheet_name, index=index)


def merge(ws: Worksheet, start_row: int, start_column: int, end_row: int, end_column: int) -> None:
    """Merge a range, like ws.merge_cells, but without openpyxl's per-cell border arithmetic (a new Border
    hashed for every covered cell, most of the time spent writing a 附件1): the range is registered now and
    `finish_merges` gives the covered cells their top-left cell's border when the sheet is done."""
    if (start_row, start_column) == (end_row, end_column):
        return
    ws.merged_cells.add(MergedCellRange(ws, CellRange(min_col=start_column, min_row=start_row, max_col=end_column,
                                                      max_row=end_row).coord))


def finish_merges(ws: Worksheet) -> None:
    """Turn the cells each merged range covers into MergedCells carrying the top-left cell's border
    (the outer edges Excel and LibreOffice draw; inner ones are hidden by the merge). Idempotent."""
    for mcr in ws.merged_cells.ranges:
        top = ws._cells.get((mcr.min_row, mcr.min_col))
        border = top._style.borderId if top is not None else 0
        cells = mcr.cells
        next(cells)
        for row, col in cells:
            cell = ws._cells.get((row, col))
            if not isinstance(cell, MergedCell):
                merged = MergedCell(ws, row, col)
                if cell is not None:
                    merged._style = copy(cell._style)
                ws._cells[row, col] = cell = merged
            if cell._style is None:
                cell._style = StyleArray()
            cell._style.borderId = border


def internal_location(sheet: str, ref: str) -> str | None:
    """The hyperlink location of sheet!ref ("'附件1-项目'!$H$7"), or None when ref is no cell or range.

    The sheet name is always quoted (with ' doubled), the form Excel writes
    and LibreOffice reads.
    """
    ref = (ref or "").replace("$", "").strip().upper()
    if not sheet or not ref:
        return None
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
    except (ValueError, TypeError):
        return None
    if None in (min_col, min_row, max_col, max_row):
        return None  # whole rows/columns: not a place to jump to
    quoted = "'" + sheet.replace("'", "''") + "'"
    # Absolute, because LibreOffice reads a relative "C25" or "R1" as R1C1 and drops the link.
    return f"{quoted}!{absolute_coordinate(ref)}"


def set_internal_link(cell, sheet: str, ref: str) -> bool:
    """Make cell a link to sheet!ref inside the workbook (no external relationship). True if linked."""
    location = internal_location(sheet, ref)
    if location is None:
        return False
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=location)
    cell.font = LINK_FONT
    return True


# ---- row heights ---------------------------------------------------------------
# Neither LibreOffice nor Excel reliably grows a row for wrapped text in a file
# written by openpyxl, so the writers set each row's height from its text.
LINE_HEIGHT = 14.25  # points per line of 宋体 11pt
ROW_PADDING = 4.0
MIN_ROW_HEIGHT = 18.0
DEFAULT_COLUMN_WIDTH = 8.43


def text_width(s: str) -> float:
    """Width of s in Excel column units (a CJK/full-width character is about two digits)."""
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.1 for ch in s)


def lines_needed(text: str, width: float) -> int:
    usable = max(width - 1.5, 1.0)  # cell padding
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in text.split("\n"))


def _column_width(ws: Worksheet, column: int) -> float:
    dim = ws.column_dimensions.get(get_column_letter(column))
    return dim.width if dim is not None and dim.width else DEFAULT_COLUMN_WIDTH


def _shown(cell) -> str:
    v = cell.value
    if isinstance(v, float) and "%" in (cell.number_format or ""):
        return f"{v * 100:.2f}%"
    return str(v)


def fit_row_heights(ws: Worksheet, first_row: int, last_row: int, min_height: float = MIN_ROW_HEIGHT) -> None:
    """Set each row's height so its wrapped text shows in full. Call after widths and merges."""
    spans: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for mr in ws.merged_cells.ranges:
        spans[(mr.min_row, mr.min_col)] = (mr.min_col, mr.max_col, mr.min_row, mr.max_row)
    for r in range(first_row, last_row + 1):
        lines = 1
        for cell in ws[r]:
            if isinstance(cell, MergedCell) or cell.value is None:
                continue
            c0, c1, r0, r1 = spans.get((r, cell.column), (cell.column, cell.column, r, r))
            width = sum(_column_width(ws, c) for c in range(c0, c1 + 1))
            lines = max(lines, math.ceil(lines_needed(_shown(cell), width) / (r1 - r0 + 1)))
        ws.row_dimensions[r].height = max(min_height, lines * LINE_HEIGHT + ROW_PADDING)


def print_one_page_wide(ws: Worksheet, landscape: bool = True) -> None:
    """A4 (landscape or portrait), one page wide and as many pages tall as needed."""
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if landscape else ws.ORIENTATION_PORTRAIT
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def print_landscape(ws: Worksheet, title_rows: str | None = None) -> None:
    """A4 landscape, one page wide and as many pages tall as needed, centred."""
    print_one_page_wide(ws)
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
