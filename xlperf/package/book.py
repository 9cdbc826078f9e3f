"""A read-only workbook over a Package: what the readers and the cross-check ask of an openpyxl Workbook.

    book = Book(package, leave_out=[...])          # sheet names, defined names, styles: read now
    ws = book["项目1"]; ws["B2"].value; ws.cell(24, 5); ws.iter_rows(...); ws.merged_cells.ranges
    ws["H24"].cached                               # a formula's stored result, as openpyxl data_only reads it

Each worksheet part is read in one streaming lxml pass; a cell keeps its value (a formula as openpyxl gives it:
"=…", ArrayFormula, shared formulas translated to the cell), its data type and style, and for a formula cell the
result the file stores beside it, so no second load is needed for cached values. Only cells holding something
are kept (an empty cell's number format is kept apart when it is not General): a master workbook of a thousand
input sheets reads in a fraction of openpyxl's time and memory. The cell-level decisions are openpyxl's own
(`WorkSheetParser.parse_cell`), so values, types and formats are the ones an openpyxl load gives; the tests
compare the two on every real Excel file at hand.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from lxml import etree
from openpyxl.cell.cell import get_column_letter
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange

from .graft import sheets as package_sheets
from .opc import Package

_M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL, _ROW, _MERGE, _VALUE = _M + "c", _M + "row", _M + "mergeCell", _M + "v"
_GENERAL = "General"


class BookCell:
    """One cell: openpyxl's value and data_type, its style index, and a formula's stored result (raw)."""

    __slots__ = ("parent", "row", "column", "value", "data_type", "style_id", "_kind", "_text")

    def __init__(self, parent: "BookSheet", row: int, column: int, value=None, data_type: str = "n",
                 style_id: int = 0, kind: str | None = None, text: str | None = None):
        self.parent, self.row, self.column = parent, row, column
        self.value, self.data_type, self.style_id = value, data_type, style_id
        self._kind, self._text = kind, text  # a formula's stored result as written (<c t=…><v>text</v>)

    @property
    def coordinate(self) -> str:
        return f"{get_column_letter(self.column)}{self.row}"

    @property
    def column_letter(self) -> str:
        return get_column_letter(self.column)

    @property
    def number_format(self) -> str:
        return self.parent.parent.number_format(self.style_id)

    @property
    def cached(self):
        """What openpyxl's data_only load gives for this cell: a formula's stored result (None without one)."""
        if self.data_type != "f":
            return self.value
        if self._text is None:
            return None
        return self.parent.parent.stored_value((self._kind, self._text), self.style_id)

    @property
    def stored(self) -> tuple[str, str] | None:
        """A formula cell's stored result as written: (its t attribute, the text of <v>)."""
        return None if self._text is None else (self._kind, self._text)

    def __repr__(self) -> str:
        return f"<BookCell {self.parent.title!r}.{self.coordinate}>"


class BookSheet:
    """One worksheet's cells (parsed when the book is made), with the openpyxl Worksheet calls xlperf uses."""

    def __init__(self, parent: "Book", title: str, state: str = "visible"):
        self.parent, self.title, self.sheet_state = parent, title, state
        self._cells: dict[tuple[int, int], BookCell] = {}
        self._formats: dict[tuple[int, int], int] = {}  # style of an empty cell whose number format is not General
        self.merged_cells = MultiCellRange()
        self.defined_names: dict[str, DefinedName] = {}
        self._max_row = self._max_column = 0

    # ---- what openpyxl's Worksheet offers --------------------------------------------------
    @property
    def max_row(self) -> int:
        return max(self._max_row, 1)

    @property
    def max_column(self) -> int:
        return max(self._max_column, 1)

    def cell(self, row: int, column: int) -> BookCell:
        found = self._cells.get((row, column))
        if found is None:  # a blank cell, not kept (openpyxl would create it)
            found = BookCell(self, row, column, style_id=self._formats.get((row, column), 0))
        return found

    def __getitem__(self, key):
        if isinstance(key, int):
            return tuple(self.cell(key, c) for c in range(1, self.max_column + 1))
        if ":" not in key:
            row, column = coordinate_to_tuple(key)
            return self.cell(row, column)
        min_col, min_row, max_col, max_row = range_boundaries(key)
        return tuple(self.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col))

    def iter_rows(self, min_row: int | None = None, max_row: int | None = None, min_col: int | None = None,
                  max_col: int | None = None, values_only: bool = False):
        if not self._cells and not self._formats and not any((min_row, max_row, min_col, max_col)):
            return
        min_row, min_col = min_row or 1, min_col or 1
        max_row, max_col = max_row or self.max_row, max_col or self.max_column
        for r in range(min_row, max_row + 1):
            cells = tuple(self.cell(r, c) for c in range(min_col, max_col + 1))
            yield tuple(c.value for c in cells) if values_only else cells

    def number_format_at(self, row: int, column: int) -> str:
        return self.cell(row, column).number_format

    def __repr__(self) -> str:
        return f"<BookSheet {self.title!r}>"


@dataclass(frozen=True)
class OtherSheet:
    """A chart sheet (or a sheet of a kind with no cells): listed by name, nothing to read."""
    title: str
    sheet_state: str = "visible"


class Book:
    """The sheets of a package as the readers see them. leave_out: sheets not read at all (not listed either)."""

    def __init__(self, package: Package, leave_out=()):
        self.package = package
        workbook = package.main_document()
        root = etree.fromstring(package.read(workbook), _SAFE)  # damage surfaces as the XML error it is
        pr = root.find(_M + "workbookPr")
        flag = pr.get("date1904") if pr is not None else None  # openpyxl's Bool: anything but false/f/0 is true
        self.epoch = MAC_EPOCH if flag and flag not in ("false", "f", "0") else WINDOWS_EPOCH
        self._styles()
        strings = package.related_part(workbook, "sharedStrings")
        self.shared_strings = read_string_table(io.BytesIO(package.blob(strings))) if strings else []
        self.left_out = tuple(leave_out)
        self._texts: dict[str, str] = {}  # one copy of each formula text: input sheets repeat them cell for cell
        skip = {n.casefold() for n in leave_out}
        self._sheets: dict[str, BookSheet | OtherSheet] = {}
        listed = package_sheets(package)
        states = {el.get("name"): el.get("state") or "visible" for el in root.iter(_M + "sheet")}
        for s in listed:
            if s.part is None or s.title.casefold() in skip:
                continue
            state = states.get(s.title, "visible")
            if "chartsheet" in s.kind or "dialogsheet" in s.kind:
                self._sheets[s.title] = OtherSheet(s.title, state)
                continue
            ws = BookSheet(self, s.title, state)
            _read_cells(ws, package.read(s.part), self._texts)
            self._sheets[s.title] = ws
        self.defined_names: dict[str, DefinedName] = {}
        self._defined_names(root, [s.title for s in listed])
        self._stored_parser = self._parser(data_only=True)

    # ---- the workbook calls xlperf uses ------------------------------------------------------
    @property
    def sheetnames(self) -> list[str]:
        return list(self._sheets)

    @property
    def worksheets(self) -> list[BookSheet]:
        return [ws for ws in self._sheets.values() if isinstance(ws, BookSheet)]

    def __getitem__(self, name: str):
        try:
            return self._sheets[name]
        except KeyError:
            raise KeyError(f"Worksheet {name} does not exist.") from None

    def __contains__(self, name: str) -> bool:
        return name in self._sheets

    def __iter__(self):
        return iter(self.worksheets)

    def release(self) -> None:
        """Forget every cell (the names stay): once the sheets are scored, their memory is the writer's."""
        for ws in self.worksheets:
            ws._cells, ws._formats = {}, {}
        self._texts.clear()

    # ---- formats and stored values ---------------------------------------------------------------
    def _styles(self) -> None:
        name = self.package.related_part(self.package.main_document(), "styles")
        self._formats, self._dates, self._timedeltas = [_GENERAL], set(), set()
        if not name:
            return
        sheet = Stylesheet.from_tree(etree.fromstring(self.package.read(name), _SAFE))  # openpyxl's own reading
        formats = []
        for style in sheet.cell_styles:
            i = style.numFmtId
            formats.append(BUILTIN_FORMATS.get(i, _GENERAL) if i < BUILTIN_FORMATS_MAX_SIZE
                           else sheet.number_formats[i - BUILTIN_FORMATS_MAX_SIZE])
        self._formats = formats or [_GENERAL]
        self._dates, self._timedeltas = set(sheet.date_formats), set(sheet.timedelta_formats)

    def number_format(self, style_id: int) -> str:
        return self._formats[style_id] if 0 <= style_id < len(self._formats) else _GENERAL

    def stored_value(self, stored: tuple[str, str], style_id: int):
        """A formula's stored result as openpyxl's data_only load reads it."""
        kind, text = stored
        element = etree.Element(_CELL, {"t": kind, "s": str(style_id)} if kind != "n" else {"s": str(style_id)})
        etree.SubElement(element, _VALUE).text = text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a date out of range: openpyxl's English warning, its "#VALUE!" kept
            return self._stored_parser.parse_cell(element)["value"]

    def _parser(self, data_only: bool = False) -> WorkSheetParser:
        return WorkSheetParser(None, self.shared_strings, data_only=data_only, epoch=self.epoch,
                               date_formats=self._dates, timedelta_formats=self._timedeltas)

    def _defined_names(self, root, titles: list[str]) -> None:
        names = root.find(_M + "definedNames")
        for el in (names if names is not None else ()):
            name = el.get("name") or ""
            defined = DefinedName(name, attr_text=el.text or "", localSheetId=el.get("localSheetId"))
            local = el.get("localSheetId")
            if local is None:
                self.defined_names[name] = defined
                continue
            try:
                title = titles[int(local)]
            except (ValueError, IndexError):
                continue
            ws = self._sheets.get(title)
            if isinstance(ws, BookSheet) and defined.is_reserved is None:  # print areas etc. are not names to openpyxl
                ws.defined_names[name] = defined


def _row_number(r: str) -> int:
    try:
        return int(r)
    except ValueError:
        value = float(r)
        if not value.is_integer():
            raise ValueError(f"{r} is not a valid row number") from None
        return int(value)


# "H24" → (24, 8), one tuple for every sheet: input sheets use the same few hundred cells, each a key of each sheet
_COORDINATES: dict[str, tuple[int, int]] = {}
_KEYS: dict[tuple[int, int], tuple[int, int]] = {}
_SHARED_MAX = 200_000


def _coordinate(ref: str) -> tuple[int, int]:
    found = _COORDINATES.get(ref)
    if found is None:
        found = _key(*coordinate_to_tuple(ref))
        if len(_COORDINATES) < _SHARED_MAX:
            _COORDINATES[ref] = found
    return found


def _key(row: int, column: int) -> tuple[int, int]:
    key = (row, column)
    found = _KEYS.get(key)
    if found is None:
        if len(_KEYS) >= _SHARED_MAX:
            return key
        _KEYS[key] = found = key
    return found


_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                        remove_pis=True)
_INLINE, _TEXT, _FORMULA = _M + "is", _M + "t", _M + "f"


def _read_cells(ws: BookSheet, data: bytes, texts: dict[str, str]) -> None:
    """One parse of a worksheet part: its rows, cells and merged ranges. openpyxl's parse_cell decides every
    value that is not plainly empty or a plain inline string (those two are most of a master workbook's cells)."""
    book = ws.parent
    parser = book._parser()
    cells, formats = ws._cells, ws._formats
    max_row = max_col = 0
    root = etree.fromstring(data, _SAFE)
    data_el = root.find(_M + "sheetData")
    for row_el in (data_el if data_el is not None else ()):
        if row_el.tag != _ROW:
            continue
        r = row_el.get("r")
        row = parser.row_counter = _row_number(r) if r else parser.row_counter + 1  # cells without r count on
        parser.col_counter = 0
        for el in row_el:
            if el.tag != _CELL:
                continue
            ref = el.get("r")
            style = el.get("s")
            style = int(style) if style else 0
            if len(el) == 0:  # no <v>, <f> or <is>: an empty (formatted) cell
                if ref:
                    row, column = _coordinate(ref)
                    parser.col_counter = column
                else:
                    parser.col_counter += 1
                    column = parser.col_counter
                value = None
            elif el.get("t") == "inlineStr" and len(el) == 1 and el[0].tag == _INLINE and len(el[0]) == 1 \
                    and el[0][0].tag == _TEXT and el[0][0].text is not None and ref:
                key = _coordinate(ref)
                row, column = key
                parser.col_counter = column
                value = el[0][0].text  # what openpyxl's Text(t=…).content gives
                value = texts.setdefault(value, value)  # labels repeat in every input sheet
                cells[key] = BookCell(ws, row, column, value, "s", style)
            else:
                c = parser.parse_cell(el)
                row, column, value = c["row"], c["column"], c["value"]
                if value is not None:
                    kind = text = None
                    if c["data_type"] == "f":
                        v = el.find(_VALUE)
                        if v is not None and v.text is not None:
                            kind, text = el.get("t", "n"), texts.setdefault(v.text, v.text)
                    if isinstance(value, str):  # formulas and labels repeat cell for cell in every input sheet
                        value = texts.setdefault(value, value)
                    cells[_key(row, column)] = BookCell(ws, row, column, value, c["data_type"], style, kind, text)
            if value is None and style and book.number_format(style) != _GENERAL:
                formats[_key(row, column)] = style
            if row > max_row:
                max_row = row
            if column > max_col:
                max_col = column
    merges = root.find(_M + "mergeCells")
    ranges = [CellRange(el.get("ref")) for el in (merges if merges is not None else ())
              if el.tag == _MERGE and el.get("ref")]
    ws.merged_cells = MultiCellRange(ranges)  # at once: adding one by one compares each with all before it
    for rng in ranges:
        for row, column in list(rng.cells)[1:]:  # openpyxl: only the top-left cell of a merged range keeps its content
            cells.pop((row, column), None)
            formats.pop((row, column), None)
        max_row, max_col = max(max_row, rng.max_row), max(max_col, rng.max_col)
    ws._max_row, ws._max_column = max_row, max_col
