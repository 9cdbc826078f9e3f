"""The reviewer's audit: `xlperf check FILE.xlsx`.

A finance-bureau reviewer receives 附件1 tables other units filled in. This
module finds every such table, scores it with the rules from its own inputs
(权重, 目标值, 业绩值, and the 预算执行情况 table when there is one), and
reports every published 完成率, 指标得分, 总分 and 评价等级 that disagrees.
Published values are what the cells show: the workbook is read with
`data_only=True`, so formulas count by their cached results.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


from .model import ERROR, Finding, IndicatorResult, Project, ProjectResult, Value
from .profiles import Profile
from .readers.annex_table import (
    AnnexRow, AnnexTable, BudgetBlock, SheetCell, budget_block_for, cell_text, scan_workbook,
)
from .readers.input_sheet import is_input_sheet
from .rules import score_project
from .rules.indicator import completion_rate, actual_as_points, indicator_score, is_budget_indicator, make_finding
from .workbook_io import UnreadableWorkbook, open_workbook  # noqa: F401 (re-exported)
from .values import CENT, format_number, format_percent, half_up, normalise_text

HUNDRED = Decimal(100)
RULE_RATE_PERCENT_PLACES = 2  # the rules keep 完成率 to 0.01%: a finer published rate is compared at that
SCORE_UNITS = (None, "分")
# domain.md §5: 优≡优秀, 良≡良好, 中≡中等≡一般, 差≡较差 (rank 0 is the best band).
GRADE_RANKS = {"优秀": 0, "优": 0, "良好": 1, "良": 1, "中": 2, "中等": 2, "一般": 2, "差": 3, "较差": 3}


@dataclass(frozen=True)
class TableVerdict:
    sheet: str
    header_row: int
    total: Decimal
    grade: str
    published_total: Decimal | None
    published_grade: str | None

    def as_json(self) -> dict:
        return {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "total": _json_decimal(self.total),
            "grade": self.grade,
            "published_total": _json_decimal(self.published_total),
            "published_grade": self.published_grade,
        }


@dataclass(frozen=True)
class CheckReport:
    file: str
    tables: tuple[TableVerdict, ...]
    findings: tuple[Finding, ...]

    def as_json(self) -> dict:
        return {
            "file": self.file,
            "tables": [t.as_json() for t in self.tables],
            "findings": [f.as_json() for f in self.findings],
        }


def _json_decimal(d: Decimal | None) -> str | None:
    # Strings, never floats: a float would turn 99.78 into 99.78000000000000113…
    return None if d is None else format_number(d)


# ---- the pipeline ---------------------------------------------------------------
def check_workbook(path: Path, profile: Profile) -> CheckReport:
    """Find every 附件1 table in the workbook, score it, and report what disagrees with the rules."""
    wb = open_workbook(Path(path), data_only=True)
    tables, blocks = scan_workbook(wb)
    if not tables:
        return CheckReport(str(path), (), (_no_table_finding(wb),))
    verdicts: list[TableVerdict] = []
    findings: list[Finding] = []
    for table in tables:
        verdict, table_findings = check_table(table, budget_block_for(table, blocks), profile)
        verdicts.append(verdict)
        findings += table_findings
    # Tables sharing one budget table would repeat its findings.
    return CheckReport(str(path), tuple(verdicts), tuple(dict.fromkeys(findings)))


def _no_table_finding(wb) -> Finding:
    message = ("未找到项目支出绩效自评表：没有哪一行同时含有“三级指标（目标指标/指标名称）”“权重（分值）”"
               "“目标值（年度指标值/指标值）”“业绩值（实际完成值/实际值）”这几个列标题。请确认文件是填好的附件1表格")
    if any(is_input_sheet(ws) for ws in wb.worksheets):
        message += "；工作簿中的“项目支出绩效自评录入表”请用 xlperf recalc 计算"
    sheet = wb.worksheets[0].title if wb.worksheets else ""
    return Finding(severity=ERROR, code="no-table", sheet=sheet, cell="", message=message)


def check_table(table: AnnexTable, block: BudgetBlock | None, profile: Profile) -> tuple[TableVerdict, list[Finding]]:
    rows = _rows_with_budget(table, block)
    project = Project(
        name=f"{table.sheet}（第{table.header_row}行起的自评表）",
        sheet=table.sheet,
        info={},
        budget=block.table if block else None,
        indicators=tuple(r.indicator for r in rows),
        total_loc=table.total.loc if table.total else None,
        weight_total_loc=table.weight_total_loc,
    )
    result = score_project(project, profile)
    findings = list(result.findings)
    for row, scored in zip(rows, result.indicators):
        findings += published_rate_findings(row, scored)
        findings += published_score_findings(row, scored, profile)
    findings += published_total_findings(table.total, rows, result)
    findings += published_grade_findings(table.grade, result, profile)
    verdict = TableVerdict(
        sheet=table.sheet,
        header_row=table.header_row,
        total=result.total,
        grade=result.grade,
        published_total=_published_number(table.total.value) if table.total else None,
        published_grade=cell_text(table.grade) or None,
    )
    return verdict, findings


def _rows_with_budget(table: AnnexTable, block: BudgetBlock | None) -> tuple[AnnexRow, ...]:
    """The national form scores 预算执行率 in its budget block: it joins the indicators there."""
    if block is None or block.budget_row is None or any(is_budget_indicator(r.indicator) for r in table.rows):
        return table.rows
    return (block.budget_row,) + table.rows


# ---- published values read as numbers -------------------------------------------
def _published_number(v: Value) -> Decimal | None:
    """A published score or total: a plain number, "分" allowed."""
    if v.kind == "number" and v.op is None and not v.percent and v.unit in SCORE_UNITS:
        return v.number
    return None


def _shown(cell: SheetCell) -> str:
    return cell.value.shown or str(cell.raw)


def _shown_places(cell: SheetCell, number: Decimal) -> int:
    """Decimals the reader sees: as typed in text, as the number format shows, else as stored."""
    fmt = cell.number_format or "General"
    if isinstance(cell.raw, str) or fmt.lower() == "general":
        return max(-number.as_tuple().exponent, 0)
    literal_free = re.sub(r'"[^"]*"|\\.', "", fmt)
    m = re.search(r"\.([0#?]+)", literal_free)
    return len(m.group(1)) if m else 0


def _rate_readings(cell: SheetCell) -> list[tuple[Decimal, int]]:
    """(percent points, decimals shown) the published 完成率 can mean.

    A bare number is either a fraction (0.98) or percent points under a 完成率(%) title (98).
    """
    v = cell.value
    if v.kind != "number" or v.op is not None or v.unit is not None:
        return []
    places = _shown_places(cell, v.number)
    if v.percent:
        return [(v.number, places)]
    return [(v.number * HUNDRED, max(places - 2, 0)), (v.number, places)]


def _same_at(points: Decimal, rule_points: Decimal, places: int) -> bool:
    q = Decimal(1).scaleb(-min(places, RULE_RATE_PERCENT_PLACES))
    return half_up(points, q) == half_up(rule_points, q)


# ---- comparisons --------------------------------------------------------------------
def published_rate_findings(row: AnnexRow, scored: IndicatorResult) -> list[Finding]:
    """A published 完成率 matches the rule's rate at the precision it was published with."""
    if row.rate is None or scored.rate is None:
        return []
    readings = _rate_readings(row.rate)
    if any(_same_at(points, scored.rate * HUNDRED, places) for points, places in readings):
        return []
    places = readings[0][1] if readings and row.rate.value.percent else RULE_RATE_PERCENT_PLACES
    expected = format_percent(scored.rate, min(places, RULE_RATE_PERCENT_PLACES))
    ind = scored.indicator
    message = (f"“{ind.level3}”完成率填报为 {_shown(row.rate)}，按目标值“{ind.target.shown}”、业绩值“{ind.actual.shown}”"
               f"计算应为 {expected}；请改为 {expected}")
    return [make_finding(ERROR, "published-rate-mismatch", row.rate.loc, message,
                         published=_shown(row.rate), expected=expected)]


def published_score_findings(row: AnnexRow, scored: IndicatorResult, profile: Profile) -> list[Finding]:
    """A published 指标得分 must not exceed its 权重 and must equal the rule's score to 2 decimals."""
    if row.score is None:
        return []
    ind = scored.indicator
    weight = ind.weight.number if ind.weight.is_number else None
    published = _published_number(row.score.value)
    shown = _shown(row.score)
    out: list[Finding] = []
    if published is not None and weight is not None and published > weight:
        out.append(make_finding(ERROR, "score-above-weight", row.score.loc,
                                f"“{ind.level3}”指标得分 {shown} 超过其权重 {format_number(weight)}，得分不能高于权重；"
                                f"请改为不超过 {format_number(weight)} 的得分",
                                published=shown, expected=format_number(weight)))
    if scored.score is None:
        return out  # the rules could not score the row and already said why
    if published is not None and half_up(published, CENT) in _acceptable_scores(scored, profile):
        return out
    expected = format_number(scored.score)
    if published is None:
        what = f"“{ind.level3}”指标得分“{shown}”不是数值"
    else:
        what = f"“{ind.level3}”指标得分填报为 {shown}"
    rate = format_percent(scored.rate) if scored.rate is not None else "—"
    out.append(make_finding(ERROR, "published-score-mismatch", row.score.loc,
                            f"{what}，按权重 {format_number(weight)} × 完成率 {rate}（最高按 100% 计）应为 {expected}；"
                            f"请改为 {expected}",
                            published=shown, expected=expected))
    return out


def _acceptable_scores(scored: IndicatorResult, profile: Profile) -> set[Decimal]:
    """The rule's score, and the score from the unrounded rate (a sheet computing 权重*业绩值/目标值 in one formula)."""
    weight = scored.indicator.weight.number
    integer = scored.is_budget and profile.budget_score_integer
    accepted = {scored.score}
    exact = unrounded_rate(scored, profile)
    if exact is not None:
        accepted.add(indicator_score(weight, exact, integer=integer))
    return accepted


def unrounded_rate(scored: IndicatorResult, profile: Profile) -> Decimal | None:
    """The rule's 完成率 before its rounding to 4 places (a one-formula sheet computes it so)."""
    ind = scored.indicator
    points, _ = actual_as_points(ind.actual)
    if points is None or scored.rate is None:
        return None
    if scored.is_budget:
        return max(points / HUNDRED, Decimal(0))
    return completion_rate(scored.direction, ind.target, points, profile.reverse_rule, places=None)


def published_total_findings(total: SheetCell | None, rows: tuple[AnnexRow, ...], result: ProjectResult) -> list[Finding]:
    """The published 总分 against the rules, and against the sum of the published 指标得分."""
    if total is None:
        return []
    published = _published_number(total.value)
    shown = _shown(total)
    expected = format_number(result.total)
    if published is None:
        return [make_finding(ERROR, "published-total-mismatch", total.loc,
                             f"总分“{shown}”不是数值，按各指标得分合计应为 {expected}；请改为 {expected}",
                             published=shown, expected=expected)]
    out: list[Finding] = []
    if half_up(published, CENT) != result.total:
        out.append(make_finding(ERROR, "published-total-mismatch", total.loc,
                                f"总分填报为 {shown}，按各指标得分（每项四舍五入到 2 位小数）合计应为 {expected}；请改为 {expected}",
                                published=shown, expected=expected))
    published_sum = _sum_of_published_scores(rows)
    if published_sum is not None and half_up(published, CENT) != published_sum:
        out.append(make_finding(ERROR, "published-total-arithmetic", total.loc,
                                f"总分填报为 {shown}，但表中填报的各指标得分相加为 {format_number(published_sum)}；"
                                "总分应等于各指标得分之和，请核对加总",
                                published=shown, expected=format_number(published_sum)))
    return out


def _sum_of_published_scores(rows: tuple[AnnexRow, ...]) -> Decimal | None:
    """Sum of the published 指标得分; None when none is published or one is not a number."""
    scores = [_published_number(r.score.value) for r in rows if r.score is not None]
    if not scores or any(s is None for s in scores):
        return None
    return sum(scores, Decimal(0)).quantize(CENT)


def published_grade_findings(grade: SheetCell | None, result: ProjectResult, profile: Profile) -> list[Finding]:
    shown = cell_text(grade)
    if not shown:
        return []
    if grade_rank(shown, profile) == grade_rank(result.grade, profile):
        return []
    bands = "，".join(f"{label}≥{format_number(bound)}" for label, bound in zip(profile.grade_labels, profile.grade_bounds))
    message = (f"评价等级填报为“{shown}”，总分 {format_number(result.total)} 对应的等级应为“{result.grade}”"
               f"（{bands}，其余为{profile.grade_labels[-1]}）；请改为“{result.grade}”")
    return [make_finding(ERROR, "published-grade-mismatch", grade.loc, message, published=shown, expected=result.grade)]


def grade_rank(label: str, profile: Profile) -> int | None:
    """0 for the best band … 3 for the worst, whichever synonym is used; None if unrecognised."""
    key = normalise_text(label).strip("\"'“”‘’")
    if key in profile.grade_labels:
        return profile.grade_labels.index(key)
    return GRADE_RANKS.get(key)
