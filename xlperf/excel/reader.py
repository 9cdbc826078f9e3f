"""An xlwings Book read into the openpyxl workbook the file pipeline reads.

The pipeline reads openpyxl workbooks. `read_book` copies what it needs from the
Book into a scratch Workbook: every sheet's name (so generated names and links
come out as for the file), the generated-sheet markers, and the cells of the
input sheets and of 项目清单. Desktop Excel also gives each formula and the
number format of each typed number: the copy then holds exactly what the file
would. Excel on the web (the Office.js payload of xlwings Server) sends values
only; there the template's formulas are put back where the value is the one the
formula gives, and a typed number counts as a percentage when the hidden helper
column shows it ×100 (the template's CELL("format") saw a percent format).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..forms.recorded import FORM_NAME
from ..crosscheck import same
from ..formula import runtime as rt
from ..formula.book import FormulaBook
from ..formula.parser import outside_strings
from ..readers.input_sheet import TITLE_SEARCH_COLUMNS, TITLE_SEARCH_ROWS, expected_formulas, is_input_sheet

PERCENT = "0%"  # a percent format without decimals: the number is shown exactly as typed (95.5%)
HELPERS = {"target": "target_number", "actual": "actual_number"}


@dataclass
class BookCopy:
    wb: Workbook
    cached: dict[str, dict[tuple[int, int], object]] = field(default_factory=dict)  # formula cells: what Excel shows
    formulas_read: bool = True  # False: values only (Excel on the web), the template's formulas were put back


def read_book(book, profile) -> BookCopy:
    copy = BookCopy(_empty_copy(book))
    read: set[str] = set()  # sheets copied whole
    referred: set[str] = set()  # sheets the input sheets' formulas refer to
    for sheet in book.sheets:
        ws = copy.wb[sheet.name]
        _fill(ws, _values(sheet, TITLE_SEARCH_ROWS, TITLE_SEARCH_COLUMNS))
        if sheet.name != L.PROJECT_LIST_SHEET and not is_input_sheet(ws):
            continue  # only the input sheets and 项目清单 are read
        _fill_used_range(sheet, ws)
        read.add(sheet.name)
        if sheet.name == L.PROJECT_LIST_SHEET:
            continue
        # Text such as "=1+1" is what the reader takes for a formula in a file too; it shows itself.
        cached = copy.cached[ws.title] = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
                                          if isinstance(c.value, str) and c.value.startswith("=")}
        formulas = _formulas(sheet, ws)
        if formulas is None:
            copy.formulas_read = False
            cached.update(_rebuild_template_formulas(ws, profile))
        else:
            cached.update(_put_formulas(ws, formulas))
            _number_formats(sheet, ws)
            referred |= {name for row in formulas for f in row if isinstance(f, str) for name in sheets_referred_to(f)}
    # A formula reading another sheet (=我的计算!D10) is evaluated with the values Excel shows there.
    for name in sorted(referred - read):
        if name in copy.wb.sheetnames:
            _fill_used_range(book.sheets[name], copy.wb[name])
    return copy


_SHEET_REF = re.compile(r"(?:'((?:[^']|'')+)'|([^\s'!,()=+\-*/&^<>:;{}\[\]\"]+))!")


def sheets_referred_to(formula: str) -> set[str]:
    """The sheet names a formula refers to ('我的 表'!A1, 计算!B2), outside its string literals."""
    if not formula.startswith("=") or "!" not in formula:
        return set()
    names: set[str] = set()
    outside_strings(formula, lambda part: names.update(
        (m.group(1) or "").replace("''", "'") or m.group(2) for m in _SHEET_REF.finditer(part)) or part)
    return names


def _fill_used_range(sheet, ws: Worksheet) -> None:
    last = sheet.used_range.last_cell
    _fill(ws, _values(sheet, last.row, last.column))


def read_shown_values(book) -> tuple[Workbook, bool]:
    """Every sheet's values as Excel shows them (what `xlperf check` reads with data_only), for a reviewer's tables.

    Desktop Excel also gives the number formats of numbers (98% published as 0.98); Excel on the
    web does not: the second value says whether the formats were read.
    """
    wb = _empty_copy(book)
    formats_read = True
    for sheet in book.sheets:
        ws = wb[sheet.name]
        _fill_used_range(sheet, ws)
        if formats_read:
            try:
                _number_formats(sheet, ws)
            except NotImplementedError:  # Excel on the web sends values only
                formats_read = False
    return wb, formats_read


def _empty_copy(book) -> Workbook:
    """A workbook with the Book's sheets, in order, each with its generated-sheet marker; no cells yet."""
    wb = Workbook()
    wb.remove(wb.active)
    markers = _markers(book)
    for sheet in book.sheets:
        ws = wb.create_sheet(sheet.name)
        if sheet.name in markers:
            ws.defined_names[L.GENERATED_MARKER] = DefinedName(L.GENERATED_MARKER, attr_text=markers[sheet.name])
    form = _recorded_form(book)
    if form is not None:  # the form the workbook's 附件1 are written in (xlperf.forms.recorded)
        wb.defined_names[FORM_NAME] = DefinedName(FORM_NAME, attr_text=form)
    return wb


def _recorded_form(book) -> str | None:
    """The definition of the workbook-level name xlperf_form ('"national"'), or None."""
    try:
        names = list(book.names)
    except NotImplementedError:
        return None
    for name in names:
        if name.name == FORM_NAME:
            return (name.refers_to or "").lstrip("=") or None
    return None


def _markers(book) -> dict[str, str]:
    """Sheet name → the definition of its marker name (without "=")."""
    out = {}
    for sheet in book.sheets:
        for name in sheet.names:
            if name.name.rsplit("!", 1)[-1] == L.GENERATED_MARKER:
                out[sheet.name] = (name.refers_to or "").lstrip("=")
    return out


def _values(sheet, rows: int, columns: int) -> list[list]:
    return sheet.range((1, 1), (rows, columns)).options(ndim=2, err_to_str=True).value


def _fill(ws: Worksheet, values: list[list]) -> None:
    for r, row in enumerate(values, start=1):
        for c, v in enumerate(row, start=1):
            if v is None or v == "":
                continue
            cell = ws.cell(r, c)
            cell.value = v
            if isinstance(v, str):
                cell.data_type = "e" if v in ERROR_CODES else "s"  # text stays text, even "=1+1"


def _formulas(sheet, ws: Worksheet) -> list[list] | None:
    """The sheet's formulas (desktop Excel), or None where the Book has none to give (Excel on the web)."""
    rng = sheet.range((1, 1), (ws.max_row, ws.max_column))
    try:
        formulas = rng.formula
    except NotImplementedError:
        return None
    if not isinstance(formulas, (list, tuple)):
        formulas = [[formulas]]
    return [list(row) if isinstance(row, (list, tuple)) else [row] for row in formulas]


def _put_formulas(ws: Worksheet, formulas: list[list]) -> dict[tuple[int, int], object]:
    """Formula cells get their formula; what they show becomes the cached value."""
    cached = {}
    for r, row in enumerate(formulas, start=1):
        for c, f in enumerate(row, start=1):
            if not (isinstance(f, str) and f.startswith("=")):
                continue
            cell = ws.cell(r, c)
            if cell.value != f:  # a text cell "=1+1" reports that text as its formula too
                cached[(r, c)] = _shown(cell.value)
                cell.value = f
    return cached


def _number_formats(sheet, ws: Worksheet) -> None:
    """The number format of every typed number (percentages are read ×100, as in the file)."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = sheet.range((cell.row, cell.column)).number_format or "General"


def _rebuild_template_formulas(ws: Worksheet, profile) -> dict[tuple[int, int], object]:
    """Values only: the template's formula goes back into every cell showing what that formula gives.

    Each formula is evaluated with the values Excel shows in the cells it refers to, so
    one typed-over cell does not make the cells depending on it look typed over too.
    """
    try:
        pos = L.locate_input_positions(ws)
    except L.LayoutChanged:
        return {}  # the reader reports it and scores nothing
    _percent_from_helpers(ws, pos)
    expected = expected_formulas(pos, profile)
    book = FormulaBook(ws.parent, [ws.title])
    cached = {}
    for ref, formula in expected.items():
        r, c = coordinate_to_tuple(ref)
        shown = ws.cell(r, c).value
        if same(rt.cell_value(shown), book.evaluate(ws.title, r, c, formula)):
            cached[(r, c)] = _shown(shown)
    for (r, c), shown in cached.items():
        cell = ws.cell(r, c)
        cell.value = expected[cell.coordinate]
        cell.data_type = "f"
    return cached


def _percent_from_helpers(ws: Worksheet, pos: L.InputPositions) -> None:
    """A typed number whose helper column (目标值(数)/业绩值(数)) shows it ×100 is in a percent-formatted cell."""
    for row in pos.indicator_rows:
        for typed, helper in HELPERS.items():
            if helper not in pos.indicator_columns:
                continue
            cell = ws[pos.indicator_cell(typed, row)]
            v, h = cell.value, ws[pos.indicator_cell(helper, row)].value
            if _number(v) and _number(h) and v != 0 and same(float(h), float(v) * 100):
                cell.number_format = PERCENT


def _shown(v):
    """What a formula cell shows, as the cached value of a file would hold it: "#DIV/0!" is an error, not text."""
    return rt.ERRORS[v] if isinstance(v, str) and v in rt.ERRORS else v


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
