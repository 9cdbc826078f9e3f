"""The Word 项目支出绩效自评报告 of each project: `xlperf report BOOK.xlsx [--outdir DIR] [--pdf]`.

    run = write_reports(Path("绩效自评.xlsx"), Path("报告"), pdf=True)

One ``<项目名称>_项目支出绩效自评报告.docx`` per scored project, in the seeds' structure
(`content` says what it contains, `document` puts it into the .docx template, `template` makes
that template). The master workbook is read and scored by the recalc pipeline's own
`pipeline.score_workbook` and never written. A project with error findings still gets its report
(its numbers are the engine's, computed from what is typed) and the run says so.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..model import ERROR, ProjectResult
from .content import REPORT_SUFFIX, ReportContent, report_content

Progress = Callable[[str, int, int], None]
PDF_FILTER = "pdf:writer_pdf_Export"


class ReportError(Exception):
    """The reports cannot be written at all (no projects, bad folder, no LibreOffice); str(exc) is for the user."""


@dataclass(frozen=True)
class ReportItem:
    name: str
    total: str = ""
    grade: str = ""
    errors: int = 0
    docx: Path | None = None
    pdf: Path | None = None
    generated: tuple[str, ...] = ()  # headings of the sections written from the numbers
    skipped: str | None = None
    failed: str | None = None
    unused: bool = False

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.failed is None


@dataclass
class ReportRun:
    file: str
    outdir: Path
    items: list[ReportItem] = field(default_factory=list)

    @property
    def written(self) -> list[ReportItem]:
        return [i for i in self.items if i.docx is not None]

    @property
    def has_problems(self) -> bool:
        return any((not i.ok and not i.unused) or i.errors for i in self.items)


def write_reports(book: Path, outdir: Path | None = None, profile=None, pdf: bool = False, form: str | None = None,
                  template: Path | None = None, progress: Progress | None = None,
                  results: list[ProjectResult] | None = None) -> ReportRun:
    """Write the report of every scored project of book into outdir (default: export's “<工作簿名>_导出”).

    results: the projects already scored (export passes its own); else book is read and scored.
    Raises UnreadableWorkbook, ReportError or document.TemplateError when nothing can be written.
    """
    from .document import load_template  # not at import: python -m xlperf.report.template runs it as __main__
    from .. import libreoffice
    from ..export import default_outdir
    from ..forms.recorded import form_for
    from ..pipeline import score_workbook
    from ..profiles import load_profile
    from ..workbook_io import open_workbook

    book = Path(book)
    outdir = Path(outdir) if outdir is not None else default_outdir(book)
    profile = profile or load_profile()
    wb = open_workbook(book)
    chosen = form_for(wb, form)
    if results is None:
        results = score_workbook(wb, book, profile)
    if not results:
        from .. import layout as L

        raise ReportError(f"{book.name} 中没有项目录入表（A1 为“{L.INPUT_TITLE}”的工作表），没有可写报告的项目")
    if pdf and not libreoffice.available():
        raise ReportError("生成 PDF 需要 LibreOffice：请先安装 LibreOffice（或设置环境变量 XLPERF_SOFFICE 指向 soffice），或去掉 --pdf")
    source = load_template(template, beside=book)  # read and checked once: the same template for every project
    if outdir.exists() and not outdir.is_dir():
        raise ReportError(f"输出位置 {outdir} 是文件，不是文件夹")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"无法创建输出文件夹 {outdir}：{exc.strerror or exc}") from exc
    run = ReportRun(file=str(book), outdir=outdir)
    taken: set[str] = set()
    for i, result in enumerate(results, start=1):
        run.items.append(_write_one(result, outdir, taken, chosen, source, pdf))
        if progress:
            progress("生成报告", i, len(results))
    return run


def _write_one(result: ProjectResult, outdir: Path, taken: set[str], form, template: bytes, pdf: bool) -> ReportItem:
    from ..export import _no_backup, _os_reason, safe_file_stem
    from ..libreoffice import LibreOfficeError
    from ..readers.input_sheet import has_sheet, is_unfilled
    from ..safety import WriteRefused
    from ..values import format_score
    from .document import TemplateError, render_report

    errors = sum(1 for f in result.findings if f.severity == ERROR)
    item = ReportItem(name=result.project.name, total="" if result.total is None else format_score(result.total),
                      grade=result.grade, errors=errors)
    if is_unfilled(result.project):
        return _with(item, unused=True, skipped="尚未填写")
    if not has_sheet(result.project) or result.total is None:
        reason = next((f.message for f in result.findings if f.severity == ERROR), "未评分")
        return _with(item, skipped=f"未评分，不能生成报告：{reason}")
    content = report_content(result, form)
    stem = safe_file_stem(result.project.name, taken, suffix=REPORT_SUFFIX)
    target = outdir / f"{stem}.docx"
    try:
        data = render_report(content, template)
    except TemplateError as exc:
        return _with(item, failed=str(exc))
    try:
        with _no_backup():
            write_bytes_atomic(target, data)
    except WriteRefused as exc:
        return _with(item, failed=str(exc))
    except OSError as exc:
        return _with(item, failed=f"无法写入 {target}：{_os_reason(exc)}")
    item = _with(item, docx=target, generated=content.generated)
    if pdf:
        try:
            item = _with(item, pdf=convert_to_pdf(target, outdir))
        except (LibreOfficeError, OSError) as exc:
            item = _with(item, failed=f"PDF 生成失败：{exc}")
    return item


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """data into path the way xlperf replaces every file: a temporary file beside it, fsync, rename."""
    from ..writers.save import replace_atomically

    return replace_atomically(Path(path), lambda fh: fh.write(data), lambda target: None)


def convert_to_pdf(docx: Path, outdir: Path) -> Path:
    """outdir/<docx stem>.pdf by LibreOffice headless, converted aside and renamed into place."""
    from .. import libreoffice

    with tempfile.TemporaryDirectory(prefix="xlperf-report-pdf-", dir=outdir) as tmp:
        produced = libreoffice.convert(docx, PDF_FILTER, Path(tmp))
        target = outdir / f"{docx.stem}.pdf"
        os.replace(produced, target)
    return target


def _with(item: ReportItem, **changes) -> ReportItem:
    import dataclasses

    return dataclasses.replace(item, **changes)


__all__ = ["write_reports", "ReportRun", "ReportItem", "ReportError", "ReportContent", "report_content"]
