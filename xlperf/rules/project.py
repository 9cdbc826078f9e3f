"""Scoring of a whole project: indicators, 总得分, 评价等级, cross-table checks. domain.md §4–5."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

from ..model import BUDGET_COLUMNS, ERROR, WARNING, Finding, IndicatorResult, Project, ProjectResult, Value
from ..profiles import Profile
from ..values import CENT, TEXT_NUMBER, format_number, format_percent, format_score, half_up
from ..model import UNSCORED_CODES
from ..vocabulary import BUDGET_LEVEL, UNSCORED_GRADE
from .budget import COLUMN_LABELS, derive_budget
from .indicator import indicator_score, make_finding, score_indicator, standard_level1, valid_weight

HUNDRED = Decimal(100)


def grade(total: Decimal, profile: Profile) -> str:
    """90（含）以上优秀, 80（含）–90 良好, 60（含）–80 中, 60 以下差. domain.md §5."""
    for bound, label in zip(profile.grade_bounds, profile.grade_labels):
        if total >= bound:
            return label
    return profile.grade_labels[-1]


def total_score(scores) -> Decimal:
    """总得分 = sum of the rounded 指标得分."""
    return sum((s for s in scores if s is not None), Decimal(0)).quantize(CENT)


def linked_actual(rate_points: Decimal | None) -> Value:
    """The 业绩值 the template's link to row (7) yields."""
    if rate_points is None:
        return Value("blank")
    return Value("number", shown=f"{half_up(rate_points, CENT)}%", number=rate_points, percent=True)


def score_project(project: Project, profile: Profile) -> ProjectResult:
    findings: list[Finding] = list(project.read_findings)
    budget = None
    if project.budget is not None:
        budget, bf = derive_budget(project.budget)
        findings += bf
    indicators = tuple(
        dataclasses.replace(ind, actual=linked_actual(budget.execution_rate if budget else None))
        if ind.actual_linked else ind
        for ind in project.indicators
    )
    # An amount typed as text is left out of the table's sums (as in Excel) and said at its cell: the
    # 预算执行率 row it lowers or raises is no reason to ask for a 偏差原因 or to call it over-executed.
    text_in_budget = any(f.code == TEXT_NUMBER for f in findings)
    results: list[IndicatorResult] = []
    for ind in indicators:
        r, f = score_indicator(ind, profile)
        results.append(r)
        if r.is_budget and text_in_budget:
            f = [x for x in f if x.code not in ("budget-over-executed", "missing-reason")]
        if r.is_budget and ind.actual_linked and budget is not None and budget.execution_rate is None:
            f, findings = _no_execution_rate(project, f, findings)
        findings += f
    total = total_score(r.score for r in results)
    findings += _check_weights(project, results, profile)
    findings += _check_budget_link(project, results, budget, total, profile)
    unreadable = any(f.code in UNSCORED_CODES for f in project.read_findings)  # the reader said why
    if not results and not unreadable:
        findings.append(make_finding(ERROR, "no-indicators", project.total_loc or None,
                                     f"项目“{project.name}”没有填写任何绩效指标"))
    if _from_input_sheet(project):  # 项目1!E64 names its project, as typed in B2
        findings = [f.for_project(project.name, project.sheet) for f in findings]
    if unreadable:  # never a 0 分 差 for a sheet nobody could read
        return ProjectResult(project=project, indicators=tuple(results), budget=budget, total=None,
                             grade=UNSCORED_GRADE, findings=tuple(findings))
    return ProjectResult(project=project, indicators=tuple(results), budget=budget, total=total,
                         grade=grade(total, profile), findings=tuple(findings))


def _no_execution_rate(project: Project, row_findings: list[Finding], findings: list[Finding]):
    """The 预算执行率 row linked to a table with no 全年预算资金 (blank or 0): said at the budget cell, not as
    an empty 业绩值 (the link is the template's formula, nothing to type there). (row findings, findings)."""
    table = project.budget
    annual = [(col, table.values.get(("annual", col))) for col in ("total",) + BUDGET_COLUMNS[1:]]
    typed = [(col, v) for col, v in annual if v is not None and v.is_number and not table.derived.get(("annual", col))]
    col = typed[0][0] if typed else "total"
    where = table.cells.get(("annual", col))
    what = "为 0" if typed else "未填写"
    message = (f"预算执行情况表的全年预算资金(2){what}，无法计算预算执行率，“预算执行率”指标未评分；"
               "请填写全年预算资金。如本年确无预算资金，请删除“预算执行率”指标行并相应调整其他指标的权重")
    row_findings = [f for f in row_findings if f.code != "missing-actual"]
    findings = [f for f in findings if not (f.code == "budget-zero-denominator" and where and f.cell == where.cell)]
    return row_findings + [make_finding(ERROR, "budget-zero", where, message)], findings


def _from_input_sheet(project: Project) -> bool:
    """A project read from an input sheet (or its 项目清单 row), whose name is what the user typed: not a
    reviewer's 附件1 table, which check names after its place (附件1（第2行起的自评表）)."""
    return project.positions is not None or any(f.code in UNSCORED_CODES for f in project.read_findings)


def _check_weights(project: Project, results: list[IndicatorResult], profile: Profile) -> list[Finding]:
    out: list[Finding] = []
    weights = [w for w in (valid_weight(r.indicator.weight) for r in results) if w is not None]
    if not results or any(r.indicator.weight.text == TEXT_NUMBER for r in results):
        return out  # a weight typed as text is said at its cell; the sum without it asks for nothing more
    total_w = sum(weights, Decimal(0))
    if total_w != HUNDRED:
        out.append(make_finding(ERROR, "weights-sum", project.weight_total_loc or results[0].indicator.cells.get("weight"),
                                f"权重合计为 {format_number(total_w)}，应为 100，请调整各指标权重",
                                published=format_number(total_w), expected="100"))
    if profile.level1_weight_check == "off":
        return out
    by_level1: dict[str, Decimal] = {}
    for r in results:
        key = standard_level1(r.indicator.level1) or r.indicator.level1
        if r.is_budget:
            key = BUDGET_LEVEL
        w = valid_weight(r.indicator.weight)
        if w is not None:
            by_level1[key] = by_level1.get(key, Decimal(0)) + w
    expected = profile.level1_weights
    if {k: v for k, v in by_level1.items() if v} != dict(expected):
        actual_text = "/".join(f"{k}{format_number(by_level1.get(k, Decimal(0)))}" for k in expected)
        expected_text = "/".join(f"{k}{format_number(v)}" for k, v in expected.items())
        severity = ERROR if profile.level1_weight_check == "error" else WARNING
        out.append(make_finding(severity, "level1-weights", project.weight_total_loc,
                                f"一级指标权重分配为 {actual_text}，通行标准为 {expected_text}；如有特殊情况请在报告中说明"))
    return out


def _check_budget_link(project, results, budget, total, profile) -> list[Finding]:
    """The 预算执行率 row must agree with row (7) of the budget table. domain.md §4.5."""
    out: list[Finding] = []
    if budget is None:
        return out
    for r in results:
        if not r.is_budget or r.indicator.actual_linked:
            continue
        table_rate = budget.execution_rate
        if table_rate is None:
            continue
        actual = r.indicator.actual
        typed_points = actual.number if actual.kind == "number" else None
        if typed_points is not None and half_up(typed_points, CENT) == half_up(table_rate, CENT):
            continue
        weight = valid_weight(r.indicator.weight)
        rate = half_up(table_rate / HUNDRED, Decimal("0.0001"))
        message = (f"预算执行率业绩值为“{actual.shown or '空'}”，但预算执行情况表第(7)行"
                   f"（{COLUMN_LABELS.get(budget.rate_column, '')}列）给出的执行率为 {format_percent(rate)}")
        expected_score = None
        if weight is not None:
            expected_score = indicator_score(weight, rate, integer=profile.budget_score_integer)
            new_total = total - (r.score or Decimal(0)) + expected_score
            message += (f"；该行应得 {format_number(expected_score)} 分，总分将为 {format_score(new_total)}"
                        f"（{grade(new_total, profile)}）")
        message += "。请与预算执行情况表核对一致"
        out.append(make_finding(ERROR, "budget-rate-mismatch", r.indicator.cells.get("actual"), message,
                                published=actual.shown, expected=format_percent(rate)))
    return out
