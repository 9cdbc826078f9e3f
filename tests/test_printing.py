"""Every sheet, printed: the template's and a recalculated workbook's sheets each fit one page wide and print something.

Each workbook is printed to one PDF by LibreOffice headless; a page header naming the sheet (in a copy)
tells which pages are whose (xlperf.tools.pictures.sheet_pages).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter

from xlperf import layout as L
from xlperf import libreoffice
from xlperf.pipeline import recalc_workbook
from xlperf.profiles import load_profile
from xlperf.template.build import TEMPLATE_PATH, new_workbook
from xlperf.template.examples import example_projects
from xlperf.template.seeds import SEEDS
from xlperf.tools.pictures import MARK, page_sizes, page_texts, sheet_pages

pytestmark = [pytest.mark.libreoffice,
              pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装"),
              pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdfinfo")),
                                 reason="poppler-utils 未安装")]
PROFILE = load_profile()


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def column_heads(ws) -> dict[str, str]:
    """For each printed column with text: the first text in it (what must be on the sheet's first page)."""
    heads: dict[str, str] = {}
    merged = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, 25)):  # rows every first page holds
        for cell in row:
            if isinstance(cell, MergedCell):
                continue
            letter = get_column_letter(cell.column)
            if letter in heads or ws.column_dimensions[letter].hidden:
                continue
            text = cell.value
            if not isinstance(text, str) or not text.strip() or text.startswith("="):
                continue
            span = merged.get((cell.row, cell.column))
            if span is not None and span.max_col > span.min_col:
                continue  # a title over several columns says nothing of where each column went
            heads[letter] = _flat(text)[:3]
    return heads


def printed_sheets(book: Path, workdir: Path) -> list[str]:
    """Problems of the PDF of book, sheet by sheet (empty when every sheet prints well)."""
    pdf, pages = sheet_pages(book, workdir)
    texts = page_texts(pdf)
    sizes = page_sizes(pdf)
    wb = load_workbook(book)
    problems: list[str] = []
    for ws in wb.worksheets:
        numbers = pages[ws.title]
        if not numbers:
            problems.append(f"{ws.title}: 没有打印出任何页")
            continue
        if not (ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage):
            problems.append(f"{ws.title}: 没有设置“一页宽”")
        landscape = ws.page_setup.orientation == "landscape"
        for n in numbers:
            width, height = sizes[n - 1]
            if landscape != (width > height):
                problems.append(f"{ws.title} 第 {n} 页: 方向不对（{width}×{height}）")
            body = re.sub(MARK + r"\d{3}", "", texts[n - 1]).strip()
            if not body:
                problems.append(f"{ws.title} 第 {n} 页: 空白页")
        first = _flat(texts[numbers[0] - 1])
        for letter, head in column_heads(ws).items():
            if head not in first:
                problems.append(f"{ws.title}: {letter} 列（{head}…）不在第一页上：列被截到另一页")
    return problems


def test_every_template_sheet_prints_one_page_wide(tmp_path):
    problems = printed_sheets(TEMPLATE_PATH, tmp_path)
    assert problems == []


def test_every_sheet_of_a_recalculated_workbook_prints_one_page_wide(tmp_path):
    """The seeds in their 山西 form and examples in the national form: input sheets, 附件1, 汇总, 校验结果…"""
    problems = []
    for form, projects in (("shanxi", list(SEEDS)), ("national", example_projects(2))):
        book = tmp_path / f"{form}.xlsx"
        new_workbook(projects, PROFILE, form=form).save(book)
        report = recalc_workbook(book, None, PROFILE)
        assert all(report.annex_sheets)
        problems += [f"{form}: {p}" for p in printed_sheets(book, tmp_path / form)]
    assert problems == []


def test_column_heads_see_a_cut_column(tmp_path):
    """The check itself: a sheet too wide for one page, without fit-to-width, is caught."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "太宽"
    for c in range(1, 31):
        ws.cell(1, c).value = f"第{c}列标题"
        ws.cell(2, c).value = c
        ws.column_dimensions[ws.cell(1, c).column_letter].width = 14
    ws.page_setup.orientation = "landscape"
    book = tmp_path / "wide.xlsx"
    wb.save(book)
    problems = printed_sheets(book, tmp_path / "out")
    assert any("没有设置“一页宽”" in p for p in problems)
    assert any("不在第一页上" in p for p in problems)
