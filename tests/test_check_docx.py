"""`xlperf check REPORT.docx` (issue 15, part 2): the Word 自评报告 a unit sends in, audited.

The reports are built here with python-docx from the seed texts as they are (tests/golden, see
tests/docx_builders.py): paragraphs, and real tables with merged header cells. Locations: 表N
R{row}C{column} in a table's grid, 正文 段落N for the N-th paragraph outside tables that shows text.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from openpyxl import Workbook
from typer.testing import CliRunner

from xlperf import libreoffice
from xlperf.check import check_workbook
from xlperf.cli import app
from xlperf.model import Finding, Indicator
from xlperf.profiles import load_profile
from xlperf.readers.annex_table import Grid, annex_tables_in, budget_blocks_in
from xlperf.readers.docx_tables import UnreadableDocument, read_document, table_grid
from xlperf.rules import grade as grade_of, score_indicator, total_score
from xlperf.rules.budget import rate_points
from xlperf.rules.indicator import indicator_score
from xlperf.values import RATE_PLACES, format_number, format_percent, half_up, parse_value
from xlperf.vocabulary import CATEGORIES

from .annex_builders import seed_000_workbook, seed_004_workbook
from .docx_builders import (
    SEED_000, SEED_004, add_table, body_paragraph_number, seed_docx, seed_text, table_number,
)

runner = CliRunner()
PROFILE = load_profile()
ANNEX_TITLE = "附件1.项目支出绩效自评表"


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def check_json(path: Path, *extra) -> tuple[int, dict]:
    result = run("check", path, "--json", *extra)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    return result.exit_code, json.loads(result.stdout)


def folder_state(folder: Path) -> dict:
    return {p.name: (p.read_bytes() if p.is_file() else "dir") for p in sorted(folder.iterdir())}


def errors(data: dict) -> set[tuple[str, str, str]]:
    return {(f["code"], f["sheet"], f["cell"]) for f in data["findings"] if f["severity"] == "error"}


@pytest.fixture(scope="module")
def seed_000(tmp_path_factory) -> Path:
    return seed_docx(SEED_000, tmp_path_factory.mktemp("docx") / "忻州市政府信息化建设经费_自评报告.docx")


@pytest.fixture(scope="module")
def seed_004(tmp_path_factory) -> Path:
    return seed_docx(SEED_004, tmp_path_factory.mktemp("docx") / "信息化运行维护_自评报告.docx")


# ---- the two seeds ------------------------------------------------------------------
def test_the_seed_documents_have_real_merged_tables(seed_000):
    document = docx.Document(seed_000)
    budget, annex = document.tables[0], document.tables[-1]
    xml = budget._tbl.xml
    assert 'w:gridSpan w:val="5"' in xml and "w:vMerge" in xml  # 财政资金 over 小计…县区级; 项目/行次… down two rows
    assert 'w:gridSpan w:val="9"' in annex._tbl.xml  # the title row across the 附件1
    doc = read_document(seed_000)
    assert len(doc.tables) == 6
    assert doc.tables[0].cells[(1, 4)] == "财政资金" and doc.tables[0].cells[(2, 4)] == "小计"
    assert (4, 1, 8, 1) in doc.tables[0].merges and (1, 1, 1, 2) in doc.tables[0].merges  # (min_col, min_row, max_col, max_row)


def test_seed_000_verdicts_at_their_places(seed_000):
    text = seed_text(SEED_000)
    annex = f"表{table_number(text, ANNEX_TITLE)}"
    budget_small = f"表{table_number(text, '预算执行指标')}"
    sentence = f"段落{body_paragraph_number(text, '总得分89.5分')}"
    assert (annex, budget_small, sentence) == ("表6", "表2", "段落18")

    code, data = check_json(seed_000)
    assert code == 1
    (table,) = data["tables"]
    assert table["sheet"] == annex and table["form"] == "shanxi"
    assert (table["total"], table["grade"]) == ("99.50", "优秀")  # the budget row scored from the budget table
    assert (table["published_total"], table["published_grade"]) == ("89.50", "良好")  # as the text says
    by = {(f["code"], f["sheet"], f["cell"]): f for f in data["findings"]}

    # 附件1 预算执行率 0.00% against the budget table's 100%: R3 is the row under the title and header, C6 业绩值
    link = by[("budget-rate-mismatch", annex, "R3C6")]
    assert (link["severity"], link["published"], link["expected"]) == ("error", "0.00%", "100.00%")
    for words in ("100.00%", "应得 10 分", "99.50", "优秀", "表1", f"{budget_small} R2C5"):
        assert words in link["message"]
    # the row should score 10
    score = by[("published-score-mismatch", annex, "R3C8")]
    assert (score["published"], score["expected"]) == ("0", "10")
    assert f"{budget_small} R2C6" in score["message"]  # the score table repeats the 0
    # the 总得分 sentence should read 99.5 and “优秀”
    total = by[("narrative-total-mismatch", "正文", sentence)]
    assert (total["severity"], total["published"], total["expected"]) == ("error", "89.5", "99.50")
    assert Decimal(total["expected"]) == Decimal("99.5") and "总得分89.5分" in total["message"]
    grade = by[("narrative-grade-mismatch", "正文", sentence)]
    assert (grade["severity"], grade["published"], grade["expected"]) == ("error", "良好", "优秀")

    # Nothing else is an error but what the workbook check says of the budget table (年度总金额/小计 left at 0)
    assert errors(data) == {
        ("budget-rate-mismatch", annex, "R3C6"), ("published-rate-mismatch", annex, "R3C7"),
        ("published-score-mismatch", annex, "R3C8"),
        ("narrative-total-mismatch", "正文", sentence), ("narrative-grade-mismatch", "正文", sentence),
        ("budget-row-mismatch", "表1", "R8C3"), ("budget-row-mismatch", "表1", "R8C4"),
        ("budget-row-mismatch", "表1", "R9C3"), ("budget-row-mismatch", "表1", "R9C4"),
    }


def test_seed_000_locations_as_the_reviewer_reads_them(seed_000):
    result = run("check", seed_000)
    assert result.exit_code == 1
    flat = "".join(result.stdout.split())
    for place in ("表6R3C6", "正文段落18", "表1R9C3"):
        assert place in flat
    assert "!" not in "".join(line for line in result.stdout.splitlines() if "表6 R" in line)


def test_seed_004_is_clean_but_for_what_the_workbook_check_says(seed_004, tmp_path):
    code, data = check_json(seed_004)
    assert code == 0
    (table,) = data["tables"]
    assert (table["total"], table["grade"], table["published_total"], table["published_grade"]) == (
        "99.78", "优秀", "99.78", "优秀")  # 11.25 × 98% = 11.025 → 11.03, half up
    assert not [f for f in data["findings"] if f["severity"] == "error"]
    workbook = check_workbook(seed_004_workbook(tmp_path / "004.xlsx"), PROFILE)
    assert {f["code"] for f in data["findings"]} == {f.code for f in workbook.findings}
    annex = f"表{table_number(seed_text(SEED_004), ANNEX_TITLE)}"
    assert {(f["code"], f["cell"]) for f in data["findings"]} == {("satisfaction-misfiled", "R9C3"), ("level1-weights", "R2C4")}
    assert {f["sheet"] for f in data["findings"]} == {annex}


def test_the_reports_xlperf_writes_for_the_seeds_check_as_the_seeds_do(tmp_path):
    """Round trip with part 1 of the issue: the demo writes both seed reports; check reads them back."""
    pytest.importorskip("xlperf.report")
    assert run("demo", tmp_path).exit_code == 0
    reports = {p.name.split("_")[0]: p for p in tmp_path.glob("*.docx")}
    assert set(reports) == {"忻州市政府信息化建设经费", "信息化运行维护"}  # the demo must write both
    code, data = check_json(reports["忻州市政府信息化建设经费"])
    assert code == 1
    (table,) = data["tables"]
    assert (table["total"], table["grade"], table["published_total"], table["published_grade"]) == (
        "99.50", "优秀", "89.50", "良好")
    codes = {f["code"]: f for f in data["findings"] if f["severity"] == "error"}
    assert {"budget-rate-mismatch", "published-score-mismatch", "narrative-total-mismatch",
            "narrative-grade-mismatch"} <= set(codes)
    assert codes["budget-rate-mismatch"]["sheet"] == table["sheet"]
    assert (codes["narrative-total-mismatch"]["sheet"], codes["narrative-total-mismatch"]["expected"]) == ("正文", "99.50")
    code, data = check_json(reports["信息化运行维护"])
    assert code == 0
    (table,) = data["tables"]
    assert (table["total"], table["published_total"], table["grade"]) == ("99.78", "99.78", "优秀")


# ---- the small score tables against the 附件1 ---------------------------------------------
def test_a_score_table_disagreeing_with_the_annex(tmp_path):
    def edit(text: str) -> str:
        small = text.index("（三）项目效益情况")
        head, tail = text[:small], text[small:]
        tail = tail.replace("\t98%\n\t11.03", "\t98%\n\t11.02", 1)  # the 效益 table, not the 附件1
        return head + tail.replace("\t系统功能模块使用率\n\t11.25", "\t系统功能模块使用率\n\t12.25", 1)

    path = seed_docx(SEED_004, tmp_path / "改.docx", edit)
    text = edit(seed_text(SEED_004))
    small = f"表{table_number(text, '系统功能模块使用率')}"
    code, data = check_json(path)
    assert code == 1
    mismatches = {(f["sheet"], f["cell"]): f for f in data["findings"] if f["code"] == "report-table-mismatch"}
    # rows: 1 header, 2 系统安全等级达标率, 3 系统功能模块使用率, 4 使用者满意度; columns: 3 权重, 6 得分
    assert set(mismatches) == {(small, "R4C6"), (small, "R3C3")}
    assert (mismatches[(small, "R4C6")]["published"], mismatches[(small, "R4C6")]["expected"]) == ("11.02", "11.03")
    assert (mismatches[(small, "R3C3")]["published"], mismatches[(small, "R3C3")]["expected"]) == ("12.25", "11.25")
    assert all(f["severity"] == "error" for f in mismatches.values())
    assert errors(data) == {("report-table-mismatch", small, "R4C6"), ("report-table-mismatch", small, "R3C3")}


def test_a_score_table_row_the_annex_does_not_have(tmp_path):
    edit = (lambda text: text.replace("\t跟踪反馈机制健全性\n\t11.25", "\t反馈机制健全性\n\t11.25", 1))
    path = seed_docx(SEED_004, tmp_path / "改名.docx", edit)
    text = edit(seed_text(SEED_004))
    small, annex = f"表{table_number(text, '反馈机制健全性')}", f"表{table_number(text, ANNEX_TITLE)}"
    _, data = check_json(path)
    found = {(f["code"], f["sheet"], f["cell"]) for f in data["findings"]}
    assert ("report-row-unmatched", small, "R2C2") in found
    assert ("report-row-unlisted", annex, "R11C3") in found  # the 附件1's 跟踪反馈机制健全性


def test_a_report_without_its_annex_is_scored_from_its_score_tables(tmp_path):
    def edit(text: str) -> str:
        return text[:text.rfind("\n", 0, text.index(ANNEX_TITLE))]

    code, data = check_json(seed_docx(SEED_000, tmp_path / "无附件.docx", edit))
    assert code == 1
    (table,) = data["tables"]
    small = f"表{table_number(edit(seed_text(SEED_000)), '预算执行指标')}"
    assert (table["sheet"], table["total"], table["grade"], table["published_total"]) == (small, "99.50", "优秀", "89.50")
    assert ("budget-rate-mismatch", small, "R2C5") in errors(data)
    assert ("narrative-total-mismatch", "正文", "段落18") in errors(data)
    # the 一级 follows from the 二级 (数量指标 → 产出指标): the split is the seed's 10/40/40/10
    (split,) = [f for f in data["findings"] if f["code"] == "level1-weights"]
    assert "产出指标40/效益指标40/满意度指标10" in split["message"]


# ---- the narrative ------------------------------------------------------------------------
def _with_sentence(sentence: str):
    def edit(text: str) -> str:
        return text.replace("2. 产出情况及分析\n优秀", f"2. 产出情况及分析\n{sentence}", 1)
    return edit


@pytest.mark.parametrize("sentence", [
    "项目年度总金额75.91万元，全年执行资金75.91万元，预算执行率为100%，总得分99.78分，属于“优秀”。",
    "项目年度总金额７５．９１万元，预算执行率：１００％，自评总分为９９．７８分，评价等级为优。",  # typed full width
])
def test_narrative_rate_and_amount_that_agree(tmp_path, sentence):
    code, data = check_json(seed_docx(SEED_004, tmp_path / "对.docx", _with_sentence(sentence)))
    assert code == 0 and not [f for f in data["findings"] if f["severity"] == "error"]


def test_a_full_width_sentence_is_quoted_as_typed(tmp_path):
    sentence = "自评价结果为：总得分８９．５分，属于“良好”。"
    _, data = check_json(seed_docx(SEED_004, tmp_path / "全角.docx", _with_sentence(sentence)))
    (total,) = [f for f in data["findings"] if f["code"] == "narrative-total-mismatch"]
    assert (total["published"], total["expected"]) == ("89.5", "99.78")
    assert "总得分８９．５分" in total["message"]  # findable in Word with 查找


def test_the_full_marks_in_a_sentence_are_not_the_score(tmp_path):
    sentence = "本次自评总分100分，自评得分99.78分；满分即总分100分。"
    code, data = check_json(seed_docx(SEED_004, tmp_path / "满分.docx", _with_sentence(sentence)))
    assert code == 0, data["findings"]


def test_narrative_rate_and_amount_that_disagree(tmp_path):
    sentence = "项目年度总金额80万元，预算执行率为90%，总分99.8分，评价等级为良好。"
    edit = _with_sentence(sentence)
    text = edit(seed_text(SEED_004))
    where = f"段落{body_paragraph_number(text, sentence)}"
    code, data = check_json(seed_docx(SEED_004, tmp_path / "错.docx", edit))
    assert code == 1
    by = {f["code"]: f for f in data["findings"] if f["cell"] == where}
    assert set(by) == {"narrative-amount-mismatch", "narrative-rate-mismatch", "narrative-total-mismatch",
                       "narrative-grade-mismatch"}
    assert all(f["sheet"] == "正文" for f in by.values())
    assert (by["narrative-rate-mismatch"]["published"], by["narrative-rate-mismatch"]["expected"]) == ("90%", "100.00%")
    assert (by["narrative-amount-mismatch"]["published"], by["narrative-amount-mismatch"]["expected"]) == ("80万元", "75.91万元")
    assert (by["narrative-total-mismatch"]["published"], by["narrative-total-mismatch"]["expected"]) == ("99.8", "99.78")
    assert (by["narrative-grade-mismatch"]["published"], by["narrative-grade-mismatch"]["expected"]) == ("良好", "优秀")


# ---- ordinary sentences in the text sections are not the project's total or grade ------------------
@pytest.mark.parametrize("sentence", [
    "产出指标总分50分，效益指标总分30分，满意度指标总分10分。",
    "经第三方调查，服务质量评价等级为良好。",
    "满意度指标得分为10分，满意度指标自评得分9分。",
    "一级指标产出指标总得分为40分，数量指标的总分为20分。",
    "服务对象满意度调查总得分为95分，评价等级为良好。",
    "产出指标完成情况较好，评为“良好”。",
    "效益指标（30分）总得分28.5分；服务质量评价得分为8分，属于“中等”水平。",
    "子项目一总得分80分，等级为良好。",
])
def test_ordinary_sentences_with_points_and_grades_are_not_the_projects_result(tmp_path, sentence):
    code, data = check_json(seed_docx(SEED_004, tmp_path / "文字.docx", _with_sentence(sentence)))
    assert code == 0, [f["message"] for f in data["findings"] if f["severity"] == "error"]
    (table,) = data["tables"]
    assert (table["published_total"], table["published_grade"]) == ("99.78", "优秀")  # the score sentence's


@pytest.mark.parametrize("sentence, total, grade", [
    ("产出指标总分50分，本项目自评总得分89.5分，评价等级为良好。", "89.5", "良好"),
    ("经第三方调查服务质量良好。本项目2023年度绩效自评得分为89.5分，自评等级为“良好”。", "89.5", "良好"),
    ("评价等级为良好。", None, "良好"),
    ("满意度指标得分为10分，各项指标总得分为89.5分。", "89.5", None),
])
def test_the_projects_own_result_among_ordinary_sentences_is_still_checked(tmp_path, sentence, total, grade):
    edit = _with_sentence(sentence)
    where = f"段落{body_paragraph_number(edit(seed_text(SEED_004)), sentence)}"
    code, data = check_json(seed_docx(SEED_004, tmp_path / "结果.docx", edit))
    assert code == 1
    found = {f["code"]: f for f in data["findings"] if f["severity"] == "error"}
    assert {f["cell"] for f in found.values()} == {where}
    expected = {"narrative-total-mismatch": (total, "99.78"), "narrative-grade-mismatch": (grade, "优秀")}
    assert {code: (f["published"], f["expected"]) for code, f in found.items()} == {
        code: values for code, values in expected.items() if values[0] is not None}


# ---- amounts in the unit the budget table states ---------------------------------------------------
_ONE_ROW = [("产出指标", "数量指标", "验收合格率", "90", "100%", "100%")]
RIGHT_AMOUNTS = "年度总金额5613.40万元，全年执行资金50000000元，实际到位资金5613.4万元，全年预算56134000元。"


@pytest.mark.parametrize("unit, caption, table_unit", [
    ("元", "", "元"),  # 年度总金额(元)
    (None, "金额单位：元", "元"),  # a caption before the table
    (None, "预算执行情况表（单位：元）", "元"),
    ("万元", "", "万元"),
    ("万", "", "万元"),
    (None, "", "万元"),  # nothing says: the forms' default
])
def test_narrative_amounts_compare_in_the_unit_the_budget_table_states(tmp_path, unit, caption, table_unit):
    in_yuan = table_unit == "元"
    annual, executed = (Decimal("56134000"), Decimal("50000000")) if in_yuan else (Decimal("5613.40"), Decimal("5000"))
    wrong = "全年预算资金5613.50万元。"
    document, _, _ = _report(annual, executed, _ONE_ROW, unit=unit, caption=caption, sentences=(RIGHT_AMOUNTS, wrong))
    path = tmp_path / "单位.docx"
    document.save(path)
    code, data = check_json(path)
    amounts = [f for f in data["findings"] if f["code"] == "narrative-amount-mismatch"]
    assert [(f["published"], f["expected"]) for f in amounts] == [("5613.50万元", "5613.4万元")]  # only the wrong one
    assert f"{format_number(annual)} {table_unit}" in amounts[0]["message"]
    assert code == 1 and errors(data) == {("narrative-amount-mismatch", "正文", amounts[0]["cell"])}


@pytest.mark.parametrize("sentence, right", [
    ("年度总金额5613.41万元。", True),  # 56134123元 to the cent of 万元
    ("年度总金额5613万元。", True),  # to the 万元
    ("年度总金额5613.42万元。", False),
    ("年度总金额5614万元。", False),
    ("年度总金额56134123元。", True),
    ("年度总金额56134120元。", False),  # in the table's own unit: the very number
])
def test_an_amount_in_another_unit_agrees_at_the_precision_it_is_written_with(tmp_path, sentence, right):
    document, _, _ = _report(Decimal("56134123"), Decimal("50000000"), _ONE_ROW, unit="元", sentences=(sentence,))
    path = tmp_path / "精度.docx"
    document.save(path)
    _, data = check_json(path)
    assert any(f["code"] == "narrative-amount-mismatch" for f in data["findings"]) is not right


def test_a_report_xlperf_wrote_in_yuan_checks_without_an_amount_error(tmp_path):
    """The defect as found: 金额单位 元 in the workbook, the report's table in 元, an accountant's sentence in 万元
    (and, with the section left blank, the sentence xlperf writes from the numbers, in 元)."""
    import dataclasses

    from xlperf.forms import load_form
    from xlperf.pipeline import score_workbook
    from xlperf.report.content import report_content
    from xlperf.report.document import render_report
    from xlperf.template.build import new_workbook
    from xlperf.template.inputs import IndicatorInput, ProjectInput
    from xlperf.workbook_io import open_workbook

    typed = ProjectInput(
        name="元项目", amount_unit="元",
        budget={("initial", "county"): 56134000, ("annual", "county"): 56134000, ("received", "county"): 56134000,
                ("executed", "county"): 50000000},
        indicators=(IndicatorInput("预算执行指标", "预算执行指标", "预算执行率", 10, "100%", ""),
                    IndicatorInput("产出指标", "数量指标", "养护里程", 90, "100公里", "100公里")),
        report={"项目实施和预算执行情况及分析": "本项目年度总金额5613.40万元，全年执行资金5000万元。"})
    generated = dataclasses.replace(typed, report={})
    for project, sentence in ((typed, "年度总金额5613.40万元"), (generated, "全年预算资金56134000元")):
        book = tmp_path / "元.xlsx"
        new_workbook([project], PROFILE, form="shanxi").save(book)
        (result,) = score_workbook(open_workbook(book), book, PROFILE)
        path = tmp_path / "元.docx"
        path.write_bytes(render_report(report_content(result, load_form("shanxi", writable=True))))
        document = docx.Document(path)
        assert sentence in "".join(p.text for p in document.paragraphs)
        assert document.tables[0].cell(0, 2).text == "年度总金额(元)"
        code, data = check_json(path)
        assert not [f for f in data["findings"] if f["code"] == "narrative-amount-mismatch"], data["findings"]


# ---- the workbook check, unchanged, on the same table in Word ---------------------------------------
def _shown(cell) -> str:
    """What the cell shows, as it would be typed in a Word table (0.9 in a 0.00% cell → 90.00%)."""
    value, fmt = cell.value, cell.number_format or "General"
    if value is None:
        return ""
    if isinstance(value, (int, float)) and "%" in fmt:
        places = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
        return f"{Decimal(str(value)) * 100:.{places}f}%"
    if isinstance(value, float):
        return format_number(Decimal(str(value)))
    return str(value)


def sheet_as_docx(path: Path, out: Path) -> Path:
    """The workbook's first sheet as one Word table (same rows, columns and merged cells)."""
    from openpyxl import load_workbook

    ws = load_workbook(path).worksheets[0]
    document = docx.Document()
    document.add_paragraph("附件1")
    table = document.add_table(rows=ws.max_row, cols=ws.max_column)
    for row in ws.iter_rows():
        for cell in row:
            if _shown(cell):
                table.cell(cell.row - 1, cell.column - 1).text = _shown(cell)
    for merged in ws.merged_cells.ranges:
        c0, r0, c1, r1 = merged.bounds
        table.cell(r0 - 1, c0 - 1).merge(table.cell(r1 - 1, c1 - 1))
    document.add_paragraph("")
    document.save(out)
    return out


def _national_workbook(path: Path, **kw) -> Path:
    from .annex_builders import put_national_budget, put_national_table

    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    put_national_budget(ws, rate=kw.get("rate", (0.9, "0.00%")), budget_score=kw.get("budget_score", 9))
    put_national_table(ws, total=kw.get("total", 98.44))
    wb.save(path)
    return path


@pytest.mark.parametrize("build, profile", [
    (seed_000_workbook, "default"),
    (lambda p: seed_004_workbook(p, tamper=True), "default"),
    (lambda p: _national_workbook(p), "national"),
    (lambda p: _national_workbook(p, rate=(1, "0.00%"), budget_score=10, total=99.44), "national"),
])
def test_a_table_in_word_gets_the_findings_of_the_same_table_in_a_sheet(tmp_path, build, profile):
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    book = build(tmp_path / "表.xlsx")
    sheet = check_workbook(book, load_profile(profile))
    code, data = check_json(sheet_as_docx(book, tmp_path / "表.docx"), "--profile", profile)

    def rc(cell: str) -> str:
        letters, row = coordinate_from_string(cell)
        return f"R{row}C{column_index_from_string(letters)}"

    expected = {(f.severity, f.code, rc(f.cell) if f.cell else "", f.published, f.expected) for f in sheet.findings}
    assert {(f["severity"], f["code"], f["cell"], f["published"], f["expected"]) for f in data["findings"]} == expected
    assert {f["sheet"] for f in data["findings"]} <= {"表1"}
    (word,), (book_table,) = data["tables"], sheet.tables
    assert (word["total"], word["grade"], word["published_total"], word["form"]) == (
        f"{book_table.total:.2f}", book_table.grade,
        None if book_table.published_total is None else f"{book_table.published_total:.2f}", book_table.form)
    assert code == (1 if any(f.severity == "error" for f in sheet.findings) else 0)


# ---- property: docx tables read as the equivalent sheet ------------------------------------------
_TEXTS = st.sampled_from(["", "", "甲", "90%", "11.25", "预算执行率", "≥95%", "一级指标", "总分", "良好"])


@st.composite
def merged_grids(draw):
    rows, columns = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    taken: set[tuple[int, int]] = set()
    merges = []
    for _ in range(draw(st.integers(0, 5))):
        r0, c0 = draw(st.integers(1, rows)), draw(st.integers(1, columns))
        r1, c1 = draw(st.integers(r0, rows)), draw(st.integers(c0, columns))
        cells = {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        if len(cells) > 1 and not cells & taken:
            taken |= cells
            merges.append((r0, c0, r1, c1))
    covered = {(r, c) for r0, c0, r1, c1 in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)
               if (r, c) != (r0, c0)}
    values = {(r, c): draw(_TEXTS) for r in range(1, rows + 1) for c in range(1, columns + 1) if (r, c) not in covered}
    return rows, columns, merges, values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=merged_grids())
def test_docx_tables_with_random_merges_read_as_the_same_grid_as_the_sheet(tmp_path, grid):
    rows, columns, merges, values = grid
    wb = Workbook()
    ws = wb.active
    ws.title = "表1"
    for (r, c), text in values.items():
        if text:
            ws.cell(r, c).value = text
    for r0, c0, r1, c1 in merges:
        ws.merge_cells(start_row=r0, start_column=c0, end_row=r1, end_column=c1)
    sheet = Grid(ws)

    document = docx.Document()
    table = document.add_table(rows=rows, cols=columns)
    for (r, c), text in values.items():
        if text:
            table.cell(r - 1, c - 1).text = text
    for r0, c0, r1, c1 in merges:
        table.cell(r0 - 1, c0 - 1).merge(table.cell(r1 - 1, c1 - 1))
    path = tmp_path / "t.docx"
    document.save(path)
    (read,) = read_document(path).tables
    word = table_grid(read)

    def seen(g: Grid, r: int, c: int):
        own, shown = g.cell(r, c), g.shown(r, c)
        return (own.raw if own else None, shown.raw if shown else None, shown.loc.cell if shown else None)

    assert word.title == sheet.title
    for r in range(1, rows + 1):
        for c in range(1, columns + 1):
            assert seen(word, r, c) == seen(sheet, r, c), (r, c)
    assert sorted(read.merges) == sorted((c0, r0, c1, r1) for r0, c0, r1, c1 in merges)
    assert [(t.header_row, len(t.rows)) for t in annex_tables_in(word)] == \
        [(t.header_row, len(t.rows)) for t in annex_tables_in(sheet)]
    assert len(budget_blocks_in(word)) == len(budget_blocks_in(sheet))


# ---- hostile grid values: clamped or the table reported, never a traceback ------------------------
def _set_grid_value(tr, kind: str, value: str, cell: int = 0) -> None:
    """w:gridBefore/w:gridAfter in the row's trPr, w:gridSpan/w:vMerge/w:hMerge in its cell-th cell's tcPr."""
    if kind in ("gridBefore", "gridAfter"):
        parent = tr.get_or_add_trPr()
    else:
        tcs = tr.tc_lst
        parent = tcs[min(cell, len(tcs) - 1)].get_or_add_tcPr()
    for old in parent.findall(qn(f"w:{kind}")):
        parent.remove(old)
    element = OxmlElement(f"w:{kind}")
    element.set(qn("w:val"), value)
    parent.insert(0, element)


def _hostile_seed(tmp_path: Path, kind: str, value: str) -> tuple[Path, str]:
    """Seed 004 with kind=value on the 附件1's header row (its first cell); (path, the 附件1's 表N)."""
    from .docx_builders import document_from_text

    document = document_from_text(seed_text(SEED_004))
    _set_grid_value(document.tables[-1].rows[1]._tr, kind, value)
    path = tmp_path / f"{kind}.docx"
    document.save(path)
    return path, f"表{len(document.tables)}"


@pytest.mark.parametrize("kind, value", [
    ("gridBefore", "-3"), ("gridBefore", "abc"), ("gridBefore", ""), ("gridBefore", "1.5"), ("gridBefore", "9" * 5000),
    ("gridAfter", "-3"), ("gridAfter", "99999999999"), ("gridSpan", "-2"), ("gridSpan", "0"), ("gridSpan", "x"),
    ("vMerge", "bogus"), ("vMerge", "continue"), ("hMerge", "continue"), ("hMerge", "-1"),
])
def test_malformed_grid_values_read_as_none(tmp_path, seed_004, kind, value):
    """A negative or junk value counts as none (gridBefore 0, gridSpan 1, no merge): the same verdicts."""
    path, _ = _hostile_seed(tmp_path, kind, value)
    code, data = check_json(path)
    _, clean = check_json(seed_004)
    assert code == 0
    assert [(f["code"], f["sheet"], f["cell"]) for f in data["findings"]] == \
        [(f["code"], f["sheet"], f["cell"]) for f in clean["findings"]]
    assert data["tables"] == clean["tables"]


@pytest.mark.parametrize("kind, value", [("gridBefore", "99999999999"), ("gridBefore", "201"), ("gridSpan", "1000000")])
def test_a_table_that_cannot_be_placed_is_a_finding(tmp_path, kind, value):
    path, annex = _hostile_seed(tmp_path, kind, value)
    for extra in ([], ["--json"]):
        result = run("check", path, *extra)
        assert result.exit_code == 1 and "Traceback" not in result.stderr + result.stdout
    _, data = check_json(path)
    (unplaced,) = [f for f in data["findings"] if f["code"] == "table-unreadable"]
    assert (unplaced["severity"], unplaced["sheet"]) == ("error", annex)
    assert "没有核对" in unplaced["message"] and "Traceback" not in unplaced["message"]


_HOSTILE = st.one_of(st.integers(-10 ** 12, 10 ** 12).map(str), st.integers(-5, 70).map(str),
                     st.sampled_from(["", "abc", "1.5", " 2 ", "+3", "-0", "９", "continue", "restart", "9" * 5000]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_grid_values_never_crash(tmp_path, data):
    from xlperf.check_docx import check_document
    from xlperf.readers.docx_tables import MAX_TABLE_COLUMNS, tables_workbook

    rows, columns = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    document = docx.Document()
    table = document.add_table(rows=rows, cols=columns)
    for r in range(rows):
        for c in range(columns):
            table.cell(r, c).text = data.draw(_TEXTS)
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["gridBefore", "gridAfter", "gridSpan", "vMerge", "hMerge"]))
        _set_grid_value(table.rows[data.draw(st.integers(0, rows - 1))]._tr, kind, data.draw(_HOSTILE),
                        data.draw(st.integers(0, columns - 1)))
    values = [el.get(qn("w:val")).strip() for el in table._tbl.iter(qn("w:gridBefore"), qn("w:gridSpan"))]
    too_wide = any(v.lstrip("+-").isdigit() and len(v) < 100 and int(v) > MAX_TABLE_COLUMNS for v in values)
    path = tmp_path / "h.docx"
    document.save(path)
    doc = read_document(path)  # never raises
    (read,) = doc.tables
    tables_workbook(doc.tables)  # every cell placed at a column from 1
    assert all(1 <= c <= MAX_TABLE_COLUMNS and r >= 1 for r, c in read.cells)
    assert not too_wide or read.problem  # one span or gridBefore past the limit: the table cannot be placed
    report = check_document(path, PROFILE)
    assert bool(read.problem) == any(f.code == "table-unreadable" and f.sheet == "表1" for f in report.findings)


# ---- property: a report of a correctly scored project checks without an error --------------------
_PAIRS = [(l1, l2) for l1, l2s in CATEGORIES.items() if l1 not in ("预算执行指标", "成本指标") for l2 in l2s]
_NAMES = ["验收合格率", "培训人次", "系统可用率", "覆盖率", "服务对象满意度", "完成及时率", "办结数量"]
_SECTIONS = {"产出指标": "（二）项目产出情况", "效益指标": "（三）项目效益情况", "满意度指标": "（四）项目满意度情况"}
BUDGET_HEADER = [["项目", "行次", "年度总金额(万元)", "财政资金", "上年结转资金(万元)", "其他资金(万元)"],
                 ["", "", "", "小计", "中央级", "省级", "市级", "县区级", "", ""]]
BUDGET_ROWS = [("年初预算资金", "(1)"), ("全年预算资金", "(2)"), ("实际到位资金", "(3)"), ("全年执行资金", "(4)"),
               ("资金结余", "(5)=(3)-(4)"), ("预算到位率", "(6)=(3)/(2)"), ("预算执行率(%)", "(7)=(4)/(2)")]
SMALL_HEADER = ["二级指标", "三级指标", "权重", "目标值", "业绩值", "得分"]
ANNEX_HEADER = ["一级指标", "二级指标", "目标指标", "权重", "目标值", "业绩值", "完成率", "指标得分", "偏差原因分析及改进措施"]


@st.composite
def scored_projects(draw):
    """(budget amounts, indicator rows as typed) of a project whose weights add up to 100."""
    annual = draw(st.decimals(min_value=1, max_value=5000, places=2))
    executed = draw(st.decimals(min_value=0, max_value=annual, places=2))
    count = draw(st.integers(1, 7))
    cuts = sorted(draw(st.lists(st.integers(1, 8999), min_size=count - 1, max_size=count - 1, unique=True)))
    cents = [b - a for a, b in zip([0] + cuts, cuts + [9000])]
    rows = []
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=count, max_size=count, unique=True))
    for name, weight in zip(names, cents):
        level1, level2 = draw(st.sampled_from(_PAIRS))
        if draw(st.integers(0, 3)) == 0:
            target, actual = draw(st.sampled_from(["及时", "健全", "达成"])), f"{draw(st.integers(60, 100))}%"
        else:
            percent = "%" if draw(st.booleans()) else ""
            target = f"{draw(st.sampled_from(['', '≥']))}{draw(st.integers(1, 500))}{percent}"
            actual = f"{draw(st.decimals(min_value=0, max_value=600, places=draw(st.integers(0, 2))))}{percent}"
        rows.append((level1, level2, name, format_number(Decimal(weight) / 100), target, actual))
    rows.sort(key=lambda r: list(_SECTIONS).index(r[0]))
    return annual, executed, rows


def _budget_header(unit: str | None) -> list[list[str]]:
    """BUDGET_HEADER with its amounts' unit in the titles (年度总金额(元)), or none (the unit in a caption)."""
    mark = f"({unit})" if unit else ""
    return [[title.replace("(万元)", mark) for title in BUDGET_HEADER[0]], BUDGET_HEADER[1]]


def _report(annual: Decimal, executed: Decimal, typed: list[tuple], unit: str | None = "万元", caption: str = "",
            sentences: tuple[str, ...] = ()) -> tuple[docx.Document, Decimal, str]:
    """A report of a correctly scored project; the budget table's amounts in `unit` (stated in its titles, or
    by `caption`, a paragraph before the table, when unit is None); `sentences`: paragraphs after the score's."""
    rate = rate_points(executed, annual)
    budget_score = indicator_score(Decimal(10), half_up(rate / 100, RATE_PLACES))
    budget = ("预算执行指标", "预算执行指标", "预算执行率", "10", "100%", f"{format_number(rate)}%",
              format_percent(rate / 100), format_number(budget_score))
    scored = []
    for i, (level1, level2, name, weight, target, actual) in enumerate(typed):
        ind = Indicator(row=i, level1=level1, level2=level2, level3=name, direction=None, weight=parse_value(weight),
                        target=parse_value(target), actual=parse_value(actual), reason="", cells={})
        result = score_indicator(ind, PROFILE)[0]
        scored.append((level1, level2, name, weight, target, actual, format_percent(result.rate),
                       format_number(result.score)))
    total = total_score([budget_score] + [Decimal(s[7]) for s in scored])
    grade = grade_of(total, PROFILE)
    document = docx.Document()
    document.add_paragraph("项目名称：生成项目")
    document.add_paragraph("（二）预算执行情况")
    values = (annual, annual, annual, executed, annual - executed, rate_points(annual, annual), rate)
    body = []
    for (label, line), value in zip(BUDGET_ROWS, values):  # the money in 市级, 小计 and 年度总金额 filled in
        shown = format_number(value)
        body.append([label, line, shown, shown, "", "", shown, "", "", ""])
    if caption:
        document.add_paragraph(caption)
    add_table(document, _budget_header(unit) + body)
    document.add_paragraph(f"最终评分结果：生成项目绩效自评价结果为:总得分{format_number(total)}分，属于\"{grade}\"。")
    if unit in ("万元", "元"):
        document.add_paragraph(f"项目预算执行率为{format_number(rate)}%，年度总金额{format_number(annual)}{unit}。")
    for sentence in sentences:
        document.add_paragraph(sentence)
    document.add_paragraph("（一）预算执行情况")
    add_table(document, [SMALL_HEADER, list(budget[1:6]) + [budget[7]]])
    for level1, section in _SECTIONS.items():
        mine = [s for s in scored if s[0] == level1]
        if mine:
            document.add_paragraph(section)
            add_table(document, [SMALL_HEADER] + [[s[1], s[2], s[3], s[4], s[5], s[7]] for s in mine])
    document.add_paragraph(ANNEX_TITLE)
    annex = [[ANNEX_TITLE], ANNEX_HEADER, list(budget) + [""]]
    for i, s in enumerate(scored):
        first = i == 0 or scored[i - 1][0] != s[0]
        annex.append([s[0] if first else "", *s[1:], ""])
    add_table(document, annex)
    return document, total, grade


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(project=scored_projects())
# a 成本指标 row read 正向 (200%) whose 0.01 point rounds the same both ways: only its 完成率 says which reading
@example(project=(Decimal("1.00"), Decimal("0.00"), [("产出指标", "成本指标", "培训人次", "0.01", "1", "2"),
                                                     ("产出指标", "数量指标", "办结数量", "89.99", "及时", "60%")]))
def test_a_report_of_a_correctly_scored_project_has_no_error(tmp_path, project):
    annual, executed, typed = project
    document, total, grade = _report(annual, executed, typed)
    path = tmp_path / "生成.docx"
    document.save(path)
    from xlperf.check_docx import check_document

    report = check_document(path, PROFILE)
    assert [f for f in report.findings if f.severity == "error"] == []
    (table,) = report.tables
    assert (table.total, table.grade, table.published_total, table.published_grade) == (total, grade, total, grade)


# ---- bad input: a clear message, exit 2, nothing written -------------------------------------
def _docx_bytes(seed: Path = SEED_004) -> bytes:
    out = io.BytesIO()
    from .docx_builders import document_from_text

    document_from_text(seed_text(seed)).save(out)
    return out.getvalue()


def _rezip(data: bytes, change, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def _no_tables(folder: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("项目支出绩效自评报告")
    document.add_paragraph("自评价结果为：总得分99.78分，属于“优秀”。")
    path = folder / "无表格.docx"
    document.save(path)
    return path


def _encrypted(folder: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(_docx_bytes(SEED_000))).encrypt("密码123", out)
    path = folder / "加密.docx"
    path.write_bytes(out.getvalue())
    return path


def _bomb(folder: Path) -> Path:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_docx_bytes()), "r") as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with dst.open("word/media/bomb.bin", "w") as fh:
            zeros = b"\x00" * (1 << 20)
            for _ in range(40):  # 40 MB of zeros → about 40 KB compressed
                fh.write(zeros)
    path = folder / "炸弹.docx"
    path.write_bytes(out.getvalue())
    return path


SECRET = "TOP-SECRET-外泄"


def _document_xml_edited(folder: Path, filename: str, edit) -> Path:
    """The report with word/document.xml as edit(its text after the XML declaration, the secret file) makes it
    (bytes), at folder/filename; the secret file sits beside it for an entity to point at."""
    secret = folder / "secret.txt"
    secret.write_text(SECRET, "utf-8")

    def change(name, data):
        if name != "word/document.xml":
            return data
        return edit(data.decode("utf-8").partition("?>")[2], secret)

    path = folder / filename
    path.write_bytes(_rezip(_docx_bytes(), change))
    return path


_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def _xxe(folder: Path) -> Path:
    """word/document.xml with an external entity pointing at a local file, used in a paragraph."""
    def edit(rest, secret):
        text = f'{_DECLARATION}<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>{rest}'
        return text.replace("信息化运行维护", "&xxe;", 1).encode("utf-8")

    return _document_xml_edited(folder, "xxe.docx", edit)


def _laughs(folder: Path) -> Path:
    entities = '<!ENTITY a0 "哈哈哈哈哈哈哈哈哈哈">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))

    def edit(rest, secret):
        return f"{_DECLARATION}<!DOCTYPE w:document [{entities}]>{rest}".replace("信息化运行维护", "&a9;", 1).encode("utf-8")

    return _document_xml_edited(folder, "laughs.docx", edit)


def _xxe_after_a_long_comment(folder: Path) -> Path:
    """The DOCTYPE after a comment longer than any fixed window (64 KB) the refusal might scan."""
    def edit(rest, secret):
        comment = "<!--" + "注释" * 60_000 + "-->"  # 360 KB in UTF-8
        text = f'{_DECLARATION}{comment}<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>{rest}'
        return text.replace("信息化运行维护", "信息化&xxe;运行维护", 1).encode("utf-8")

    return _document_xml_edited(folder, "xxe-长注释.docx", edit)


def _xxe_in_utf16(folder: Path) -> Path:
    """word/document.xml in UTF-16 (a byte scan for <!DOCTYPE in ASCII sees nothing)."""
    def edit(rest, secret):
        text = (f'<?xml version="1.0" encoding="UTF-16" standalone="yes"?>'
                f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>{rest}')
        return text.replace("信息化运行维护", "信息化&xxe;运行维护", 1).encode("utf-16")

    return _document_xml_edited(folder, "xxe-utf16.docx", edit)


def _binary_doc(folder: Path) -> Path:
    from .bad_files import cfb_bytes

    path = folder / "旧报告.doc"
    path.write_bytes(cfb_bytes(("WordDocument",)))
    return path


def _workbook_named_docx(folder: Path) -> Path:
    path = folder / "其实是工作簿.docx"
    seed_004_workbook(path)
    return path


BAD = {
    "no-tables": (_no_tables, "没有表格"),
    "encrypted": (_encrypted, "已加密"),
    "zip-bomb": (_bomb, "压缩炸弹"),
    "xxe": (_xxe, "DOCTYPE"),
    "billion-laughs": (_laughs, "DOCTYPE"),
    "xxe-after-a-long-comment": (_xxe_after_a_long_comment, "DOCTYPE"),
    "xxe-in-utf16": (_xxe_in_utf16, "DOCTYPE"),
    "doc-without-convert": (_binary_doc, "--convert"),
    "workbook-named-docx": (_workbook_named_docx, "Excel 工作簿"),
    "truncated": (lambda d: (d / "半截.docx").write_bytes(_docx_bytes()[:3000]) and d / "半截.docx", "已损坏"),
    "empty": (lambda d: (d / "空.docx").write_bytes(b"") or d / "空.docx", "空文件"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_documents_exit_2_with_a_message_and_write_nothing(tmp_path, name):
    build, words = BAD[name]
    path = build(tmp_path)
    before = folder_state(tmp_path)
    for extra in ([], ["--json"]):
        result = run("check", path, *extra)
        assert result.exit_code == 2, (name, result.stdout, result.stderr)
        message = "".join(result.stderr.split())  # however the console wrapped it
        assert words.replace(" ", "") in message and path.name in message, message
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert SECRET not in result.stderr
    assert folder_state(tmp_path) == before


@pytest.mark.parametrize("build", [_xxe, _laughs, _xxe_after_a_long_comment, _xxe_in_utf16])
def test_entities_are_never_resolved_even_past_the_package_check(tmp_path, monkeypatch, build):
    """Defence in depth: were the DOCTYPE refusal bypassed, the parser still resolves no entity."""
    import re

    from xlperf import workbook_io

    path = build(tmp_path)
    monkeypatch.setattr(workbook_io, "_DOCTYPE", re.compile(rb"(?!)"))
    try:
        doc = read_document(path)
    except UnreadableDocument as exc:  # lxml refuses the expansion itself: refused, never expanded
        assert "Traceback" not in str(exc) and path.name in str(exc)
        return
    text = "".join(p.text for p in doc.paragraphs) + "".join(v for t in doc.tables for v in t.cells.values())
    assert SECRET not in text and "哈哈哈哈" not in text


def _lying_sizes(folder: Path, real: int = 640 << 20, declared: int = 200 << 10) -> Path:
    """word/document.xml really holding `real` bytes while the zip declares `declared` (bad_files.understated_member)."""
    from .bad_files import understated_member

    path = folder / "大小造假.docx"
    path.write_bytes(understated_member(_docx_bytes(), "word/document.xml", real, declared))
    return path


_MEASURE = """
import resource, sys
import docx, xlperf.check_docx
from typer.testing import CliRunner
from xlperf.cli import app
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = CliRunner().invoke(app, ["check", sys.argv[1]])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(result.exit_code, after - before)
"""


def test_a_zip_whose_directory_lies_about_sizes_is_refused_in_bounded_memory(tmp_path):
    path = _lying_sizes(tmp_path)
    assert path.stat().st_size < 2 << 20  # under 2 MB on disk, 640 MB inside
    result = run("check", path)
    assert result.exit_code == 2 and result.stdout == ""
    message = "".join(result.stderr.split())
    assert "压缩炸弹" in message and path.name in message and "word/document.xml" in message, message
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=600)
    code, growth_kib = map(int, proc.stdout.split()[-2:])
    assert code == 2, proc.stderr
    assert growth_kib < 300 << 10, f"{growth_kib >> 10} MB"  # ru_maxrss is in KiB on Linux


def test_a_doctype_after_a_long_comment_in_a_workbook_part_is_refused(tmp_path):
    """The workbook path (xlperf check BOOK.xlsx) shares the refusal: a DOCTYPE past the first 64 KB of
    styles.xml, or in a UTF-16 workbook.xml."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, "utf-8")
    book = seed_004_workbook(tmp_path / "原.xlsx")
    doctype = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    cases = {
        "长注释.xlsx": ("xl/styles.xml", "UTF-8", "<!--" + "注释" * 60_000 + "-->" + doctype),
        "utf16.xlsx": ("xl/workbook.xml", "UTF-16", doctype),
    }
    for name, (part, encoding, prologue) in cases.items():
        def change(member, data, part=part, encoding=encoding, prologue=prologue):
            if member != part:
                return data
            text = data.decode("utf-8")
            body = text.partition("?>")[2] if text.startswith("<?xml") else text
            return f'<?xml version="1.0" encoding="{encoding}"?>{prologue}{body}'.encode(encoding.lower())

        path = tmp_path / name
        path.write_bytes(_rezip(book.read_bytes(), change))
        with zipfile.ZipFile(path) as zf:
            assert prologue.encode("utf-16-le" if encoding == "UTF-16" else "utf-8") in zf.read(part)
        result = run("check", path)
        message = "".join(result.stderr.split())
        assert result.exit_code == 2 and "DOCTYPE" in message and part in message, (name, message)
        assert SECRET not in result.stderr + result.stdout


def test_an_encrypted_report_is_read_with_its_password(tmp_path):
    path = _encrypted(tmp_path)
    before = folder_state(tmp_path)
    assert "密码不正确" in "".join(run("check", path, "--password", "不对").stderr.split())
    code, data = check_json(path, "--password", "密码123")
    assert code == 1
    assert ("narrative-total-mismatch", "正文", "段落18") in errors(data)
    assert folder_state(tmp_path) == before  # decrypted in memory only


def test_a_macro_enabled_report_is_read_as_the_document_it_holds(tmp_path):
    def change(name, data):
        if name != "[Content_Types].xml":
            return data
        return data.replace(b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                            b"application/vnd.ms-word.document.macroEnabled.main+xml")

    path = tmp_path / "带宏.docm"
    path.write_bytes(_rezip(_docx_bytes(SEED_000), change))
    code, data = check_json(path)
    assert code == 1 and ("narrative-total-mismatch", "正文", "段落18") in errors(data)


# ---- .doc through --convert (LibreOffice Writer) ---------------------------------------------
def _writer_converts(src: Path, out_dir: Path) -> Path:
    try:
        return libreoffice.convert(src, "doc:MS Word 97", out_dir)
    except libreoffice.LibreOfficeError as exc:  # LibreOffice without Writer (libreoffice-writer-nogui)
        pytest.skip(f"LibreOffice 无法写出 .doc（需要 Writer）：{exc}")


@pytest.mark.libreoffice
def test_a_doc_made_by_libreoffice_is_checked_with_convert(seed_000, tmp_path):
    if not libreoffice.available():
        pytest.skip("LibreOffice not installed")
    made = _writer_converts(seed_000, tmp_path / "lo")
    doc = tmp_path / "忻州市政府信息化建设经费_自评报告.doc"
    shutil.move(made, doc)
    shutil.rmtree(tmp_path / "lo", ignore_errors=True)
    assert doc.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a real Word 97 file
    refused = run("check", doc)
    assert refused.exit_code == 2 and "--convert" in "".join(refused.stderr.split())
    before = folder_state(tmp_path)
    code, data = check_json(doc, "--convert")
    assert code == 1
    _, original = check_json(seed_000)
    assert errors(data) == errors(original)  # the same verdicts at the same places
    (table,) = data["tables"]
    assert (table["total"], table["grade"], table["published_total"]) == ("99.50", "优秀", "89.50")
    assert folder_state(tmp_path) == before  # converted in a private temporary folder
    # WPS 文字 saves the same binary format under .wps
    wps = shutil.copyfile(doc, tmp_path / "忻州市政府信息化建设经费_自评报告.wps")
    before = folder_state(tmp_path)
    assert "WPS文字文件" in "".join(run("check", wps).stderr.split())
    code, data = check_json(wps, "--convert")
    assert code == 1 and errors(data) == errors(original)
    assert folder_state(tmp_path) == before  # converted in a private temporary folder


def test_finding_places_read_as_word_locations():
    assert Finding("error", "x", "表3", "R2C5", "").place == "表3 R2C5"
    assert Finding("error", "x", "正文", "段落12", "").place == "正文 段落12"
    assert Finding("error", "x", "附件1", "RC12", "").place == "附件1!RC12"  # column RC of a sheet
