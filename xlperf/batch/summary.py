"""The 审核汇总 workbook of a batch: tables in pandas DataFrames, written by pandas (openpyxl engine),
then given what a reviewer works with: links to each file, number formats, auto-filter and a frozen
header on every sheet, and native Excel charts on 分布. Written atomically.

Nothing a submitter typed becomes a formula: every text cell is stored as text (writers.cells.set_text),
even one starting with = + - @, TAB or CR, file names and link texts included; a file is shown by
files.shown_name (GBK names decoded, bidi controls dropped) and linked by a cell hyperlink to its real path.

    审核汇总   one row per table found (a file without a table: one row with its reason)
    问题明细   one row per finding, linked to its file (and, in a workbook, to its cell)
    分布       评价等级 published vs recomputed, errors by code, tables and errors by 主管部门
"""
from __future__ import annotations

import io
import os
import re
from collections import Counter
from pathlib import Path

from ..model import ERROR, SEVERITY_LABELS, WARNING

SUMMARY_SHEET = "审核汇总"
DETAIL_SHEET = "问题明细"
CHART_SHEET = "分布"
SUMMARY_COLUMNS = ("文件", "工作表", "预算单位", "主管部门", "项目名称", "表样", "填报总分", "填报等级", "复核总分",
                   "复核等级", "错误数", "警告数", "首个错误")
DETAIL_COLUMNS = ("文件", "级别", "代码", "工作表", "位置", "说明", "填报值", "应为", "项目名称")
GRADE_ORDER = ("优秀", "良好", "中", "差", "优", "良")
NO_GRADE = "（未填/未评分）"
WIDTHS = {"文件": 36, "工作表": 16, "预算单位": 20, "主管部门": 18, "项目名称": 26, "表样": 10, "首个错误": 60,
          "说明": 70, "位置": 10, "代码": 28, "错误代码": 30, "评价等级": 16, "填报值": 12, "应为": 12}


def _score(text):
    return None if text in (None, "") else float(text)  # a two-decimal string shown with 0.00: nothing is computed


def _owner(tables: list[dict], finding: dict) -> int:
    """The table a finding belongs to: on its sheet, the last table starting above its row (a table's title,
    info rows and budget block sit up to TITLE_ROWS_ABOVE rows over its header); else the file's first table."""
    from ..readers.annex_table import TITLE_ROWS_ABOVE

    on_sheet = sorted((t.get("header_row") or 0, i) for i, t in enumerate(tables) if t.get("sheet") == finding.get("sheet"))
    if not on_sheet:
        return 0
    row = re.match(r"[A-Z]+(\d+)$", finding.get("cell") or "")
    if row is None:
        return on_sheet[0][1]
    above = [i for header, i in on_sheet if header - TITLE_ROWS_ABOVE <= int(row.group(1))]
    return above[-1] if above else on_sheet[0][1]


def frames(results: list[dict]):
    """The three sheets' DataFrames, from results in file order (files shown by shown_name; the real paths,
    which the links go to, in each frame's attrs["files"])."""
    import pandas as pd

    from .files import shown_name

    summary, detail = [], []
    summary_files, detail_files = [], []
    for result in results:
        real = result["file"]
        file = shown_name(real)
        tables, findings = result.get("tables") or [], result.get("findings") or []
        counts = [Counter() for _ in tables] or [Counter()]
        first_error: list[str | None] = [None] * len(counts)
        for f in findings:
            k = _owner(tables, f) if tables else 0
            counts[k][f["severity"]] += 1
            if f["severity"] == ERROR and first_error[k] is None:
                first_error[k] = f"{_where(f)}：{f['message']}" if _where(f) else f["message"]
            detail_files.append(real)
            detail.append({"文件": file, "级别": SEVERITY_LABELS.get(f["severity"], f["severity"]), "代码": f["code"],
                           "工作表": f.get("sheet") or "", "位置": f.get("cell") or "", "说明": f["message"],
                           "填报值": f.get("published"), "应为": f.get("expected"), "项目名称": f.get("project")})
        for k, t in enumerate(tables or [{}]):
            summary_files.append(real)
            summary.append({"文件": file, "工作表": t.get("sheet"), "预算单位": t.get("unit"),
                            "主管部门": t.get("department"), "项目名称": t.get("project"), "表样": t.get("form"),
                            "填报总分": _score(t.get("published_total")), "填报等级": t.get("published_grade"),
                            "复核总分": _score(t.get("total")), "复核等级": t.get("grade"),
                            "错误数": counts[k][ERROR], "警告数": counts[k][WARNING], "首个错误": first_error[k]})
    summary_df = pd.DataFrame(summary, columns=list(SUMMARY_COLUMNS))
    detail_df = pd.DataFrame(detail, columns=list(DETAIL_COLUMNS))
    summary_df.attrs["files"], detail_df.attrs["files"] = summary_files, detail_files
    return summary_df, detail_df, _distribution(summary_df, detail_df)


def _where(f: dict) -> str:
    sheet, cell = f.get("sheet") or "", f.get("cell") or ""
    return f"{sheet}!{cell}" if sheet and cell and not cell.startswith(("R", "段落")) else f"{sheet} {cell}".strip()


def _grade_band(label, profile):
    """A published grade as the band the rules name it (优 → 优秀, “良好” → 良好); an unknown label as written."""
    from ..check import grade_rank

    if not isinstance(label, str) or not label.strip():
        return None
    rank = grade_rank(label, profile)
    return profile.grade_labels[rank] if rank is not None else label.strip()


def _distribution(summary, detail):
    import pandas as pd

    tables = summary[summary["工作表"].notna()]
    from ..profiles import load_profile

    profile = load_profile()  # once, not once per table
    published = tables["填报等级"].map(lambda label: _grade_band(label, profile)).fillna(NO_GRADE).value_counts()
    recomputed = tables["复核等级"].fillna(NO_GRADE).value_counts()
    grades = [g for g in GRADE_ORDER if g in published or g in recomputed]
    grades += sorted(g for g in set(published.index) | set(recomputed.index) if g not in grades)
    grade_df = pd.DataFrame({"评价等级": grades, "填报": [int(published.get(g, 0)) for g in grades],
                             "复核": [int(recomputed.get(g, 0)) for g in grades]})
    errors = detail[detail["级别"] == SEVERITY_LABELS[ERROR]]["代码"].value_counts()
    code_df = pd.DataFrame({"错误代码": list(errors.index), "错误数": [int(v) for v in errors.values]})
    by_department = summary.assign(主管部门=summary["主管部门"].fillna("（未填）")).groupby("主管部门", sort=True)
    department_df = pd.DataFrame({"主管部门": list(by_department.groups),
                                  "表数": [int(g["工作表"].notna().sum()) for _, g in by_department],
                                  "错误数": [int(g["错误数"].sum()) for _, g in by_department]})
    return grade_df, code_df, department_df


def summary_bytes(results: list[dict], report: Path) -> bytes:
    """The 审核汇总 workbook as bytes (links relative to the report's folder)."""
    import pandas as pd

    summary_df, detail_df, (grade_df, code_df, department_df) = frames(results)
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        summary_df.to_excel(writer, sheet_name=SUMMARY_SHEET, index=False)
        detail_df.to_excel(writer, sheet_name=DETAIL_SHEET, index=False)
        places = {}
        column = 0
        for name, df in (("grades", grade_df), ("codes", code_df), ("departments", department_df)):
            df.to_excel(writer, sheet_name=CHART_SHEET, index=False, startcol=column)
            places[name] = (column + 1, len(df), len(df.columns))
            column += len(df.columns) + 1
        book = writer.book
        _finish(book[SUMMARY_SHEET], report, links=summary_df.attrs["files"])
        _finish(book[DETAIL_SHEET], report, links=detail_df.attrs["files"],
                cells=list(zip(detail_df["工作表"], detail_df["位置"])))
        _finish(book[CHART_SHEET], report)
        _charts(book[CHART_SHEET], places)
    return out.getvalue()


def _link(file: str, report: Path, sheet: str = "", cell: str = "") -> str:
    try:
        target = os.path.relpath(Path(file).resolve(), report.resolve().parent)
    except ValueError:  # another drive (Windows)
        target = str(Path(file).resolve())
    target = target.replace(os.sep, "/")
    try:
        target.encode("utf-8")
    except UnicodeEncodeError:  # a name that is no UTF-8 (GBK): its bytes percent-encoded, as a URI holds them
        from urllib.parse import quote

        target = quote(os.fsencode(target), safe="/")
    if sheet and cell and cell[:1].isalpha() and not cell.startswith(("R", "段落")) and Path(file).suffix.lower() in (
            ".xlsx", ".xlsm"):
        quoted = sheet.replace("'", "''")
        target += f"#'{quoted}'!{cell}"
    return target


def _finish(ws, report: Path, links=None, cells=None) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from ..writers.cells import print_one_page_wide, set_text

    for row in ws.iter_rows():  # pandas wrote "=1+1.xlsx" as a formula: text stays text
        for cell in row:
            if isinstance(cell.value, str):
                set_text(cell, cell.value)
    head_fill = PatternFill("solid", fgColor="DDE5F0")
    for cell in ws[1]:
        if cell.value is not None:
            cell.font = Font(bold=True)
            cell.fill = head_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    titles = [c.value for c in ws[1]]
    for i, title in enumerate(titles, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = WIDTHS.get(title, 12 if title else 3)
        if title in ("填报总分", "复核总分"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = "0.00"
        if title in ("首个错误", "说明"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    if links is not None:
        link_font = Font(color="0563C1", underline="single")
        for row, file in enumerate(links, start=2):
            cell = ws.cell(row, 1)
            sheet, where = cells[row - 2] if cells else ("", "")
            cell.hyperlink = _link(file, report, sheet or "", where or "")
            cell.font = link_font
    ws.freeze_panes = "A2"
    print_one_page_wide(ws)
    ws.print_title_rows = "1:1"
    last = get_column_letter(max(1, ws.max_column))
    ws.auto_filter.ref = f"A1:{last}{max(1, ws.max_row)}" if ws.title != CHART_SHEET else \
        f"A1:{get_column_letter(3)}{max(1, ws.max_row)}"


def _charts(ws, places: dict) -> None:
    from openpyxl.chart import BarChart, Reference

    import math

    row = 2  # the charts one under another, right of the three tables (a default row is about 0.53 cm)
    for name, title, y_title in (("grades", "评价等级：填报与复核", "表数"), ("codes", "错误按代码", "错误数"),
                                 ("departments", "按主管部门", "数量")):
        column, rows, width = places[name]
        chart = BarChart()
        chart.type = "col" if name != "codes" else "bar"
        chart.title = title
        chart.y_axis.title = y_title
        chart.height, chart.width = (max(8, 0.5 * rows + 3) if name == "codes" else 8), 16
        data = Reference(ws, min_col=column + 1, max_col=column + width - 1, min_row=1, max_row=max(1, rows) + 1)
        categories = Reference(ws, min_col=column, min_row=2, max_row=max(2, rows + 1))
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(categories)
        ws.add_chart(chart, f"L{row}")
        row += math.ceil(chart.height / 0.53) + 2


def is_batch_summary(path: Path) -> bool:
    """Whether path is a 审核汇总 written by xlperf (its sheets are exactly 审核汇总, 问题明细, 分布), read from the
    package's workbook part alone; nothing is read from what is no regular file of a sensible size."""
    import zipfile

    from defusedxml import ElementTree

    from .job import NotRegular, TooLarge, open_regular

    try:
        with open_regular(path, 1 << 30) as fh, zipfile.ZipFile(fh) as zf:
            info = zf.getinfo("xl/workbook.xml")
            if info.file_size > 1 << 20:
                return False
            root = ElementTree.fromstring(zf.read(info))
    except (OSError, NotRegular, TooLarge):
        return False
    except Exception:  # noqa: BLE001 - a damaged zip or XML, a bomb defusedxml refuses: no summary of ours
        return False
    names = [el.get("name") for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "sheet"]
    return names == [SUMMARY_SHEET, DETAIL_SHEET, CHART_SHEET]


def write_summary(results: list[dict], report: Path) -> Path:
    """Write the 审核汇总 workbook to report atomically (a Chinese WriteRefused when it cannot be)."""
    from ..safety import WriteRefused, check_not_open
    from ..writers.save import replace_atomically

    data = summary_bytes(results, report)

    def check(target: Path) -> None:
        if target.suffix.lower() != ".xlsx":
            raise WriteRefused(f"审核汇总应写成 .xlsx 文件：{target.name}")
        check_not_open(target)

    return replace_atomically(Path(report), lambda fh: fh.write(data), check)
