"""Opening workbooks safely: every failure becomes one clear Chinese message.

`open_workbook(path)` is the only way xlperf reads a user's file, so every
command gets the same checks:

* missing path, a folder, an empty file, a file that cannot be read;
* other formats, found by content and by name: old binary Excel (.xls) and
  WPS (.et), CSV/text, OpenDocument (.ods), binary .xlsb, a Word document…
  (with `--convert`, a copy is converted by LibreOffice in a private temp
  folder and read instead);
* encrypted workbooks (an OLE/CFB container with an ``EncryptionInfo``
  stream): with a password they are decrypted in memory only;
* hostile packages, checked from the zip directory *before* anything is
  parsed: too many entries, too large or too highly compressed (zip bombs),
  XML with a DOCTYPE/ENTITY (XXE, billion laughs; openpyxl also parses with
  defusedxml), merged ranges or used ranges of absurd size. A sheet's used
  range is judged from its XML before openpyxl loads anything: the
  ``<dimension ref=…>`` the writer declared, and the cells counted while the
  part is streamed, stopping as soon as there are too many (a refusal costs
  one pass over at most MAX_SHEET_CELLS cells' worth of XML, not a load);
* broken zips and broken XML.

Nothing is refused for what openpyxl cannot write back (charts, VBA, pivot
tables…): writers never save the user's file through openpyxl, they graft
xlperf's sheets into the package (`xlperf.package`).
"""
from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import shutil
import tempfile
import warnings
import zipfile
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm")

# ---- limits (module constants so that tests can lower them) ------------------------------
MAX_ENTRIES = 50_000  # parts in the zip; a 2000-project workbook has about 4 000
MAX_UNCOMPRESSED = 1 << 30  # 1 GiB in total; a 50-project workbook is about 10 MB
MAX_RATIO = 200  # compression ratio of one part (real parts: < 30) …
RATIO_MIN_SIZE = 16 << 20  # … checked for parts larger than this
MAX_MERGED_CELLS = 2_000_000  # cells covered by merged ranges, whole workbook
MAX_SHEET_CELLS = 5_000_000  # rows × columns of one sheet's used range
_SCAN_CHUNK = 1 << 20

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"

FORMAT_NAMES = {
    ".xls": "Excel 97-2003 工作簿（.xls）",
    ".xlt": "Excel 97-2003 模板（.xlt）",
    ".et": "WPS 表格文件（.et）",
    ".ett": "WPS 表格模板（.ett）",
    ".csv": "CSV 文本文件（.csv）",
    ".txt": "文本文件（.txt）",
    ".ods": "OpenDocument 表格（.ods）",
    ".xlsb": "Excel 二进制工作簿（.xlsb）",
    ".numbers": "Numbers 表格（.numbers）",
}
CONVERTIBLE_SUFFIXES = (".xls", ".xlt", ".et", ".ett", ".csv", ".txt", ".ods", ".xlsb")
HOW_TO_CONVERT = ("请在 Excel 或 WPS 中打开，“文件 → 另存为”，保存类型选“Excel 工作簿(*.xlsx)”后再处理；"
                  "已安装 LibreOffice 时也可加 --convert 选项，由 xlperf 转换一份副本后继续（原文件不变）")


class UnreadableWorkbook(Exception):
    """The file cannot be read as a workbook; str(exc) is the message for the user.

    The command line turns every UnreadableWorkbook (and its subclasses, such as
    `xlperf.safety.WriteRefused`) into that message on stderr and exit code 2.
    """


# ---- options set by the command line ---------------------------------------------------
@dataclass(frozen=True)
class ReadOptions:
    password: str | None = None  # for encrypted workbooks (default: $XLPERF_PASSWORD)
    convert: bool = False  # convert .xls/.et/.csv/.ods/.xlsb with LibreOffice


_OPTIONS: ContextVar[ReadOptions | None] = ContextVar("xlperf_read_options", default=None)


def read_options() -> ReadOptions:
    opts = _OPTIONS.get()
    if opts is None:
        return ReadOptions(password=os.environ.get("XLPERF_PASSWORD") or None)
    return opts


@contextlib.contextmanager
def reading_options(password: str | None = None, convert: bool = False) -> Iterator[ReadOptions]:
    """Within the block, open_workbook decrypts with `password` and converts other formats when `convert`."""
    opts = ReadOptions(password=password or os.environ.get("XLPERF_PASSWORD") or None, convert=convert)
    token = _OPTIONS.set(opts)
    try:
        yield opts
    finally:
        _OPTIONS.reset(token)


# ---- what travels with an opened workbook ---------------------------------------------------
@dataclass(frozen=True)
class SourceInfo:
    path: Path
    password: str | None = None  # the file was encrypted with this password
    converted_from: str | None = None  # the original format's name when --convert made a copy
    generated_sheets: tuple[str, ...] = ()  # sheets xlperf generated, as recorded in the file
    problems: tuple[tuple[str, str], ...] = ()  # (sheet, message): what the package says is wrong, read anyway
    package: bytes | None = field(default=None, repr=False, compare=False)  # the plain package read (what writers graft onto)


_SOURCE_ATTR = "_xlperf_source"


def package_findings(wb) -> tuple:
    """What the file's package says is wrong but could still be read (a sheet part missing, two sheets of one
    name), as error findings; none for a workbook not read from a file."""
    from .model import ERROR, Finding

    info = source_info(wb)
    return tuple(Finding(severity=ERROR, code="package-problem", sheet=sheet, cell="", message=message)
                 for sheet, message in (info.problems if info else ()))


def source_info(wb) -> SourceInfo | None:
    """Where wb was read from (None for a workbook made in memory)."""
    return getattr(wb, _SOURCE_ATTR, None)


def _name(path: Path) -> str:
    return f"“{path.name or path}”"


# ---- the entry point -------------------------------------------------------------------
def open_workbook(path: Path, data_only: bool = False, read_only: bool = False,
                  leave_out_generated: bool = False) -> Workbook:
    """Load a workbook after the checks above; raise UnreadableWorkbook with a Chinese message.

    leave_out_generated: do not load the sheets xlperf generated (recalc replaces them without reading
    them); source_info(wb).generated_sheets still names them."""
    path = Path(path)
    source, password, converted = _resolve_source(path)
    return _load(path, source, data_only, read_only, password, converted, leave_out_generated)


def read_book(path: Path):
    """The workbook for reading only, without openpyxl: an `xlperf.package.book.Book` over the file's package
    (its cells, each formula's stored result beside it), the generated sheets left out. The same checks and
    messages as open_workbook; what writers graft onto travels with it (source_info)."""
    path = Path(path)
    source, password, converted = _resolve_source(path)
    return _load(path, source, False, False, password, converted, True, book=True)


def open_package(path: Path) -> zipfile.ZipFile:
    """The .xlsx package behind path as open_workbook reads it (decrypted or converted in memory when needed).

    For code that reads the package's XML itself (cached values, drawings…):
    `with open_package(path) as z: ...`. Call it after open_workbook has checked the file.
    """
    path = Path(path)
    source, _, _ = _resolve_source(path)
    if isinstance(source, io.BytesIO):
        source.seek(0)
    return _open_zip(path, source)


def _resolve_source(path: Path) -> tuple[Path | io.BytesIO, str | None, str | None]:
    """(the package to read: the file or an in-memory copy, the password it was encrypted with, the original format)."""
    opts = read_options()
    head = _check_path(path)
    suffix = path.suffix.lower()
    password: str | None = None
    converted: str | None = None
    if head.startswith(CFB_MAGIC):
        if _cfb_is_encrypted(path):
            if not opts.password:
                raise UnreadableWorkbook(
                    f"{_name(path)} 已设置打开密码（文件已加密），无法读取。请加 --password 密码 选项"
                    "（或设置环境变量 XLPERF_PASSWORD），xlperf 只在内存中解密，不会把解密后的文件写到磁盘；"
                    "也可在 Excel 中“文件 → 信息 → 保护工作簿 → 用密码进行加密”清除密码后再处理")
            source: Path | io.BytesIO = _decrypt(path, opts.password)
            password = opts.password
        else:
            kind = FORMAT_NAMES.get(suffix) if suffix in (".xls", ".xlt", ".et", ".ett") else None
            kind = kind or "旧版 Excel 97-2003（.xls）或 WPS（.et）二进制格式"
            source, converted = _convert_or_refuse(path, kind, opts)
    elif head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)) or zipfile.is_zipfile(path):
        source = path
        other = _other_zip_format(path, suffix)
        if other:
            if other in (FORMAT_NAMES[".ods"], FORMAT_NAMES[".xlsb"]):
                source, converted = _convert_or_refuse(path, other, opts)
            else:
                raise UnreadableWorkbook(f"{_name(path)} 是{other}，不是 Excel 工作簿；请选择 .xlsx 格式的工作簿")
    else:
        kind = _text_kind(head, suffix)
        if kind is None:
            raise UnreadableWorkbook(
                f"{_name(path)} 不是有效的 .xlsx 工作簿（文件已损坏，或根本不是 Excel 文件）；"
                "请用 Excel 或 WPS 打开确认，必要时另存为 .xlsx")
        source, converted = _convert_or_refuse(path, kind, opts)
    return source, password, converted


def _check_path(path: Path, what: str = "Excel 工作簿", suffix: str = ".xlsx",
                error: type[UnreadableWorkbook] = UnreadableWorkbook) -> bytes:
    """The first 4 KB of path, or `error` saying in Chinese why it cannot be read as a `what` (a folder, empty…)."""
    try:
        if not path.exists():
            raise error(f"找不到文件“{path}”（请检查文件名和所在文件夹）")
        if path.is_dir():
            shown = "（当前文件夹）" if str(path) == "." else ""  # also what an empty argument ("") becomes
            raise error(f"“{path}”{shown}是文件夹，不是 {what}；请指定文件夹中的 {suffix} 文件")
        if not path.is_file():
            raise error(f"“{path}”不是普通文件，不是 {what}")
        if path.stat().st_size == 0:
            raise error(f"{_name(path)} 是空文件（0 字节），不是 {what}；可能保存时中断，请找回原文件")
        with open(path, "rb") as fh:
            return fh.read(4096)
    except PermissionError:
        raise error(f"没有权限读取 {_name(path)}；请检查文件权限，或先关闭正在使用它的程序") from None
    except OSError as exc:
        raise error(f"无法读取 {_name(path)}：{exc.strerror or exc}") from None


# ---- other formats -------------------------------------------------------------------
def _text_kind(head: bytes, suffix: str) -> str | None:
    """The name of a text format (CSV, HTML or XML pretending to be .xls), or None for binary junk."""
    if suffix in FORMAT_NAMES and suffix not in (".xls", ".xlt", ".et", ".ett", ".ods", ".xlsb"):
        return FORMAT_NAMES[suffix]
    sample = head.lstrip(b"\xef\xbb\xbf").lstrip()
    lowered = sample[:200].lower()
    if lowered.startswith((b"<html", b"<!doctype html", b"<table")):
        return "网页（HTML）格式的表格（常见于从业务系统导出的 .xls）"
    if lowered.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        return "Excel 2003 XML 表格"
    if not sample or b"\x00" in sample:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "," in text or "\t" in text or "，" in text:
            return "CSV 文本文件" if suffix != ".txt" else FORMAT_NAMES[".txt"]
    return None


def _other_zip_format(path: Path, suffix: str) -> str | None:
    """A zip that is not an OOXML workbook: .ods, .xlsb, Word, PowerPoint, a plain archive."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                with contextlib.suppress(Exception):
                    mime = zf.read("mimetype")[:100]
                    if b"opendocument.spreadsheet" in mime:
                        return FORMAT_NAMES[".ods"]
                    return "OpenDocument 文档"
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return None  # a broken zip: _load says so
    if "xl/workbook.bin" in names:
        return FORMAT_NAMES[".xlsb"]
    if "word/document.xml" in names:
        return "Word 文档"
    if "ppt/presentation.xml" in names:
        return "PowerPoint 演示文稿"
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        return "普通压缩包（zip）"
    return None


def _convert_or_refuse(path: Path, kind: str, opts: ReadOptions) -> tuple[io.BytesIO, str]:
    if not opts.convert:
        raise UnreadableWorkbook(f"{_name(path)} 是{kind}，xlperf 只能读取 .xlsx 工作簿。{HOW_TO_CONVERT}")
    return io.BytesIO(_converted_bytes(path, kind)), kind


_CONVERTED: dict[tuple, bytes] = {}  # one conversion per file per run (recalc opens the file twice)


def _converted_bytes(path: Path, kind: str) -> bytes:
    from . import libreoffice

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key in _CONVERTED:
        return _CONVERTED[key]
    if not libreoffice.available():
        raise UnreadableWorkbook(f"{_name(path)} 是{kind}；未找到 LibreOffice，无法用 --convert 自动转换。"
                                 "请在 Excel 或 WPS 中另存为 .xlsx，或安装 LibreOffice 后重试")
    work = Path(tempfile.mkdtemp(prefix="xlperf-convert-"))
    try:
        # A copy with a plain name: LibreOffice picks its import filter from the content.
        staged = work / f"source{path.suffix.lower() or '.xls'}"
        infilter = None
        if path.suffix.lower() in (".csv", ".txt"):
            # LibreOffice would read the text in the system's encoding: hand it UTF-8 and say so
            text = _decoded_text(path.read_bytes())
            staged.write_text(text, encoding="utf-8")
            infilter = f"CSV:{_delimiter(text)},34,76,1"
        else:
            shutil.copyfile(path, staged)
        try:
            out = libreoffice.convert(staged, "xlsx", work, infilter=infilter)
        except libreoffice.LibreOfficeError as exc:
            raise UnreadableWorkbook(f"LibreOffice 无法转换 {_name(path)}（{kind}）：{str(exc).splitlines()[0]}；"
                                     "请在 Excel 或 WPS 中另存为 .xlsx") from None
        data = out.read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _CONVERTED[key] = data
    return data


def _decoded_text(data: bytes) -> str:
    """A CSV/text file's text: UTF-8 (with or without BOM), else GB18030 (what Chinese Excel and WPS save)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _delimiter(text: str) -> int:
    """The separator's character code for LibreOffice's CSV filter (comma unless the text says otherwise)."""
    import csv

    try:
        return ord(csv.Sniffer().sniff(text[:8192], delimiters=",\t;|").delimiter)
    except csv.Error:
        return ord(",")


# ---- encrypted workbooks -------------------------------------------------------------------
def _cfb_is_encrypted(path: Path) -> bool:
    """An OLE/CFB container holding an encrypted OOXML package (EncryptionInfo + EncryptedPackage)."""
    try:
        import olefile

        with olefile.OleFileIO(str(path)) as ole:
            return ole.exists("EncryptionInfo")
    except Exception:  # no olefile, or a container it cannot parse
        pass
    # Directory entries hold their names in UTF-16LE.
    with open(path, "rb") as fh:
        return "EncryptionInfo".encode("utf-16-le") in fh.read(1 << 20)


def _decrypt(path: Path, password: str) -> io.BytesIO:
    """The decrypted package, in memory only: it is never written to disk."""
    try:
        import msoffcrypto
        from msoffcrypto import exceptions as mx
    except ImportError:
        raise UnreadableWorkbook(f"{_name(path)} 已加密；解密需要 msoffcrypto-tool（pip install msoffcrypto-tool）") from None
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, password)
    if key in _DECRYPTED:
        return io.BytesIO(_DECRYPTED[key])
    out = io.BytesIO()
    try:
        with open(path, "rb") as fh:
            office = msoffcrypto.OfficeFile(fh)
            office.load_key(password=password, verify_password=True)
            office.decrypt(out)
    except mx.InvalidKeyError:
        raise UnreadableWorkbook(f"{_name(path)} 的密码不正确，无法解密；请核对 --password（区分大小写）") from None
    except Exception as exc:
        raise UnreadableWorkbook(f"无法解密 {_name(path)}：不支持的加密方式或文件已损坏（{type(exc).__name__}）") from None
    _DECRYPTED.clear()  # keep at most one decrypted package in memory
    _DECRYPTED[key] = out.getvalue()
    out.seek(0)
    return out


_DECRYPTED: dict[tuple, bytes] = {}  # memory only: recalc reads the package more than once


# ---- the package, before parsing ----------------------------------------------------------
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHEET_TAIL = re.compile(
    rb"<(?:[\w.-]+:)?(mergeCell)\b([^>]*)>|<!(DOCTYPE|ENTITY)",
    re.IGNORECASE)
_REF = re.compile(rb'\bref\s*=\s*["\']([^"\']+)["\']')
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_PREFIX = re.compile(rb"<(?:([\w.-]+):)?worksheet\b")
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b([^>]*)>")
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData\b")
_DTD_MARK = re.compile(b"|".join(re.escape(("<!" + word).encode(encoding)) for word in ("DOCTYPE", "ENTITY")
                                  for encoding in ("utf-8", "utf-16-le", "utf-16-be")), re.IGNORECASE)
_DTD_MARK_LEN = 2 * len("<!DOCTYPE")
_DTD_OPENERS = (b"<!", b"<\x00!", b"\x00<\x00!")
_PROLOGUE_SLICE = 4096  # bytes handed to the pull parser at a time: it stops at the root element


class XmlPrologue:
    """Whether an XML part declares a DTD (<!DOCTYPE …>, where entities are declared), wherever it sits.

    A DOCTYPE can only come before the root element, so the part's start is parsed by lxml (no entities
    resolved, no network, no DTD loaded) until the root element starts, however long the comments or
    processing instructions before it and in any encoding lxml reads (UTF-16 too); the parsed prologue's
    docinfo then says whether there was a DOCTYPE. The bytes are also scanned for <!DOCTYPE / <!ENTITY
    (UTF-8 and UTF-16); a prologue lxml cannot parse is scanned to the part's end. Feed the part's bytes
    in order until `done`; `dtd` is the answer."""

    def __init__(self) -> None:
        from lxml import etree

        self._syntax_error = etree.XMLSyntaxError
        self._parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True,
                                           load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
        self._tail = b""
        self.dtd = False
        self.done = False

    def feed(self, chunk: bytes) -> None:
        if self.done or not chunk:
            return
        window = self._tail + chunk
        # the full scan only where a "<!" is (a comment, CDATA or a DOCTYPE; UTF-16 too): most parts have none
        if any(mark in window for mark in _DTD_OPENERS) and _DTD_MARK.search(window):
            self.dtd = self.done = True
            return
        self._tail = chunk[-_DTD_MARK_LEN:]
        if self._parser is None:  # past a syntax error: the bytes are scanned to the end
            return
        try:
            for start in range(0, len(chunk), _PROLOGUE_SLICE):  # parsed only as far as the root element
                self._parser.feed(chunk[start:start + _PROLOGUE_SLICE])
                for _, element in self._parser.read_events():
                    docinfo = element.getroottree().docinfo
                    self.dtd = bool(docinfo.doctype) or docinfo.internalDTD is not None or docinfo.externalDTD is not None
                    self.done = True
                    self._parser = None
                    return
        except self._syntax_error:
            self._parser = None  # not well-formed before its root: every parser reading it fails as well


@dataclass
class _PackageReport:
    problems: list[tuple[str, str]] = field(default_factory=list)  # (sheet, Chinese message): read, but reported


def _open_zip(path: Path, source) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise UnreadableWorkbook(
            f"{_name(path)} 已损坏：不是完整的 .xlsx 压缩包（可能下载或复制不完整）；请找回原文件，"
            "或在 Excel/WPS 中打开后“另存为”新的 .xlsx") from None


def inspect_package(path: Path, zf: zipfile.ZipFile, check_size: bool = True) -> _PackageReport:
    """Check the package from its zip directory before parsing; list the parts openpyxl cannot keep.

    With check_size, a worksheet whose used range is too large (MAX_SHEET_CELLS) is refused from its
    XML here, before openpyxl loads anything (a read-only load streams the cells and needs no limit).
    """
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UnreadableWorkbook(f"{_name(path)} 含 {len(infos)} 个内部文件，超过上限 {MAX_ENTRIES}，"
                                 "不像正常的工作簿（可能是恶意构造的文件），已拒绝读取")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnreadableWorkbook(f"{_name(path)} 的内部文件被 zip 密码加密，不是 Excel 的加密方式，无法读取")
        total += info.file_size
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnreadableWorkbook(
                f"{_name(path)} 的内部文件 {info.filename} 压缩比异常（{info.compress_size} 字节解压后为 {info.file_size} 字节），"
                "疑似“压缩炸弹”，已拒绝读取")
    if total > MAX_UNCOMPRESSED:
        raise UnreadableWorkbook(f"{_name(path)} 解压后共 {total // (1 << 20)} MB，超过上限 {MAX_UNCOMPRESSED // (1 << 20)} MB，"
                                 "疑似“压缩炸弹”或异常巨大的工作簿，已拒绝读取")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        missing = "[Content_Types].xml" if "[Content_Types].xml" not in names else "xl/workbook.xml"
        raise UnreadableWorkbook(f"{_name(path)} 已损坏：缺少必需的内部文件 {missing}；请在 Excel/WPS 中打开后另存为新的 .xlsx")
    report = _PackageReport()
    merged = 0
    for info in infos:
        if info.filename.endswith("/"):
            continue  # a folder entry
        if info.filename.startswith("xl/worksheets/") and info.filename.count("/") == 2 and \
                info.filename.lower().endswith(".xml"):
            merged += _scan_worksheet(path, zf, info, report, check_size)
        else:
            _refuse_dtd_part(path, zf, info)
        if merged > MAX_MERGED_CELLS:
            raise UnreadableWorkbook(f"{_name(path)} 的合并单元格共覆盖 {merged} 个以上单元格，超过上限 {MAX_MERGED_CELLS}，"
                                     "疑似恶意构造的文件，已拒绝读取；请取消不必要的大范围合并后另存")
    _inspect_sheets(path, zf, names, report)
    return report


def _refuse_dtd_part(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A part holding more than the zip directory says, or a DOCTYPE anywhere before its root element, refuses
    the file (check_member)."""
    check_member(path, zf, info, UnreadableWorkbook, "Excel 文件", "请找回原文件，或在 Excel/WPS 中打开后另存为新的 .xlsx")


MEMBER_CHUNK = 1 << 16  # bytes decompressed at a time while a member is checked


def check_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, error: type[UnreadableWorkbook],
                 kind: str, remedy: str) -> None:
    """Decompress one member in chunks, counting the bytes it really holds: more than the zip directory
    declares is a lie (a zip bomb whose header says 200 KB), refused as soon as it shows, so memory stays
    bounded whatever the header says. Once every member is known to hold no more than declared (and the
    declared sizes passed the limits), the whole-member reads of openpyxl and python-docx are bounded too
    (zipfile inflates a whole read in one call). An XML part is parsed up to its root element on the way
    (XmlPrologue): a DOCTYPE anywhere before it, after any comment and in any encoding, is refused. The CRC is
    checked at the member's real end. error(message) is raised; kind names the file (Excel 文件, Word 文档)."""
    import copy
    import zlib

    prologue = XmlPrologue() if info.filename.lower().endswith((".xml", ".rels", ".vml")) else None
    probe = copy.copy(info)
    probe.file_size = info.file_size + 1  # zipfile stops at the declared size: read one byte past it …
    probe.CRC = None  # … so its CRC check, made where it stops, is made here at the real end instead
    real, crc = 0, 0
    try:
        with zf.open(probe) as fh:
            while True:
                chunk = fh.read(MEMBER_CHUNK)
                if not chunk:
                    if crc != info.CRC:
                        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
                    break
                real += len(chunk)
                crc = zlib.crc32(chunk, crc)
                if real > info.file_size:
                    raise error(f"{_name(path)} 的内部文件 {info.filename} 解压后超过压缩包目录中记录的 {info.file_size} 字节"
                                "（目录中的大小是假的），疑似“压缩炸弹”，已拒绝读取")
                if prologue is not None and not prologue.done:
                    prologue.feed(chunk)
                    if prologue.dtd:
                        raise error(f"{_name(path)} 的内部文件 {info.filename} 含有 XML 实体声明（DOCTYPE/ENTITY），"
                                    f"正常的 {kind}不会有；这可能是恶意构造的文件（XXE 或“十亿笑声”攻击），已拒绝读取")
    except UnreadableWorkbook:
        raise
    except Exception as exc:
        raise error(f"{_name(path)} 已损坏：内部文件 {info.filename} 无法解压（{type(exc).__name__}）；{remedy}") from None


def _damaged(path: Path, part: str, exc: Exception) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"{_name(path)} 已损坏：内部文件 {part} 无法解压（{type(exc).__name__}）；"
                              "请找回原文件，或在 Excel/WPS 中打开后另存为新的 .xlsx")


def _refuse_doctype(path: Path, part: str, data: bytes) -> None:
    if _DOCTYPE.search(data):
        raise _doctype_refused(path, part)


def _doctype_refused(path: Path, part: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(
        f"{_name(path)} 的内部文件 {part} 含有 XML 实体声明（DOCTYPE/ENTITY），正常的 Excel 文件不会有；"
        "这可能是恶意构造的文件（XXE 或“十亿笑声”攻击），已拒绝读取")


def _scan_worksheet(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, report: _PackageReport,
                    check_size: bool = True) -> int:
    """Stream one worksheet part: DOCTYPE, merged ranges, the elements openpyxl drops and, with check_size,
    the used range (refused as soon as it is too large). Returns merged cells."""
    merged = 0
    cells = 0
    cell_tags: tuple[bytes, ...] = ()
    buf = b""
    first = True
    prologue = XmlPrologue()  # a DOCTYPE after a long comment, or in UTF-16, is found too
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(_SCAN_CHUNK)
                prologue.feed(chunk)
                if prologue.dtd:
                    raise _doctype_refused(path, info.filename)
                buf += chunk
                if first:
                    _refuse_doctype(path, info.filename, buf[:1 << 16])
                    if check_size:
                        cell_tags = _cell_tags(buf)
                        _check_declared_dimension(path, zf, info.filename, buf)
                    first = False
                limit = len(buf) if not chunk else max(len(buf) - 4096, 0)
                if check_size:
                    # Each tag starting before limit is counted once (the rest of the buffer is kept for the next round).
                    cells += sum(buf.count(tag, 0, limit + len(tag) - 1) for tag in cell_tags)
                    if cells > MAX_SHEET_CELLS:
                        raise UnreadableWorkbook(_too_many_cells_message(path, _sheet_title(path, zf, info.filename), cells))
                for m in _SHEET_TAIL.finditer(buf):
                    if m.start() >= limit:
                        break
                    if m.group(3):
                        _refuse_doctype(path, info.filename, m.group(0))
                        continue
                    ref = _REF.search(m.group(2))
                    merged += _area(ref.group(1).decode("ascii", "replace")) if ref else 0
                buf = buf[limit:]
                if not chunk:
                    break
    except UnreadableWorkbook:
        raise
    except Exception as exc:
        raise _damaged(path, info.filename, exc) from None
    return merged


def _cell_tags(head: bytes) -> tuple[bytes, ...]:
    """The start tags of a cell element in this part (<c … or <x:c … when the main namespace has a prefix)."""
    m = _ROOT_PREFIX.search(head)
    prefix = m.group(1) + b":" if m and m.group(1) else b""
    return tuple(b"<" + prefix + b"c" + end for end in (b" ", b">", b"/>", b"\n", b"\r", b"\t"))


def _check_declared_dimension(path: Path, zf: zipfile.ZipFile, part: str, head: bytes) -> None:
    """The used range the writer declared (<dimension ref="A1:F63"/>, before <sheetData>), as _check_dimensions judges it."""
    data = _SHEET_DATA.search(head)
    m = _DIMENSION.search(head, 0, data.start() if data else len(head))
    ref = _REF.search(m.group(1)) if m else None
    if ref is None:
        return
    try:
        _, _, max_col, max_row = range_boundaries(ref.group(1).decode("ascii", "replace").replace("$", "").split(":")[-1])
    except (ValueError, TypeError):
        return  # an unreadable dimension says nothing; the cells are counted
    if max_col and max_row and max_row * max_col > MAX_SHEET_CELLS:
        raise UnreadableWorkbook(_used_range_message(path, _sheet_title(path, zf, part), max_row, max_col))


def _sheet_title(path: Path, zf: zipfile.ZipFile, part: str) -> str:
    """The name of the sheet stored in part (for a message; the part's name when the workbook does not say)."""
    try:
        root = _parse_xml(path, zf, "xl/workbook.xml")
        rels = _parse_xml(path, zf, "xl/_rels/workbook.xml.rels")
    except UnreadableWorkbook:
        return part
    if root is None or rels is None:
        return part
    ids = {}
    for rel in rels.iter(f"{{{_REL_NS}}}Relationship"):
        target = rel.get("Target") or ""
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        ids[rel.get("Id")] = target
    for sheet in root.iter(f"{{{_MAIN_NS}}}sheet"):
        if ids.get(sheet.get(f"{{{_R_NS}}}id")) == part:
            return sheet.get("name") or part
    return part


def _used_range_message(path: Path, title: str, max_row: int, max_col: int) -> str:
    from openpyxl.utils import get_column_letter

    return (f"{_name(path)} 的工作表“{title}”已用区域为 A1:{get_column_letter(max_col)}{max_row}"
            f"（约 {max_row * max_col} 个单元格），超过上限 {MAX_SHEET_CELLS}；"
            "请删除表格下方和右侧多余的行列（包括只设置了格式的单元格）后保存再处理")


def _too_many_cells_message(path: Path, title: str, cells: int) -> str:
    return (f"{_name(path)} 的工作表“{title}”含 {cells} 个以上单元格，已用区域超过上限 {MAX_SHEET_CELLS} 个单元格；"
            "请删除表格下方和右侧多余的行列（包括只设置了格式的单元格）后保存再处理")


def _area(ref: str) -> int:
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    except (ValueError, TypeError):
        return 0
    if None in (min_col, min_row, max_col, max_row):
        return 0
    return (max_col - min_col + 1) * (max_row - min_row + 1)


def _parse_xml(path: Path, zf: zipfile.ZipFile, part: str):
    from defusedxml import ElementTree as SafeET

    try:
        return SafeET.fromstring(zf.read(part))
    except KeyError:
        return None
    except Exception as exc:
        raise UnreadableWorkbook(f"{_name(path)} 已损坏：内部文件 {part} 不是有效的 XML（{type(exc).__name__}）；"
                                 "请在 Excel/WPS 中打开后另存为新的 .xlsx") from None


_STRICT_NS = "http://purl.oclc.org/ooxml/"


def _inspect_sheets(path: Path, zf: zipfile.ZipFile, names: set[str], report: _PackageReport) -> None:
    """What the workbook part says that is wrong but readable: a sheet whose part is missing, two sheets of one name."""
    root = _parse_xml(path, zf, "xl/workbook.xml")
    if root is None:
        return
    if root.tag.startswith("{" + _STRICT_NS):
        # openpyxl reads such a file as a workbook without sheets: say so instead of "no input sheets"
        raise UnreadableWorkbook(f"{_name(path)} 是“Strict Open XML 电子表格”格式，xlperf 无法读取；"
                                 "请在 Excel 中“文件 → 另存为”，保存类型选“Excel 工作簿(*.xlsx)”后再处理")
    by_id = {}
    wb_rels_root = _parse_xml(path, zf, "xl/_rels/workbook.xml.rels")
    if wb_rels_root is not None:
        for rel in wb_rels_root.iter(f"{{{_REL_NS}}}Relationship"):
            target = rel.get("Target") or ""
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            by_id[rel.get("Id")] = (target, (rel.get("Type") or "").rsplit("/", 1)[-1])
    titles: dict[str, str] = {}
    lower_names = {n.lower() for n in names}  # part names compare without case
    for sheet in root.iter(f"{{{_MAIN_NS}}}sheet"):
        title = sheet.get("name") or ""
        target, _ = by_id.get(sheet.get(f"{{{_R_NS}}}id"), ("", ""))
        if title.lower() in titles:
            report.problems.append((title, f"工作簿中有两张工作表都叫“{title}”（Excel 不允许重名，文件可能被其他程序改过）；"
                                           f"读取时第二张被改名，请在 Excel 中检查并改为不同的名称"))
        titles.setdefault(title.lower(), title)
        if target and target.lower() not in lower_names:
            report.problems.append((title, f"工作簿中登记了工作表“{title}”，但文件中缺少它的内容（{target}），"
                                           "这张表无法读取，已略过；如果它是项目录入表，该项目未评分。请找回原文件"))
            continue


# ---- parsing ---------------------------------------------------------------------------

def _load(path: Path, source, data_only: bool, read_only: bool, password: str | None,
          converted: str | None, leave_out_generated: bool = False, book: bool = False) -> Workbook:
    if not isinstance(source, io.BytesIO):
        source = io.BytesIO(_read_file(path))  # read once: what is scored is what a writer grafts onto
    source.seek(0)
    package_bytes = source.getvalue()
    zf = _open_zip(path, source)
    try:
        report = inspect_package(path, zf, check_size=not read_only)
    finally:
        zf.close()
    if book:
        wb = _read_book(path, package_bytes)
        generated = wb.left_out
        _check_dimensions(path, wb)
        setattr(wb, _SOURCE_ATTR, SourceInfo(path=path, password=password, converted_from=converted,
                                             generated_sheets=tuple(generated), problems=tuple(report.problems),
                                             package=package_bytes))
        return wb
    # after the package passed the checks above (size, XXE…)
    generated, reduced = _generated_in(package_bytes, leave_out=leave_out_generated)
    if reduced is not None:
        source = io.BytesIO(reduced)
    source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what openpyxl does not model is never written back: nothing is lost
            with _reading_only(leave_out_generated):
                wb = load_workbook(source, data_only=data_only, read_only=read_only, keep_vba=False)
    except UnreadableWorkbook:
        raise
    except MemoryError:
        raise UnreadableWorkbook(f"{_name(path)} 太大，内存不足，无法读取") from None
    except Exception as exc:  # openpyxl raises many kinds; the user needs one message
        raise _load_error(path, exc) from None
    if not read_only:
        _check_dimensions(path, wb)
    info = SourceInfo(path=path, password=password, converted_from=converted,
                      generated_sheets=tuple(generated if generated is not None else _generated_sheets(wb)),
                      problems=tuple(report.problems),
                      package=None if read_only or data_only else package_bytes)
    setattr(wb, _SOURCE_ATTR, info)
    return wb


def _read_book(path: Path, package_bytes: bytes):
    """After the package passed the checks above (size, XXE…)."""
    from .generated import generated_in_package
    from .package.book import Book
    from .package.opc import Package, PackageError

    try:
        package = Package.from_bytes(package_bytes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's cell reading warns in English (a date out of range)
            return Book(package, leave_out=generated_in_package(package))
    except UnreadableWorkbook:
        raise
    except PackageError as exc:  # what the writer would refuse too (the same words as Grafting's)
        from .safety import WriteRefused

        raise WriteRefused(f"无法修改工作簿：{exc}；原文件未被改动") from None
    except MemoryError:
        raise UnreadableWorkbook(f"{_name(path)} 太大，内存不足，无法读取") from None
    except Exception as exc:  # the package, an XML part or a value the reading cannot take: one message
        raise _load_error(path, exc) from None


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except MemoryError:
        raise UnreadableWorkbook(f"{_name(path)} 太大，内存不足，无法读取") from None
    except OSError as exc:
        from .safety import os_reason

        raise UnreadableWorkbook(f"无法读取 {_name(path)}（{os_reason(exc)}）") from None


def _load_error(path: Path, exc: Exception) -> UnreadableWorkbook:
    try:
        from defusedxml import DefusedXmlException
    except ImportError:  # pragma: no cover - defusedxml is a dependency
        DefusedXmlException = ()  # type: ignore[assignment]
    chain, seen = exc, 0
    while chain is not None and seen < 10:  # openpyxl wraps the parser's exception in a ValueError
        if DefusedXmlException and isinstance(chain, DefusedXmlException):
            exc = chain
            break
        chain, seen = chain.__cause__ or chain.__context__, seen + 1
    if DefusedXmlException and isinstance(exc, DefusedXmlException):
        return UnreadableWorkbook(f"{_name(path)} 含有不安全的 XML 内容（外部实体或实体扩展），"
                                  "可能是恶意构造的文件，已拒绝读取")
    if isinstance(exc, (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile)) or "zlib" in type(exc).__module__:
        what = "压缩数据损坏（可能下载或复制不完整）"
    elif type(exc).__name__ in ("ParseError", "XMLSyntaxError", "ExpatError"):
        what = "内部 XML 已损坏"
    elif isinstance(exc, KeyError):
        what = f"缺少内部文件 {exc.args[0] if exc.args else ''}"
    else:
        # Not damage we can name: the reading library (openpyxl) stumbled on a structure it does not know
        # (TypeError: Nested.from_tree()…); the file may well be valid. Say so in Chinese, without the English.
        return UnreadableWorkbook(f"无法读取 {_name(path)}：文件中有 xlperf 的读取组件不支持的内容（{type(exc).__name__}），"
                                  "文件本身不一定损坏；请在 Excel/WPS 中打开后“另存为”新的 .xlsx 再试")
    return UnreadableWorkbook(f"无法读取 {_name(path)}：文件已损坏（{what}）；请找回原文件，或在 Excel/WPS 中打开后另存为新的 .xlsx")


def _check_dimensions(path: Path, wb: Workbook) -> None:
    """The used range of the cells as loaded: the package check judged the XML (dimension, cell count) beforehand;
    this catches a sheet with a few cells far apart and no <dimension> (cheap to load, absurd to process)."""
    for ws in wb.worksheets:
        cells = getattr(ws, "_cells", None)
        if not cells:
            continue
        max_row = max(r for r, _ in cells)
        max_col = max(c for _, c in cells)
        if max_row * max_col > MAX_SHEET_CELLS:
            raise UnreadableWorkbook(_used_range_message(path, ws.title, max_row, max_col))


# ---- loading for reading only -------------------------------------------------------------
# openpyxl gives every cell a merged range covers the range's outer border when it loads a sheet, one
# new Border per cell, each hashed against the workbook's list: more than half of the load of a master
# workbook. A workbook loaded only to be read (recalc reads the input sheets, then grafts new sheets
# into the file, never saving this Workbook) does not need those borders. The switch is a ContextVar,
# so another thread loading a workbook to save it is not affected.
_READING_ONLY: ContextVar[bool] = ContextVar("xlperf_reading_only", default=False)


def _bind_merged_cells(self) -> None:
    if not _READING_ONLY.get():
        return _ORIGINAL_BIND_MERGED(self)
    from openpyxl.cell.cell import MergedCell
    from openpyxl.worksheet.cell_range import MultiCellRange
    from openpyxl.worksheet.merge import MergedCellRange

    if not self.parser.merged_cells:
        return None
    ranges = []
    for cr in self.parser.merged_cells.mergeCell:
        mcr = MergedCellRange(self.ws, cr.ref)
        cells = mcr.cells
        next(cells)  # the top-left cell keeps its value and format
        for row, col in cells:
            self.ws._cells[row, col] = MergedCell(self.ws, row, col)
        ranges.append(mcr)
    self.ws.merged_cells = MultiCellRange(ranges)
    return None


from openpyxl.worksheet._reader import WorksheetReader as _WorksheetReader  # noqa: E402

_ORIGINAL_BIND_MERGED = _WorksheetReader.bind_merged_cells
_WorksheetReader.bind_merged_cells = _bind_merged_cells


@contextlib.contextmanager
def _reading_only(on: bool) -> Iterator[None]:
    token = _READING_ONLY.set(on)
    try:
        yield
    finally:
        _READING_ONLY.reset(token)


def _generated_in(package: bytes, leave_out: bool = False) -> tuple[list[str] | None, bytes | None]:
    """(the generated sheets the package records, read from its XML alone, or None when it cannot be told;
    with leave_out, a copy of the package without them for reading only, or None when there is nothing to leave out)."""
    from .generated import generated_in_package
    from .package.graft import remove_sheets
    from .package.opc import Package, PackageError

    try:
        pkg = Package.from_bytes(package)
        generated = generated_in_package(pkg)
    except (PackageError, zipfile.BadZipFile, KeyError, ValueError):
        return None, None
    if not (leave_out and generated):
        return generated, None
    try:
        remove_sheets(pkg, generated)
    except PackageError:
        return generated, None  # read the whole package instead
    return generated, pkg.to_bytes()  # the other members copied as stored


def _generated_sheets(wb: Workbook) -> list[str]:
    from .generated import generated_sheet_names  # the one reader of the record (markers, else the property)

    return generated_sheet_names(wb)
