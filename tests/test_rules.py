"""The scoring rules (domain.md §4–5): examples, then properties."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlperf.model import BudgetTable, Indicator, Loc, Project
from xlperf.profiles import load_profile
from xlperf.rules import derive_budget, grade, score_indicator, score_project
from xlperf.values import parse_value

PROFILE = load_profile()
FIELDS = dict(zip(("level1", "level2", "level3", "direction", "weight", "target", "actual", "reason"), "ABCDEFGJ"))


def make(level3="指标", weight=10, target="100%", actual="100%", reason="", direction=None, level1="产出指标",
         level2="数量指标", row=30) -> Indicator:
    return Indicator(row, level1, level2, level3, direction, parse_value(weight), parse_value(target),
                     parse_value(actual), reason, {f: Loc("表", f"{c}{row}") for f, c in FIELDS.items()})


def score(**kw):
    result, findings = score_indicator(make(**kw), PROFILE)
    return result, {f.code for f in findings}


@pytest.mark.parametrize(
    "kw, direction, rate, points",
    [
        (dict(weight=11.25, target="100%", actual="98%", reason="略有卡顿"), "正向", "0.98", "11.03"),  # seed 004
        (dict(target="持续", actual="95%", reason="x"), "定性", "0.95", "9.5"),  # seed 000
        (dict(target="90", actual="90%"), "正向", "1", "10"),  # bare target, percent actual: same unit
        (dict(target="≤5", actual="4"), "反向", "1.25", "10"),
        (dict(target="≤5", actual="8", reason="x"), "反向", "0.625", "6.25"),
        (dict(target="≤5天", actual="0天"), "反向", "1", "10"),
        (dict(target="≥50个", actual="60个", reason="x"), "正向", "1.2", "10"),
        (dict(target="0", actual="0"), "正向", "1", "10"),
        (dict(target="=0", actual="2", reason="x"), "正向", "0", "0"),
        (dict(target="及时", actual="达成"), "定性", "1", "10"),
        (dict(weight=5, target="100%", actual="93.1%", reason="x"), "正向", "0.931", "4.66"),
        (dict(weight=12.5, target="40", actual="34.8", reason="x"), "正向", "0.87", "10.88"),
        (dict(target="100", actual="-5", reason="x"), "正向", "0", "0"),  # never negative
    ],
)
def test_indicator_examples(kw, direction, rate, points):
    result, _ = score(**kw)
    assert result.direction == direction
    assert result.rate == Decimal(rate)
    assert result.score == Decimal(points)


def test_keyword_reverse_is_reported():
    result, codes = score(level3="项目建设总费用按合同支付", target="100", actual="100%")
    assert result.direction == "反向" and "direction-inferred" in codes


def test_typed_direction_wins():
    result, codes = score(level3="项目成本", target="100", actual="100", direction="正向")
    assert result.direction == "正向" and "direction-inferred" not in codes


@pytest.mark.parametrize(
    "kw, code",
    [
        (dict(target="", actual="90%"), "missing-target"),
        (dict(actual=""), "missing-actual"),
        (dict(actual="约90%"), "invalid-value"),
        (dict(weight=None), "missing-weight"),
        (dict(target="100个", actual="90万元"), "unit-mismatch"),
        (dict(target="及时", actual="部分达成"), "qualitative-needs-share"),
        (dict(target="100%", actual="90%"), "missing-reason"),
        (dict(target="100", actual="150", reason=""), "over-achievement"),
        (dict(level1="产出类"), "unknown-level1"),
        (dict(level2="效率指标"), "unknown-level2"),
        (dict(target="持续", actual="95%", direction="正向"), "target-not-numeric"),
    ],
)
def test_indicator_findings(kw, code):
    _, codes = score(**kw)
    assert code in codes


def test_findings_point_at_cells():
    _, findings = score_indicator(make(actual="约90%", row=31), PROFILE)
    assert [(f.sheet, f.cell) for f in findings if f.code == "invalid-value"] == [("表", "G31")]


@pytest.mark.parametrize("total, label", [("90", "优秀"), ("89.99", "良好"), ("80", "良好"), ("79.99", "中"),
                                          ("60", "中"), ("59.99", "差"), ("100", "优秀"), ("0", "差")])
def test_grade_boundaries(total, label):
    assert grade(Decimal(total), PROFILE) == label


def test_national_labels():
    assert grade(Decimal("99.5"), load_profile("national")) == "优"


def _budget(values: dict) -> BudgetTable:
    from xlperf.model import BUDGET_COLUMNS, BUDGET_ROWS

    cells = {(r, c): Loc("表", f"{c}{r}") for r in BUDGET_ROWS for c in BUDGET_COLUMNS}
    return BudgetTable("表", {k: parse_value(v) for k, v in values.items()}, cells)


def test_budget_derives_blank_totals_seed_000():
    result, findings = derive_budget(_budget({("initial", "municipal"): 3130.4, ("annual", "municipal"): 2428.53,
                                              ("received", "municipal"): 2428.53, ("executed", "municipal"): 2428.53}))
    assert result.amounts[("annual", "total")] == Decimal("2428.53")
    assert result.execution_rate == Decimal("100.00")
    assert result.amounts[("balance", "municipal")] == 0
    assert result.amounts[("execution_rate", "central")] is None  # no rate without a denominator, never 0
    assert "budget-adjusted" in {f.code for f in findings}


def test_budget_checks():
    _, findings = derive_budget(_budget({("annual", "municipal"): 100, ("received", "municipal"): 120,
                                         ("executed", "municipal"): 130, ("annual", "subtotal"): 90,
                                         ("initial", "county"): -1}))
    codes = {f.code for f in findings}
    assert {"received-over-budget", "executed-over-received", "subtotal-mismatch", "negative-amount"} <= codes


def test_published_zero_rate_names_money_column():
    table = _budget({("annual", "municipal"): 10, ("executed", "municipal"): 10, ("execution_rate", "total"): 0,
                     ("annual", "total"): None})
    _, findings = derive_budget(table)
    [f] = [f for f in findings if f.code == "budget-row-mismatch"]
    assert "市级" in f.message and f.expected == "100"


# ---- properties -------------------------------------------------------------
percent_text = st.builds(lambda d: f"{d}%", st.decimals(min_value=0, max_value=300, places=2))
number_text = st.builds(str, st.decimals(min_value=0, max_value=10**5, places=2))
operators = st.sampled_from(["", "≥", "≤", ">=", "<=", "<", ">", "="])
typed = st.one_of(percent_text, number_text, st.sampled_from(["持续", "及时", "达成", "部分达成", "约90%", "", "/"]),
                  st.builds(lambda o, n: o + n, operators, st.one_of(percent_text, number_text)))
weights = st.decimals(min_value=0, max_value=100, places=2)


@given(weights, typed, typed, st.sampled_from([None, "正向", "反向", "定性"]), st.text(max_size=12))
@settings(max_examples=300)
def test_score_never_exceeds_weight_and_is_half_up(weight, target, actual, direction, level3):
    result, _ = score_indicator(make(level3=level3, weight=str(weight), target=target, actual=actual,
                                     direction=direction), PROFILE)
    if result.score is not None:
        assert Decimal(0) <= result.score <= weight
        expected = (weight * min(result.rate, Decimal(1))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert result.score == expected
    if result.rate is not None:
        assert result.rate >= 0 and result.rate == result.rate.quantize(Decimal("0.0001"))


@given(st.lists(st.tuples(weights, typed, typed), min_size=1, max_size=12))
@settings(max_examples=100)
def test_total_is_sum_of_scores(rows):
    indicators = tuple(make(weight=str(w), target=t, actual=a, row=24 + i) for i, (w, t, a) in enumerate(rows))
    project = Project("项目", "表", {}, None, indicators)
    result = score_project(project, PROFILE)
    assert result.total == sum((r.score for r in result.indicators if r.score is not None), Decimal(0))
    assert result.grade == grade(result.total, PROFILE)
    assert len(result.indicators) == len(rows)  # every row is scored or reported
    for r in result.indicators:
        assert r.score is not None or any(f.cell and f.cell[1:] == str(r.indicator.row) for f in result.findings)
