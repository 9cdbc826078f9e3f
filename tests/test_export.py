"""`xlperf export`: one values-only, print-ready workbook (and PDF) per project, safe file names."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf import libreoffice
from xlperf.cli import app
from xlperf.export import (
    MANIFEST_NAME,
    MAX_NAME_CHARS,
    clean_file_part,
    default_outdir,
    safe_file_stem,
)
from xlperf.pipeline import score_workbook
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.seeds import SEED_000, SEED_004
from xlperf.workbook_io import open_workbook
from xlperf.writers.budget_table import BUDGET_SHEET, budget_column, write_budget_table
from xlperf.writers.save import save_workbook_atomic

runner = CliRunner()
FILE_004 = "信息化运行维护_项目支出绩效自评表.xlsx"
ANNEX_004 = "附件1-信息化运行维护"


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def make_book(directory: Path, projects=(SEED_000, SEED_004), name: str = "绩效自评.xlsx") -> Path:
    path = directory / name
    save_workbook_atomic(new_workbook(list(projects)), path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def annex_total(ws) -> tuple:
    """(总分, 评价等级) from a 附件1 sheet."""
    score_col = L.ANNEX_FIELDS.index("score") + 1
    rows = {ws.cell(r, 1).value: ws.cell(r, score_col).value for r in range(1, ws.max_row + 1)}
    return rows["总分"], rows["评价等级"]


# ---- file names ------------------------------------------------------------------
def test_file_names_are_safe_on_windows():
    taken: set[str] = set()
    stem = safe_file_stem('预算/执行\\情况:说明*?"<>|项目', taken)
    assert stem == "预算_执行_情况_说明______项目_项目支出绩效自评表"
    assert not set('/\\:*?"<>|') & set(stem)
    # duplicates are numbered, compared without case as Windows does
    assert safe_file_stem("Project", taken) == "Project_项目支出绩效自评表"
    assert safe_file_stem("PROJECT", taken) == "PROJECT(2)_项目支出绩效自评表"
    assert safe_file_stem("project", taken) == "project(3)_项目支出绩效自评表"
    # length bounded, no trailing dots or spaces, control characters and line breaks gone
    long = safe_file_stem("很长的项目名称" * 30, taken)
    assert len(long) == MAX_NAME_CHARS + len("_项目支出绩效自评表")
    assert len(long.encode("utf-8")) + len("(99).xlsx") < 255
    assert clean_file_part("  名称. . ") == "名称"
    assert clean_file_part("第一行\n第二行\t\x07尾") == "第一行 第二行 _尾"
    assert clean_file_part("") == clean_file_part(" ... ") == "项目"
    # a stem Windows would take for a device gets a prefix
    assert safe_file_stem("con", set(), suffix="") == "_con"
    assert safe_file_stem("LPT1.年度", set(), suffix="") == "_LPT1.年度"


# ---- the budget table writer -----------------------------------------------------------
def test_budget_table_values(tmp_path):
    book = make_book(tmp_path, projects=(SEED_004,))
    (result,) = score_workbook(open_workbook(book), book, load_profile())
    wb = Workbook()
    ws = wb.active
    next_row = write_budget_table(ws, result, first_row=5)
    assert next_row == 5 + 1 + 2 + 7  # title, two header rows, rows (1)–(7)
    path = tmp_path / "t.xlsx"
    wb.save(path)
    ws = openpyxl.load_workbook(path).active
    assert ws["A5"].value == "预算执行情况表（单位：万元）"
    assert [ws.cell(6, c).value for c in (1, 2, 3)] == ["项目", "行次", "年度总金额(万元)"]
    assert ws.cell(6, budget_column("subtotal")).value == "财政资金"
    assert ws.cell(7, budget_column("municipal")).value == "市级"
    first = 8
    rows = {ws.cell(r, 1).value: r for r in range(first, first + 7)}
    assert list(rows) == [L.BUDGET_ROW_TITLES[k][0] for k in L.BUDGET_ROW_NUMBERS]
    executed = rows["全年执行资金"]
    assert ws.cell(executed, budget_column("total")).value == 75.91
    assert ws.cell(executed, budget_column("municipal")).value == 75.91
    assert ws.cell(executed, budget_column("central")).value is None  # blank where nothing was typed
    rate = ws.cell(rows["预算执行率(%)"], budget_column("total"))
    assert (rate.value, rate.number_format) == (1, "0.00%")  # 100.00 percent points
    assert ws.cell(rows["资金结余"], budget_column("total")).value == 0


# ---- export ------------------------------------------------------------------------------
def test_export_refuses_projects_with_errors_and_writes_values_only(tmp_path):
    book = make_book(tmp_path)
    before = sha256(book)
    result = run("export", book, "--outdir", tmp_path / "out")
    assert result.exit_code == 1, result.stdout + result.stderr
    text = re.sub(r"[\s│]+", "", result.stdout)
    assert "未导出" in text and "忻州市政府信息化建设经费!G24" in text and "--force" in text
    assert sha256(book) == before  # the master is never written
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [MANIFEST_NAME, FILE_004]

    path = tmp_path / "out" / FILE_004
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [ANNEX_004, BUDGET_SHEET, L.FINDINGS_SHEET]  # 004 has warnings: findings included
    assert annex_total(wb[ANNEX_004]) == (99.78, "优秀")
    assert wb[ANNEX_004]["E2"].value == "预算单位：山西省某市审计局　　年度：2020"
    assert all(ws.sheet_state == "visible" for ws in wb.worksheets)
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}"
    assert not wb._external_links
    assert "level1-weights" in [c.value for c in wb[L.FINDINGS_SHEET]["B"]]
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert not [n for n in names if "externalLink" in n or "vbaProject" in n or n.endswith(".bin")]
        for n in names:
            data = z.read(n).decode("utf-8", "replace")
            assert 'TargetMode="External"' not in data, n
            if n.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<f[ >]", data), n

    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["source"] == book.name
    entries = {p["name"]: p for p in manifest["projects"]}
    assert entries["信息化运行维护"]["xlsx"] == FILE_004 and entries["信息化运行维护"]["total"] == "99.78"
    assert entries["忻州市政府信息化建设经费"]["xlsx"] is None and "G24" in entries["忻州市政府信息化建设经费"]["skipped"]


def test_export_force_includes_projects_with_errors(tmp_path):
    book = make_book(tmp_path)
    result = run("export", book, "--force")  # default folder beside the workbook
    assert result.exit_code == 0, result.stdout + result.stderr
    outdir = default_outdir(book)
    assert outdir == tmp_path / "绩效自评_导出"
    wb = openpyxl.load_workbook(outdir / "忻州市政府信息化建设经费_项目支出绩效自评表.xlsx")
    assert annex_total(wb["附件1-忻州市政府信息化建设经费"]) == (89.5, "良好")
    codes = [c.value for c in wb[L.FINDINGS_SHEET]["B"]]
    assert "budget-rate-mismatch" in codes
    assert wb[L.FINDINGS_SHEET]["A2"].value == "错误"  # errors first
    # the file stands alone: every location of its 校验结果 is a cell of this file, not of the master
    places = [c.value for c in wb[L.FINDINGS_SHEET]["C"][1:] if c.value]
    assert places and all(p.rsplit("!", 1)[0].strip("'") in wb.sheetnames for p in places), places
    assert (outdir / FILE_004).is_file()
    # a second export replaces the files, it does not number them
    assert run("export", book, "--force").exit_code == 0
    assert sorted(p.suffix for p in outdir.iterdir()) == [".json", ".xlsx", ".xlsx"]  # no numbering, no backups


def test_export_numbers_duplicate_and_odd_names(tmp_path):
    odd = 'A/B:C*?"<>|项目'
    projects = [dataclasses.replace(SEED_004, name=odd), dataclasses.replace(SEED_004, name=odd),
                dataclasses.replace(SEED_004, name="a/b:c*?\"<>|项目")]
    book = make_book(tmp_path, projects=projects)
    result = run("export", book, "--outdir", tmp_path / "out")
    assert result.exit_code == 0, result.stdout + result.stderr
    names = sorted(p.name for p in (tmp_path / "out").glob("*.xlsx"))
    assert names == ["A_B_C______项目(2)_项目支出绩效自评表.xlsx", "A_B_C______项目_项目支出绩效自评表.xlsx",
                     "a_b_c______项目(3)_项目支出绩效自评表.xlsx"]
    wb = openpyxl.load_workbook(tmp_path / "out" / names[1])
    assert wb.worksheets[0]["A2"].value == f"项目名称：{odd}"  # the name itself is kept in the table


def test_export_bad_input_exits_2(tmp_path):
    missing = run("export", tmp_path / "无此文件.xlsx")
    assert missing.exit_code == 2 and "找不到文件" in missing.stderr
    book = make_book(tmp_path, projects=(SEED_004,))
    (tmp_path / "占用").write_text("x")
    blocked = run("export", book, "--outdir", tmp_path / "占用")
    assert blocked.exit_code == 2 and "是文件，不是文件夹" in blocked.stderr
    empty = tmp_path / "空.xlsx"
    save_workbook_atomic(new_workbook([]), empty)
    nothing = run("export", empty)
    assert nothing.exit_code == 2 and "没有项目录入表" in nothing.stderr


# ---- PDF -------------------------------------------------------------------------------------
def read_pgm(path: Path) -> tuple[int, int, bytes]:
    """(width, height, pixels) of a binary (P5) 8-bit PGM, as pdftoppm -gray writes it."""
    data = path.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:
        m = re.compile(rb"\s*(?:#[^\n]*\n\s*)*(\S+)").match(data, pos)
        fields.append(m.group(1))
        pos = m.end()
    magic, width, height, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    assert magic == b"P5" and maxval == 255
    pixels = data[pos + 1: pos + 1 + width * height]
    assert len(pixels) == width * height
    return width, height, pixels


@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")
@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) 未安装")
def test_export_pdf_renders_the_annex(tmp_path):
    book = make_book(tmp_path, projects=(SEED_004,))
    result = run("export", book, "--outdir", tmp_path / "out", "--pdf")
    assert result.exit_code == 0, result.stdout + result.stderr
    pdf = tmp_path / "out" / "信息化运行维护_项目支出绩效自评表.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["projects"][0]["pdf"] == pdf.name

    subprocess.run(["pdftoppm", "-gray", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    (page,) = tmp_path.glob("page*.pgm")
    width, height, pixels = read_pgm(page)
    assert width > height  # A4 landscape
    dark = sum(1 for p in pixels if p < 128)
    assert dark > 0.005 * width * height, f"page looks blank: {dark} dark pixels"
    # the whole table is on the page, drawn with real (extractable) Chinese glyphs
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], check=True,
                              capture_output=True, timeout=60).stdout.decode("utf-8")
        flat = re.sub(r"\s+", "", text)
        for expected in ("附件1.项目支出绩效自评表", "信息化运行维护", "偏差原因分析及改进措施", "99.78", "优秀", "略有卡顿"):
            assert expected in flat, expected
