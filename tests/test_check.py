"""The reviewer's check: received 附件1 tables scored and compared with what they publish."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from xlperf import layout as L
from xlperf.check import UnreadableWorkbook, check_workbook
from xlperf.layout import INPUT_TITLE
from xlperf.pipeline import recalc_workbook
from xlperf.model import Indicator
from xlperf.profiles import load_profile
from xlperf.rules import grade, score_indicator, total_score
from xlperf.template.build import new_workbook
from xlperf.template.seeds import SEED_000, SEEDS
from xlperf.values import format_percent, parse_value
from xlperf.vocabulary import CATEGORIES

from .annex_builders import (
    ANNEX_HEADER, P2, SEED_004_TEXT_ROWS, put, put_national_budget, put_national_table, seed_000_workbook,
    seed_004_workbook,
)

PROFILE = load_profile("default")
PUBLISHED_CODES = {"published-rate-mismatch", "published-score-mismatch", "published-total-mismatch",
                   "published-grade-mismatch", "published-total-arithmetic", "score-above-weight"}


def _published(report):
    return [f for f in report.findings if f.code in PUBLISHED_CODES]


def _total_cell(report):
    return next(f.cell for f in report.findings if f.code == "published-total-mismatch")


def _codes_at(report):
    return sorted((f.code, f.cell) for f in _published(report))


def _one_table(tmp_path, rows, *, total=None, grade_label=None, header=ANNEX_HEADER):
    """A bare 附件1 table at A1 with optional 总分/评价等级 rows under the score column (H)."""
    wb = Workbook()
    ws = wb.active
    put(ws, "A1", [header] + rows)
    below = len(rows) + 2
    if total is not None:
        put(ws, f"A{below}", [["总分", None, None, None, None, None, None, total]])
    if grade_label is not None:
        put(ws, f"A{below + 1}", [["评价等级", None, None, None, None, None, None, grade_label]])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    return check_workbook(path, PROFILE)


# ---- the seeds -------------------------------------------------------------------
def test_seed_000_pasted_from_word(tmp_path):
    report = check_workbook(seed_000_workbook(tmp_path / "000.xlsx"), PROFILE)
    (table,) = report.tables
    # The reviewer's recomputed total scores 预算执行率 from the budget table: 100% → 10 points.
    assert (table.total, table.grade) == (Decimal("99.5"), "优秀")
    assert (table.published_total, table.published_grade) == (Decimal("89.5"), "良好")
    score_cell = {f.code: (f.published, f.expected) for f in _published(report)}
    assert score_cell == {"published-rate-mismatch": ("0.00%", "100.00%"), "published-score-mismatch": ("0", "10"), "published-total-mismatch": ("89.5", "99.5"),
                          "published-grade-mismatch": ("良好", "优秀")}
    (link,) = [f for f in report.findings if f.code == "budget-rate-mismatch"]
    assert (link.severity, link.sheet, link.cell) == ("error", "自评报告", "F15")
    assert (link.published, link.expected) == ("0.00%", "100.00%")
    for words in ("100.00%", "应得 10 分", "99.5", "优秀"):
        assert words in link.message
    # The classic mistake is named where it happened: money in 市级, 年度总金额 left blank.
    (rate_row,) = [f for f in report.findings if f.code == "budget-row-mismatch" and f.cell == "C11"]
    assert "市级" in rate_row.message


def test_seed_004_typed_with_numbers_and_percent_formats(tmp_path):
    report = check_workbook(seed_004_workbook(tmp_path / "004.xlsx"), PROFILE)
    (table,) = report.tables
    assert (table.total, table.grade) == (Decimal("99.78"), "优秀")
    assert (table.published_total, table.published_grade) == (Decimal("99.78"), "优秀")
    assert _published(report) == []
    assert not [f for f in report.findings if f.severity == "error"]


def test_seed_004_tampered(tmp_path):
    report = check_workbook(seed_004_workbook(tmp_path / "004.xlsx", tamper=True), PROFILE)
    assert _codes_at(report) == [
        ("published-grade-mismatch", "H13"),
        ("published-rate-mismatch", "G6"),
        ("published-score-mismatch", "H9"),
        ("published-total-mismatch", "H12"),
    ]
    by_code = {f.code: f for f in _published(report)}
    assert (by_code["published-score-mismatch"].published, by_code["published-score-mismatch"].expected) == ("11.02", "11.03")
    assert (by_code["published-rate-mismatch"].published, by_code["published-rate-mismatch"].expected) == ("50.00%", "100.00%")
    assert (by_code["published-total-mismatch"].published, by_code["published-total-mismatch"].expected) == ("99.77", "99.78")
    assert (by_code["published-grade-mismatch"].published, by_code["published-grade-mismatch"].expected) == ("良好", "优秀")
    for f in by_code.values():
        assert f.severity == "error" and f.sheet == "附件1"
        assert f.published in f.message and f.expected in f.message and "请改为" in f.message


# ---- published values and their tolerances ------------------------------------------
def _row(weight, target, actual, rate=None, score=None, name="覆盖率"):
    return ["产出指标", "数量指标", name, weight, target, actual, rate, score, None]


@pytest.mark.parametrize("rate", ["98%", "98.00%", "0.98", "98", (0.98, "0%"), (0.98, P2), (0.98001, P2), 0.98])
def test_published_rate_matches_at_its_own_precision(tmp_path, rate):
    rows = [_row(100, "100", "98", rate=rate, score="98")]
    assert _published(_one_table(tmp_path, rows)) == []


@pytest.mark.parametrize("rate", ["97%", "98.01%", "0.97", (0.97, P2), "过半"])
def test_published_rate_mismatch(tmp_path, rate):
    report = _one_table(tmp_path, [_row(100, "100", "98", rate=rate, score="98")])
    assert _codes_at(report) == [("published-rate-mismatch", "G2")]


def test_published_score_from_the_unrounded_rate_is_accepted(tmp_path):
    # 10 × 6/11: rate rounded first 0.5455 → 5.46; computed in one formula 0.545454… → 5.45. Both are right.
    for score in ("5.46", "5.45", 5.45):
        assert _published(_one_table(tmp_path, [_row(10, "11", "6", score=score), _row(90, "1", "1", score="90")])) == []
    report = _one_table(tmp_path, [_row(10, "11", "6", score="5.44"), _row(90, "1", "1", score="90")])
    assert _codes_at(report) == [("published-score-mismatch", "H2")]


def test_score_above_weight(tmp_path):
    report = _one_table(tmp_path, [_row(10, "90%", "95%", score="12"), _row(90, "1", "1", score="90")])
    assert _codes_at(report) == [("published-score-mismatch", "H2"), ("score-above-weight", "H2")]
    (above,) = [f for f in report.findings if f.code == "score-above-weight"]
    assert above.expected == "10" and "权重 10" in above.message


def test_total_that_is_not_the_sum_of_published_scores(tmp_path):
    rows = [_row(50, "10", "10", score="50"), _row(50, "10", "5", score="26")]  # 26 should be 25
    report = _one_table(tmp_path, rows, total="75", grade_label="中")
    assert _codes_at(report) == [("published-score-mismatch", "H3"), ("published-total-arithmetic", "H4")]
    (arithmetic,) = [f for f in report.findings if f.code == "published-total-arithmetic"]
    assert (arithmetic.published, arithmetic.expected) == ("75", "76")


@pytest.mark.parametrize("label, ok", [("优", True), ("优秀", True), ("良", False), ("较差", False)])
def test_grade_synonyms(tmp_path, label, ok):
    report = _one_table(tmp_path, [_row(100, "10", "10", score="100")], total="100", grade_label=label)
    assert (_published(report) == []) is ok


@pytest.mark.parametrize("label", ["中", "中等", "一般"])
def test_middle_grade_synonyms(tmp_path, label):
    report = _one_table(tmp_path, [_row(100, "10", "7", score="70")], total="70分", grade_label=label)
    assert _published(report) == []


# ---- the national form --------------------------------------------------------------
def _national_workbook(path, *, rate=(0.9, "0.00%"), budget_score=9, total=98.44):
    wb = Workbook()
    wb.active.title = "封面"
    ws = wb.create_sheet("自评表")
    put_national_budget(ws, rate=rate, budget_score=budget_score)
    put_national_table(ws, total=total)
    wb.save(path)
    return path


def test_national_form_scores_the_budget_block(tmp_path):
    report = check_workbook(_national_workbook(tmp_path / "n.xlsx"), load_profile("national"))
    (table,) = report.tables
    assert (table.sheet, table.header_row) == ("自评表", 7)
    assert (table.total, table.grade, table.published_grade) == (Decimal("98.44"), "优", "优")
    assert _published(report) == []
    assert not [f for f in report.findings if f.code == "weights-sum"]  # 分值 10 in the block + 90


def test_national_form_execution_rate_disagreeing_with_its_amounts(tmp_path):
    path = _national_workbook(tmp_path / "n.xlsx", rate=(1, "0.00%"), budget_score=10, total=99.44)
    report = check_workbook(path, load_profile("national"))
    (link,) = [f for f in report.findings if f.code == "budget-rate-mismatch"]
    assert (link.sheet, link.cell, link.expected) == ("自评表", "H3", "90.00%")
    # The row is scored from the block's amounts (90% → 9): its published 得分 10 and the 总分 are wrong too.
    assert _codes_at(report) == [("published-score-mismatch", "I3"), ("published-total-mismatch", _total_cell(report))]
    (table,) = report.tables
    assert table.total == table.published_total - 1


# ---- errors and the report --------------------------------------------------------------
def test_no_table_is_a_finding(tmp_path):
    wb = Workbook()
    wb.active["A1"] = INPUT_TITLE
    wb.create_sheet("说明")["B2"] = "本工作簿没有自评表"
    path = tmp_path / "none.xlsx"
    wb.save(path)
    report = check_workbook(path, PROFILE)
    assert report.tables == ()
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("no-table", "error")
    assert "recalc" in finding.message


@pytest.mark.parametrize("content", [None, b"not a workbook", b"PK\x03\x04broken zip"])
def test_unreadable_workbook(tmp_path, content):
    path = tmp_path / "bad.xlsx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UnreadableWorkbook) as info:
        check_workbook(path, PROFILE)
    assert "bad.xlsx" in str(info.value)


def test_old_xls_format_is_named(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(UnreadableWorkbook, match="xlsx"):
        check_workbook(path, PROFILE)


def _no_floats(node):
    if isinstance(node, dict):
        return all(_no_floats(v) for v in node.values())
    if isinstance(node, list):
        return all(_no_floats(v) for v in node)
    return not isinstance(node, float)


def test_as_json_round_trips_with_decimals_as_strings(tmp_path):
    report = check_workbook(seed_004_workbook(tmp_path / "004.xlsx", tamper=True), PROFILE)
    data = json.loads(json.dumps(report.as_json(), ensure_ascii=False))
    assert data == report.as_json() and _no_floats(data)
    assert set(data) == {"file", "tables", "findings"}
    assert data["tables"] == [{"sheet": "附件1", "header_row": 2, "form": "shanxi", "total": "99.78", "grade": "优秀",
                               "published_total": "99.77", "published_grade": "良好",
                               "project": None, "unit": None, "department": None}]  # its title row states none
    assert data["findings"][-1]["code"] == "published-grade-mismatch"
    assert set(data["findings"][0]) == {"severity", "code", "sheet", "cell", "message", "published", "expected", "project"}
    assert data["findings"][0]["project"] is None  # a reviewer's 附件1 is no project input sheet


def test_as_json_null_when_nothing_published(tmp_path):
    report = _one_table(tmp_path, [_row(100, "10", "10")])
    (table,) = report.as_json()["tables"]
    assert table["published_total"] is None and table["published_grade"] is None and table["total"] == "100.00"


# ---- property: a table published by the rules checks clean -------------------------------
_PAIRS = [(l1, l2) for l1, l2s in CATEGORIES.items() if l1 != "预算执行指标" for l2 in l2s]
_NAMES = ["验收合格率", "培训人次", "项目成本控制", "群众投诉率", "系统可用率", "覆盖率", "满意度"]


@st.composite
def _typed_row(draw):
    """(inputs as typed, in text or as numbers with formats) for one indicator row."""
    as_text = draw(st.booleans())
    level1, level2 = draw(st.sampled_from(_PAIRS))
    weight = draw(st.decimals(min_value=1, max_value=40, places=2))
    if draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from(["及时", "健全", "持续", "达成"]))
        actual_points = draw(st.integers(0, 100))
        actual = f"{actual_points}%" if as_text else (actual_points / 100, "0%")
    else:
        percent = draw(st.booleans())
        op = draw(st.sampled_from(["", "≥", "≤"]))
        t = draw(st.integers(0, 500))
        a = draw(st.decimals(min_value=0, max_value=600, places=draw(st.integers(0, 2))))
        target = f"{op}{t}{'%' if percent else ''}" if as_text or op else ((t / 100, "0%") if percent else t)
        actual = f"{a}{'%' if percent else ''}" if as_text else ((float(a) / 100, "0.00%") if percent else float(a))
    return [level1, level2, draw(st.sampled_from(_NAMES)), str(weight) if as_text else float(weight), target, actual]


def _indicator(typed, row):
    def value(item):
        raw, fmt = item if isinstance(item, tuple) else (item, None)
        return parse_value(raw, fmt)

    return Indicator(row=row, level1=typed[0], level2=typed[1], level3=typed[2], direction=None,
                     weight=value(typed[3]), target=value(typed[4]), actual=value(typed[5]), reason="", cells={})


def _published_cells(result, as_text):
    rate = None if result.rate is None else (format_percent(result.rate) if as_text else (float(result.rate), P2))
    score = None if result.score is None else (str(result.score) if as_text else float(result.score))
    return rate, score


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed_rows=st.lists(_typed_row(), min_size=1, max_size=8), as_text=st.booleans(),
       top=st.integers(1, 8), left=st.integers(1, 4), national=st.booleans(), blank_levels=st.booleans())
def test_tables_published_by_the_rules_check_clean(tmp_path, typed_rows, as_text, top, left, national, blank_levels):
    results = [score_indicator(_indicator(typed, i), PROFILE)[0] for i, typed in enumerate(typed_rows)]
    header = ["一级指标", "二级指标", "三级指标" if national else "目标指标", "分值" if national else "权重",
              "年度指标值" if national else "目标值", "实际完成值" if national else "业绩值", "完成率",
              "得分" if national else "指标得分"]
    rows = []
    for i, (typed, result) in enumerate(zip(typed_rows, results)):
        level1 = None if blank_levels and i and typed_rows[i - 1][0] == typed[0] else typed[0]
        rows.append([level1, *typed[1:], *_published_cells(result, as_text)])
    total = total_score(r.score for r in results)
    rows.append(["总分", None, None, None, None, None, None, str(total) if as_text else float(total)])
    rows.append(["评价等级", None, None, None, None, None, None, grade(total, PROFILE)])
    wb = Workbook()
    wb.create_sheet("第二张")
    put(wb.worksheets[top % 2], f"{'ABCD'[left - 1]}{top}", [header] + rows)
    path = tmp_path / "p.xlsx"
    wb.save(path)

    report = check_workbook(path, PROFILE)
    (table,) = report.tables
    assert table.total == total and table.published_total == total
    assert _published(report) == []
    assert all(f.sheet for f in report.findings)  # every finding points at a place in the workbook


# ---- summary rows as reviewers' tables label them ---------------------------------------
def _seed_004_text_rows(weight_unit=""):
    """Seed 004's 附件1 as text, the weights optionally typed with a unit ("11.25分")."""
    return [[*row[:3], row[3] + weight_unit, *row[4:]] for row in SEED_004_TEXT_ROWS]


def _seed_004_with_summary(tmp_path, summary_rows, weight_unit=""):
    wb = Workbook()
    ws = wb.active
    ws.title = "附件1"
    put(ws, "A1", [ANNEX_HEADER] + _seed_004_text_rows(weight_unit) + summary_rows)  # summary from row 11
    path = tmp_path / "s.xlsx"
    wb.save(path)
    return check_workbook(path, PROFILE)


@pytest.mark.parametrize("label", ["自评得分", "自评总分", "综合得分", "总得分", "总分（满分100分）"])
def test_total_labels_read_as_the_total_not_as_an_indicator(tmp_path, label):
    report = _seed_004_with_summary(tmp_path, [[label, None, None, "100", None, None, None, "89.78", None],
                                               ["评价等级", None, None, None, None, None, None, "良好", None]])
    (table,) = report.tables
    assert (table.total, table.published_total, table.published_grade) == (Decimal("99.78"), Decimal("89.78"), "良好")
    codes = {f.code for f in report.findings}
    assert not codes & {"unknown-level1", "missing-target", "missing-actual", "weights-sum"}
    assert _codes_at(report) == [("published-grade-mismatch", "H12"), ("published-total-arithmetic", "H11"),
                                 ("published-total-mismatch", "H11")]


@pytest.mark.parametrize("summary, grade_cell", [
    ([["总分：99.78分"], ["自评等级：良好"]], "A12"),
    ([["总分", None, None, "100", None, None, None, "99.78"], ["绩效评价等级", None, None, None, None, None, None, "良好"]], "H12"),
    ([["总分", None, None, "100", None, None, None, "99.78"], ["评价结果", None, None, None, None, None, None, "良好"]], "H12"),
    ([["总分", None, None, "100", None, None, None, "99.78"], ["等次", "良好"]], "B12"),
    ([["合计", None, None, "100", None, None, None, "99.78", "良好"]], "I11"),  # the grade unlabelled beside the total
])
def test_grade_labels_and_an_unlabelled_grade_in_the_total_row(tmp_path, summary, grade_cell):
    report = _seed_004_with_summary(tmp_path, summary)
    (table,) = report.tables
    assert (table.published_total, table.published_grade) == (Decimal("99.78"), "良好")
    assert _codes_at(report) == [("published-grade-mismatch", grade_cell)]
    (wrong,) = _published(report)
    assert (wrong.published, wrong.expected) == ("良好", "优秀")


def test_weights_typed_with_the_unit_fen(tmp_path):
    # Weights as "10分", "11.25分": scored as points (rules.indicator.valid_weight accepts 分/分值).
    report = _seed_004_with_summary(tmp_path, [["总分", None, None, "100分", None, None, None, "99.78分"],
                                               ["评价等级", None, None, None, None, None, None, "优秀"]], weight_unit="分")
    (table,) = report.tables
    assert (table.total, table.grade) == (Decimal("99.78"), "优秀")
    assert not [f for f in report.findings if f.severity == "error"]
    assert not [f for f in report.findings if f.code in ("invalid-value", "weights-sum")]


# ---- a direction inferred from the name, in a table without 指标方向 -----------------------
def _cost_table(tmp_path, score, rate=None):
    """项目成本控制 (反向 by its name): target 100, actual 80 → 反向 125% (10 分), 正向 80% (8 分)."""
    rows = [_row(10, "100", "80", rate=rate, score=score, name="项目成本控制"), _row(90, "1", "1", score="90")]
    return _one_table(tmp_path, rows, total=str(90 + Decimal(score)) if score else None)


def test_published_score_following_the_positive_reading_is_accepted(tmp_path):
    report = _cost_table(tmp_path, "8", rate="80.00%")
    (table,) = report.tables
    assert (table.total, table.published_total) == (Decimal("98"), Decimal("98"))
    assert _published(report) == []
    assert [f.cell for f in report.findings if f.code == "missing-reason"] == ["I2"]  # 8 of 10, as 正向
    (direction,) = [f for f in report.findings if f.code == "direction-inferred"]
    assert (direction.severity, direction.cell) == ("info", "C2")
    assert "按正向" in direction.message and "得分应为 10" in direction.message
    assert "指标方向中选择" not in direction.message


def test_direction_message_says_what_the_positive_score_would_be(tmp_path):
    report = _cost_table(tmp_path, "10", rate="125.00%")
    assert _published(report) == []
    (direction,) = [f for f in report.findings if f.code == "direction-inferred"]
    assert "如该指标应为正向" in direction.message and "得分应为 8" in direction.message
    assert "完成率应为 80.00%" in direction.message and "指标方向中选择" not in direction.message


def test_published_score_of_neither_reading(tmp_path):
    report = _cost_table(tmp_path, "9")
    (wrong,) = [f for f in _published(report) if f.code == "published-score-mismatch"]
    assert wrong.expected == "10" and "如为正向指标应为 8" in wrong.message


def test_missing_reason_in_a_table_without_a_reason_column(tmp_path):
    header = ANNEX_HEADER[:-1]
    report = _one_table(tmp_path, [_row(10, "100", "50", score="5")[:-1], _row(90, "1", "1", score="90")[:-1]],
                        header=header)
    (reason,) = [f for f in report.findings if f.code == "missing-reason"]
    assert "本表没有偏差原因分析及改进措施一栏" in reason.message and "请填写" not in reason.message


# ---- the national form's budget block in its own terms ---------------------------------
def test_national_budget_findings_use_the_national_names(tmp_path):
    path = _national_workbook(tmp_path / "n.xlsx", rate=(1, "0.00%"), budget_score=10, total=99.44)
    report = check_workbook(path, load_profile("national"))
    assert not [f for f in report.findings if f.code == "missing-reason"]  # no 偏差原因 cell in the block
    (adjusted,) = [f for f in report.findings if f.code == "budget-adjusted"]  # 100 → 80
    assert "全年预算数 80" in adjusted.message and "年初预算数 100" in adjusted.message
    (link,) = [f for f in report.findings if f.code == "budget-rate-mismatch"]
    assert "全年执行数/全年预算数" in link.message and "年度资金总额" in link.message
    for message in (adjusted.message, link.message):
        assert not any(word in message for word in ("全年预算资金", "年度总金额", "第(7)行", "预算执行情况表"))


def test_national_budget_below_its_weight_needs_no_reason(tmp_path):
    report = check_workbook(_national_workbook(tmp_path / "n.xlsx"), load_profile("national"))  # 90% → 9 of 10
    assert not [f for f in report.findings if f.code == "missing-reason"]


def test_national_total_mismatch_in_national_names(tmp_path):
    wb = Workbook()
    ws = wb.active
    put_national_budget(ws)
    put_national_table(ws)
    ws["E3"] = 90  # 年度资金总额 90, but 当年财政拨款 80 + nothing else
    path = tmp_path / "n.xlsx"
    wb.save(path)
    report = check_workbook(path, load_profile("national"))
    (total,) = [f for f in report.findings if f.code == "total-mismatch"]
    assert total.cell == "E3"
    assert total.message.startswith("全年预算数的年度资金总额 90 与 当年财政拨款+上年结转资金+其他资金 = 80")


# ---- check on recalc's own output --------------------------------------------------------
@pytest.fixture(scope="module")
def demo_workbook(tmp_path_factory):
    """What `xlperf demo` writes: both seeds typed into the template, then recalc."""
    path = tmp_path_factory.mktemp("demo") / "绩效自评示例.xlsx"
    new_workbook(list(SEEDS), PROFILE).save(path)
    return path, recalc_workbook(path, None, PROFILE)


def test_check_pairs_generated_annex_sheets_with_their_budget_tables(demo_workbook):
    path, recalc = demo_workbook
    report = check_workbook(path, PROFILE)
    by_sheet = {t.sheet: t for t in report.tables}
    assert set(by_sheet) == set(recalc.annex_sheets)
    for result, annex in zip(recalc.results, recalc.annex_sheets):
        assert (by_sheet[annex].published_total, by_sheet[annex].published_grade) == (result.total, result.grade)
        if result.project.name != SEED_000.name:
            assert (by_sheet[annex].total, by_sheet[annex].grade) == (result.total, result.grade)
        else:  # the typed 0.00% overrides the template's link: recalc reports it, check rescores it from the table
            assert (by_sheet[annex].total, by_sheet[annex].grade) == (Decimal("99.5"), "优秀")
    (link,) = [f for f in report.findings if f.code == "budget-rate-mismatch"]
    seed_000 = next(a for r, a in zip(recalc.results, recalc.annex_sheets) if r.project.name == SEED_000.name)
    assert (link.severity, link.sheet, link.cell) == ("error", seed_000, f"F{L.ANNEX_FIRST_ROW}")
    assert (link.published, link.expected) == ("0.00%", "100.00%")
    for words in ("100.00%", "应得 10 分", "99.5", "优秀", SEED_000.name):
        assert words in link.message
    # The budget table's own findings agree with recalc's, at the input sheet's cells.
    budget_codes = {"budget-adjusted", "budget-row-mismatch", "total-mismatch", "subtotal-mismatch", "budget-rate-mismatch"}
    recalc_budget = sorted((f.code, f.sheet, f.cell) for f in recalc.findings if f.code in budget_codes - {"budget-rate-mismatch"})
    check_budget = sorted((f.code, f.sheet, f.cell) for f in report.findings if f.code in budget_codes - {"budget-rate-mismatch"})
    assert check_budget == recalc_budget
    assert sorted(f.code for f in report.findings if f.severity == "error") == [
        "budget-rate-mismatch", "published-grade-mismatch", "published-rate-mismatch", "published-score-mismatch",
        "published-total-mismatch"]


def test_generated_sheet_of_a_renamed_project_is_not_paired(demo_workbook, tmp_path):
    path, _ = demo_workbook
    wb = load_workbook(path)
    ws = wb[SEED_000.name]
    ws[L.NAME_CELL] = "另一个项目"  # the 附件1 sheet now names no input sheet: no budget table to pair
    copy = tmp_path / "renamed.xlsx"
    wb.save(copy)
    report = check_workbook(copy, PROFILE)
    assert not [f for f in report.findings if f.code == "budget-rate-mismatch"]


# ---- 湖北 form: 分值 only per 一级指标, read back from rounded 得分 -------------------------------------
def _hubei_sheet(tmp_path, indicators, edit=None):
    """The 湖北 附件1 xlperf writes for a project (the sheet writer's own cells), checked as a reviewer's table."""
    from xlperf.forms import load_form
    from xlperf.pipeline import score_workbook
    from xlperf.template.inputs import IndicatorInput, ProjectInput
    from xlperf.workbook_io import open_workbook
    from xlperf.writers.annex import write_annex_sheet

    project = ProjectInput(
        name="湖北项目", budget={("initial", "municipal"): 100, ("annual", "municipal"): 100,
                                ("received", "municipal"): 100, ("executed", "municipal"): 100},
        indicators=(IndicatorInput("预算执行指标", "预算执行指标", "预算执行率", 10, "100%", ""),
                    *(IndicatorInput(*row, "原因及改进措施", "正向") for row in indicators)))
    book = tmp_path / "主.xlsx"
    new_workbook([project], PROFILE, form="shanxi").save(book)
    (result,) = score_workbook(open_workbook(book), book, PROFILE)
    wb = Workbook()
    wb.remove(wb.active)
    ws = write_annex_sheet(wb, result, "附件1", form=load_form("hubei", writable=True))
    if edit:
        edit(ws)
    path = tmp_path / "湖北.xlsx"
    wb.save(path)
    return result, check_workbook(path, PROFILE)


@pytest.mark.parametrize("indicators", [
    [("产出指标", "数量指标", "指标1", 90, "11", "1")],  # 8.18 at 9.09%: 89.99 read back, 90 is right
    [("产出指标", "数量指标", "指标1", 30, "11", "1"), ("产出指标", "质量指标", "指标2", 30, "7", "3"),
     ("效益指标", "社会效益指标", "指标3", 30, "3", "2")],
    [("产出指标", "数量指标", "指标1", 33, "9", "1"), ("产出指标", "质量指标", "指标2", 27, "13", "6"),
     ("产出指标", "时效指标", "指标3", 30, "17", "16")],  # three rounded scores in one 一级
])
def test_hubei_weights_inferred_from_rounded_scores_add_up(tmp_path, indicators):
    result, report = _hubei_sheet(tmp_path, indicators)
    assert not [f.message for f in report.findings if f.severity == "error"]
    (table,) = report.tables
    assert (table.total, table.grade) == (result.total, result.grade)


def test_hubei_score_outside_what_the_points_allow_is_still_an_error(tmp_path):
    def wrong_score(ws):
        cell = next(c for row in ws.iter_rows() for c in row if c.value == 8.18)
        cell.value = 7.5  # 7.5 at 9.09% means 82.5 points, not the 90 of 产出指标(90分)

    _, report = _hubei_sheet(tmp_path, [("产出指标", "数量指标", "指标1", 90, "11", "1")], wrong_score)
    assert "level1-points-mismatch" in {f.code for f in report.findings if f.severity == "error"}
