"""The Word 项目支出绩效自评报告 of each project: `xlperf report BOOK.xlsx [--outdir DIR] [--pdf]`.

    run = write_reports(Path("绩效自评.xlsx"), Path("报告"), pdf=True)

One ``<项目名称>_项目支出绩效自评报告.docx`` per scored project, in the seeds' structure
(`content` says what it contains, `document` puts it into the .docx template, `template` makes
that template). The master workbook is read and scored by the recalc pipeline's own
`pipeline.score_workbook` and never written. A project with error findings still gets its report
(its numbers are the engine's, computed from what is typed) and the run says so.
"""
from __future__ import annotations

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
    backup: Path | None = None  # the report found there (edited, or not xlperf's), kept as NAME.docx.bak
    note: str | None = None  # the usual file name was passed over (a link, a folder, the master workbook)

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.failed is None


@dataclass
class ReportRun:
    file: str
    outdir: Path
    items: list[ReportItem] = field(default_factory=list)
    template: Path | None = None  # the unit's own template used; None: xlperf's built-in one

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
    Raises UnreadableWorkbook, ReportError or document.TemplateError when nothing can be written
    (document.TemplateRefused, the template breaking the sandbox's rules: found on the first project,
    before anything is written).
    """
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
    source = ReportSource.load(template, book)  # read and checked once: the same template for every project
    source.prime(results, chosen)
    if outdir.exists() and not outdir.is_dir():
        raise ReportError(f"输出位置 {outdir} 是文件，不是文件夹")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"无法创建输出文件夹 {outdir}：{exc.strerror or exc}") from exc
    run = ReportRun(file=str(book), outdir=outdir, template=source.path)
    taken: set[str] = set()
    for i, result in enumerate(results, start=1):
        run.items.append(_write_one(result, outdir, taken, chosen, source, pdf, book))
        if progress:
            progress("生成报告", i, len(results))
    return run


class ReportSource:
    """The template of one run: its bytes (checked by document.load_template), the unit's file it came from
    (None: xlperf's built-in template) and the reports already rendered by `prime`."""

    def __init__(self, data: bytes, path: Path | None):
        from .template import TEMPLATE_NAME

        self.data, self.path = data, path
        self.name = path.name if path is not None else TEMPLATE_NAME
        self._rendered: dict[int, bytes] = {}

    @classmethod
    def load(cls, template: Path | None, book: Path) -> "ReportSource":
        from .document import load_template, user_template

        return cls(load_template(template, beside=book), user_template(template, beside=book))

    def prime(self, results, form) -> None:
        """Render the first project that gets a report, before any file is written: a template the sandbox
        refuses (document.TemplateRefused) ends the run there. Other failures are that project's, later."""
        from .document import TemplateRefused

        for result in results:
            if reportable(result):
                try:
                    self._rendered[id(result)] = self.render(result, report_content(result, form))
                except TemplateRefused:
                    raise
                except Exception:
                    pass
                return

    def render(self, result: ProjectResult, content: ReportContent) -> bytes:
        from .document import render_report

        done = self._rendered.pop(id(result), None)
        return done if done is not None else render_report(content, self.data, name=self.name)


def reportable(result: ProjectResult) -> bool:
    from ..readers.input_sheet import has_sheet, is_unfilled

    return not is_unfilled(result.project) and has_sheet(result.project) and result.total is not None


def _write_one(result: ProjectResult, outdir: Path, taken: set[str], form, template: "ReportSource", pdf: bool,
               book: Path | None = None) -> ReportItem:
    from ..export import _os_reason, mark_written, written_by_xlperf
    from ..libreoffice import LibreOfficeError
    from ..readers.input_sheet import has_sheet, is_unfilled
    from ..safety import WriteRefused, writing_options
    from ..values import format_score
    from .document import TemplateError, TemplateRefused

    errors = sum(1 for f in result.findings if f.severity == ERROR)
    item = ReportItem(name=result.project.name, total="" if result.total is None else format_score(result.total),
                      grade=result.grade, errors=errors)
    if is_unfilled(result.project):
        return _with(item, unused=True, skipped="尚未填写")
    if not has_sheet(result.project) or result.total is None:
        reason = next((f.message for f in result.findings if f.severity == ERROR), "未评分")
        return _with(item, skipped=f"未评分，不能生成报告：{reason}")
    content = report_content(result, form)
    try:
        data = template.render(result, content)
    except TemplateRefused:
        raise  # the template's fault, the same for every project: the run stops (exit 2)
    except TemplateError as exc:
        return _with(item, failed=str(exc))
    target, note = _report_target(result.project.name, taken, outdir, book)
    keep = target.exists() and not written_by_xlperf(target)  # edited since xlperf wrote it, or never xlperf's
    try:
        with writing_options(backup=keep):
            write_bytes_atomic(target, mark_written(data), check=_not_open_in_word)
    except WriteRefused as exc:
        return _with(item, failed=str(exc))
    except OSError as exc:
        return _with(item, failed=f"无法写入 {target}：{_os_reason(exc)}")
    from ..safety import backup_path

    item = _with(item, docx=target, generated=content.generated, note=note, backup=backup_path(target) if keep else None)
    if pdf:
        try:
            written_pdf, kept = convert_to_pdf(target, outdir)
            item = _with(item, pdf=written_pdf, note="；".join(n for n in (item.note, kept) if n) or None)
        except (LibreOfficeError, OSError) as exc:
            item = _with(item, failed=f"PDF 生成失败：{exc}")
    return item


def _report_target(name: str, taken: set[str], outdir: Path, book: Path | None) -> tuple[Path, str | None]:
    """outdir/<name>_项目支出绩效自评报告.docx, or the next numbered name where that path is the master workbook,
    a link or a folder (never written through); an existing file there is kept as .bak instead (_write_one)."""
    from ..export import _same_file, safe_file_stem

    def taken_by_other(path: Path) -> bool:
        return path.is_symlink() or (path.exists() and not path.is_file()) or (
            book is not None and _same_file(path, book))

    first = target = outdir / f"{safe_file_stem(name, taken, suffix=REPORT_SUFFIX)}.docx"
    while taken_by_other(target):
        target = outdir / f"{safe_file_stem(name, taken, suffix=REPORT_SUFFIX)}.docx"
    if target == first:
        return target, None
    return target, f"{first} 是链接、文件夹或主工作簿，未改动；本次写入 {target.name}"


def word_owner_files(target: Path) -> list[Path]:
    """The owner files of Word and WPS (~$…) and LibreOffice (.~lock.…#) that show target open. Word names
    its owner file “~$” + the name with its first two characters dropped (stems of 8 characters or more) or
    one dropped (7); WPS and Excel keep the whole name."""
    from ..safety import lock_files

    name = Path(target).name
    stem = Path(name).stem
    shortened = "~$" + name[2:] if len(stem) >= 8 else "~$" + name[1:] if len(stem) == 7 else None
    word = [target.with_name(shortened)] if shortened else []
    return lock_files(target) + [p for p in word if p.exists()]


def _not_open_in_word(target: Path) -> None:
    from ..safety import WriteRefused

    owners = word_owner_files(target)
    if owners:
        raise WriteRefused(
            f"“{target.name}”正在被 Word、WPS 或 LibreOffice 打开（发现 {owners[0].name}），为免覆盖您未保存的修改，"
            f"没有写入该项目的报告。请先在 Word 中保存并关闭该文件后重新生成；如确认已关闭，可能是程序异常退出留下的文件，"
            f"删除 {owners[0].name} 后重试")


def write_bytes_atomic(path: Path, data: bytes, check=lambda target: None) -> Path:
    """data into path the way xlperf replaces every file: check(target) (raises WriteRefused), a temporary file
    beside it, fsync, a .bak when the write policy asks, rename."""
    from ..writers.save import replace_atomically

    return replace_atomically(Path(path), lambda fh: fh.write(data), check)


def convert_to_pdf(docx: Path, outdir: Path) -> tuple[Path, str | None]:
    """outdir/<docx stem>.pdf by LibreOffice headless, converted aside and placed by export.place_pdf (with its
    note when a file not xlperf's was kept as .bak)."""
    from .. import libreoffice

    from ..export import place_pdf

    with tempfile.TemporaryDirectory(prefix="xlperf-report-pdf-", dir=outdir) as tmp:
        produced = libreoffice.convert(docx, PDF_FILTER, Path(tmp))
        target = outdir / f"{docx.stem}.pdf"
        return target, place_pdf(produced, target)


def _with(item: ReportItem, **changes) -> ReportItem:
    import dataclasses

    return dataclasses.replace(item, **changes)


__all__ = ["write_reports", "ReportRun", "ReportItem", "ReportError", "ReportContent", "report_content"]
