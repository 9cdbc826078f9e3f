"""xlperf inside Excel: the file pipeline run on an xlwings Book.

Desktop Excel's ribbon runs `import xlperf; xlperf.main()`, which calls
`recalc(xw.Book.caller())`; xlwings Server's scripts call `recalc(book)` and
`check(book)` with the Book of the Office.js payload. Each reads the Book into
the pipeline's workbook model (reader.py), runs the same scoring, cross-check and
writers as `xlperf recalc`, and copies the generated sheets onto the Book
(writer.py). The user is told the outcome in a Chinese alert, never a traceback.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

from .. import layout as L
from ..model import ERROR, INFO, WARNING
from ..values import format_number

TITLE = "xlperf"
PROFILE_ENV = "XLPERF_PROFILE"  # the scoring profile when none is passed (desktop Excel, `xlperf serve --profile`)
MAX_LISTED = 12  # projects named in the alert; the rest are in 汇总
WEB_NOTE = ("说明：Excel 网页版只传送单元格的值、不传送公式，xlperf 已按模板公式核对各自动计算单元格显示的数值；"
            "结果相同的其他公式、百分比格式的小数位数无法识别（详见 README“Excel 中的按钮”）。")
WEB_FORMATS_NOTE = ("说明：Excel 网页版不传送数字格式，以数字录入并设为百分比格式的目标值、业绩值（如显示为 98% 的 0.98）"
                    "无法识别为百分比；结果有疑问时请在桌面版 Excel 中检查，或运行 xlperf check 文件.xlsx。")
NEEDS_FILE = ("{what}需要保存在本机的工作簿：请在桌面版 Excel 中打开并保存工作簿后再点“{what}”，"
              "或在命令行运行 xlperf {command} 工作簿.xlsx。")


def recalc(book, profile=None, *, alert: bool = True):
    """Score every input sheet of book and write 附件1, 汇总 and 校验结果 into it, as `xlperf recalc` does.

    Returns the pipeline's RecalcReport, or None when nothing could be done (the user was told why).
    """
    return _guarded(book, alert, _recalc, profile)


def check(book, profile=None, *, alert: bool = True):
    """The same reading, scoring and cross-check as recalc; only the 校验结果 sheet is written.

    Returns the RecalcReport (annex_sheets empty), or None when nothing could be done.
    """
    return _guarded(book, alert, _check, profile)


@dataclasses.dataclass(frozen=True)
class ServerFiles:
    """Excel on the web (`xlperf serve`): the request's own folder on the server, where the workbook Excel sent
    is written (there is no saved file) and what export/word_report/mail make of it is given as a download.

    url: the folder's address on the server (unguessable; the alert shows url + "/" + file name);
    mail_config: the server's xlperf.toml for 发送邮件 (None: the user config folder and XLPERF_* variables).
    """

    folder: Path
    url: str
    mail_config: Path | None = None


def export(book, profile=None, *, alert: bool = True, files: ServerFiles | None = None):
    """`xlperf export` on the workbook's file (desktop Excel: as last saved; `xlperf serve`: the book received,
    written into files.folder, the exported files given as one .zip download). Returns the ExportReport or None."""
    return _guarded(book, alert, _export, profile, files)


def word_report(book, profile=None, *, alert: bool = True, files: ServerFiles | None = None):
    """`xlperf report` on the workbook's file (desktop Excel: as last saved; `xlperf serve`: as export).
    Returns the ReportRun or None."""
    return _guarded(book, alert, _report, profile, files)


def mail(book, *, alert: bool = True, files: ServerFiles | None = None):
    """`xlperf mail` on the workbook's file (desktop Excel; `xlperf serve`: the book received is exported into
    files.folder first, then sent with the server's mail settings). Returns the MailReport or None."""
    return _guarded(book, alert, _mail, files)


# ---- the commands -----------------------------------------------------------------
def _recalc(book, run: _Run, profile):
    from ..generated import generated_sheet_names
    from ..pipeline import recalc_in_memory
    from .writer import replace_sheets

    profile, copy = _read(book, profile)
    old = [name for name in generated_sheet_names(copy.wb) if name in copy.wb.sheetnames]
    report = recalc_in_memory(copy.wb, Path(book.name), profile, crosscheck=True, cached=copy.cached)
    new = set(generated_sheet_names(copy.wb))
    run.writing = True
    replace_sheets(book, copy.wb, old, [name for name in copy.wb.sheetnames if name in new])
    report = dataclasses.replace(report, file=book.fullname)
    if run.alert:
        _alert(book, _recalc_summary(report, copy.formulas_read))
    return report


def _check(book, run: _Run, profile):
    from ..pipeline import RecalcReport, score_and_crosscheck
    from ..readers.input_sheet import input_sheets

    profile, copy = _read(book, profile)
    if not input_sheets(copy.wb):  # no master workbook: a reviewer checking a unit's own 附件1
        return _audit(book, run, profile)
    results = score_and_crosscheck(copy.wb, Path(book.name), profile, cached=copy.cached)
    findings = tuple(f for r in results for f in r.findings)
    name = _write_findings_only(book, run, copy.wb, findings)
    report = RecalcReport(file=book.fullname, results=tuple(results), annex_sheets=(), findings=findings)
    if run.alert:
        _alert(book, _check_summary(report, name, copy.formulas_read))
    return report


def _audit(book, run: _Run, profile):
    """`xlperf check` on the Book's values: every 附件1 table found, recomputed, disagreements listed."""
    from ..check import audit_tables
    from .reader import read_shown_values

    wb, formats_read = read_shown_values(book)
    report, _ = audit_tables(wb, book.fullname, profile)
    name = _write_findings_only(book, run, wb, report.findings)
    if run.alert:
        _alert(book, _audit_summary(report, name, formats_read), critical=not report.tables)
    return report


def _write_findings_only(book, run: _Run, wb, findings) -> str:
    """Write (or replace) the 校验结果 sheet of findings, and nothing else; its name."""
    from ..generated import generated_sheet_names
    from ..writers.findings_sheet import write_findings_sheet
    from .writer import replace_sheets

    generated = set(generated_sheet_names(wb))
    name = L.safe_sheet_name(L.FINDINGS_SHEET, set(wb.sheetnames) - generated, reserved=False)
    if name in wb.sheetnames:
        del wb[name]
    write_findings_sheet(wb, list(findings), sheet_name=name)
    run.writing = True
    replace_sheets(book, wb, [name] if name in generated else [], [name])
    return name


def _export(book, run: _Run, profile, files=None):
    from ..export import export_workbook

    path = _book_file(book, profile, files)
    if path is None:
        if run.alert:
            _alert(book, NEEDS_FILE.format(what="导出", command="export"), critical=True)
        return None
    report = export_workbook(path, None, default_profile(profile))
    if run.alert:
        lines = [f"已按{_which(path, files)}导出 {len(report.exported)} 个项目到：{_where(report.outdir, files)}"]
        lines += [f"· {item.name}：未导出，{item.skipped or item.failed}" for item in report.items if not item.ok]
        _alert(book, "\n".join(lines), critical=report.has_problems)
    return report


def _report(book, run: _Run, profile, files=None):
    from ..report import write_reports

    path = _book_file(book, profile, files)
    if path is None:
        if run.alert:
            _alert(book, NEEDS_FILE.format(what="生成报告", command="report"), critical=True)
        return None
    report = write_reports(path, None, default_profile(profile))
    if run.alert:
        lines = [f"已按{_which(path, files)}生成 {len(report.written)} 份自评报告到：{_where(report.outdir, files)}"]
        lines += [f"· {item.name}：未生成，{item.skipped or item.failed}" for item in report.items
                  if not item.ok and not item.unused]
        lines += [f"· {item.name}：有 {item.errors} 个错误级问题，报告中的得分按所填内容计算，请先重新计算并修正"
                  for item in report.written if item.errors]
        lines += [f"· {item.name}：录入表中未填写、按计算结果生成的部分：{'、'.join(item.generated)}"
                  for item in report.written if item.generated]
        _alert(book, "\n".join(lines), critical=report.has_problems)
    return report


def _mail(book, run: _Run, files=None):
    from ..export import export_workbook
    from ..mail import send_mail

    path = _book_file(book, None, files)
    if path is None:
        if run.alert:
            _alert(book, NEEDS_FILE.format(what="发送邮件", command="mail"), critical=True)
        return None
    config = None
    if files is not None:  # the browser's book has no export beside it: export what was received, then send that
        exported = export_workbook(path, None, default_profile())
        if not exported.exported:
            reasons = "；".join(f"{i.name}：{i.skipped or i.failed}" for i in exported.items if not i.ok)
            raise ExportFailed(f"没有可发送的项目：{reasons or '工作簿中没有项目'}")
        config = files.mail_config
    report = send_mail(path, config=config)
    if run.alert:
        log = _where(report.log, files) if files is not None else report.log
        lines = [f"已发送 {len(report.sent)} 个收件人；发送记录：{log}" if report.sent else "本次没有发送邮件。"]
        if report.already:
            lines.append(f"{len(report.already)} 个收件人此前已发送过，本次未发送（重新发送请在命令行加 --resend）。")
        lines += [f"· {f.project} → {f.recipient or ''}：{f.reason}" for f in report.failures]
        _alert(book, "\n".join(lines), critical=bool(report.failures))
    return report


# ---- shared -------------------------------------------------------------------------
def default_profile(profile=None):
    """profile, else the one named by $XLPERF_PROFILE, else the default."""
    from ..profiles import DEFAULT_PROFILE, load_profile
    from ..workbook_io import UnreadableWorkbook

    if profile is not None:
        return profile
    try:
        return load_profile(os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE)
    except KeyError as exc:  # a typing mistake in the setting, not a bug: say what to set
        raise UnreadableWorkbook(f"环境变量 {PROFILE_ENV} 有误：{exc.args[0]}") from None


def _read(book, profile):
    from ..generated import generated_sheet_names
    from .reader import read_book

    profile = default_profile(profile)
    copy = read_book(book, profile)
    if not generated_sheet_names(copy.wb):
        _property_fallback(book, copy.wb)
    return profile, copy


def _property_fallback(book, wb) -> None:
    """A workbook written before the markers: the generated sheets listed in its saved file's property."""
    from openpyxl.packaging.custom import StringProperty

    from ..generated import generated_sheet_names
    from ..workbook_io import UnreadableWorkbook, open_workbook

    path = _saved_file(book)
    if path is None:
        return
    try:
        names = generated_sheet_names(open_workbook(path, read_only=True))
    except UnreadableWorkbook:
        return
    wb.custom_doc_props.append(StringProperty(name=L.GENERATED_PROPERTY, value=json.dumps(names, ensure_ascii=False)))


def _book_file(book, profile, files: ServerFiles | None) -> Path | None:
    """The workbook's saved file (desktop Excel); on `xlperf serve` the book received, written into files.folder
    (read as recalc reads it, saved by the engine's own atomic writer); else None."""
    path = _saved_file(book)
    if path is not None or files is None:
        return path
    from ..export import safe_file_stem
    from ..writers.save import save_workbook_atomic
    from .reader import read_book

    copy = read_book(book, default_profile(profile))
    stem = safe_file_stem(Path(book.name).stem or "工作簿", set(), suffix="")
    return save_workbook_atomic(copy.wb, files.folder / f"{stem}.xlsx")


def _which(path: Path, files: ServerFiles | None) -> str:
    return " Excel 发送的工作簿内容" if files is not None else f"最近一次保存的“{path.name}”"


def _where(made: Path, files: ServerFiles | None) -> str:
    """Where the user finds what was made: the path (desktop), or the download address of it (a folder as .zip)."""
    if files is None:
        return str(made)
    if made.is_dir():
        import shutil

        made = Path(shutil.make_archive(str(made), "zip", root_dir=made.parent, base_dir=made.name))
    return f"（下载）{files.url}/{made.relative_to(files.folder).as_posix()}"


class ExportFailed(Exception):
    """Nothing to send: the received workbook's export made no file (`xlperf serve`'s 发送邮件)."""


def _saved_file(book) -> Path | None:
    """The workbook's file on this computer (desktop Excel); None on Excel on the web or for a new, unsaved book."""
    if book.app.engine.type == "remote":
        return None
    path = Path(book.fullname)
    return path if path.is_absolute() and path.is_file() else None


@dataclasses.dataclass
class _Run:
    alert: bool
    writing: bool = False  # the Book is being changed


def _guarded(book, alert: bool, command, *args):
    """Run one command: a problem the user can fix, or a bug, becomes an alert (and None), never a traceback."""
    from ..export import ExportError, ManifestError
    from ..mail import MailConfigError
    from ..report import ReportError
    from ..report.document import TemplateError
    from ..workbook_io import UnreadableWorkbook

    run = _Run(alert)
    actions = _actions(book)
    before = len(actions) if actions is not None else 0
    try:
        return command(book, run, *args)
    except (UnreadableWorkbook, ExportError, ManifestError, MailConfigError, ReportError, TemplateError,
            ExportFailed) as exc:
        message = str(exc)
    except Exception as exc:  # a bug: say so in Chinese, keep the workbook as it was where possible
        logging.getLogger("xlperf").exception("xlperf.excel.%s failed on %s", command.__name__.lstrip("_"), book.name)
        message = f"xlperf 运行出错（{type(exc).__name__}: {exc}）。"
        if run.writing and actions is None:
            message += "部分工作表可能已写入，请检查后重新运行。"
        message += "如问题重复出现，请把此信息和工作簿交给维护人员。"
    if actions is not None:
        del actions[before:]  # Excel on the web: nothing half-done reaches the workbook
    if alert:
        _alert(book, message, critical=True)
    return None


def _actions(book) -> list | None:
    """The remote Book's queue of recorded actions (Excel on the web); None on desktop Excel."""
    if book.app.engine.type != "remote":
        return None
    return book.json()["actions"]


def _alert(book, prompt: str, critical: bool = False) -> None:
    book.app.alert(prompt, title=TITLE, buttons="ok", mode="critical" if critical else "info")


def _counts(findings) -> str:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in (ERROR, WARNING, INFO)}
    return f"{counts[ERROR]} 个错误、{counts[WARNING]} 个警告、{counts[INFO]} 个提示"


def _recalc_summary(report, formulas_read: bool) -> str:
    lines = [f"已计算 {len(report.results)} 个项目："]
    for r in report.results[:MAX_LISTED]:
        total = "未评分" if r.total is None else f"{format_number(r.total)} 分"
        lines.append(f"· {r.project.name}：{total}（{r.grade}）")
    if len(report.results) > MAX_LISTED:
        lines.append(f"……另有 {len(report.results) - MAX_LISTED} 个项目，见“{L.SUMMARY_SHEET}”工作表。")
    if report.findings:
        lines.append(f"发现 {_counts(report.findings)}，详见“{L.FINDINGS_SHEET}”工作表。")
    else:
        lines.append("未发现问题。")
    if not formulas_read:
        lines.append(WEB_NOTE)
    return "\n".join(lines)


def _found(findings, sheet: str) -> str:
    return f"发现 {_counts(findings)}，详见“{sheet}”工作表" if findings else f"未发现问题（见“{sheet}”工作表）"


def _audit_summary(report, sheet: str, formats_read: bool) -> str:
    if not report.tables:
        return f"{report.findings[0].message}。已在“{sheet}”工作表中说明。"
    lines = [f"已审核 {len(report.tables)} 张自评表（工作簿中没有录入表，按附件1表格审核，同 xlperf check）："]
    for t in report.tables[:MAX_LISTED]:
        published = "" if t.published_total is None else f"，表中填报 {format_number(t.published_total)} 分"
        published += "" if not t.published_grade else f"（{t.published_grade}）"
        lines.append(f"· {t.sheet}：重算 {format_number(t.total)} 分（{t.grade}）{published}")
    if len(report.tables) > MAX_LISTED:
        lines.append(f"……另有 {len(report.tables) - MAX_LISTED} 张。")
    lines.append(f"{_found(report.findings, sheet)}；其他工作表未改动。")
    if not formats_read:
        lines.append(WEB_FORMATS_NOTE)
    return "\n".join(lines)


def _check_summary(report, sheet: str, formulas_read: bool) -> str:
    lines = [f"已检查 {len(report.results)} 个项目：{_found(report.findings, sheet)}；其他工作表未改动。"]
    if not formulas_read:
        lines.append(WEB_NOTE)
    return "\n".join(lines)
