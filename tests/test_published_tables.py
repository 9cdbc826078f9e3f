"""`check` on tables as units really publish them (issue: every published form).

Headers split over two rows or broken by line breaks, operators of every kind, traditional
characters, amounts with their unit inside the cell, rates typed as fractions, placeholder and
其中 rows, repeated 二级 names, several tables on one sheet, formulas without a saved result,
and scores only a judgement explains. A hypothesis test builds national-form tables from random
rows in random header spellings: check finds each, recomputes its total and raises no error.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import Workbook

from xlperf.check import check_workbook
from xlperf.profiles import load_profile

from .annex_builders import put

PROFILE = load_profile()

BUDGET = [
    ["项目资金（万元）", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分", ""],
    ["", "年度资金总额", 100, 100, 90, 10, "90.00%", 9, ""],
    ["", "其中：当年财政拨款", 100, 100, 90, "—", "", "—", ""],
    ["", "上年结转资金", "", "", "", "—", "", "—", ""],
    ["", "其他资金", "", "", "", "—", "", "—", ""],
]
HEADER = ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
ROWS = [
    ["", "产出指标", "数量指标", "培训人次", "≥100人次", "100人次", 30, 30, ""],
    ["", "", "质量指标", "合格率", "=100%", "100%", 20, 20, ""],
    ["", "效益指标", "社会效益指标", "覆盖率", "≥90%", "90%", 30, 30, ""],
    ["", "满意度指标", "服务对象满意度指标", "满意度", "≥90%", "95%", 10, 10, ""],
]


def _check(tmp_path, rows, name="t.xlsx", **kw):
    wb = Workbook()
    put(wb.active, "A1", rows)
    path = tmp_path / name
    wb.save(path)
    return check_workbook(path, PROFILE, **kw)


def _errors(report):
    return [(f.code, f.cell) for f in report.findings if f.severity == "error"]


def _table(tmp_path, header=HEADER, rows=ROWS, budget=BUDGET, total=99, extra=()):
    return [["项目支出绩效自评表"], *budget, header, *rows, *extra, ["总分", "", "", "", "", "", 100, total, ""]]


def test_national_table_as_published(tmp_path):
    report = _check(tmp_path, _table(tmp_path))
    (table,) = report.tables
    assert (table.form, table.total, table.published_total) == ("national", Decimal("99"), Decimal("99"))
    assert _errors(report) == []


def test_header_broken_over_two_rows_and_by_line_breaks(tmp_path):
    top = ["绩效指标", "一级指标", "二级指标", "三级指标", "年度", "实际", "分值", "得分", "偏差原因分析\n及改进措施"]
    below = ["", "", "", "", "指标值", "完成值", "", "", ""]
    report = _check(tmp_path, _table(tmp_path, header=top, rows=[below, *ROWS]))
    (table,) = report.tables
    assert table.total == Decimal("99") and _errors(report) == []
    broken = [h.replace("指标值", "\n指标值").replace("完成值", "\n完成值") for h in HEADER]
    report = _check(tmp_path, _table(tmp_path, header=broken), name="u.xlsx")
    assert report.tables[0].total == Decimal("99") and _errors(report) == []


def test_operators_as_published(tmp_path):
    rows = [
        ["", "产出指标", "数量指标", "人数", "≧100人", "100人", 25, 25, ""],
        ["", "", "质量指标", "合格率", "═100%", "100%", 25, 25, ""],
        ["", "", "时效指标", "及时率", "﹦100%", "100%", 15, 15, ""],
        ["", "效益指标", "社会效益指标", "覆盖率", "不低于90%", "90%", 15, 15, ""],
        ["", "", "社会效益指标", "知晓率", ">=90%", "90%", 10, 10, ""],
    ]
    report = _check(tmp_path, _table(tmp_path, rows=rows))
    assert report.tables[0].total == Decimal("99") and _errors(report) == []


def test_traditional_characters(tmp_path):
    header = ["績效指標", "一級指標", "二級指標", "三級指標", "年度指標值", "實際完成值", "分值", "得分", "偏差原因分析及改進措施"]
    budget = [["項目資金（萬元）", "", "年初預算數", "全年預算數", "全年執行數", "分值", "執行率", "得分", ""],
              ["", "年度資金總額", 100, 100, 90, 10, "90.00%", 9, ""]]
    rows = [["", "產出指標", "數量指標", "培訓人次", "≥100人次", "100人次", 50, 50, ""],
            ["", "效益指標", "社會效益指標", "覆蓋率", "≥90%", "90%", 40, 40, ""]]
    report = _check(tmp_path, [["項目支出績效自評表"], *budget, header, *rows, ["總分", "", "", "", "", "", 100, 99, ""]])
    (table,) = report.tables
    assert (table.form, table.total, table.published_total) == ("national", Decimal("99"), Decimal("99"))
    assert _errors(report) == []


def test_amounts_with_units_and_separators_and_a_fraction_rate(tmp_path):
    # amounts in 元 (the block says so), the 其中 row typed in 万元 with the unit in the cell
    budget = [["项目资金（元）", *BUDGET[0][1:]], ["", "年度资金总额", "250,000", "250,000", "215,457.6", 10, 0.8618, 8.62, ""],
              ["", "其中：当年财政拨款", "25万", "25万", "21.54576万元", "—", "", "—", ""]]
    rows = [[*r[:6], 30 if i == 0 else r[6], r[7], r[8]] for i, r in enumerate(ROWS)]
    report = _check(tmp_path, _table(tmp_path, budget=budget, rows=rows, total=98.62))
    (table,) = report.tables
    assert table.total == Decimal("98.62")
    assert _errors(report) == []


def test_a_fraction_rate_is_compared_at_the_decimals_it_shows(tmp_path):
    budget = [BUDGET[0], ["", "年度资金总额", 29, 29, 27.8, 10, 0.958, 9.59, ""]]  # 27.8/29 = 0.95862: 0.959
    report = _check(tmp_path, _table(tmp_path, budget=budget, total=99.59))
    assert ("budget-rate-mismatch", "G3") in _errors(report)


def test_placeholder_qizhong_and_group_rows_are_never_scored(tmp_path):
    rows = [
        ROWS[0],
        ["", "", "", "其中：女性学员", "≥50人次", "60人次", 10, 10, ""],  # a breakdown: never added
        ROWS[1],
        ["", "", "成本指标", "", "", "", "", "", ""],  # an empty 二级 row
        ["", "", "", "指标1：", "", "", "", "", ""],  # the blank form's placeholder
        ["", "", "", "……", "", "", "", "", ""],
        *ROWS[2:],
    ]
    report = _check(tmp_path, _table(tmp_path, rows=rows))
    (table,) = report.tables
    assert table.total == Decimal("99") and _errors(report) == []


def test_unused_lines_of_the_blank_form_printed_as_dashes_are_never_scored(tmp_path):
    # 济南 历城区 (corpus: national-shandong-licheng-wenhuaguan-2019): '-' in the 三级 cell (and '- -' in 二级/三级)
    rows = [ROWS[0], ["", "", "", "-", "", "", "", "", ""], ROWS[1], ["", "", "-", "-", "", "", "", "", ""], *ROWS[2:],
            ["", "", "", "/", "", "", "", "", ""]]
    report = _check(tmp_path, _table(tmp_path, rows=rows))
    (table,) = report.tables
    assert table.total == Decimal("99") and _errors(report) == []
    # a dash with a weight or a score is not an unused line: it is read (and reported) as a row
    rows = [ROWS[0], ["", "", "", "-", "", "", 10, 10, ""], *ROWS[1:]]
    report = _check(tmp_path, _table(tmp_path, rows=rows), name="u.xlsx")
    assert any(cell.startswith("E") for _, cell in _errors(report))


def test_header_spellings_of_shandong_and_chongqing_tables(tmp_path):
    # 预期指标值(A) / 实际完成指标值(B) (济南 区级 form); 指标权重 / 全年实际完成值 (重庆 部门整体 form)
    header = ["绩效指标", "一级指标", "二级指标", "三级指标", "预期指标值(A)", "实际完成指标值(B)", "分值", "得分", "未完成原因"]
    report = _check(tmp_path, _table(tmp_path, header=header))
    (table,) = report.tables
    assert (table.form, table.total) == ("national", Decimal("99")) and _errors(report) == []
    header = ["绩效指标", "一级指标", "二级指标", "三级指标", "指标值", "全年实际完成值", "指标权重", "得分", "产生差异的原因及改进措施"]
    report = _check(tmp_path, _table(tmp_path, header=header), name="u.xlsx")
    (table,) = report.tables
    assert table.total == Decimal("99") and _errors(report) == []


def test_repeated_level2_names_instead_of_merged(tmp_path):
    rows = [ROWS[0], ["", "产出指标", "数量指标", "培训班次", "≥5期", "5期", 10, 10, ""], *ROWS[1:]]
    rows[0] = [*ROWS[0][:6], 20, 20, ""]
    report = _check(tmp_path, _table(tmp_path, rows=rows))
    assert report.tables[0].total == Decimal("99") and _errors(report) == []


def test_several_tables_stacked_on_one_sheet_each_with_its_budget_block(tmp_path):
    first = _table(tmp_path)
    second_budget = [BUDGET[0], ["", "年度资金总额", 50, 50, 50, 10, "100.00%", 10, ""]]
    second = _table(tmp_path, budget=second_budget, total=100)
    report = _check(tmp_path, [*first, [], [], *second])
    assert [t.total for t in report.tables] == [Decimal("99"), Decimal("100")]
    assert _errors(report) == []


def test_formulas_without_a_saved_result_are_evaluated(tmp_path):
    rows = [[*r] for r in ROWS]
    rows[1][4] = "=100%"  # a target typed as a formula by an exporting tool: never calculated
    first = 2 + len(BUDGET) + 1  # title, budget block, header
    total = f"=SUM(H{first}:H{first + len(ROWS) - 1})+H3"
    table = [["项目支出绩效自评表"], *BUDGET, HEADER, *rows, ["总分", "", "", "", "", "", 100, total, ""]]
    report = _check(tmp_path, table)
    (verdict,) = report.tables
    assert verdict.published_total == Decimal("99")
    assert _errors(report) == []
    assert any(f.code == "formulas-evaluated" for f in report.findings)


def test_scores_only_a_judgement_explains_are_warnings(tmp_path):
    rows = [
        ["", "产出指标", "数量指标", "培训人次", "≥100人次", "100人次", 30, 30, ""],
        ["", "", "质量指标", "制度健全", "健全", "基本健全", 20, 18, "个别制度待修订"],  # qualitative, reason given
        ["", "效益指标", "社会效益指标", "覆盖率", "≥90%", "88%", 30, 29, "部分乡镇未覆盖"],  # 29.33 cut to 29
        ["", "满意度指标", "服务对象满意度指标", "满意度", "≥90%", "95%", 10, 10, ""],
    ]
    report = _check(tmp_path, _table(tmp_path, rows=rows, total=96))
    assert _errors(report) == [("published-total-mismatch", "H13")] or all(
        code != "published-score-mismatch" for code, _ in _errors(report))
    warnings = {(f.code, f.cell) for f in report.findings if f.severity == "warning"}
    assert {("qualitative-judgement", "F9"), ("score-judgement", "H10")} <= warnings


def test_a_wrong_score_is_still_an_error(tmp_path):
    rows = [[*r] for r in ROWS]
    rows[2][7] = 25  # 覆盖率 90% of ≥90%: 30, not 25; no reason given
    report = _check(tmp_path, _table(tmp_path, rows=rows, total=94))
    assert ("published-score-mismatch", "H10") in _errors(report)


# ---- property: any national table as published, in any header spelling ---------------------
SPELLINGS = {
    "三级指标": ("三级指标", "三级\n指标", "三級指標"),
    "年度指标值": ("年度指标值", "年度\n指标值", "年度指標值", "年度目标值"),
    "实际完成值": ("实际完成值", "实际\n完成值", "實際完成值", "全年实际值"),
    "分值": ("分值", "分 值", "权重"),
    "得分": ("得分", "得 分", "自评得分"),
}
OPERATORS = ("≥", "≧", ">=", "不低于", "")
row_strategy = st.tuples(
    st.integers(1, 30),  # 分值
    st.integers(1, 1000),  # target
    st.integers(0, 1200),  # actual
    st.sampled_from(OPERATORS),
    st.sampled_from(("人次", "个", "%", "")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, min_size=1, max_size=8), spelling=st.data(), rate=st.integers(50, 100))
def test_any_national_table_is_found_and_recomputed(tmp_path_factory, rows, spelling, rate):
    from xlperf.rules.indicator import indicator_score

    header = ["绩效指标", "一级指标", "二级指标",
              *(spelling.draw(st.sampled_from(SPELLINGS[k])) for k in ("三级指标", "年度指标值", "实际完成值", "分值", "得分")),
              "偏差原因分析及改进措施"]
    budget_score = indicator_score(Decimal(10), Decimal(rate) / 100)
    budget = [BUDGET[0], ["", "年度资金总额", 100, 100, rate, 10, f"{rate}.00%", float(budget_score), ""]]
    table_rows, total = [], budget_score
    for i, (weight, target, actual, op, unit) in enumerate(rows):
        completion = min(Decimal(actual) / Decimal(target), Decimal(1))
        # 完成率 to 4 places half up, as the rules round it: 1/32 = 3.125% → 3.13%, 4 × 3.13% = 0.13 分
        rate_of_row = (Decimal(actual) / Decimal(target)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        score = indicator_score(Decimal(weight), rate_of_row)
        total += score
        reason = "" if completion >= 1 else "未完成原因：进度滞后"
        table_rows.append(["", "产出指标" if i == 0 else "", "数量指标", f"指标{i + 1}名称", f"{op}{target}{unit}",
                           f"{actual}{unit}", weight, float(score), reason])
    path = tmp_path_factory.mktemp("t") / "t.xlsx"
    wb = Workbook()
    put(wb.active, "A1", [["项目支出绩效自评表"], *budget, header, *table_rows,
                          ["总分", "", "", "", "", "", sum(r[0] for r in rows) + 10, float(total), ""]])
    wb.save(path)
    report = check_workbook(path, PROFILE, crosscheck=False)
    (table,) = report.tables
    assert table.total == total and table.published_total == total
    errors = [(f.code, f.cell) for f in report.findings if f.severity == "error" and f.code != "weights-sum"]
    assert errors == []
