"""Per-project export: one finished workbook (and optionally a PDF) per project, for handing in.

    report = export_workbook(Path("绩效自评.xlsx"), Path("导出"), pdf=True)

The master workbook is read with the recalc pipeline's own scoring
(`pipeline.score_workbook`) and never written. For each project,
``DIR/<项目名称>_项目支出绩效自评表.xlsx`` holds its 附件1, its 预算执行情况 table
and (when there are any) its findings, all as values: no formula, no macro, no
link to the master workbook, no hidden sheet; every sheet print-ready (A4
landscape, one page wide). ``--pdf`` adds ``<same name>.pdf`` of the 附件1 and
the 预算执行情况 table, converted by LibreOffice headless.

A project with error findings is not exported unless force=True. The list of
what was exported goes to ``DIR/xlperf-export.json`` (the manifest `xlperf
mail` sends from).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from openpyxl import Workbook

from . import layout as L
from .model import ERROR, SEVERITY_LABELS, ProjectResult
from .values import format_score

Progress = Callable[[str, int, int], None]  # (what, done, total), as in pipeline

FILE_SUFFIX = "_项目支出绩效自评表"
MANIFEST_NAME = "xlperf-export.json"
MANIFEST_VERSION = 1
# Characters Windows forbids in a file name, and the names it reserves for devices.
FORBIDDEN_FILE_CHARS = '<>:"/\\|?*'
RESERVED_FILE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_CHARS = 50  # of the project-name part: a full path stays well within Windows' 260 and Linux's 255 bytes
MAX_NAME_BYTES = 150  # and of its UTF-8 (50 Chinese characters; fewer emoji): the temporary file's name still fits
DEFAULT_NAME = "项目"


def default_outdir(book: Path) -> Path:
    """Where export writes (and mail reads) when no --outdir is given: “<工作簿名>_导出” beside the workbook."""
    book = Path(book)
    if not book.name:  # "", "." or "/": no workbook name (reading it is refused with its own message)
        return book / "工作簿_导出"
    return book.with_name(f"{book.stem}_导出")


# ---- file names ---------------------------------------------------------------
def clean_file_part(name: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """name made safe as part of a Windows file name: forbidden and control characters
    replaced by “_”, line breaks and runs of spaces by one space, no leading/trailing
    spaces or dots, at most max_chars characters and MAX_NAME_BYTES bytes of UTF-8, never empty."""
    text = unicodedata.normalize("NFC", L.decode_control_escapes(name or ""))
    text = "".join("_" if _forbidden(ch) else ch for ch in text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    text = text[:max_chars]
    while len(text.encode("utf-8")) > MAX_NAME_BYTES:
        text = text[:-1]
    return text.rstrip(" .") or DEFAULT_NAME


def _forbidden(ch: str) -> bool:
    if ch in FORBIDDEN_FILE_CHARS:
        return True
    # control, format, surrogate and private-use characters; whitespace is collapsed instead
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and not ch.isspace()


def safe_file_stem(name: str, taken: set[str], suffix: str = FILE_SUFFIX, max_chars: int = MAX_NAME_CHARS) -> str:
    """“<name>_项目支出绩效自评表”, safe on Windows and not in taken (compared without case,
    as Windows does); a duplicate becomes “<name>(2)_项目支出绩效自评表”, “(3)”… Adds the result to taken."""
    base = clean_file_part(name, max_chars)
    if (base + suffix).split(".")[0].strip().upper() in RESERVED_FILE_NAMES:  # CON, NUL, COM1… are devices
        base = "_" + base
    lower = {t.casefold() for t in taken}
    stem, n = base + suffix, 1
    while stem.casefold() in lower:
        n += 1
        stem = f"{base}({n}){suffix}"
    taken.add(stem)
    return stem


def free_stem(name: str, taken: set[str], outdir: Path, ext: str, book: Path | None,
              suffix: str = FILE_SUFFIX) -> tuple[str, str | None]:
    """safe_file_stem, passing over every name whose file xlperf may not write (free_for_us: the master workbook,
    a file the user put there or changed). Returns (stem, a Chinese note when the usual name was passed over)."""
    stem = first = safe_file_stem(name, taken, suffix=suffix)
    while not free_for_us(outdir / f"{stem}{ext}", book if book is not None else outdir / stem):
        stem = safe_file_stem(name, taken, suffix=suffix)
    if stem == first:
        return stem, None
    master = book is not None and _same_file(outdir / f"{first}{ext}", book)
    what = "是主工作簿" if master else "不是 xlperf 写出的文件（或写出后已被修改）"
    return stem, f"{outdir / (first + ext)} {what}，未改动；本次写入 {stem}{ext}"


def save_marked_atomic(wb: Workbook, path: Path) -> Path:
    """wb saved the way save_workbook_atomic saves (checks, temporary file, fsync, rename), marked as written
    by xlperf (mark_written) so that a later export knows it may replace it."""
    import io

    from .safety import before_write
    from .writers.save import replace_atomically

    plain = io.BytesIO()
    wb.save(plain)
    data = mark_written(plain.getvalue())
    return replace_atomically(Path(path), lambda fh: fh.write(data), lambda target: before_write(wb, target))


# ---- the export workbook --------------------------------------------------------
def build_project_workbook(result: ProjectResult, include_findings: bool = True, form=None, profile=None) -> Workbook:
    """The handed-in workbook of one project: 附件1, 预算执行情况 and (if any) 校验结果, values only."""
    from .writers.annex import write_annex_sheet
    from .writers.budget_table import BUDGET_SHEET, write_budget_sheet
    from .writers.findings_sheet import write_findings_sheet

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    annex = L.safe_sheet_name(result.project.name, taken, prefix=L.ANNEX_PREFIX, reserved=False)
    meta = result.project.meta
    write_annex_sheet(wb, result, annex, unit=meta.get("unit") or None, year=meta.get("year") or None, form=form)
    write_budget_sheet(wb, result, BUDGET_SHEET)
    if include_findings:
        # The file stands alone: its 校验结果 is the reviewer's audit of this very file, so every
        # location is a cell of this file (附件1, 预算执行情况), never one of the master workbook.
        findings = own_findings(wb, result, profile)
        if findings:
            write_findings_sheet(wb, findings, sheet_name=L.FINDINGS_SHEET)
    wb.active = 0
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws is wb.worksheets[0]
    wb.properties.title = f"{result.project.name}{FILE_SUFFIX}"
    wb.properties.subject = L.ANNEX_TITLE
    wb.properties.creator = "xlperf"
    return wb


def own_findings(wb: Workbook, result: ProjectResult, profile=None) -> list:
    """`xlperf check` of the exported workbook wb (values only, in memory): what a reviewer will see."""
    from .check import audit_tables
    from .profiles import load_profile

    report, _ = audit_tables(wb, result.project.name, profile or load_profile())
    return list(report.findings)


# ---- the export -----------------------------------------------------------------
@dataclass(frozen=True)
class ExportItem:
    """What happened to one project."""

    name: str
    sheet: str
    total: str
    grade: str
    unit: str
    year: str
    errors: int
    xlsx: Path | None = None
    pdf: Path | None = None
    skipped: str | None = None  # why it was not exported (Chinese)
    failed: str | None = None  # why writing failed (Chinese)
    forced: bool = False  # exported despite error findings
    unused: bool = False  # a project sheet nobody filled in: not exported, and not a problem
    report: Path | None = None  # the Word 自评报告 (--report)
    report_pdf: Path | None = None
    generated: tuple[str, ...] = ()  # the report's sections written from the numbers
    note: str | None = None  # the file took another name: the usual one is a file xlperf did not write (Chinese)
    report_backup: Path | None = None  # the edited report kept before the new one replaced it

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.failed is None


@dataclass
class ExportReport:
    file: str
    outdir: Path
    items: list[ExportItem] = field(default_factory=list)
    manifest: Path | None = None
    template: Path | None = None  # the unit's own Word report template used (--report), None for the built-in one

    @property
    def exported(self) -> list[ExportItem]:
        return [i for i in self.items if i.xlsx is not None]

    @property
    def has_problems(self) -> bool:
        return any(not i.ok and not i.unused for i in self.items)


class ExportError(Exception):
    """The export cannot start (bad output folder, no projects, no LibreOffice); str(exc) is for the user."""


def _refusal(result: ProjectResult) -> str:
    errors = [f for f in result.findings if f.severity == ERROR]
    first = errors[0]
    return (f"有 {len(errors)} 个{SEVERITY_LABELS[ERROR]}级问题，" + ("首个：" if len(errors) > 1 else "")
            + f"{first.place} {first.message}；请在主工作簿中修正后重新导出，或加 --force 强制导出")


def export_workbook(book: Path, outdir: Path | None = None, profile=None, pdf: bool = False, force: bool = False,
                    progress: Progress | None = None, form: str | None = None, report: bool = False,
                    template: Path | None = None) -> ExportReport:
    """Export every project of the master workbook book into outdir (see the module doc).

    Raises UnreadableWorkbook when book cannot be read and ExportError when
    the export cannot start; a problem with one project is reported in its item.
    report: also write each exported project's Word 自评报告 (xlperf.report), and its PDF with pdf.
    """
    from . import libreoffice
    from .forms.recorded import form_for
    from .pipeline import score_workbook
    from .profiles import load_profile
    from .workbook_io import open_workbook

    book = Path(book)
    outdir = Path(outdir) if outdir is not None else default_outdir(book)
    profile = profile or load_profile()
    wb = open_workbook(book)
    chosen = form_for(wb, form)
    results = score_workbook(wb, book, profile)
    if not results:
        raise ExportError(f"{book.name} 中没有项目录入表（A1 为“{L.INPUT_TITLE}”的工作表），没有可导出的项目")
    if pdf and not libreoffice.available():
        raise ExportError("导出 PDF 需要 LibreOffice：请先安装 LibreOffice（或设置环境变量 XLPERF_SOFFICE 指向 soffice），或去掉 --pdf")
    source = None
    if report:
        from .report import ReportSource
        from .report.document import TemplateError

        try:
            source = ReportSource.load(template, book)
            source.prime([r for r in results if force or not any(f.severity == ERROR for f in r.findings)], chosen)
        except TemplateError as exc:  # before any file is written
            raise ExportError(str(exc)) from None
    if outdir.exists() and not outdir.is_dir():
        raise ExportError(f"输出位置 {outdir} 是文件，不是文件夹")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"无法创建输出文件夹 {outdir}：{_os_reason(exc)}") from exc
    run = ExportReport(file=str(book), outdir=outdir, template=source.path if source else None)
    taken: set[str] = set()
    report_names: set[str] = set()
    for i, result in enumerate(results, start=1):
        item = _export_one(result, outdir, taken, pdf, force, chosen, profile, book)
        if source is not None and item.xlsx is not None and item.ok:
            try:
                item = _report_one(item, result, outdir, report_names, chosen, source, pdf, book)
            except TemplateError as exc:  # TemplateRefused on a later project: the template's fault, stop
                raise ExportError(f"{exc}（已导出的项目文件在 {outdir} 中，导出清单未更新）") from None
        run.items.append(item)
        if progress:
            progress("导出", i, len(results))
    report = run
    from .safety import WriteRefused

    try:
        report.manifest = write_manifest(report, book, profile)
    except (OSError, WriteRefused) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise ExportError(f"能写入的项目文件已在 {outdir} 中，但无法写入导出清单 {MANIFEST_NAME}（{reason}）；"
                          "xlperf mail 需要这份清单：请腾出磁盘空间或检查写入权限后重新导出") from None
    return report


def _export_one(result: ProjectResult, outdir: Path, taken: set[str], pdf: bool, force: bool, form=None,
                profile=None, book: Path | None = None) -> ExportItem:
    from .libreoffice import LibreOfficeError
    from .readers.input_sheet import has_sheet, is_unfilled
    from .workbook_io import UnreadableWorkbook

    meta = result.project.meta
    errors = sum(1 for f in result.findings if f.severity == ERROR)
    item = ExportItem(name=result.project.name, sheet=result.project.sheet, total="" if result.total is None else format_score(result.total),
                      grade=result.grade, unit=str(meta.get("unit") or ""), year=str(meta.get("year") or ""),
                      errors=errors)
    if is_unfilled(result.project):  # an unused project sheet: nothing to hand in, and nothing wrong
        return _replace(item, unused=True, skipped="尚未填写")
    if not has_sheet(result.project):  # a 项目清单 row whose 录入表 is gone: nothing to export
        return _replace(item, skipped=next(f.message for f in result.findings if f.severity == ERROR))
    if errors and not force:
        return _replace(item, skipped=_refusal(result))
    stem, note = free_stem(result.project.name, taken, outdir, ".xlsx", book)
    xlsx = outdir / f"{stem}.xlsx"
    try:
        with _no_backup():
            save_marked_atomic(build_project_workbook(result, form=form, profile=profile), xlsx)
    except OSError as exc:
        return _replace(item, failed=f"无法写入 {xlsx}：{_os_reason(exc)}")
    except UnreadableWorkbook as exc:  # the save's own refusals (file open in Excel…), already in Chinese
        return _replace(item, failed=str(exc))
    item = _replace(item, xlsx=xlsx, forced=bool(errors), note=note)
    if pdf:
        try:
            written_pdf, kept = _write_pdf(result, outdir, stem, form)
            item = _replace(item, pdf=written_pdf, note="；".join(n for n in (item.note, kept) if n) or None)
        except (LibreOfficeError, OSError) as exc:  # reported with the project; mail then sends nothing for it
            item = _replace(item, failed=f"PDF 生成失败：{exc}")
    return item


def _report_one(item: ExportItem, result: ProjectResult, outdir: Path, taken: set[str], form, template,
                pdf: bool, book: Path | None = None) -> ExportItem:
    """item with the project's Word 自评报告 written beside its workbook (a failure is the item's; a template
    the sandbox refuses raises document.TemplateRefused)."""
    from .report import _write_one

    written = _write_one(result, outdir, taken, form, template, pdf, book)
    notes = "；".join(n for n in (item.note, written.note) if n) or None
    if written.docx is None or written.failed:
        return _replace(item, report=written.docx, failed=f"自评报告：{written.failed or written.skipped}", note=notes)
    return _replace(item, report=written.docx, report_pdf=written.pdf, generated=written.generated, note=notes,
                    report_backup=written.backup)


def _no_backup():
    """Exported files are regenerated at will: no NAME.xlsx.bak beside them (where save keeps backups)."""
    try:
        from .safety import writing_options
    except ImportError:
        return contextlib.nullcontext()
    return writing_options(backup=False)


def _write_pdf(result: ProjectResult, outdir: Path, stem: str, form=None) -> tuple[Path, str | None]:
    """outdir/<stem>.pdf: the 附件1 and the 预算执行情况 table (not the findings), by LibreOffice headless, placed
    by place_pdf (with its note when a file not xlperf's was kept as .bak)."""
    from . import libreoffice

    with tempfile.TemporaryDirectory(prefix="xlperf-pdf-") as tmp:
        staged = Path(tmp) / f"{stem}.xlsx"
        build_project_workbook(result, include_findings=False, form=form).save(staged)
        produced = libreoffice.convert(staged, "pdf", Path(tmp))
        target = outdir / f"{stem}.pdf"
        return target, place_pdf(produced, target)


def _replace(item: ExportItem, **changes) -> ExportItem:
    return dataclasses.replace(item, **changes)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "没有写入权限，或文件正在 Excel/WPS 中打开（请关闭后重试）"
    from .safety import os_reason

    return os_reason(exc)


# ---- manifest ---------------------------------------------------------------------
def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(report: ExportReport, book: Path, profile) -> Path:
    """DIR/xlperf-export.json: which file holds which project (what `xlperf mail` sends)."""
    data = {
        "version": MANIFEST_VERSION,
        "source": book.name,
        "source_sha256": file_sha256(book),
        "exported_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "profile": getattr(profile, "name", None),
        "projects": [
            {
                "name": i.name,
                "sheet": i.sheet,
                "unit": i.unit,
                "year": i.year,
                "total": i.total,
                "grade": i.grade,
                "errors": i.errors,
                "xlsx": i.xlsx.name if i.xlsx else None,
                "pdf": i.pdf.name if i.pdf else None,
                "report": i.report.name if i.report else None,
                "report_pdf": i.report_pdf.name if i.report_pdf else None,
                "sha256": file_sha256(i.xlsx) if i.xlsx else None,
                "skipped": i.skipped or i.failed,
                "unused": i.unused,
            }
            for i in report.items
        ],
    }
    path = report.outdir / MANIFEST_NAME
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return path


def write_text_atomic(path: Path, text: str) -> None:
    """Write text (UTF-8) the one way xlperf replaces a file (writers.save.replace_atomically: a temporary file
    beside it, fsync, rename), without a .bak: every export writes its manifest anew. Raises WriteRefused."""
    from .safety import writing_options
    from .writers.save import replace_atomically

    with writing_options(backup=False):
        replace_atomically(Path(path), lambda fh: fh.write(text.encode("utf-8")), lambda target: None)


# ---- files xlperf wrote ------------------------------------------------------------
# Every .xlsx export and .docx report carries in its 标识符 (docProps/core.xml dc:identifier) the SHA-256 of
# all its other parts. A file whose parts still give that digest is exactly what xlperf wrote there; one
# opened and saved in Excel/Word (which rewrites the parts), edited, or not written by xlperf at all does not.
WRITTEN_MARK = "xlperf-sha256:"
CORE_PART = "docProps/core.xml"
MAX_MARKED_FILE = 256 << 20  # a larger file in the output folder is not one xlperf wrote (none is near this)
_IDENTIFIER = re.compile(rb"<(?:[\w.-]+:)?identifier\b[^>]*?(?:/>|>([^<]*)</(?:[\w.-]+:)?identifier>)")
_CORE_END = re.compile(rb"</(?:[\w.-]+:)?coreProperties>\s*$")


def _parts_digest(zf) -> str:
    """SHA-256 of every member but docProps/core.xml: name, size and content, in name order."""
    h = hashlib.sha256()
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        if info.filename == CORE_PART:
            continue
        h.update(info.filename.encode("utf-8") + b"\0" + str(info.file_size).encode() + b"\0")
        with zf.open(info) as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                h.update(chunk)
    return h.hexdigest()


def mark_written(package: bytes) -> bytes:
    """package (an .xlsx or .docx xlperf made) with its parts' digest as its 标识符 (see WRITTEN_MARK)."""
    import io
    import zipfile

    from .zipbytes import rezip

    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        digest = _parts_digest(zf)
    tag = (f'<dc:identifier xmlns:dc="http://purl.org/dc/elements/1.1/">{WRITTEN_MARK}{digest}'
           "</dc:identifier>").encode()

    def stamp(name: str, data: bytes) -> bytes:
        if name != CORE_PART:
            return data
        data = _IDENTIFIER.sub(b"", data)
        return _CORE_END.sub(lambda m: tag + m.group(0), data, count=1)

    return rezip(package, stamp)


def written_by_xlperf(path: Path) -> bool:
    """True when path is exactly a file xlperf wrote (mark_written) and nobody has changed since; False for
    anything else: edited, saved again by Excel/Word, not xlperf's, unreadable, a folder or a link."""
    import zipfile

    from .workbook_io import MAX_ENTRIES, MAX_UNCOMPRESSED

    path = Path(path)
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_MARKED_FILE:
            return False
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
                return False
            core = zf.getinfo(CORE_PART)
            if core.file_size > 1 << 20:
                return False
            found = _IDENTIFIER.search(zf.read(core))
            claimed = (found.group(1) or b"").decode("ascii", "replace").strip() if found else ""
            return claimed == WRITTEN_MARK + _parts_digest(zf)
    except Exception:  # not a zip, damaged, no core part…: not a file xlperf wrote
        return False


PDF_RECORD = ".xlperf-pdf.json"  # in an output folder: PDF name -> SHA-256 of the bytes xlperf placed there
MAX_PDF_RECORD = 4 << 20


def _pdf_record(outdir: Path) -> dict[str, str]:
    """The PDFs xlperf placed in outdir (name -> SHA-256); an unreadable or foreign record is an empty one."""
    path = Path(outdir) / PDF_RECORD
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_PDF_RECORD:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _file_sha256(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def place_pdf(produced: Path, target: Path) -> str | None:
    """Move the PDF LibreOffice produced to target. A PDF has no room for xlperf's mark, so the folder keeps a
    record of the PDFs xlperf placed (PDF_RECORD): a file at target that is not byte for byte one of those (the
    user's own, or one changed since) is first kept as NAME.pdf.bak. Returns a Chinese note when it was kept.
    A folder at target is never replaced (OSError)."""
    from .safety import backup_path

    target = Path(target)
    record = _pdf_record(target.parent)
    note = None
    if target.is_dir() and not target.is_symlink():
        raise OSError(f"{target} 是文件夹，未改动")
    if os.path.lexists(target) and (target.is_symlink() or record.get(target.name) != _file_sha256(target)):
        os.replace(target, backup_path(target))
        note = f"原有的 {target.name} 不是 xlperf 写的（或写后被改动），已保存为 {backup_path(target).name}"
    digest = _file_sha256(Path(produced))
    os.replace(produced, target)
    record[target.name] = digest or ""
    fd, tmp = tempfile.mkstemp(prefix=".xlperf-pdf-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False, sort_keys=True)
        os.replace(tmp, target.parent / PDF_RECORD)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return note


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def free_for_us(path: Path, book: Path) -> bool:
    """May xlperf write path? Yes where nothing is, or where its own untouched output is; never over the master
    workbook book, a link, a folder or a file somebody else wrote (or changed since)."""
    if not os.path.lexists(path):
        return True
    return not _same_file(path, book) and written_by_xlperf(path)


class ManifestError(Exception):
    """No usable export in the folder; str(exc) is for the user."""


def read_manifest(outdir: Path, book: Path) -> dict:
    path = Path(outdir) / MANIFEST_NAME
    hint = f"请先运行：xlperf export {book} --outdir {outdir}"
    if not path.is_file():
        raise ManifestError(f"在 {outdir} 中没有找到导出记录（{MANIFEST_NAME}）；{hint}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"导出记录 {path} 无法读取（{exc}）；{hint}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("projects"), list):
        raise ManifestError(f"导出记录 {path} 格式不正确；{hint}")
    if data.get("source") != Path(book).name:
        raise ManifestError(f"{outdir} 中的导出来自工作簿“{data.get('source')}”，不是 {Path(book).name}；{hint}")
    return data
