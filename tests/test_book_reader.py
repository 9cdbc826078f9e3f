"""The reading Book (xlperf.package.book) gives what openpyxl's load gives: every cell's value, type and number
format, the used range, the merged ranges, and (for formula cells) what a data_only load gives. Checked on the
real Excel files at hand, on the repository's published tables and master workbooks, and on generated sheets."""
from __future__ import annotations

import datetime as dt
import io
import warnings
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.worksheet.formula import ArrayFormula

from xlperf.package.book import Book
from xlperf.package.opc import Package

from .test_package_writer import POI, POI_FILES

CORPUS = Path(__file__).resolve().parent / "corpus"


def _shown(cell) -> tuple:
    v = cell.value
    if isinstance(v, ArrayFormula):
        v = ("array", v.ref, v.text)
    elif type(v).__name__ == "DataTableFormula":
        v = ("table", tuple(sorted(dict(v).items())))
    return v, type(v).__name__, cell.data_type if cell.value is not None else None, cell.number_format


def differences(data: bytes) -> list:
    """Every way the Book read of data differs from openpyxl's (empty: none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(data))
        values = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    book = Book(Package.from_bytes(data))
    out = []
    if wb.sheetnames != book.sheetnames:
        return [("sheets", wb.sheetnames, book.sheetnames)]
    for ws in wb.worksheets:
        read = book[ws.title]
        if _used_range(ws) != (read.max_row, read.max_column):
            out.append(("used range", ws.title, _used_range(ws), (read.max_row, read.max_column)))
        for (r, c), cell in ws._cells.items():
            if _shown(cell) != _shown(read.cell(r, c)):
                out.append((ws.title, cell.coordinate, _shown(cell), _shown(read.cell(r, c))))
        kept = {k for k, cell in ws._cells.items() if cell.value is not None}
        if set(read._cells) != kept:
            out.append(("cells", ws.title, sorted(set(read._cells) ^ kept)[:5]))
        if sorted(map(str, ws.merged_cells.ranges)) != sorted(map(str, read.merged_cells.ranges)):
            out.append(("merged", ws.title))
        if {k: v.attr_text for k, v in ws.defined_names.items()} != {k: v.attr_text for k, v in read.defined_names.items()}:
            out.append(("sheet names", ws.title))
        for (r, c), cell in values[ws.title]._cells.items():
            got = read.cell(r, c).cached
            if cell.value != got or type(cell.value) is not type(got):
                out.append(("stored", ws.title, cell.coordinate, cell.value, got))
    if {k: v.attr_text for k, v in wb.defined_names.items()} != {k: v.attr_text for k, v in book.defined_names.items()}:
        out.append(("defined names",))
    return out


def _used_range(ws) -> tuple[int, int]:
    """openpyxl's max_row and max_column, leaving out the empty cells it makes for a comment or a hyperlink
    (the Book does not read comments; no value is there either way)."""
    keys = [k for k, c in ws._cells.items()
            if not (c.value is None and (getattr(c, "comment", None) or getattr(c, "hyperlink", None)))]
    for rng in ws.merged_cells.ranges:
        keys.append((rng.max_row, rng.max_col))
    return max([r for r, _ in keys], default=1), max([c for _, c in keys], default=1)


def _openpyxl_reads(data: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            openpyxl.load_workbook(io.BytesIO(data)).close()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not POI_FILES, reason="../shared/corpus/excel-real/poi 不在此处")
@pytest.mark.parametrize("name", POI_FILES or ["-"])
def test_every_real_excel_file_reads_as_openpyxl_reads_it(name):
    """Apache POI's test files, written by Excel over the years: shared and array formulas, dates in both
    epochs, rich and inline text, errors, merged ranges, chart sheets."""
    from xlperf.safety import WriteRefused
    from xlperf.workbook_io import UnreadableWorkbook, read_book

    data = (POI / name).read_bytes()
    if not _openpyxl_reads(data):
        pytest.skip("openpyxl cannot read it either: xlperf refuses it with a message (test_package_writer)")
    try:
        read_book(POI / name)
    except WriteRefused:
        pytest.skip("not a package the writer can change (two members of one name): recalc refuses it anyway")
    except UnreadableWorkbook as exc:
        assert "Strict" in str(exc), str(exc)  # refused before reading, as open_workbook refuses it
        pytest.skip("Strict Open XML: refused by every command")
    assert differences(data) == []


def test_published_tables_and_master_workbooks_read_as_openpyxl_reads_them(tmp_path):
    from typer.testing import CliRunner

    from xlperf.cli import app

    files = sorted(CORPUS.glob("*.xlsx"))
    book = tmp_path / "主表.xlsx"
    assert CliRunner().invoke(app, ["new", str(book), "--projects", "3", "--example"]).exit_code == 0
    done = tmp_path / "已计算.xlsx"
    CliRunner().invoke(app, ["recalc", str(book), "-o", str(done)])
    files += [book, done, Path(__file__).resolve().parents[1] / "workbook_templates" / "绩效自评模板.xlsx"]
    assert len(files) > 20
    for path in files:
        assert differences(path.read_bytes()) == [], path.name


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
_VALUES = st.one_of(
    st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=64),
    _TEXT, st.booleans(), st.sampled_from(["=A1+1", "=SUM(A1:B2)", '="x"&B1', "=1/0", "=TODAY()"]),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)))
_FORMATS = st.sampled_from(["General", "0.00", "0.00%", "0%", "yyyy-mm-dd", "@", "#,##0.00", "h:mm:ss",
                            '0.0"万元"', "[$-804]yyyy\"年\"m\"月\"d\"日\""])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(st.tuples(st.integers(1, 30), st.integers(1, 12), _VALUES, _FORMATS), max_size=40),
       merges=st.lists(st.tuples(st.integers(1, 25), st.integers(1, 8), st.integers(0, 3), st.integers(0, 3)),
                       max_size=3),
       date1904=st.booleans())
def test_generated_sheets_read_as_openpyxl_reads_them(cells, merges, date1904):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "录入"
    if date1904:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    for r, c, value, fmt in cells:
        cell = ws.cell(r, c)
        try:
            cell.value = value
        except (ValueError, TypeError):
            continue  # a text openpyxl itself will not store
        cell.number_format = fmt
    taken: set[tuple[int, int]] = set()
    for r, c, dr, dc in merges:
        area = {(r + i, c + j) for i in range(dr + 1) for j in range(dc + 1)}
        if len(area) > 1 and not area & taken:
            ws.merge_cells(start_row=r, start_column=c, end_row=r + dr, end_column=c + dc)
            taken |= area
    wb.create_sheet("另一张")["A1"] = "=录入!A1"
    out = io.BytesIO()
    wb.save(out)
    assert differences(out.getvalue()) == []
