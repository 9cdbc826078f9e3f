"""The `xlperf` command. Everything the user reads is Chinese.

Exit codes: 0 no error finding; 1 some finding is an error; 2 a file could not
be read (or the command was used wrongly).
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from . import layout as L
from .model import ERROR, INFO, SEVERITY_LABELS, WARNING
from .forms import DEFAULT_FORM
from .profiles import DEFAULT_PROFILE, available_profiles, load_profile
from .values import format_number, format_score
from .workbook_io import UnreadableWorkbook, reading_options
from .cli_chinese import install as _chinese_frame
from .cli_text import Wrapped, wrapped

_chinese_frame()  # "用法：", "选项", "错误：缺少参数 book" instead of click's English

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2
DEMO_FILE = "绩效自评示例.xlsx"

app = typer.Typer(
    name="xlperf",
    help="项目支出绩效自评表：生成 Excel 模板、计算得分、生成附件1并校验。",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)
# Markup is never parsed: project names, file names and messages are the user's text ("[/]" is a name,
# not a tag). Colour comes from Text styles.
out = Console(markup=False, soft_wrap=True)  # plain lines are not broken at 80 columns when piped; tables still fit
err = Console(stderr=True, markup=False, soft_wrap=True)

ProfileOption = typer.Option(DEFAULT_PROFILE, "--profile", help=f"评分规则配置：{'、'.join(available_profiles())}")
JsonOption = typer.Option(False, "--json", help="以 JSON 输出结果（供脚本和系统读取）")
PasswordOption = typer.Option(None, "--password", envvar="XLPERF_PASSWORD", show_envvar=False,
                              help="加密工作簿的打开密码（只在内存中解密；也可用环境变量 XLPERF_PASSWORD）")
ConvertOption = typer.Option(False, "--convert", help="遇到 .xls/.et/.csv/.ods（check 审核报告时 .doc/.wps）时用 LibreOffice 转换一份副本后继续（原文件不变）")
BackupOption = typer.Option(True, "--backup/--no-backup", help="替换已有工作簿前保留上一版为 文件名.xlsx.bak（默认保留）")
FormOverride = typer.Option(None, "--form", metavar="表样",
                            help="本次生成附件1所用的表样（默认：工作簿记录的表样；xlperf forms 列出全部）")


def _fail(message: str, code: int = EXIT_UNREADABLE) -> None:
    err.print(Text.assemble(("错误：", "bold red"), message), highlight=False)
    raise typer.Exit(code)


def _profile(name: str):
    try:
        return load_profile(name)
    except KeyError as exc:
        _fail(str(exc.args[0]))


def _form(name: str | None):
    """The writable form of that name; an unknown one ends the command (exit 2) with the known names."""
    from .forms import UnknownForm, load_form

    if name is None:
        return None
    try:
        return load_form(name, writable=True)
    except UnknownForm as exc:
        _fail(str(exc))


def _save(wb, path: Path, backup: bool) -> None:
    """Save atomically (keeping a .bak when asked); a refused or failed write exits 2 with its message."""
    from .safety import file_options
    from .writers.save import save_workbook_atomic

    with _command_run(), file_options(backup=backup):
        save_workbook_atomic(wb, path)


def _write_sheets(wb, path: Path, backup: bool, add=(), remove=(), replace=()) -> None:
    """Write wb's sheets `add` and `replace` (as openpyxl has them now) into the file it was read from, and take
    `remove` out; every other part of the file stays as it is (xlperf.package). Refusals exit 2."""
    from .package.write import write_sheets
    from .safety import file_options

    produced = None
    if add or replace:
        # only the sheets grafted are saved by openpyxl: the rest of wb is never written
        from .writers.cells import finish_merges

        wanted = {t.lower() for t in (*add, *replace)}
        for ws in list(wb.worksheets):
            if ws.title.lower() not in wanted:
                wb.remove(ws)
            else:
                finish_merges(ws)  # read without the merged cells' borders (workbook_io): give them back
        wb.active = 0
        produced = wb
    with _command_run(), file_options(backup=backup):
        write_sheets(wb, produced, path, remove=remove, add=add, replace=replace)


def _print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


class _ProgressBar:
    """Progress on stderr, only for runs long enough to need it."""

    THRESHOLD = 20

    def __init__(self):
        self.progress: Progress | None = None
        self.tasks: dict[str, int] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        if total < self.THRESHOLD:
            return
        if self.progress is None:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=err, transient=True)
            self.progress.start()
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(what, total=total)
        self.progress.update(self.tasks[what], completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


@contextmanager
def _command_run(*refused: type[Exception]) -> Iterator[_ProgressBar]:
    """One command's progress bar; an unreadable file (or a refused error) ends it with a Chinese message, exit 2."""
    bar = _ProgressBar()
    try:
        yield bar
    except (UnreadableWorkbook, *refused) as exc:
        bar.close()  # before the message: the bar is drawn on the same stream
        _fail(str(exc))
    finally:
        bar.close()


@app.command("new")
def new(
    path: Path = typer.Argument(..., help="要创建的工作簿，如 绩效自评.xlsx"),
    projects: int = typer.Option(1, "--projects", min=1, max=2000, help="项目（录入表）个数"),
    example: bool = typer.Option(False, "--example", help="用示例数据填写每个项目（含若干典型错误，便于试用）"),
    force: bool = typer.Option(False, "--force", help="目标文件已存在时覆盖"),
    profile: str = ProfileOption,
    form: str = typer.Option(DEFAULT_FORM, "--form", metavar="表样",
                             help="附件1 的表样，记录在工作簿中（默认 national 全国表样；xlperf forms 列出全部）"),
    backup: bool = BackupOption,
) -> None:
    """从模板创建主工作簿：使用说明、项目清单和每个项目一张录入表。"""
    from .template.build import new_workbook
    from .template.examples import example_projects
    from .template.inputs import ProjectInput

    if path.suffix.lower() != ".xlsx":
        _fail(f"文件名应以 .xlsx 结尾：{path}")
    if path.exists() and not force:
        _fail(f"{path} 已存在；如确需覆盖请加 --force（原文件将被替换）")
    data = example_projects(projects) if example else [ProjectInput(name=f"项目{i}") for i in range(1, projects + 1)]
    _form(form)
    wb = new_workbook(data, _profile(profile), form=form)
    _save(wb, path, backup)
    out.print(f"已创建 {path}：{projects} 个项目录入表。填写后运行：xlperf recalc {path}", highlight=False)


@app.command("add-project")
def add_project(
    book: Path = typer.Argument(..., help="已有的主工作簿"),
    name: str = typer.Option(..., "--name", help="新项目名称（也作为录入表的工作表名）"),
    example: bool = typer.Option(False, "--example", help="用示例数据填写"),
    profile: str = ProfileOption,
    password: Optional[str] = PasswordOption,
    backup: bool = BackupOption,
) -> None:
    """在已有工作簿中增加一个项目录入表，不改动其他内容。"""
    from .readers.input_sheet import input_sheets
    from .template.build import add_project as add
    from .template.examples import example_project
    from .template.inputs import ProjectInput
    from .workbook_io import open_workbook, source_info

    typed, name = name, L.printable_name(name)
    if not name:
        _fail("项目名称不能为空（控制字符、换行等不能作为名称）")
    if name != typed.strip():
        err.print(f"注意：项目名称中的控制字符、换行或方向控制符已删除，名称改为“{name}”", highlight=False)
    from .safety import file_options, writer_lock

    with _command_run(), writer_lock(book):  # from reading to replacing: a concurrent recalc is never lost
        with file_options(password=password):
            wb = open_workbook(book, leave_out_generated=True)  # 附件1, 汇总… are not needed (nor written)
        existing = {str(ws[L.NAME_CELL].value or "").strip() for ws in input_sheets(wb)}
        if name in existing:
            _fail(f"项目“{name}”已存在于 {book.name}")
        if L.PROJECT_LIST_SHEET not in wb.sheetnames:
            _fail(f"{book.name} 没有“{L.PROJECT_LIST_SHEET}”工作表，不是 xlperf 主工作簿；请用 xlperf new 创建")
        data = example_project(len(existing)) if example else ProjectInput(name=name)
        if example:
            data = ProjectInput(**{**data.__dict__, "name": name})
        ws = add(wb, data, _profile(profile), taken=source_info(wb).generated_sheets)
        _write_sheets(wb, book, backup, add=[ws.title], replace=[L.PROJECT_LIST_SHEET])
    out.print(f"已在 {book.name} 中增加项目“{name}”（工作表“{ws.title}”）", highlight=False)


@app.command("remove-project")
def remove_project(
    book: Path = typer.Argument(..., help="主工作簿"),
    name: str = typer.Option(..., "--name", help="要删除的项目名称（录入表中的项目名称，或录入表的工作表名）"),
    password: Optional[str] = PasswordOption,
    backup: bool = BackupOption,
) -> None:
    """删除一个项目：它的录入表、项目清单中的行和它的附件1，不改动其他内容。"""
    from .generated import generated_sheet_names
    from .readers.annex_table import annex_project_name
    from .readers.input_sheet import input_sheets, project_list_rows
    from .safety import file_options, writer_lock
    from .workbook_io import open_workbook

    wanted = L.printable_name(name)
    with _command_run(), writer_lock(book):
        with file_options(password=password):
            wb = open_workbook(book)
        matches = [ws for ws in input_sheets(wb)
                   if wanted in (ws.title, L.printable_name(str(ws[L.NAME_CELL].value or "")))]
        if not matches:
            names = "、".join(str(ws[L.NAME_CELL].value or ws.title) for ws in input_sheets(wb)) or "（没有项目）"
            _fail(f"{book.name} 中没有项目“{wanted}”；现有项目：{names}")
        if len(matches) > 1:
            _fail(f"{book.name} 中有 {len(matches)} 个名为“{wanted}”的项目（工作表 "
                  f"{'、'.join(ws.title for ws in matches)}）；请用 --name 指定其中一个录入表的工作表名")
        (sheet,) = matches
        project = str(sheet[L.NAME_CELL].value or sheet.title).strip()
        annexes = [n for n in generated_sheet_names(wb) if n in wb.sheetnames and n.startswith(L.ANNEX_PREFIX)
                   and annex_project_name(wb[n]) == project]
        rows = [r for r, record in project_list_rows(wb) if record.get("sheet") == sheet.title
                or (not record.get("sheet") and record.get("name") == project)]
        referring = _formulas_referring_to(wb, [sheet.title, *annexes], skip={*generated_sheet_names(wb),
                                                                                 *(ws.title for ws in input_sheets(wb))})
        for title in [sheet.title, *annexes]:
            del wb[title]
        if rows:
            _remove_project_rows(wb[L.PROJECT_LIST_SHEET], rows)
        _write_sheets(wb, book, backup, remove=[sheet.title, *annexes], replace=[L.PROJECT_LIST_SHEET] if rows else [])
    removed = "、".join([f"录入表“{sheet.title}”", *(f"“{a}”" for a in annexes),
                        *(f"项目清单第 {r} 行" for r in rows)])
    out.print(f"已从 {book.name} 删除项目“{project}”：{removed}。请重新运行 xlperf recalc {book.name} 更新汇总和校验结果",
              highlight=False)
    for where, title in referring:
        err.print(Text.assemble(("注意：", "yellow"), f"{where} 的公式引用了已删除的工作表“{title}”，在 Excel 中将显示 #REF!；"
                                "请修改该公式"), highlight=False)


def _formulas_referring_to(wb, titles: list[str], skip: set[str]) -> list[tuple[str, str]]:
    """(sheet!cell, title) for each formula in the user's own sheets (not in skip nor titles) that refers to a
    sheet about to be removed."""
    import re

    patterns = [(t, re.compile(r"(?:'" + re.escape(t.replace("'", "''")) + r"'|(?<![\w.])" + re.escape(t) + r")!",
                               re.IGNORECASE)) for t in titles]
    found = []
    for ws in wb.worksheets:
        if ws.title in skip or ws.title in titles:
            continue
        for row in ws.iter_rows():
            for cell in row:
                formula = cell.value if isinstance(cell.value, str) and cell.value.startswith("=") else None
                formula = formula or getattr(cell.value, "text", None)  # array formulas
                if not formula:
                    continue
                for title, pattern in patterns:
                    if pattern.search(formula):
                        found.append((f"{ws.title}!{cell.coordinate}", title))
    return found


def _remove_project_rows(ws, rows: list[int]) -> None:
    """Delete 项目清单 rows; the 录入表 links below them move with their rows (openpyxl does not move links)."""
    links = {cell.row: cell.hyperlink for row in ws.iter_rows(min_row=L.PROJECT_LIST_FIRST_ROW) for cell in row
             if cell.hyperlink is not None}
    for r in sorted(rows, reverse=True):
        ws.delete_rows(r)
    ws._hyperlinks = []
    for cell in (c for row in ws.iter_rows(min_row=L.PROJECT_LIST_FIRST_ROW) for c in row):
        cell.hyperlink = None
    for old_row, link in sorted(links.items()):
        if old_row in rows:
            continue
        new_row = old_row - sum(1 for r in rows if r < old_row)
        column = L.column_index(link.ref.rstrip("0123456789")) if link.ref else len(L.PROJECT_LIST_KEYS)
        ws.cell(new_row, column).hyperlink = link.location and f"#{link.location}" or link.target


@app.command("recalc")
def recalc(
    book: Path = typer.Argument(..., help="填写好的主工作簿"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="写入另一个文件（默认写回原工作簿）"),
    as_json: bool = JsonOption,
    profile: str = ProfileOption,
    crosscheck: bool = typer.Option(True, "--crosscheck/--no-crosscheck",
                                    help="用 Python 重新计算工作簿中的每个公式，并与文件保存的结果和评分规则逐格核对（默认开启）"),
    form: Optional[str] = FormOverride,
    password: Optional[str] = PasswordOption,
    convert: bool = ConvertOption,
    backup: bool = BackupOption,
) -> None:
    """读取每个录入表、按规则评分，写入附件1、汇总和校验结果工作表。"""
    from .pipeline import recalc_workbook
    from .safety import file_options

    _form(form)
    with _command_run() as bar, file_options(password=password, convert=convert, backup=backup):
        report = recalc_workbook(book, output, _profile(profile), progress=bar, crosscheck=crosscheck, form=form)
    if as_json:
        _print_json(report.as_json())
    else:
        _print_recalc(report, output or book)
    raise typer.Exit(EXIT_FINDINGS if report.has_errors else EXIT_OK)


@app.command("check")
def check(
    paths: list[Path] = typer.Argument(..., metavar="路径...",
                                       help="他人填报的附件1工作簿（.xlsx）或自评报告（.docx；.doc/.wps 加 --convert）；"
                                            "也可以是文件夹（含子文件夹）或通配符（如 '2025/*.xlsx'），一次审核多个文件"),
    as_json: bool = JsonOption,
    profile: str = ProfileOption,
    password: Optional[str] = PasswordOption,
    convert: bool = ConvertOption,
    crosscheck: bool = typer.Option(True, "--crosscheck/--no-crosscheck",
                                    help="用 Python 重新计算表中的公式，并与文件保存的结果核对（默认开启）"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=512, metavar="个数",
                                          help="多个文件时同时审核的进程数（默认：CPU 核数）"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="地址",
                                            help="在 Dask 集群上审核，如 tcp://10.0.0.5:8786（需 pip install 'xlperf[cluster]'）"),
    report: Optional[Path] = typer.Option(None, "--report", metavar="文件",
                                          help="多个文件时写出的审核汇总工作簿（默认：当前文件夹的 审核汇总.xlsx）"),
    json_lines: bool = typer.Option(False, "--json-lines",
                                    help="每审核完一个文件输出一行 JSON（字段同 --json，另有 file），供其他系统读取"),
    send_files: bool = typer.Option(False, "--send-files",
                                    help="把文件内容发给集群的工作进程（工作进程看不到本机文件时用）"),
    cache: Optional[Path] = typer.Option(None, "--cache", metavar="文件夹",
                                         help="按文件内容保存审核结果的文件夹，重跑时只审核新增或改动的文件（默认：审核汇总旁）"),
    no_cache: bool = typer.Option(False, "--no-cache", help="不用保存的结果，全部重新审核"),
    time_limit: float = typer.Option(120.0, "--time-limit", min=0.1, metavar="秒",
                                     help="多个文件时每个文件的审核时间上限，超过记为一行“超时”（默认 120 秒）"),
    max_size: float = typer.Option(50.0, "--max-size", min=0.001, metavar="MB",
                                   help="多个文件时单个文件的大小上限，超过记为一行“文件过大”（默认 50 MB）"),
) -> None:
    """审核已填好的附件1或 Word 自评报告：重新计算完成率、得分、总分和等级，列出与填报值不一致之处。

    给出文件夹、通配符或多个文件时批量审核：结果写入审核汇总工作簿（每张表一行，另有问题明细和分布图），
    可在本机多进程或 Dask 集群上运行。"""
    from .batch.files import GLOB_CHARS

    _check_limits(time_limit, max_size)
    batch = (len(paths) > 1 or any(p.is_dir() or (not p.exists() and any(c in str(p) for c in GLOB_CHARS)) for p in paths)
             or any(v is not None for v in (report, scheduler, workers, cache)) or json_lines or send_files)
    if not batch:
        _check_one(paths[0], as_json, profile, password, convert, crosscheck)
    if as_json:
        _fail("多个文件时请用 --json-lines（每个文件一行 JSON）或 --report（审核汇总工作簿），不能用 --json")
    from .batch.job import Options

    _profile(profile)  # an unknown profile is refused before any file is read
    options = Options(profile=profile, convert=convert, password=password, crosscheck=crosscheck,
                      max_bytes=int(max_size * 1024 * 1024), time_limit=time_limit)
    _check_batch(paths, options, workers=workers, scheduler=scheduler, report=report, json_lines=json_lines,
                 send_files=send_files, cache=cache, no_cache=no_cache)


MAX_TIME_LIMIT = 7 * 24 * 3600.0  # seconds: a week per file is already no limit
MAX_SIZE_MB = 16 * 1024.0  # a file is read into memory to be checked


def _check_limits(time_limit: float, max_size: float) -> None:
    """--time-limit and --max-size as finite numbers in their range (click lets inf and nan through)."""
    import math

    if not (math.isfinite(time_limit) and 0 < time_limit <= MAX_TIME_LIMIT):
        _fail(f"--time-limit 应为 0.1 到 {MAX_TIME_LIMIT:g} 之间的秒数（如 120），不能是“{time_limit:g}”；没有审核任何文件")
    if not (math.isfinite(max_size) and 0 < max_size <= MAX_SIZE_MB):
        _fail(f"--max-size 应为 0.001 到 {MAX_SIZE_MB:g} 之间的 MB 数（如 50），不能是“{max_size:g}”；没有审核任何文件")


def _check_one(file: Path, as_json: bool, profile: str, password, convert: bool, crosscheck: bool) -> None:
    """One file: the report on the console (or --json), exit 0/1/2."""
    from .check import check_workbook
    from .check_docx import check_document, is_document
    from .safety import file_options

    with _command_run(), file_options(password=password, convert=convert):
        if is_document(file):  # a Word 自评报告: its tables and the numbers in its text (表N R2C5, 正文 段落12)
            report = check_document(file, _profile(profile))
        else:
            report = check_workbook(file, _profile(profile), crosscheck=crosscheck)
    if as_json:
        _print_json(report.as_json())
    else:
        _print_check(report)
    has_errors = any(f.severity == ERROR for f in report.findings)
    raise typer.Exit(EXIT_FINDINGS if has_errors else EXIT_OK)


@app.command("demo")
def demo(
    directory: Path = typer.Argument(Path("."), help="示例文件存放的文件夹（默认当前文件夹）"),
    profile: str = ProfileOption,
) -> None:
    """生成示例工作簿（两个真实项目，原样录入），计算得分并显示汇总。"""
    from .pipeline import recalc_workbook
    from .template.build import new_workbook
    from .forms import SEEDS_FORM
    from .template.seeds import SEEDS
    from .writers.save import save_workbook_atomic

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DEMO_FILE
    prof = _profile(profile)
    from .safety import file_options

    with file_options(backup=False):  # the demo file is ours: no .bak beside it
        save_workbook_atomic(new_workbook(list(SEEDS), prof, form=SEEDS_FORM), path)  # the seeds in their own form
        report = recalc_workbook(path, None, prof)
    _print_recalc(report, path)
    from .report import write_reports

    from .report.document import TemplateError

    with _command_run(TemplateError), file_options(backup=False):
        run = write_reports(path, directory, prof, results=list(report.results))  # both seed reports beside it
    _print_template(run.template)
    _print_kept(run.items, lambda item: item.backup)
    written = "、".join(item.docx.name for item in run.written)
    out.print(f"已生成自评报告：{written}（在 {directory} 中）", highlight=False)
    out.print(Text("示例中的错误是刻意保留的（种子报告原样录入），演示本身运行成功。", style="dim"))


@app.command("forms")
def forms_command(as_json: bool = JsonOption) -> None:
    """列出 xlperf 认识的附件1表样（审核时自动识别；可写出的表样可用于 new/recalc/export 的 --form）。"""
    from .forms import DEFAULT_FORM as default, all_forms

    if as_json:
        _print_json({"forms": [{"name": f.name, "title": f.title, "description": f.description, "writable": f.writable,
                                "budget_points": None if f.budget is None or f.budget.points is None
                                else format_number(f.budget.points)} for f in all_forms()]})
        raise typer.Exit(EXIT_OK)
    table = Table(title="附件1 表样")
    for title in ("名称", "标题", "说明", "可生成"):
        table.add_column(title, overflow="fold")
    for f in all_forms():
        name = f.name + ("（默认）" if f.name == default else "")
        table.add_row(*wrapped((name, f.title, f.description, "是" if f.writable else "只用于审核")))
    out.print(table)


# ---- export and mail (issue 5) ------------------------------------------------
@app.command("export")
def export(
    book: Path = typer.Argument(..., help="主工作簿"),
    outdir: Optional[Path] = typer.Option(None, "--outdir", help="输出文件夹（默认：工作簿旁的“<工作簿名>_导出”）"),
    pdf: bool = typer.Option(False, "--pdf", help="同时用 LibreOffice 生成每个项目附件1的 PDF"),
    force: bool = typer.Option(False, "--force", help="有错误级问题的项目也导出（附带校验结果表）"),
    with_report: bool = typer.Option(False, "--report", help="同时写出每个项目的 Word 自评报告（见 xlperf report；有 --pdf 时也转成 PDF）"),
    profile: str = ProfileOption,
    form: Optional[str] = FormOverride,
    password: Optional[str] = PasswordOption,
    convert: bool = ConvertOption,
) -> None:
    """每个项目导出一个只含数值的工作簿（附件1、预算执行情况表，有问题时附校验结果），供报送；不修改主工作簿。"""
    from .export import ExportError, export_workbook

    _form(form)

    with _command_run(ExportError) as bar, reading_options(password=password, convert=convert):
        def progress(what: str, done: int, total: int) -> None:
            if pdf:  # LibreOffice takes seconds per project: say where it is
                err.print(f"已处理 {done}/{total} 个项目", highlight=False)
            else:
                bar(what, done, total)

        report = export_workbook(book, outdir, _profile(profile), pdf=pdf, force=force, progress=progress, form=form,
                                 report=with_report)
    _print_export(report)
    raise typer.Exit(EXIT_FINDINGS if report.has_problems else EXIT_OK)


@app.command("report")
def report(
    book: Path = typer.Argument(..., help="主工作簿"),
    outdir: Optional[Path] = typer.Option(None, "--outdir", help="输出文件夹（默认：工作簿旁的“<工作簿名>_导出”，与 export 相同）"),
    pdf: bool = typer.Option(False, "--pdf", help="同时用 LibreOffice 把每份报告转成 PDF"),
    template: Optional[Path] = typer.Option(None, "--template", help="Word 报告模板（默认：工作簿旁的 自评报告模板.docx，否则内置模板）"),
    profile: str = ProfileOption,
    form: Optional[str] = FormOverride,
    password: Optional[str] = PasswordOption,
    convert: bool = ConvertOption,
) -> None:
    """每个项目写一份 Word 项目支出绩效自评报告（<项目名称>_项目支出绩效自评报告.docx），附件1按工作簿的表样；不修改主工作簿。"""
    from .report import ReportError, write_reports
    from .report.document import TemplateError

    _form(form)
    with _command_run(ReportError, TemplateError) as bar, reading_options(password=password, convert=convert):
        def progress(what: str, done: int, total: int) -> None:
            if pdf:
                err.print(f"已处理 {done}/{total} 个项目", highlight=False)
            else:
                bar(what, done, total)

        run = write_reports(book, outdir, _profile(profile), pdf=pdf, form=form, template=template, progress=progress)
    _print_reports(run)
    raise typer.Exit(EXIT_FINDINGS if run.has_problems else EXIT_OK)


def _print_reports(run) -> None:
    def result(item):
        return item.docx.name + (f"、{item.pdf.name}" if item.pdf else "") + ("（有错误）" if item.errors else "")

    _print_template(run.template)
    _print_run(f"自评报告：{run.file}", run.items, result, "未生成", "尚未填写，未生成报告")
    _print_kept(run.items, lambda item: item.backup)
    for item in run.written:
        if item.errors:
            err.print(Text.assemble(("注意：", "yellow"), f"“{item.name}”有 {item.errors} 个错误级问题，报告中的得分按所填内容计算"
                                    f"（总得分 {item.total}）；请用 xlperf recalc 查看并修正后重新生成报告"), highlight=False)
    _print_generated(item for item in run.written)
    _print_done(f"已生成 {len(run.written)} 份自评报告到 {run.outdir}", run.items, "未生成")


def _print_template(template: Path | None) -> None:
    """The unit's own Word report template, named on every run that uses it (report, export --report, demo)."""
    if template is not None:
        out.print(f"使用报告模板：{template}", highlight=False)


def _print_kept(items, backup) -> None:
    """What report and export did not write over: an edited report kept as .bak (backup(item)), a file name
    passed over (item.note)."""
    for item in items:
        kept = backup(item)
        if kept is not None:
            err.print(Text.assemble(("注意：", "yellow"), f"“{item.name}”原有的自评报告与 xlperf 上次写出的不同（已被修改，"
                                    f"或不是 xlperf 写出的），已保留为 {kept.name}，再写入新的报告"), highlight=False)
        if item.note:
            err.print(Text.assemble(("注意：", "yellow"), f"“{item.name}”：{item.note}"), highlight=False)


def _print_run(title: str, items, result, refused: str, unused: str) -> None:
    """export's and report's table: a row per project with its total, grade and what was written (result(item))
    or why not (refused: 未导出, 未生成)."""
    table = Table(title=title)
    for heading in ("项目名称", "总得分", "评价等级", "结果"):
        table.add_column(heading, overflow="fold")
    for item in items:
        if item.unused:
            shown = Text(unused, style="dim")
        elif item.skipped:
            shown = Text(f"{refused}：{item.skipped}", style="red")
        elif item.failed:
            shown = Text(f"失败：{item.failed}", style="red")
        else:
            shown = result(item)
        table.add_row(*wrapped((item.name, item.total, item.grade, shown)))
    out.print(table)


def _print_generated(items) -> None:
    """Which sections of each report were written from the numbers (the input sheet left them blank)."""
    for item in items:
        if item.generated:
            out.print(f"“{item.name}”的自评报告中以下部分录入表中未填写，已按计算结果生成：{'、'.join(item.generated)}", highlight=False)


def _print_done(line: str, items, refused: str) -> None:
    problems = sum(1 for i in items if not i.ok and not i.unused)
    out.print(line + (f"；{problems} 个项目{refused}或失败（见上表）" if problems else ""), highlight=False)


@app.command("mail")
def mail(
    book: Path = typer.Argument(..., help="主工作簿（先用 xlperf export 导出）"),
    to: Optional[list[str]] = typer.Option(None, "--to", metavar="地址", help="另加收件人（可重复；也可用逗号分隔多个）"),
    cc: Optional[list[str]] = typer.Option(None, "--cc", metavar="地址", help="抄送（可重复）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="不发送：在导出文件夹的“待发送邮件”中生成 .eml 草稿，可用 Outlook/Foxmail 打开检查"),
    resend: bool = typer.Option(False, "--resend", help="发送记录中已发送过的也重新发送"),
    outdir: Optional[Path] = typer.Option(None, "--outdir", help="导出文件夹（与 export 相同；默认工作簿旁的“<工作簿名>_导出”）"),
    config: Optional[Path] = typer.Option(None, "--config", help="配置文件（默认：工作簿旁的 xlperf.toml 与用户配置文件夹中的 xlperf.toml）"),
    password: Optional[str] = PasswordOption,
    convert: bool = ConvertOption,
) -> None:
    """把导出的每个项目工作簿（及 PDF）发送到项目清单“电子邮箱”列的地址（及 --to/--cc）。"""
    from .export import ManifestError
    from .mail import MailConfigError, send_mail

    with _command_run(ManifestError, MailConfigError) as bar, reading_options(password=password, convert=convert):
        report = send_mail(book, outdir, to or (), cc or (), dry_run=dry_run, resend=resend, config=config,
                           progress=bar)
    _print_mail(report)
    raise typer.Exit(EXIT_FINDINGS if report.failures else EXIT_OK)


# ---- Excel on the web and Mac: xlwings Server (issue 7) -------------------------
from .server.cli import serve as _serve  # noqa: E402  (light: typer only; the server is imported when run)

app.command("serve")(_serve)

from .addin import addin_app as _addin_app  # noqa: E402  (desktop Excel add-in, issue 7; stdlib + typer only)
app.add_typer(_addin_app, name="addin")


def _print_export(report) -> None:
    def result(item):
        files = "、".join(p.name for p in (item.xlsx, item.pdf, item.report, item.report_pdf) if p)
        return files + ("（有错误，按 --force 导出）" if item.forced else "")

    _print_template(report.template)
    _print_run(f"导出：{report.file}", report.items, result, "未导出", "尚未填写，未导出")
    _print_kept(report.items, lambda item: item.report_backup)
    _print_generated(item for item in report.items if item.report is not None)
    _print_done(f"已导出 {len(report.exported)} 个项目到 {report.outdir}", report.items, "未导出")


def _print_mail(report) -> None:
    for warning in report.warnings:
        err.print(Text.assemble(("注意：", "yellow"), warning), highlight=False)
    if report.deliveries:
        table = Table(title="邮件草稿" if report.dry_run else "发送结果")
        for title in ("项目名称", "收件人", "结果"):
            table.add_column(title, overflow="fold")
        failed = {(f.project, f.recipient) for f in report.failures}
        unconfirmed = {(project, addr) for project, addr, _ in report.unconfirmed}
        for d in report.deliveries:
            for addr, kind in d.recipients:
                if report.dry_run:
                    state = "草稿"
                elif (d.project, addr) in unconfirmed:
                    state = Text("未确认（已发出，服务器未回复）", style="yellow")
                else:
                    state = Text("失败", style="red") if (d.project, addr) in failed else "已发送"
                table.add_row(*wrapped((d.project, f"{addr}（{kind}）", state)))
        out.print(table)
    if report.already:
        out.print(f"{len(report.already)} 个收件人此前已发送过，本次未发送（如需重新发送请加 --resend）：", highlight=False)
        for project, addr, when in report.already:
            out.print(f"  {project} → {addr}（{when}）", highlight=False)
    if report.unconfirmed_before:
        out.print(f"{len(report.unconfirmed_before)} 个收件人上次发送结果未确认，本次未重发（请向收件人确认是否收到；"
                  "确认没有收到时加 --resend）：", highlight=False)
        for project, addr, when in report.unconfirmed_before:
            out.print(f"  {project} → {addr}（{when}）", highlight=False)
    if report.dry_run:
        if report.drafts:
            out.print(f"未发送任何邮件；已生成 {len(report.drafts)} 个邮件草稿于 {report.drafts[0].parent}",
                      highlight=False)
        else:
            out.print("没有需要发送的邮件。")
    else:
        out.print(f"已发送 {len(report.sent)} 个收件人；发送记录：{report.log}" if report.sent else "本次没有发送邮件。",
                  highlight=False)
    if report.failures:
        err.print(Text(f"{len(report.failures)} 项未能发送：", style="bold red"), highlight=False)
        table = Table(show_header=True)
        for title in ("项目名称", "收件人", "原因"):
            table.add_column(title, overflow="fold")
        for f in report.failures:
            table.add_row(*wrapped((f.project, f.recipient or "", f.reason)))
        err.print(table)


def _counts(findings) -> dict[str, int]:
    return {s: sum(1 for f in findings if f.severity == s) for s in (ERROR, WARNING, INFO)}


def _print_recalc(report, written_to: Path) -> None:
    table = Table(title="绩效自评汇总", show_lines=False)
    for title in ("项目名称", "总得分", "评价等级", "预算执行率", "错误", "警告", "提示"):  # names wrap, never cut
        table.add_column(title, justify="right" if title not in ("项目名称", "评价等级") else "left",
                         no_wrap=title != "项目名称", min_width=8 if title == "项目名称" else None)
    from .readers.input_sheet import is_unfilled

    for r in report.results:
        if is_unfilled(r.project):
            continue  # said once among the findings (尚未填写), left out of the table
        c = _counts(r.findings)
        rate = "" if r.budget_execution_rate is None else f"{format_score(r.budget_execution_rate)}%"
        table.add_row(Wrapped(r.project.name), "—" if r.total is None else format_score(r.total), r.grade, rate, str(c[ERROR]), str(c[WARNING]), str(c[INFO]))
    out.print(table)
    _print_findings(report.findings)
    annexes = sum(1 for name in report.annex_sheets if name)
    out.print(f"已写入 {written_to}（附件1 {annexes} 张、{L.SUMMARY_SHEET}、{L.FINDINGS_SHEET}）", highlight=False)


DEFAULT_BATCH_REPORT = "审核汇总.xlsx"


def _check_batch(paths: list[Path], options, *, workers, scheduler, report, json_lines, send_files, cache,
                 no_cache) -> None:
    """Many files: checked in a process pool or on a Dask cluster, streamed (--json-lines), summed up in 审核汇总."""
    from .batch.cache import ResultCache, default_cache_dir
    from .batch.files import collect
    from .batch.pipeline import run_batch
    from .batch.run import default_workers
    from .batch.summary import write_summary
    from .safety import WriteRefused, writing_options

    if report is None and not json_lines:
        report = Path(DEFAULT_BATCH_REPORT)
    if report is not None and report.suffix.lower() != ".xlsx":
        _fail(f"审核汇总应写成 .xlsx 文件：{report}")
    if report is not None:  # refused before hours of checking, not after
        if not report.resolve().parent.is_dir():
            _fail(f"审核汇总所在的文件夹不存在：{report.resolve().parent}；没有审核任何文件")
        try:
            from .safety import check_not_open

            check_not_open(report)
        except WriteRefused as exc:
            _fail(str(exc))
    cache_dir = None if no_cache else cache or (default_cache_dir(report) if report is not None else None)
    skip = tuple(p for p in (report, cache_dir) if p is not None)
    found = collect(paths, skip=skip)
    if found.missing:
        _fail("找不到：" + "、".join(f"“{m}”" for m in found.missing) + "；没有审核任何文件")
    if report is not None:
        _check_report_target(report, found.files)
    if not found.files and not found.problems:
        named = f"“{paths[0]}”是文件夹，其中" if len(paths) == 1 and paths[0].is_dir() else "给出的路径中"
        _fail(f"{named}（含子文件夹）没有可审核的文件（.xlsx、.xlsm、.docx；加 --convert 时还有 .xls、.et、.ods、.doc、.wps）")
    if scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            _fail("在集群上审核需要 dask.distributed：pip install 'xlperf[cluster]'")
    progress = _BatchProgress(len(found.files))

    def on_result(result: dict) -> None:
        if json_lines:
            sys.stdout.write(_json_line(result) + "\n")
            sys.stdout.flush()
        progress.advance()

    from .batch.job import file_result

    unwalked = [file_result(path, code, message) for path, code, message in found.problems]
    for result in unwalked:  # a folder or link that could not be walked: a row, first
        if json_lines:
            sys.stdout.write(_json_line(result) + "\n")
    try:
        done = run_batch(list(found.files), options, workers=workers or default_workers(), scheduler=scheduler,
                         send_files=send_files, cache=ResultCache(cache_dir) if cache_dir else None,
                         on_result=on_result)
    except OSError as exc:  # the scheduler cannot be reached
        progress.close()
        _fail(f"无法连接 Dask 调度器 {scheduler}：{exc}；没有审核任何文件" if scheduler else f"无法审核：{exc}")
    finally:
        progress.close()
    results = unwalked + list(done.results)
    if report is not None:
        try:
            with writing_options(backup=False):
                write_summary(results, report)
        except WriteRefused as exc:
            _fail(str(exc))
    _print_batch(results, done, report, cache_dir, stream=err if json_lines else out, skipped=found.summaries)
    errors = any(f["severity"] == ERROR for r in results for f in r["findings"])
    raise typer.Exit(EXIT_FINDINGS if errors else EXIT_OK)


def _json_line(result: dict) -> str:
    """One --json-lines line. A path that is no UTF-8 (a GBK name) keeps its exact bytes: its lone surrogates
    written as JSON escapes (\\udcxx; json.loads gives the path back, os.fsencode its bytes), never raw."""
    import re

    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", json.dumps(result, ensure_ascii=False))


def _check_report_target(report: Path, files) -> None:
    """--report never replaces a file being checked, nor any workbook but an earlier 审核汇总 of xlperf."""
    import os

    from .batch.files import shown_name
    from .batch.summary import is_batch_summary

    name = shown_name(str(report))
    for f in files:
        try:
            same = os.path.samefile(f, report)
        except OSError:
            same = False
        if same or f.resolve() == report.resolve():
            _fail(f"审核汇总“{name}”是要审核的文件之一，不能写在它上面；请用 --report 指定另一个文件名。没有审核任何文件")
    if (report.exists() or report.is_symlink()) and not is_batch_summary(report):
        _fail(f"“{name}”已存在，且不是 xlperf 写出的审核汇总；为免覆盖，没有审核任何文件。"
              "请用 --report 指定新的文件名，或先把该文件移走")


class _BatchProgress:
    """Files done, files per second and the time remaining, on stderr (only where it is a terminal)."""

    def __init__(self, total: int):
        from rich.progress import TimeRemainingColumn

        self.progress = Progress(TextColumn("审核"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
                                 TextColumn("剩余"), TimeRemainingColumn(), console=err, transient=True,
                                 disable=not err.is_terminal)
        self.task = self.progress.add_task("审核", total=total)
        self.progress.start()

    def advance(self) -> None:
        self.progress.advance(self.task)

    def close(self) -> None:
        self.progress.stop()


class _RateColumn(TextColumn):
    def __init__(self):
        super().__init__("")

    def render(self, task):
        speed = task.finished_speed or task.speed
        return Text("— 个/秒" if speed is None else f"{speed:.1f} 个/秒")


def _print_batch(results: list[dict], done, report: Path | None, cache_dir: Path | None, stream: Console,
                 skipped=()) -> None:
    from .batch.files import shown_name
    from .batch.job import FILE_CODES, FOLDER_CODES

    folders = [r for r in results if any(f["code"] in FOLDER_CODES for f in r["findings"])]
    files = [r for r in results if not any(r is f for f in folders)]
    tables = sum(len(r["tables"]) for r in files)
    with_errors = [r for r in files if any(f["severity"] == ERROR for f in r["findings"])]
    unchecked = [r for r in files if any(f["code"] in FILE_CODES for f in r["findings"])]
    stream.print(f"审核了 {len(files)} 个文件（找到 {tables} 张表）：{len(with_errors)} 个文件有错误，"
                 f"{len(unchecked)} 个文件未能审核（无法读取、不是普通文件、过大、超时等）。", highlight=False)
    if folders:
        stream.print(f"另有 {len(folders)} 个文件夹或链接未能读取或未进入，其中的文件没有审核（每个一行，见审核汇总）：", highlight=False)
        for r in folders:
            stream.print(f"  {shown_name(r['file'])}：{r['findings'][0]['message']}", highlight=False)
    if skipped:
        stream.print(f"跳过了 {len(skipped)} 个 xlperf 此前写出的审核汇总（不审核）："
                     + "、".join(shown_name(str(p)) for p in skipped), highlight=False)
    if done.cached:
        stream.print(f"其中 {done.cached} 个文件与上次相同，沿用保存的结果（{cache_dir}；--no-cache 全部重新审核）。",
                     highlight=False)
    if with_errors:
        table = Table(title="有错误的文件（前 20 个）")
        for title in ("文件", "错误", "第一个错误"):
            table.add_column(title)
        for r in with_errors[:20]:
            first = next(f for f in r["findings"] if f["severity"] == ERROR)
            place = " ".join(x for x in (first["sheet"], first["cell"]) if x)
            table.add_row(Wrapped(shown_name(r["file"])), str(sum(f["severity"] == ERROR for f in r["findings"])),
                          Wrapped(f"{place}：{first['message']}" if place else first["message"]))
        stream.print(table)
    if report is not None:
        stream.print(f"审核汇总：{shown_name(str(report))}（每张表一行；问题明细、分布图见其他工作表）", highlight=False)


def _print_check(report) -> None:
    from .check_docx import is_document

    table = Table(title=f"审核结果：{report.file}")
    where = "表格" if is_document(Path(report.file)) else "工作表"  # a Word report: 表6, its header in row 2
    for title in (where, "表头行", "总分(重算)", "等级(重算)", "总分(填报)", "等级(填报)"):
        table.add_column(title)
    for t in report.tables:
        table.add_row(Wrapped(t.sheet), str(t.header_row), "—" if t.total is None else format_score(t.total), t.grade,
                      "" if t.published_total is None else format_score(t.published_total), t.published_grade or "")
    out.print(table)
    _print_findings(report.findings)


def _print_findings(findings, limit: int = 200) -> None:
    if not findings:
        out.print("未发现问题。")
        return
    c = _counts(findings)
    out.print(f"发现 {c[ERROR]} 个错误、{c[WARNING]} 个警告、{c[INFO]} 个提示：", highlight=False)
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    shown = sorted(findings, key=lambda f: order[f.severity])[:limit]
    table = Table(show_header=True)
    for title in ("级别", "位置", "说明"):  # wrapped as Chinese is set: never cut, never broken at a stray space
        table.add_column(title, no_wrap=title == "级别")
    for f in shown:
        table.add_row(SEVERITY_LABELS[f.severity], Wrapped(f.place), Wrapped(f.message))
    out.print(table)
    if len(findings) > limit:
        out.print(f"……另有 {len(findings) - limit} 条，见工作簿中的“{L.FINDINGS_SHEET}”表或 --json 输出。", highlight=False)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"xlperf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, help="显示版本")) -> None:
    """项目支出绩效自评表工具。"""


def main() -> None:
    app()


if __name__ == "__main__":
    main()

from .wps.cli import wps_app as _wps_app  # noqa: E402  (WPS 表格 add-in, issue 22; stdlib + typer only until run)
app.add_typer(_wps_app, name="wps")
