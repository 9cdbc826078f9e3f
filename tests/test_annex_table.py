"""Finding 附件1 and 预算执行情况 tables wherever people put them."""
from __future__ import annotations

from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from .annex_builders import (
    ANNEX_HEADER, BUDGET_HEADER, SEED_000_BUDGET_ROWS, put, put_national_budget, put_national_table, seed_000_workbook,
)
from xlperf.layout import GENERATED_MARKER, INPUT_TITLE
from xlperf.model import Loc
from xlperf.readers.annex_table import budget_block_for, indicator_field, scan_workbook, title_key


def _scan(wb, tmp_path):
    """Save and reload with data_only, as check does: merged cells and formats come back as stored."""
    path = tmp_path / "t.xlsx"
    wb.save(path)
    return scan_workbook(load_workbook(path, data_only=True))


@pytest.mark.parametrize("raw, key", [
    ("年度\n指标值", "年度指标值"),
    (" 权 重 ", "权重"),
    ("分值（分）", "分值"),
    ("年度总金额(万元)", "年度总金额"),
    ("预算执行率（%）", "预算执行率"),
    ("其中：当年财政拨款", "当年财政拨款"),
    ("ｆｕｌｌ　ｗｉｄｔｈ", "fullwidth"),
    (90, ""),
])
def test_title_key_normalises(raw, key):
    assert title_key(raw) == key


@pytest.mark.parametrize("title, field", [
    ("目标指标", "level3"), ("指标名称", "level3"), ("三级指标", "level3"),
    ("分值", "weight"), ("权重", "weight"),
    ("年度指标值", "target"), ("指标值", "target"), ("目标值", "target"),
    ("实际完成值", "actual"), ("全年实际值", "actual"), ("实际值", "actual"), ("业绩值", "actual"),
    ("指标得分", "score"), ("得分", "score"), ("完成率", "rate"),
    ("偏差原因分析及改进措施", "reason"), ("偏差原因分析", "reason"), ("未完成原因和改进措施", "reason"),
    ("备注", None),
])
def test_indicator_field_accepts_national_names(title, field):
    assert indicator_field(title) == field


def test_header_found_on_second_sheet_at_d7_with_merged_levels(tmp_path):
    wb = Workbook()
    wb.active.title = "封面"
    wb.active["A1"] = "项目支出绩效自评表（2023年度）"
    put_national_table(wb.create_sheet("自评表"))
    tables, blocks = _scan(wb, tmp_path)
    assert blocks == []
    (table,) = tables
    assert (table.sheet, table.header_row) == ("自评表", 7)
    levels = [(r.indicator.level1, r.indicator.level2) for r in table.rows]
    assert levels == [("产出指标", "数量指标"), ("产出指标", "数量指标"), ("产出指标", "质量指标"),
                      ("效益指标", "社会效益指标"), ("满意度指标", "服务对象满意度指标")]
    second = table.rows[1].indicator
    assert second.cells["level1"] == Loc("自评表", "D8")  # the merged range's top-left cell
    assert second.cells["actual"] == Loc("自评表", "H9")
    assert second.reason == "未完全覆盖"
    assert second.weight.number == 10 and second.target.op == ">=" and second.target.percent
    assert table.rows[1].score.value.number == Decimal("9.44")
    assert table.rows[0].rate is None  # no 完成率 column in the national form
    assert table.total.loc == Loc("自评表", "J13") and table.total.value.number == Decimal("98.44")
    assert table.grade.loc == Loc("自评表", "J14") and table.grade.raw == "优"
    assert table.weight_total_loc == Loc("自评表", "I13")


def test_total_and_grade_in_one_row_and_inline_labels(tmp_path):
    wb = Workbook()
    ws = wb.active
    put(ws, "A1", [ANNEX_HEADER, ["产出指标", "数量指标", "人数", "10", "10", "10", "100%", "100", None],
                   [None, None, None, "合计", "100", "总分", "100", "评价等级", "优秀"]])
    put(ws, "A6", [ANNEX_HEADER, ["产出指标", "数量指标", "人数", "100", "10", "10", "100%", "100", None],
                   ["总分：100"], ["评价等级：优秀"]])
    tables, _ = _scan(wb, tmp_path)
    first, second = tables
    # The 100 under 权重 is the weight sum; the total is right of its label; the grade right of its own.
    assert first.total.loc.cell == "G3" and first.grade.loc.cell == "I3"
    assert first.weight_total_loc.cell == "D3"
    assert (second.total.raw, second.total.loc.cell) == ("100", "A8")
    assert (second.grade.raw, second.grade.loc.cell) == ("优秀", "A9")


def test_several_tables_blank_rows_and_notes(tmp_path):
    wb = Workbook()
    ws = wb.active
    row = ["产出指标", "数量指标", "人数", "50", "10", "10", "100%", "50", None]
    put(ws, "A1", [ANNEX_HEADER, row, [], row])  # one blank row inside: same table
    put(ws, "A6", [[], ["注：本表由项目单位填写"], row])  # two blank rows end it; a note ends the next
    put(ws, "A10", [ANNEX_HEADER, row, ["说明：得分保留两位小数"], row])
    put(ws, "A15", [ANNEX_HEADER, row, [None, None, "注册企业数"], [None, None, "注：由项目单位填写"], row])
    tables, _ = _scan(wb, tmp_path)
    assert [(t.header_row, [r.indicator.row for r in t.rows]) for t in tables] == [
        (1, [2, 4]), (10, [11]), (15, [16, 17])]  # 注册企业数 is an indicator (with nothing typed yet)


def test_input_sheets_are_skipped(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["A1"] = INPUT_TITLE
    put(ws, "A23", [ANNEX_HEADER, ["产出指标", "数量指标", "人数", "100", "10", "10", "100%", "100", None]])
    assert _scan(wb, tmp_path) == ([], [])


def test_seeds_budget_table_is_read_once(tmp_path):
    path = seed_000_workbook(tmp_path / "000.xlsx")
    tables, blocks = scan_workbook(load_workbook(path, data_only=True))
    (block,) = blocks
    assert block.header_row == 3 and block.budget_row is None
    values, cells = block.table.values, block.table.cells
    assert values[("annual", "municipal")].number == Decimal("2428.53")
    assert cells[("annual", "municipal")] == Loc("自评报告", "G6")
    assert values[("annual", "total")].is_blank
    assert values[("execution_rate", "municipal")].number == 100
    assert cells[("execution_rate", "other")] == Loc("自评报告", "J11")
    assert budget_block_for(tables[0], blocks) is block


def test_budget_table_on_another_sheet_pairs_when_it_is_the_only_one(tmp_path):
    wb = Workbook()
    put(wb.active, "B2", BUDGET_HEADER + SEED_000_BUDGET_ROWS)
    put(wb.create_sheet("附件1"), "A1", [ANNEX_HEADER, ["预算执行指标", "预算执行指标", "预算执行率", "100", "100%", "100%", "100%", "100", None]])
    (table,), (block,) = _scan(wb, tmp_path)
    assert block.table.sheet == "Sheet" and budget_block_for(table, [block]) is block
    assert budget_block_for(table, [block, block]) is None  # two candidates elsewhere: no guess


def test_national_budget_block(tmp_path):
    wb = Workbook()
    put_national_budget(wb.active)
    _, (block,) = _scan(wb, tmp_path)
    values = block.table.values
    assert values[("annual", "total")].number == 80 and values[("executed", "subtotal")].number == 72
    assert values[("initial", "other")].is_blank  # "/" means not applicable, not a typing error
    assert ("execution_rate", "total") not in values  # it is the indicator's 业绩值, checked once
    ind = block.budget_row.indicator
    assert (ind.level3, ind.weight.number, ind.actual.number, ind.actual.percent) == ("预算执行率", 10, 90, True)
    assert ind.cells["actual"] == Loc("Sheet", "H3") and ind.cells["level3"] == Loc("Sheet", "C3")
    assert block.budget_row.score.loc == Loc("Sheet", "I3")


@pytest.mark.parametrize("summary, total, grade", [
    ([["自评得分", None, None, "100", None, None, None, "89.78"], ["自评等级：良好"]], ("89.78", "H3"), ("良好", "A4")),
    ([["综合得分：89.78分"], ["绩效评价等级", None, None, None, None, None, None, "良好"]], ("89.78分", "A3"), ("良好", "H4")),
    ([["自评总分", None, None, None, None, None, None, "89.78"], ["评价结果", "良"]], ("89.78", "H3"), ("良", "B4")),
    ([["合计", None, None, "100", None, None, None, 89.78, "良好"]], (89.78, "H3"), ("良好", "I3")),
    ([["合计", None, None, "100", "良好", None, None, 89.78]], (89.78, "H3"), ("良好", "E3")),
    ([["总分", None, None, "100", None, None, None, 89.78], ["等次", None, None, None, None, None, None, "良好"]],
     (89.78, "H3"), ("良好", "H4")),
])
def test_summary_labels_and_an_unlabelled_grade(tmp_path, summary, total, grade):
    wb = Workbook()
    put(wb.active, "A1", [ANNEX_HEADER, ["产出指标", "数量指标", "人数", "100", "10", "9", "90%", "90", "略"]] + summary)
    (table,), _ = _scan(wb, tmp_path)
    assert [r.indicator.level3 for r in table.rows] == ["人数"]  # the summary rows are no indicators
    assert (table.total.raw, table.total.loc.cell) == total
    assert (table.grade.raw, table.grade.loc.cell) == grade


def test_generated_annex_sheets_pair_with_their_input_sheets(tmp_path):
    from xlperf.pipeline import recalc_workbook
    from xlperf.profiles import load_profile
    from xlperf.readers.annex_table import generated_budget_blocks
    from xlperf.template.build import new_workbook
    from xlperf.template.seeds import SEED_000, SEED_004

    path = tmp_path / "book.xlsx"
    new_workbook([SEED_000, SEED_004], load_profile()).save(path)
    report = recalc_workbook(path, None, load_profile())
    blocks = generated_budget_blocks(load_workbook(path, data_only=True))
    assert {sheet: b.table.sheet for sheet, b in blocks.items()} == {
        annex: r.project.sheet for r, annex in zip(report.results, report.annex_sheets)}
    table = blocks[report.annex_sheets[0]].table
    assert table.values[("annual", "municipal")].number == Decimal("2428.53")
    assert table.cells[("annual", "municipal")] == Loc(SEED_000.name, "G13")
    # The template's formulas (no cached values in a file openpyxl wrote) are left to the rules.
    assert table.derived[("annual", "total")] and table.derived[("execution_rate", "municipal")]
    assert not table.derived[("annual", "municipal")]
    # Without the record of recalc's sheets (markers and property) nothing is paired: a user's own sheet is never taken for one.
    wb = load_workbook(path, data_only=True)
    wb.custom_doc_props.props.clear()
    for ws in wb.worksheets:
        ws.defined_names.pop(GENERATED_MARKER, None)
    assert generated_budget_blocks(wb) == {}
