"""The tables and paragraphs of a Word 自评报告 (.docx), read so that the workbook check runs on them.

Reviewers receive the report as a Word document: the 预算执行情况 table, four small score
tables, the narrative and the 附件1 at the end. Each table becomes a sheet named 表N (N its
number in document order, from 1) of an in-memory workbook: a cell's text is the cell's value,
a merged cell (gridSpan across columns, vMerge down rows, or the old hMerge) a merged range,
so `Grid`, `annex_tables_in` and `budget_blocks_in` read it as they read a sheet a person typed.

Counting, as a reviewer finds things in Word:
* 表N: the document's tables in order, from 1 (tables inside content controls too); a table nested
  in another table's cell is not a table of its own and is not read.
* R{row}C{column}: the row and column of the table's grid, from 1 (a merged cell is named by its
  first row and column).
* 段落N: the paragraphs of the body outside tables that show some text, in order, from 1 (blank
  lines are not counted, as Word's 字数统计 does not count them).

Before anything is parsed the package passes the checks workbooks pass (`xlperf.workbook_io`:
entries, declared sizes, compression ratio), then every member is decompressed once in chunks
with its real size counted (a member holding more than the zip directory declares is refused,
memory bounded whatever the header says) and every XML part's prologue parsed up to its root
element (a DOCTYPE anywhere there is refused); python-docx then parses with lxml without
resolving entities. A table whose grid cannot be placed (a span or gridBefore beyond
MAX_TABLE_COLUMNS) is kept as an empty table with a `problem`, which check reports; a negative
or junk one counts as none. An encrypted document (an OLE container with EncryptionInfo) is
decrypted in memory with --password; .doc and .wps are converted by LibreOffice with --convert.
"""
from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.worksheet import Worksheet

from .. import workbook_io as wio
from ..workbook_io import UnreadableWorkbook, _check_path, read_options
from .annex_table import Grid

DOCUMENT_SUFFIXES = (".docx", ".docm", ".dotx", ".dotm", ".doc", ".dot", ".wps", ".wpt")
BINARY_SUFFIXES = (".doc", ".dot", ".wps", ".wpt")  # read through LibreOffice (--convert)
BODY_SHEET = "正文"  # the `sheet` of a finding about a paragraph
TABLE_SHEET = "表{}"

# ---- limits (module constants so that tests can lower them) ------------------------------
MAX_TABLE_COLUMNS = 200  # Word allows 63
MAX_GRID_CELLS = 500_000  # rows × columns of all tables together; a report has a few hundred
MAX_DOCUMENT_XML = 200 << 20  # word/document.xml uncompressed; a report's is well under 5 MB

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_MAIN_TYPES = (  # a macro-enabled document or a template is read as the document it holds
    b"application/vnd.ms-word.document.macroEnabled.main+xml",
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    b"application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
)
_DOCUMENT_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
BINARY_NAMES = {
    ".doc": "Word 97-2003 文档（.doc）", ".dot": "Word 97-2003 模板（.dot）",
    ".wps": "WPS 文字文件（.wps）", ".wpt": "WPS 文字模板（.wpt）",
}
HOW_TO_CONVERT = ("请在 Word 或 WPS 中打开，“文件 → 另存为”，保存类型选“Word 文档(*.docx)”后再审核；"
                  "已安装 LibreOffice 时也可加 --convert 选项，由 xlperf 转换一份副本后继续（原文件不变）")


class UnreadableDocument(UnreadableWorkbook):
    """The file cannot be read as a Word report; str(exc) is the Chinese message (exit code 2)."""


@dataclass(frozen=True)
class DocTable:
    """One table of the document as a grid: text by (row, column) and the merged ranges."""

    number: int  # 1-based, in document order
    position: int  # index among the body's paragraphs and tables (document order)
    cells: dict[tuple[int, int], str]  # non-empty cells only, at their range's first cell
    merges: tuple[tuple[int, int, int, int], ...]  # (min_col, min_row, max_col, max_row), as openpyxl's bounds
    max_row: int
    max_column: int
    problem: str | None = None  # why the table's grid could not be placed (it is then read as empty)

    @property
    def sheet(self) -> str:
        return TABLE_SHEET.format(self.number)

    def text(self, row: int, column: int) -> str:
        return self.cells.get((row, column), "")


@dataclass(frozen=True)
class DocParagraph:
    number: int  # 1-based among the body's paragraphs outside tables that show text
    position: int
    text: str


@dataclass(frozen=True)
class WordDocument:
    path: Path
    tables: tuple[DocTable, ...]
    paragraphs: tuple[DocParagraph, ...]
    converted_from: str | None = None


def _name(path: Path) -> str:
    return f"“{path.name or path}”"


# ---- the entry point ---------------------------------------------------------------------
def read_document(path: Path) -> WordDocument:
    """Every table and paragraph of the Word document at path; UnreadableDocument with a Chinese message."""
    path = Path(path)
    data, converted = _package_bytes(path)
    _inspect(path, data)
    data = _as_document(data)
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except UnreadableWorkbook:
        raise
    except MemoryError:
        raise UnreadableDocument(f"{_name(path)} 太大，内存不足，无法读取") from None
    except Exception as exc:  # python-docx and lxml raise many kinds; the user needs one message
        raise UnreadableDocument(
            f"无法读取 {_name(path)}：文件已损坏或不是 Word 文档（{type(exc).__name__}）；"
            "请在 Word 或 WPS 中打开后“另存为”新的 .docx 再试") from None
    tables, paragraphs = _blocks(path, document.element.body)
    return WordDocument(path=path, tables=tuple(tables), paragraphs=tuple(paragraphs), converted_from=converted)


# ---- the file, before parsing -----------------------------------------------------------
def _package_bytes(path: Path) -> tuple[bytes, str | None]:
    """(the .docx package to read, the original format's name when LibreOffice converted it)."""
    head = _head(path)
    suffix = path.suffix.lower()
    opts = read_options()
    if head.startswith(wio.CFB_MAGIC):
        if wio._cfb_is_encrypted(path):
            if not opts.password:
                raise UnreadableDocument(
                    f"{_name(path)} 已设置打开密码（文件已加密），无法读取。请加 --password 密码 选项"
                    "（或设置环境变量 XLPERF_PASSWORD），xlperf 只在内存中解密，不会把解密后的文件写到磁盘；"
                    "也可请报送单位在 Word 中“文件 → 信息 → 保护文档 → 用密码进行加密”清除密码后重新报送")
            return wio._decrypt(path, opts.password).getvalue(), None
        kind = BINARY_NAMES.get(suffix, "Word 97-2003（.doc）或 WPS（.wps）二进制格式")
        return _converted(path, kind, opts.convert), kind
    if head.startswith((wio.ZIP_MAGIC, wio.EMPTY_ZIP_MAGIC)):
        try:
            return path.read_bytes(), None
        except OSError as exc:
            from ..safety import os_reason

            raise UnreadableDocument(f"无法读取 {_name(path)}（{os_reason(exc)}）") from None
    sample = head.lstrip(b"\xef\xbb\xbf").lstrip()[:200].lower()
    if sample.startswith((b"{\\rtf", b"<html", b"<!doctype html", b"<?xml")) and suffix in BINARY_SUFFIXES + (".docx",):
        kind = "RTF 或网页格式的文档（常见于从业务系统导出的 .doc）"
        return _converted(path, kind, opts.convert), kind
    raise UnreadableDocument(f"{_name(path)} 不是有效的 Word 文档（.docx）：文件已损坏，或根本不是 Word 文件；"
                             "请用 Word 或 WPS 打开确认，必要时另存为 .docx")


def _head(path: Path) -> bytes:
    return _check_path(path, "Word 文档", ".docx", UnreadableDocument)


_CONVERTED: dict[tuple, bytes] = {}  # one conversion per file per run


def _converted(path: Path, kind: str, convert: bool) -> bytes:
    """A .doc/.wps converted to .docx by LibreOffice in a private temporary folder (the original is never touched)."""
    if not convert:
        raise UnreadableDocument(f"{_name(path)} 是{kind}，xlperf 只能直接读取 .docx 文档。{HOW_TO_CONVERT}")
    from .. import libreoffice

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key in _CONVERTED:
        return _CONVERTED[key]
    if not libreoffice.available():
        raise UnreadableDocument(f"{_name(path)} 是{kind}；未找到 LibreOffice，无法用 --convert 自动转换。"
                                 "请在 Word 或 WPS 中另存为 .docx，或安装 LibreOffice 后重试")
    work = Path(tempfile.mkdtemp(prefix="xlperf-convert-"))
    try:
        staged = work / f"source{path.suffix.lower() or '.doc'}"  # a plain name: LibreOffice picks the filter from the content
        shutil.copyfile(path, staged)
        try:
            out = libreoffice.convert(staged, "docx:MS Word 2007 XML", work)
        except libreoffice.LibreOfficeError as exc:
            raise UnreadableDocument(f"LibreOffice 无法转换 {_name(path)}（{kind}）：{str(exc).splitlines()[0]}；"
                                     "请在 Word 或 WPS 中另存为 .docx（LibreOffice 需要安装文字处理组件 Writer）") from None
        data = out.read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _CONVERTED[key] = data
    return data


def _inspect(path: Path, data: bytes) -> None:
    """The package checks of workbooks (xlperf.workbook_io), from the zip directory, before anything is parsed;
    then every member decompressed once in chunks (`_stream_member`): its real size, its DOCTYPE."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise UnreadableDocument(f"{_name(path)} 已损坏：不是完整的 .docx 压缩包（可能下载或复制不完整）；"
                                 "请找回原文件，或在 Word/WPS 中打开后“另存为”新的 .docx") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > wio.MAX_ENTRIES:
            raise UnreadableDocument(f"{_name(path)} 含 {len(infos)} 个内部文件，超过上限 {wio.MAX_ENTRIES}，"
                                     "不像正常的 Word 文档（可能是恶意构造的文件），已拒绝读取")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise UnreadableDocument(f"{_name(path)} 的内部文件被 zip 密码加密，不是 Word 的加密方式，无法读取")
            total += info.file_size
            if info.file_size > wio.RATIO_MIN_SIZE and info.file_size > wio.MAX_RATIO * max(info.compress_size, 1):
                raise UnreadableDocument(
                    f"{_name(path)} 的内部文件 {info.filename} 压缩比异常（{info.compress_size} 字节解压后为 {info.file_size} 字节），"
                    "疑似“压缩炸弹”，已拒绝读取")
            if info.filename.startswith("word/") and info.filename.endswith(".xml") and info.file_size > MAX_DOCUMENT_XML:
                raise UnreadableDocument(f"{_name(path)} 的内部文件 {info.filename} 解压后 {info.file_size // (1 << 20)} MB，"
                                         f"超过上限 {MAX_DOCUMENT_XML // (1 << 20)} MB，不像正常的自评报告，已拒绝读取")
        if total > wio.MAX_UNCOMPRESSED:
            raise UnreadableDocument(f"{_name(path)} 解压后共 {total // (1 << 20)} MB，超过上限 "
                                     f"{wio.MAX_UNCOMPRESSED // (1 << 20)} MB，疑似“压缩炸弹”，已拒绝读取")
        names = {i.filename for i in infos}
        if not any(n.startswith("word/") for n in names):
            if any(n.startswith("xl/") for n in names):
                raise UnreadableDocument(f"{_name(path)} 是 Excel 工作簿，不是 Word 文档；请把文件名改为 .xlsx 后用 xlperf check 审核")
            raise UnreadableDocument(f"{_name(path)} 不是 Word 文档（压缩包中没有 word/ 内容）；请选择 .docx 格式的自评报告")
        for info in infos:
            _stream_member(path, zf, info)


def _stream_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """workbook_io.check_member, in a Word document's words."""
    wio.check_member(path, zf, info, UnreadableDocument, "Word 文档", "请找回原文件，或在 Word/WPS 中打开后另存为新的 .docx")


def _as_document(data: bytes) -> bytes:
    """A macro-enabled document (.docm) or a template (.dotx) as python-docx reads a .docx: only the
    main part's content type differs (macros are never run nor read)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        types = zf.read("[Content_Types].xml") if "[Content_Types].xml" in zf.namelist() else b""
        if not any(t in types for t in _MAIN_TYPES):
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in zf.infolist():
                content = zf.read(info.filename)
                if info.filename == "[Content_Types].xml":
                    for t in _MAIN_TYPES:
                        content = content.replace(t, _DOCUMENT_TYPE)
                dst.writestr(info.filename, content)
        return out.getvalue()


# ---- the body in document order ---------------------------------------------------------
_SKIPPED = frozenset({MC_FALLBACK, W + "sectPr", W + "del", W + "moveFrom"})


def _blocks(path: Path, body) -> tuple[list[DocTable], list[DocParagraph]]:
    tables: list[DocTable] = []
    paragraphs: list[DocParagraph] = []
    budget = [MAX_GRID_CELLS]
    position = 0
    for element in _body_blocks(body):
        position += 1
        if element.tag == W + "tbl":
            number = len(tables) + 1
            try:
                tables.append(_table(path, element, number, position, budget))
            except _Unplaceable as exc:
                tables.append(DocTable(number=number, position=position, cells={}, merges=(), max_row=0, max_column=0,
                                       problem=str(exc)))
        else:
            text = _paragraph_text(element)
            if text.strip():
                paragraphs.append(DocParagraph(number=len(paragraphs) + 1, position=position, text=text))
    return tables, paragraphs


def _body_blocks(element):
    """The body's paragraphs and tables in document order, inside content controls (w:sdt) and
    custom XML too; never what is inside a table or a paragraph."""
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIPPED:
            continue
        if tag in (W + "p", W + "tbl"):
            yield child
        else:
            yield from _body_blocks(child)


def _paragraph_text(p) -> str:
    """What a paragraph shows: its text, tabs and line breaks; deleted revisions and field codes left out."""
    parts: list[str] = []

    def walk(node) -> None:
        for child in node:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIPPED or tag == W + "tbl":
                continue
            if tag == W + "t":
                parts.append(child.text or "")
            elif tag == W + "tab":
                parts.append("\t")
            elif tag in (W + "br", W + "cr"):
                parts.append("\n")
            elif tag == W + "noBreakHyphen":
                parts.append("-")
            else:
                walk(child)

    walk(p)
    return "".join(parts)


def _cell_text(tc) -> str:
    """The cell's paragraphs, one line each (a table nested in the cell is left out)."""
    lines = [_paragraph_text(p) for p in _body_blocks(tc) if p.tag == W + "p"]
    return "\n".join(lines).strip()


def _int_attr(element, path: str, default: int) -> int:
    """The integer w:val of the element at path; default when absent or not an integer (1.5, abc, 4,300 digits)."""
    found = element.find(path)
    if found is None:
        return default
    try:
        return int(str(found.get(W + "val")).strip())
    except (TypeError, ValueError):
        return default


class _Unplaceable(Exception):
    """A table whose grid cannot be placed; str(exc) is the Chinese message check reports for it."""


def _merge_kind(tc, name: str) -> str | None:
    """"restart" / "continue" for a w:vMerge or w:hMerge of the cell, None without one (no w:val means continue)."""
    found = tc.find(f"{W}tcPr/{W}{name}")
    if found is None:
        return None
    return found.get(W + "val") or "continue"


def _rows(tbl):
    for child in tbl:
        tag = child.tag
        if tag == W + "tr":
            yield child
        elif isinstance(tag, str) and tag not in (W + "tblPr", W + "tblGrid") and tag not in _SKIPPED:
            yield from _rows(child)  # rows inside a content control or custom XML


def _row_cells(tr):
    for child in tr:
        tag = child.tag
        if tag == W + "tc":
            yield child
        elif isinstance(tag, str) and tag != W + "trPr" and tag not in _SKIPPED:
            yield from _row_cells(child)


def _table(path: Path, tbl, number: int, position: int, budget: list[int]) -> DocTable:
    """The table's grid: each w:tc starts at the column its row has reached (after w:gridBefore) and covers
    w:gridSpan columns; a vMerge="continue" cell extends the range of the cell above, an hMerge one the cell before."""
    anchors: dict[tuple[int, int], tuple[int, int]] = {}  # grid cell → first cell of its range
    ranges: dict[tuple[int, int], list[int]] = {}  # first cell → [min_col, min_row, max_col, max_row]
    texts: dict[tuple[int, int], str] = {}
    max_column = 0
    row = 0
    for row, tr in enumerate(_rows(tbl), start=1):
        # A negative or junk w:gridBefore/w:gridSpan counts as none (0 cells skipped, 1 column spanned); one
        # beyond MAX_TABLE_COLUMNS leaves the table unplaceable: reported by check, never a traceback.
        column = max(0, _int_attr(tr, f"{W}trPr/{W}gridBefore", 0)) + 1
        if column - 1 > MAX_TABLE_COLUMNS:
            raise _Unplaceable(_too_wide(number, column - 1))
        previous: tuple[int, int] | None = None
        for tc in _row_cells(tr):
            span = max(1, _int_attr(tc, f"{W}tcPr/{W}gridSpan", 1))
            last = column + span - 1
            if last > MAX_TABLE_COLUMNS:
                raise _Unplaceable(_too_wide(number, last))
            above = anchors.get((row - 1, column))
            if (_merge_kind(tc, "vMerge") == "continue" and above is not None
                    and ranges[above][0] == column and ranges[above][2] == last):
                ranges[above][3] = row
                anchor = above
            elif _merge_kind(tc, "hMerge") == "continue" and previous is not None and ranges[previous][1] == row:
                ranges[previous][2] = last
                anchor = previous
            else:
                anchor = (row, column)
                ranges[anchor] = [column, row, last, row]
                text = _cell_text(tc)
                if text:
                    texts[anchor] = text
            for c in range(column, last + 1):
                anchors[(row, c)] = anchor
            previous = anchor
            column = last + 1
        max_column = max(max_column, column - 1)
        budget[0] -= max(column - 1, 1)
        if budget[0] < 0:
            raise UnreadableDocument(f"{_name(path)} 的表格共有 {MAX_GRID_CELLS} 个以上单元格，不像正常的自评报告"
                                     "（可能是恶意构造的文件），已拒绝读取")
    merges = tuple(tuple(r) for r in ranges.values() if (r[0], r[1]) != (r[2], r[3]))
    return DocTable(number=number, position=position, cells=texts, merges=merges,  # type: ignore[arg-type]
                    max_row=row, max_column=max_column)


def _too_wide(number: int, columns: int) -> str:
    return (f"表{number}的表格结构异常：某行的单元格排到第 {columns} 列（超过上限 {MAX_TABLE_COLUMNS} 列，Word 最多 63 列，"
            "可能是文件损坏或恶意构造），xlperf 无法确定各单元格的位置，这张表没有核对；"
            "请在 Word 中打开该文档检查这张表，或请报送单位“另存为”新的 .docx 后重新报送")


# ---- tables as sheets -----------------------------------------------------------------
def put_table(wb: Workbook, table: DocTable) -> Worksheet:
    """The table as a sheet 表N of wb: its text at its grid cells, its merged cells merged."""
    ws = wb.create_sheet(table.sheet)
    for (row, column), text in table.cells.items():
        ws.cell(row, column).value = ILLEGAL_CHARACTERS_RE.sub("", text)
    for min_col, min_row, max_col, max_row in table.merges:
        ws.merge_cells(start_row=min_row, start_column=min_col, end_row=max_row, end_column=max_col)
    return ws


def tables_workbook(tables) -> Workbook:
    """A workbook of values (as the check reads one) with one sheet per table."""
    wb = Workbook()
    wb.remove(wb.active)
    for table in tables:
        put_table(wb, table)
    return wb


def table_grid(table: DocTable) -> Grid:
    """The Grid the checker reads, as for a sheet with the same cells and merged ranges."""
    return Grid(tables_workbook([table])[table.sheet])


_A1 = re.compile(r"^[A-Z]{1,3}[0-9]+$")


def table_cell_name(cell: str) -> str:
    """A sheet coordinate of a table's grid as a document location: C5 → R5C3 (row, column, from 1)."""
    if not _A1.match(cell or ""):
        return cell
    letters, row = coordinate_from_string(cell)
    return f"R{row}C{column_index_from_string(letters)}"


def paragraph_cell_name(paragraph: DocParagraph) -> str:
    return f"段落{paragraph.number}"
