"""A sheet whose used range is too large is refused from the package's XML, before openpyxl loads anything.

The sheets are written here as XML straight into a zip (no binary fixtures).
Nothing is timed: each test replaces openpyxl's loader with one that fails the
test if it is ever called, and the bounded cost is shown by the bytes read.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner

from xlperf import workbook_io
from xlperf.cli import app
from xlperf.workbook_io import UnreadableWorkbook, open_workbook

SHEET = "明细"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{SHEET}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>'),
}


def sheet_xml(rows: int, cols: int, dimension: str | None, prefix: str = "") -> bytes:
    """A worksheet part with rows × cols numeric cells, and the <dimension> the writer declares (None: none)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    letters = [get_column_letter(c) for c in range(1, cols + 1)]
    out = [f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {xmlns}>']
    if dimension:
        out.append(f'<{p}dimension ref="{dimension}"/>')
    out.append(f"<{p}sheetData>")
    for r in range(1, rows + 1):
        out.append(f'<{p}row r="{r}">' + "".join(f'<{p}c r="{col}{r}"><{p}v>{r}</{p}v></{p}c>' for col in letters)
                   + f"</{p}row>")
    out.append(f"</{p}sheetData></{p}worksheet>")
    return "".join(out).encode()


def write_book(path: Path, sheet: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


class LoaderCalled(BaseException):
    """Not an Exception: open_workbook's own `except Exception` cannot turn it into a refusal."""


@pytest.fixture
def no_load(monkeypatch):
    """Every way xlperf could reach openpyxl's loader now fails the test."""
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise LoaderCalled("openpyxl.load_workbook was called")

    monkeypatch.setattr(workbook_io, "load_workbook", forbidden)
    monkeypatch.setattr(openpyxl, "load_workbook", forbidden)
    monkeypatch.setattr(openpyxl.reader.excel, "load_workbook", forbidden)
    yield calls
    assert not calls


def test_huge_declared_dimension_is_refused_before_loading(tmp_path, no_load):
    """The real limit: a dimension of the whole grid over 3 000 real cells; the head of the part is enough."""
    path = write_book(tmp_path / "整张表.xlsx", sheet_xml(300, 10, "A1:XFD1048576"))
    with pytest.raises(UnreadableWorkbook) as info:
        open_workbook(path)
    message = str(info.value)
    assert f"工作表“{SHEET}”已用区域为 A1:XFD1048576" in message
    assert f"超过上限 {workbook_io.MAX_SHEET_CELLS}" in message and "整张表.xlsx" in message


def test_just_over_the_limit_by_dimension(tmp_path, monkeypatch, no_load):
    monkeypatch.setattr(workbook_io, "MAX_SHEET_CELLS", 1000)
    path = write_book(tmp_path / "a.xlsx", sheet_xml(101, 10, "A1:J101"))  # 1 010 cells
    with pytest.raises(UnreadableWorkbook, match="已用区域为 A1:J101（约 1010 个单元格），超过上限 1000"):
        open_workbook(path)


@pytest.mark.parametrize("dimension", [None, "A1"], ids=["no-dimension", "lying-dimension"])
def test_cells_are_counted_when_the_dimension_is_missing_or_wrong(tmp_path, monkeypatch, no_load, dimension):
    monkeypatch.setattr(workbook_io, "MAX_SHEET_CELLS", 1000)
    path = write_book(tmp_path / "计数.xlsx", sheet_xml(200, 10, dimension))  # 2 000 cells
    with pytest.raises(UnreadableWorkbook) as info:
        open_workbook(path)
    assert f"工作表“{SHEET}”含" in str(info.value) and "已用区域超过上限 1000" in str(info.value)


def test_prefixed_namespace_cells_are_counted(tmp_path, monkeypatch, no_load):
    monkeypatch.setattr(workbook_io, "MAX_SHEET_CELLS", 1000)
    path = write_book(tmp_path / "前缀.xlsx", sheet_xml(200, 10, None, prefix="x"))
    with pytest.raises(UnreadableWorkbook, match="已用区域超过上限 1000"):
        open_workbook(path)


def test_counting_stops_as_soon_as_the_limit_is_passed(tmp_path, monkeypatch, no_load):
    """The cost of a refusal is bounded: the part is not streamed to its end once there are too many cells."""
    monkeypatch.setattr(workbook_io, "MAX_SHEET_CELLS", 2000)
    monkeypatch.setattr(workbook_io, "_SCAN_CHUNK", 1 << 16)
    sheet = sheet_xml(20_000, 10, None)  # 200 000 cells, about 6 MB of XML
    path = write_book(tmp_path / "大.xlsx", sheet)
    read = {"bytes": 0}
    original = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = original(self, n)
        if self.name == "xl/worksheets/sheet1.xml":
            read["bytes"] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    with pytest.raises(UnreadableWorkbook, match="已用区域超过上限 2000"):
        open_workbook(path)
    assert 0 < read["bytes"] <= 2 * (1 << 16) < len(sheet) // 20


def test_cells_split_across_chunks_are_counted_once(tmp_path, monkeypatch):
    """Exactly at the limit is allowed, one more cell is not, whatever the chunk size."""
    for chunk in (4097, 5000, 1 << 20):
        monkeypatch.setattr(workbook_io, "_SCAN_CHUNK", chunk)
        monkeypatch.setattr(workbook_io, "MAX_SHEET_CELLS", 1500)
        ok = write_book(tmp_path / f"ok{chunk}.xlsx", sheet_xml(150, 10, None))
        assert open_workbook(ok)[SHEET].max_row == 150
        monkeypatch.setattr(workbook_io, "MAX_SHEET_CELLS", 1499)
        with pytest.raises(UnreadableWorkbook, match="含 1500 个以上单元格"):
            open_workbook(ok)


def test_a_sheet_within_the_limits_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook_io, "MAX_SHEET_CELLS", 1000)
    path = write_book(tmp_path / "正常.xlsx", sheet_xml(100, 10, "A1:J100"))  # exactly 1 000
    ws = open_workbook(path)[SHEET]
    assert (ws.max_row, ws.max_column, ws["J100"].value) == (100, 10, 100)


def test_read_only_opening_streams_and_is_not_limited(tmp_path):
    """A read-only load never holds the cells: the size limit is for full loads (as before)."""
    path = write_book(tmp_path / "只读.xlsx", sheet_xml(3, 2, "A1:XFD1048576"))
    wb = open_workbook(path, read_only=True)
    assert [row for row in wb[SHEET].iter_rows(max_row=1, values_only=True)][0][:2] == (1, 1)
    wb.close()


def test_every_command_refuses_with_exit_2_and_never_loads(tmp_path, no_load):
    path = write_book(tmp_path / "整张表.xlsx", sheet_xml(300, 10, "A1:XFD1048576"))
    runner = CliRunner()
    for command in (["check", str(path)], ["recalc", str(path)], ["export", str(path)]):
        result = runner.invoke(app, command, catch_exceptions=False)
        assert result.exit_code == 2, (command, result.stdout, result.stderr)
        assert "已用区域为 A1:XFD1048576" in " ".join(result.stderr.split()).replace(" ", "") or \
            "已用区域为A1:XFD1048576" in result.stderr.replace(" ", "").replace("\n", ""), result.stderr
