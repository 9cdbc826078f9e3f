"""The writers: 附件1, 汇总, 校验结果 and the atomic save, checked after save + reload.

ProjectResults come from the real rules (rules.score_project) over Project
records typed by hand from the two seeds (shared/seeds/000 and 004).
"""
from __future__ import annotations

import os
import re
import stat
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook

from xlperf import layout as L
from xlperf import profiles, rules
from xlperf.template import seeds
from xlperf.model import ERROR, INFO, WARNING, BudgetTable, Finding, Indicator, Loc, Project
from xlperf.values import parse_value
from xlperf.writers import annex as A
from xlperf.writers.annex import write_annex_sheet
from xlperf.writers.cells import internal_location, set_number, set_text
from xlperf.writers.findings_sheet import NO_FINDINGS, write_findings_sheet
from xlperf.safety import WriteRefused
from xlperf.writers.save import save_workbook_atomic
from xlperf.writers.summary import CHART_TITLE, NO_PROJECTS, summary_frame, write_summary_sheet

AMOUNT_ROWS = ("initial", "annual", "received", "executed")

def seed_rows(seed) -> tuple:
    """(一级, 二级, 三级, 权重, 目标值, 业绩值, 偏差原因) as published; 业绩值 None = the template's link to row (7)."""
    return tuple((i.level1, i.level2, i.level3, i.weight, i.target, i.actual if k else seed.budget_actual_typed, i.reason)
                 for k, i in enumerate(seed.indicators))


SEED_004 = seed_rows(seeds.SEED_004)
SEED_000 = seed_rows(seeds.SEED_000)
REASON_000 = seeds.SEED_000.indicators[3].reason


def make_project(name: str, sheet: str, rows, budget: dict[str, float] | None, fill_down: bool = True) -> Project:
    """A Project as the reader builds it (blank 一级/二级 filled down unless fill_down=False)."""
    indicators = []
    level1 = level2 = ""
    for i, (l1, l2, l3, w, t, a, reason) in enumerate(rows):
        row = L.INDICATOR_FIRST_ROW + i
        if fill_down:
            if l1 and l1 != level1:
                level2 = ""
            level1, level2 = l1 or level1, l2 or level2
            l1, l2 = level1, level2
        cells = {f: Loc(sheet, L.indicator_cell(f, row)) for f in L.INDICATOR_INPUT_FIELDS}
        indicators.append(Indicator(
            row=row, level1=l1, level2=l2, level3=l3, direction=None, weight=parse_value(w),
            target=parse_value(t), actual=parse_value(a), reason=reason, cells=cells, actual_linked=a is None,
        ))
    table = None
    if budget is not None:
        values = {(r, "municipal"): parse_value(v) for r, v in budget.items()}
        table = BudgetTable(sheet=sheet, values=values, cells={k: Loc(sheet, L.budget_cell(*k)) for k in values})
    return Project(name=name, sheet=sheet, info={}, budget=table, indicators=tuple(indicators),
                   total_loc=Loc(sheet, L.TOTAL_SCORE_CELL), weight_total_loc=Loc(sheet, L.WEIGHT_TOTAL_CELL))


def score(project: Project):
    return rules.score_project(project, profiles.load_profile())


@pytest.fixture(scope="module")
def result_004():
    budget = dict.fromkeys(AMOUNT_ROWS, 75.91)
    return score(make_project("信息化运行维护", "信息化运行维护", SEED_004, budget))


@pytest.fixture(scope="module")
def result_000():
    budget = {"initial": 3130.4, "annual": 2428.53, "received": 2428.53, "executed": 2428.53}
    # Not filled down: the writer must treat a blank 一级/二级 as "same as above" itself.
    return score(make_project("忻州市政府信息化建设经费", "忻州市政府信息化建设经费", SEED_000, budget, fill_down=False))


def save_reload(wb: Workbook, tmp_path: Path, name: str = "out.xlsx"):
    path = tmp_path / name
    save_workbook_atomic(wb, path)
    return path, openpyxl.load_workbook(path)


def empty_workbook() -> Workbook:
    wb = Workbook()
    wb.active.title = "录入"
    return wb


def merged(ws) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


# ---- the rules give what the seeds publish -----------------------------------
def test_seed_results_are_what_the_seeds_say(result_004, result_000):
    assert (result_004.total, result_004.grade) == (Decimal("99.78"), "优秀")
    assert result_000.total == Decimal("89.50")  # 0.00% typed over the link, as published
    assert result_000.grade == "良好"
    assert any(f.code == "budget-rate-mismatch" for f in result_000.findings)


# ---- 附件1 -------------------------------------------------------------------
def test_annex_seed_004_every_cell(result_004, tmp_path):
    wb = empty_workbook()
    write_annex_sheet(wb, result_004, "附件1-信息化运行维护", unit="山西省某市审计局", year="2020")
    _, wb2 = save_reload(wb, tmp_path)
    ws = wb2["附件1-信息化运行维护"]

    assert ws["A1"].value == L.ANNEX_TITLE == "附件1.项目支出绩效自评表"
    assert ws["A2"].value == "项目名称：信息化运行维护"
    assert ws["E2"].value == "预算单位：山西省某市审计局　　年度：2020"
    assert [c.value for c in ws[3]] == list(L.ANNEX_COLUMNS)
    assert all(c.font.b for c in ws[3])

    P, G, T = "0.00%", "General", "@"
    expected = [  # 一级, 二级, 三级, 权重, 目标值, 业绩值, 完成率, 指标得分, 偏差原因
        ("预算执行指标", "预算执行指标", "预算执行率", 10, "100%", "100.00%", 1, 10, None),
        ("产出指标", "数量指标", "视频会商系统升级改造", 11.25, "及时", "100%", 1, 11.25, None),
        (None, "质量指标", "新建（购）系统验收通过率", 11.25, "100%", "100%", 1, 11.25, None),
        (None, "时效指标", "系统上线及时性", 11.25, "及时", "100%", 1, 11.25, None),
        ("效益指标", "社会效益", "系统安全等级达标率", 11.25, "100%", "100%", 1, 11.25, None),
        (None, None, "系统功能模块使用率", 11.25, "100%", "100%", 1, 11.25, None),
        (None, "可持续影响指标", "使用者满意度", 11.25, "100%", "98%", 0.98, 11.03, "略有卡顿"),
        ("满意度指标", "服务对象满意度指标", "管理机制健全性", 11.25, "健全", "100%", 1, 11.25, None),
        (None, None, "跟踪反馈机制健全性", 11.25, "健全", "100%", 1, 11.25, None),
    ]
    for i, row in enumerate(expected):
        r = A.ANNEX_FIRST_ROW + i
        assert r == 4 + i
        assert tuple(c.value for c in ws[r]) == row, f"row {r}"
        assert [ws.cell(r, c).number_format for c in (4, 5, 6, 7, 8)] == [G, T, T, P, "0.00"]  # scores: two decimals
        assert isinstance(ws.cell(r, 5).value, str) and isinstance(ws.cell(r, 6).value, str)
    assert isinstance(ws["D5"].value, float) and isinstance(ws["D4"].value, int)

    assert merged(ws) == {
        "A1:I1", "A2:D2", "E2:I2",
        "A5:A7",  # 产出指标 over 数量/质量/时效
        "A8:A10", "B8:B9",  # 效益指标; 社会效益 over its two rows
        "A11:A12", "B11:B12",  # 满意度指标
        "A13:C13", "E13:G13", "A14:C14", "D14:G14",
    }
    assert (ws["A13"].value, ws["D13"].value, ws["H13"].value) == ("总分", 100, 99.78)
    assert (ws["A14"].value, ws["H14"].value) == ("评价等级", "优秀")
    assert ws.max_row == 14 and ws.max_column == 9

    # look: Chinese font, thin borders on the whole table, centred header, wrapped text.
    # (On load openpyxl rebuilds the hidden parts of merged cells, so check those as written.)
    written = wb["附件1-信息化运行维护"]
    for sheet in (ws, written):
        for row in sheet.iter_rows(min_row=3, max_row=14, max_col=9):
            for c in row:
                if sheet is ws and type(c).__name__ == "MergedCell":
                    continue
                sides = (c.border.left, c.border.right, c.border.top, c.border.bottom)
                assert all(s.style == "thin" for s in sides), c.coordinate
                assert c.font.name == "宋体" and c.alignment.wrap_text, c.coordinate
    assert ws["A3"].alignment.horizontal == "center"
    assert ws["C4"].alignment.horizontal == "left" and ws["I10"].alignment.horizontal == "left"
    assert [ws.column_dimensions[chr(65 + i)].width for i in range(9)] == list(L.ANNEX_COLUMN_WIDTHS)


def test_annex_print_settings(result_004, tmp_path):
    wb = empty_workbook()
    write_annex_sheet(wb, result_004, "附件1")
    _, wb2 = save_reload(wb, tmp_path)
    ws = wb2["附件1"]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows == "$1:$3"
    assert ws.print_area == ["'附件1'!$A$1:$I$14"] or ws.print_area == "'附件1'!$A$1:$I$14"
    assert ws.print_options.horizontalCentered
    assert ws.freeze_panes == "A4"
    assert ws["E2"].value is None  # no unit, no year


def test_annex_seed_000_blank_levels_and_the_typed_budget_row(result_000, tmp_path):
    wb = empty_workbook()
    write_annex_sheet(wb, result_000, "附件1-忻州")
    _, wb2 = save_reload(wb, tmp_path)
    ws = wb2["附件1-忻州"]
    assert [ws.cell(4, c).value for c in range(1, 10)] == [
        "预算执行指标", "预算执行指标", "预算执行率", 10, "100%", "0.00%", 0, 0, None]
    assert ws["A5"].value == "产出指标" and ws["A9"].value == "效益指标" and ws["A13"].value == "满意度指标"
    assert [ws.cell(r, 2).value for r in range(5, 13)] == [
        "数量指标", "质量指标", "时效指标", "成本指标", "经济效益", "社会效益", "生态效益", "可持续影响指标"]
    assert [ws.cell(7, c).value for c in range(1, 10)] == [
        None, "时效指标", "保障全市各类信息系统安全、稳定、可靠地运行", 10, "持续", "95%", 0.95, 9.5, REASON_000]
    assert ws["E5"].value == "90" and ws["F5"].value == "90%"  # as typed, text
    assert merged(ws) >= {"A5:A8", "A9:A12"}
    assert not any(r.startswith("B") and ":" in r for r in merged(ws))  # every 二级 differs
    assert (ws["A14"].value, ws["D14"].value, ws["H14"].value) == ("总分", 100, 89.5)
    assert ws["H15"].value == "良好"


def test_annex_merges_the_same_whether_or_not_filled_down(result_000):
    budget = {"initial": 3130.4, "annual": 2428.53, "received": 2428.53, "executed": 2428.53}
    filled = score(make_project("忻州市政府信息化建设经费", "忻州市政府信息化建设经费", SEED_000, budget))
    wb1, wb2 = empty_workbook(), empty_workbook()
    a = write_annex_sheet(wb1, result_000, "x")
    b = write_annex_sheet(wb2, filled, "x")
    assert merged(a) == merged(b)
    assert [[c.value for c in r] for r in a.iter_rows()] == [[c.value for c in r] for r in b.iter_rows()]


def test_annex_linked_budget_actual_shows_the_table_rate(result_004):
    ir = result_004.indicators[0]
    assert ir.indicator.actual_linked and ir.indicator.actual.shown == "100.00%"
    ws = write_annex_sheet(empty_workbook(), result_004, "x")
    assert ws["F4"].value == "100.00%"


def test_annex_is_deterministic(result_004, tmp_path):
    sheets = []
    for i in range(2):
        wb = empty_workbook()
        write_annex_sheet(wb, result_004, "附件1-信息化运行维护", unit="某局", year="2020")
        path, _ = save_reload(wb, tmp_path, f"d{i}.xlsx")
        with zipfile.ZipFile(path) as z:
            sheets.append((z.read("xl/worksheets/sheet2.xml"), z.read("xl/styles.xml")))
    assert sheets[0] == sheets[1]


def test_annex_text_that_looks_like_a_formula_stays_text(tmp_path):
    rows = (
        ("预算执行指标", "预算执行指标", "预算执行率", 10, "100%", "100%", ""),
        ("产出指标", "数量指标", "=SUM(A1:A2)", 90, "+5", "-5", "@改进"),
    )
    result = score(make_project("=HYPERLINK(\"x\")", "录入", rows, None))
    wb = empty_workbook()
    write_annex_sheet(wb, result, "附件1")
    path, wb2 = save_reload(wb, tmp_path)
    ws = wb2["附件1"]
    assert ws["A2"].value == '项目名称：=HYPERLINK("x")'
    assert (ws["C5"].value, ws["E5"].value, ws["F5"].value, ws["I5"].value) == ("=SUM(A1:A2)", "+5", "-5", "@改进")
    for ref in ("C5", "E5", "F5", "I5"):
        assert ws[ref].data_type == "s"
    with zipfile.ZipFile(path) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet2.xml").decode()


def test_annex_blank_rate_and_score_and_odd_weights(tmp_path):
    rows = (
        ("产出指标", "数量指标", "指标甲", "十分", "100", "暂无", ""),  # weight not a number, actual invalid
        ("", "质量指标", "指标乙", 50, "100", "", ""),  # no actual
    )
    result = score(make_project("p", "录入", rows, None))
    ws = write_annex_sheet(empty_workbook(), result, "附件1")
    assert ws["D4"].value == "十分" and ws["F4"].value == "暂无"
    assert ws["G4"].value is None and ws["H4"].value is None
    assert ws["F5"].value is None and ws["H5"].value is None
    assert ws["D6"].value == 50 and ws["H6"].value == 0  # 总分 row: only numeric weights summed


def test_annex_without_indicators(tmp_path):
    result = score(make_project("空项目", "录入", (), None))
    ws = write_annex_sheet(empty_workbook(), result, "附件1")
    assert ws["A4"].value == "总分" and ws["D4"].value is None and ws["H4"].value == 0
    assert ws["A5"].value == "评价等级" and ws["H5"].value == result.grade


def test_annex_refuses_an_existing_sheet(result_004):
    wb = empty_workbook()
    with pytest.raises(ValueError):
        write_annex_sheet(wb, result_004, "录入")


# ---- group_runs ------------------------------------------------------------------
@pytest.mark.parametrize("values, runs", [
    (["a", "", "", "b", "b", ""], [(0, 2, "a"), (3, 5, "b")]),
    (["", "", "a"], [(2, 2, "a")]),
    (["a", "b", "a"], [(0, 0, "a"), (1, 1, "b"), (2, 2, "a")]),
    ([" a ", "a"], [(0, 1, "a")]),
    ([], []),
])
def test_group_runs(values, runs):
    assert A.group_runs(values) == runs


# ---- cells -----------------------------------------------------------------------
def test_set_text_and_set_number_round_trip(tmp_path):
    wb = Workbook()
    ws = wb.active
    texts = ["=1+1", "+1", "-1", "@a", "=", "普通文字", "a\x01b"]
    for i, t in enumerate(texts, start=1):
        set_text(ws.cell(i, 1), t)
    set_text(ws["B1"], "")
    set_text(ws["B2"], None)
    set_number(ws["C1"], Decimal("11.03"))
    set_number(ws["C2"], Decimal("10.00"))
    set_number(ws["C3"], None, "0.00%")
    set_number(ws["C4"], Decimal("0.9800"), "0.00%")
    _, wb2 = save_reload(wb, tmp_path)
    ws2 = wb2.active
    assert [ws2.cell(i, 1).value for i in range(1, len(texts) + 1)] == texts[:-1] + ["ab"]
    assert all(ws2.cell(i, 1).data_type == "s" for i in range(1, len(texts) + 1))
    assert ws2["B1"].value is None and ws2["B2"].value is None
    assert ws2["C1"].value == 11.03 and ws2["C2"].value == 10 and isinstance(ws2["C2"].value, int)
    assert ws2["C3"].value is None and ws2["C3"].number_format == "0.00%"
    assert ws2["C4"].value == 0.98


def test_internal_location():
    assert internal_location("录入", "$h$24") == "'录入'!$H$24"
    assert internal_location("录入", "C25") == "'录入'!$C$25"  # LibreOffice reads a relative C25 as R1C1
    assert internal_location("it's", "A1:B2") == "'it''s'!$A$1:$B$2"
    assert internal_location("录入", "") is None
    assert internal_location("录入", "not a cell") is None
    assert internal_location("", "A1") is None


# ---- 汇总 ------------------------------------------------------------------------
def test_summary_values_and_chart(result_004, result_000, tmp_path):
    no_budget = score(make_project("无预算表", "录入3", SEED_004, None))
    results = [result_000, result_004, no_budget]
    frame = summary_frame(results)
    assert list(frame.columns) == list(L.SUMMARY_COLUMNS)
    # without a budget table the linked 预算执行率 row has no 业绩值 and scores nothing
    assert frame["总得分"].tolist() == [89.5, 99.78, 89.78]

    wb = empty_workbook()
    write_summary_sheet(wb, results, annex_sheets=["附件1-忻州", "附件1-信息化", None])
    path, wb2 = save_reload(wb, tmp_path)
    ws = wb2[L.SUMMARY_SHEET]
    assert [c.value for c in ws[1]] == list(L.SUMMARY_COLUMNS)
    counts = lambda r: [sum(1 for f in r.findings if f.severity == s) for s in (ERROR, WARNING, INFO)]  # noqa: E731
    assert [c.value for c in ws[2]] == ["忻州市政府信息化建设经费", 89.5, "良好", 1, *counts(result_000)]
    assert [c.value for c in ws[3]] == ["信息化运行维护", 99.78, "优秀", 1, *counts(result_004)]
    assert [c.value for c in ws[4]] == ["无预算表", 89.78, "良好", None, *counts(no_budget)]
    assert counts(result_000)[0] >= 1
    assert ws["D2"].number_format == "0.00%" and ws["B2"].number_format == "0.00"
    assert ws["A2"].hyperlink.location == "'附件1-忻州'!$A$1" and ws["A4"].hyperlink is None
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:G4"

    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert "xl/charts/chart1.xml" in names
        chart = z.read("xl/charts/chart1.xml").decode()
        drawing_rels = z.read("xl/worksheets/_rels/sheet2.xml.rels").decode()
    assert "'汇总'!$B$2:$B$4" in chart and "'汇总'!$A$2:$A$4" in chart
    assert CHART_TITLE in chart and "barChart" in chart
    assert "drawing" in drawing_rels  # the chart sits on the 汇总 sheet (sheet2)


def test_summary_with_no_projects(tmp_path):
    wb = empty_workbook()
    write_summary_sheet(wb, [])
    path, wb2 = save_reload(wb, tmp_path)
    ws = wb2[L.SUMMARY_SHEET]
    assert [c.value for c in ws[1]] == list(L.SUMMARY_COLUMNS)
    assert ws["A2"].value == NO_PROJECTS
    with zipfile.ZipFile(path) as z:
        assert not any(n.startswith("xl/charts/") for n in z.namelist())
    assert summary_frame([]).empty


def test_summary_name_that_looks_like_a_formula(tmp_path):
    result = score(make_project("=1+1", "录入", SEED_004, None))
    wb = empty_workbook()
    write_summary_sheet(wb, [result])
    _, wb2 = save_reload(wb, tmp_path)
    assert wb2[L.SUMMARY_SHEET]["A2"].value == "=1+1"


# ---- 校验结果 ----------------------------------------------------------------------
def test_findings_sheet_order_labels_and_links(tmp_path):
    findings = [
        Finding(INFO, "i1", "录入", "C24", "提示一"),
        Finding(ERROR, "e1", "录入", "G24", "错误一", published="0.00%", expected="100.00%"),
        Finding(WARNING, "w1", "录入", "", "警告一"),
        Finding(ERROR, "e2", "it's", "$h$30", "错误二", published="=1+1", expected="-5"),
        Finding(INFO, "i2", "别的工作簿", "A1", "提示二"),
    ]
    wb = empty_workbook()
    wb.create_sheet("it's")
    write_findings_sheet(wb, findings)
    path, wb2 = save_reload(wb, tmp_path)
    ws = wb2[L.FINDINGS_SHEET]
    assert [c.value for c in ws[1]] == list(L.FINDINGS_COLUMNS)
    assert [tuple(c.value for c in row) for row in ws.iter_rows(min_row=2)] == [
        ("错误", "e1", "录入!G24", "错误一", "0.00%", "100.00%"),
        ("错误", "e2", "it's!$h$30", "错误二", "=1+1", "-5"),
        ("警告", "w1", "录入", "警告一", None, None),
        ("提示", "i1", "录入!C24", "提示一", None, None),
        ("提示", "i2", "别的工作簿!A1", "提示二", None, None),
    ]
    links = [ws.cell(r, 3).hyperlink for r in range(2, 7)]
    assert [h.location if h else None for h in links] == [
        "'录入'!$G$24", "'it''s'!$H$30", "'录入'!$A$1", "'录入'!$C$24", None]
    assert all(h.target is None for h in links if h)  # internal: no external relationship
    with zipfile.ZipFile(path) as z:
        rels = [n for n in z.namelist() if n.startswith("xl/worksheets/_rels/")]
        assert not any("hyperlink" in z.read(n).decode() for n in rels)
    assert ws.auto_filter.ref == "A1:F6" and ws.freeze_panes == "A2"
    fills = [ws.cell(r, 1).fill.fgColor.rgb for r in (2, 4, 5)]
    assert len(set(fills)) == 3
    assert ws["D2"].alignment.wrap_text


def test_findings_sheet_without_findings(tmp_path):
    wb = empty_workbook()
    write_findings_sheet(wb, [], sheet_name="检查")
    _, wb2 = save_reload(wb, tmp_path)
    ws = wb2["检查"]
    assert ws["A2"].value == NO_FINDINGS and "A2:F2" in merged(ws)
    assert ws.max_row == 2


def test_findings_of_a_scored_seed_link_to_their_cells(result_000, tmp_path):
    wb = empty_workbook()
    wb.create_sheet(result_000.project.sheet)
    write_findings_sheet(wb, list(result_000.findings))
    ws = wb[L.FINDINGS_SHEET]
    mismatch = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 2).value == "budget-rate-mismatch")
    assert ws.cell(mismatch, 3).hyperlink.location == f"'{result_000.project.sheet}'!$G$24"
    assert ws.cell(2, 1).value == "错误"


# ---- atomic save -----------------------------------------------------------------
def test_save_replaces_the_target_and_keeps_its_mode(tmp_path):
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    wb = empty_workbook()
    wb.active["A1"] = "新"
    save_workbook_atomic(wb, target)
    assert openpyxl.load_workbook(target).active["A1"].value == "新"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "book.xlsx.bak"]  # the previous version kept
    assert (tmp_path / "book.xlsx.bak").read_bytes() == b"old"


def test_save_failure_leaves_the_original_intact(tmp_path, monkeypatch):
    target = tmp_path / "book.xlsx"
    original = b"original bytes"
    target.write_bytes(original)
    wb = empty_workbook()

    def broken_save(fh):
        fh.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(wb, "save", broken_save)
    with pytest.raises(WriteRefused, match="disk full"):  # a Chinese message for the user, exit code 2
        save_workbook_atomic(wb, target)
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


def test_save_interrupted_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "new.xlsx"
    wb = empty_workbook()

    def interrupted(fh):
        fh.write(b"PK")
        raise KeyboardInterrupt

    monkeypatch.setattr(wb, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_workbook_atomic(wb, target)
    assert list(tmp_path.iterdir()) == []


def test_save_failure_at_rename_leaves_the_original(tmp_path, monkeypatch):
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"original")

    def no_replace(src, dst):
        raise PermissionError("locked by Excel")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(WriteRefused, match="原文件未被改动"):
        save_workbook_atomic(empty_workbook(), target)
    assert target.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]


def test_save_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real.xlsx"
    real.write_bytes(b"old")
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    save_workbook_atomic(empty_workbook(), link)
    assert link.is_symlink()
    assert zipfile.is_zipfile(real)


# ---- the whole set, as the pipeline writes it ---------------------------------------
def test_all_sheets_together(result_000, result_004, tmp_path):
    wb = empty_workbook()
    results = [result_000, result_004]
    write_summary_sheet(wb, results, annex_sheets=["附件1-a", "附件1-b"])
    write_findings_sheet(wb, [f for r in results for f in r.findings])
    write_annex_sheet(wb, result_000, "附件1-a")
    write_annex_sheet(wb, result_004, "附件1-b")
    path, wb2 = save_reload(wb, tmp_path)
    assert wb2.sheetnames == ["录入", L.SUMMARY_SHEET, L.FINDINGS_SHEET, "附件1-a", "附件1-b"]
    with zipfile.ZipFile(path) as z:
        wbxml = z.read("xl/workbook.xml").decode()
    # print titles of 汇总, 校验结果 and both annex sheets are defined names local to each sheet
    assert len(re.findall(r"_xlnm.Print_Titles", wbxml)) == 4


# ---- properties ------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xlperf.writers.cells import clean_text  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_set_text_round_trips_any_text(texts):
    import io

    wb = Workbook()
    ws = wb.active
    for i, t in enumerate(texts, start=1):
        set_text(ws.cell(i, 1), t)
    buf = io.BytesIO()
    wb.save(buf)
    ws2 = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    for i, t in enumerate(texts, start=1):
        expected = clean_text(t) or None
        assert ws2.cell(i, 1).value == expected
        if expected is not None:
            assert ws2.cell(i, 1).data_type == "s"


@given(st.lists(st.sampled_from(["", "", "a", "b", "c"]), max_size=12))
def test_group_runs_properties(values):
    runs = A.group_runs(values)
    covered = [i for first, last, _ in runs for i in range(first, last + 1)]
    assert covered == sorted(set(covered))  # disjoint, in order
    for first, last, name in runs:
        assert values[first] == name  # a run starts at a named row
        assert all(v in ("", name) for v in values[first + 1:last + 1])  # and continues over blanks/equals
    leading_blanks = next((i for i, v in enumerate(values) if v), len(values))
    assert covered == list(range(leading_blanks, len(values)))
