"""The reviewer's audit: `xlperf check FILE.xlsx`.

A finance-bureau reviewer receives 附件1 tables other units filled in. This
module finds every such table, scores it with the rules from its own inputs
(权重, 目标值, 业绩值, and the 预算执行情况 table when there is one), and
reports every published 完成率, 指标得分, 总分 and 评价等级 that disagrees.
Published values are what the cells show: the workbook is read with
`data_only=True`, so formulas count by their cached results.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Mapping


from openpyxl.cell.cell import MergedCell

from .model import ERROR, INFO, WARNING, Finding, Indicator, IndicatorResult, Loc, Project, ProjectResult, Value
from .profiles import Profile
from .readers.annex_table import (
    AnnexRow, AnnexTable, BudgetBlock, SheetCell, budget_block_for, budget_block_table, rate_as_points, cell_text, generated_budget_blocks, scan_workbook,
)
from .readers.input_sheet import is_input_sheet
from .rules import score_project
from .rules.project import grade as project_grade
from .rules.budget import COLUMN_LABELS as BUDGET_COLUMN_LABELS, ROW_LABELS as BUDGET_ROW_LABELS
from .rules.indicator import (
    category_key,
    score_indicator,
    actual_as_points, completion_rate, indicator_score, infer_direction, is_budget_indicator, make_finding, valid_weight,
)
from .workbook_io import UnreadableWorkbook, open_workbook, package_findings  # noqa: F401 (re-exported)
from .values import CENT, RATE_PLACES, format_number, format_percent, format_score, half_up, normalise_text, parse_value
from .vocabulary import UNSCORED_GRADE, POSITIVE_NAME_WORDS, GRADE_RANKS, COMPLETION_WORDS, DIRECTION_POSITIVE, DIRECTION_QUALITATIVE, DIRECTION_REVERSE, PARTIAL_WORDS, REVERSE_KEYWORDS

HUNDRED = Decimal(100)
COST_LEVEL2 = "成本"  # category_key of 成本指标
RULE_RATE_PERCENT_PLACES = 2  # the rules keep 完成率 to 0.01%: a finer published rate is compared at that
SCORE_UNITS = (None, "分")


@dataclass(frozen=True)
class TableVerdict:
    sheet: str
    header_row: int
    total: Decimal | None  # None: nothing to total (a budget block without its indicator table)
    grade: str
    published_total: Decimal | None
    published_grade: str | None
    form: str = ""  # the registered form (xlperf.forms) the table was recognised as
    last_row: int = 0  # the table's last indicator row (not in the JSON contract)
    # who and what the table is about, as the rows above its header state them (None: not stated)
    project: str | None = None
    unit: str | None = None  # 预算单位 / 实施单位
    department: str | None = None  # 主管部门

    def as_json(self) -> dict:
        return {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "form": self.form,
            "total": _json_decimal(self.total),
            "grade": self.grade,
            "published_total": _json_decimal(self.published_total),
            "published_grade": self.published_grade,
            "project": self.project,
            "unit": self.unit,
            "department": self.department,
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
    # Strings, never floats: a float would turn 99.78 into 99.78000000000000113…; two decimals, as printed
    return None if d is None else format_score(d)


# ---- the pipeline ---------------------------------------------------------------
def check_workbook(path: Path, profile: Profile, crosscheck: bool = True) -> CheckReport:
    """Find every 附件1 table in the workbook, score it, and report what disagrees with the rules.

    The published values are what the file stores (data_only). With crosscheck, every formula
    of the sheets holding tables is also evaluated in Python and compared with those stored values.
    """
    wb = open_workbook(Path(path), data_only=True)
    evaluated = evaluate_unsaved_formulas(wb, Path(path))
    report, sheets = audit_tables(wb, str(path), profile)
    problems = package_findings(wb)
    if problems:
        report = dataclasses.replace(report, findings=problems + report.findings)
    if evaluated:
        report = dataclasses.replace(report, findings=report.findings + (evaluated_finding(evaluated),))
    if crosscheck and sheets:
        extra = _crosscheck_formulas(Path(path), sheets)
        report = dataclasses.replace(report, findings=tuple(dict.fromkeys(report.findings + tuple(extra))))
    return _converted_text_named(report, wb, Path(path))


def _converted_text_named(report: CheckReport, wb, path: Path) -> CheckReport:
    """--convert of a CSV/text file: its one sheet is named after LibreOffice's staged copy (“source”); locations
    name the user's file instead (数据.csv!C5)."""
    from .workbook_io import source_info

    info = source_info(wb)
    if info is None or not info.converted_from or wb.sheetnames != ["source"] or path.stem == "source":
        return report
    rename = (lambda x: dataclasses.replace(x, sheet=path.name) if x.sheet == "source" else x)
    return dataclasses.replace(report, tables=tuple(map(rename, report.tables)), findings=tuple(map(rename, report.findings)))


def audit_tables(wb, name: str, profile: Profile) -> tuple[CheckReport, list[str]]:
    """The check of a workbook of values (as shown): the report, and the sheets holding tables or budget tables."""
    tables, blocks = scan_workbook(wb)
    budget_only: list[Finding] = []
    if not tables:
        scored = [b for b in blocks if b.budget_row is not None]
        if not scored:
            return CheckReport(name, (), (_no_table_finding(wb),)), []
        # A 项目资金 block without its 绩效指标 table: its own numbers are still checked.
        tables = [budget_block_table(b) for b in scored]
        budget_only = [make_finding(ERROR, "no-indicator-table", Loc(b.table.sheet, b.budget_row.indicator.cells["weight"].cell),
                                    "找到了项目资金（预算执行）表，但没有找到绩效指标表（缺少“三级指标”“年度指标值”“实际完成值”“分值/得分”"
                                    "等列标题）：本表只核对了预算执行部分，总分无法重算；请补全绩效指标表")
                       for b in scored]
    # recalc's own 附件1 sheets carry no budget table: theirs is on the project's input sheet.
    linked = generated_budget_blocks(wb)
    verdicts: list[TableVerdict] = []
    findings: list[Finding] = []
    for table in tables:
        block = linked.get(table.sheet) or budget_block_for(table, blocks)
        verdict, table_findings = check_table(table, block, profile)
        if budget_only:  # no indicator table: no 总分 to recompute
            verdict = dataclasses.replace(verdict, total=None, grade=UNSCORED_GRADE)
        verdicts.append(verdict)
        findings += table_findings
    if budget_only:  # the weights of a table that is not there say nothing
        findings = [f for f in findings if f.code not in ("weights-sum", "level1-weights")] + budget_only
    sheets = list(dict.fromkeys([t.sheet for t in tables] + [b.table.sheet for b in blocks]))
    # Tables sharing one budget table would repeat its findings.
    return CheckReport(name, tuple(verdicts), tuple(dict.fromkeys(findings))), sheets


def _crosscheck_formulas(path: Path, sheets: list[str]) -> list[Finding]:
    """Stale cached values and error results of the formulas on the sheets that hold the tables."""
    from .crosscheck import crosscheck_any
    from .formula.cached import cached_formula_values

    if not any(cached_formula_values(path, sheets).values()) and not _has_formulas(path, sheets):
        return []
    return crosscheck_any(open_workbook(path), path, sheets)


_PERCENT_CONSTANT = re.compile(r"=\s*\d+(\.\d+)?\s*%\s*")


def evaluate_unsaved_formulas(wb, path: Path) -> list[Loc]:
    """Put into wb (read data_only) the value of every formula the file stores no result for.

    A file written by a tool that does not calculate (a script, an export from a web system) holds
    =100% or =SUM(H5:H14) with no saved result: read as stored, the target or the 总分 would be blank.
    Such formulas are evaluated by xlperf's formula engine; the cells are returned.
    """
    from .formula.book import FormulaBook
    from .formula.cached import cached_formula_values
    from .formula.runtime import XlError

    sheets = [ws.title for ws in wb.worksheets if not is_input_sheet(ws)]
    if not sheets or not _has_formulas(path, sheets):
        return []
    cached = cached_formula_values(path, sheets)
    formulas_wb = open_workbook(path)
    book = FormulaBook(formulas_wb, sheets)
    done: list[Loc] = []
    for sheet in sheets:
        stored = cached.get(sheet, {})
        for (r, c) in book.formulas.get(sheet, {}):
            if (r, c) in stored:
                continue
            cell = wb[sheet].cell(r, c)
            if isinstance(cell, MergedCell):
                continue
            formula = book.formulas[sheet][(r, c)]
            if _PERCENT_CONSTANT.fullmatch(formula):
                cell.value = formula[1:].strip()  # =100%: Excel shows it as typed, 100%
            else:
                value = book.value(sheet, r, c)
                cell.value = value.code if isinstance(value, XlError) else value
            done.append(Loc(sheet, cell.coordinate))
    return done


def evaluated_finding(cells: list[Loc]) -> Finding:
    where = "、".join(f"{loc.sheet}!{loc.cell}" for loc in cells[:5]) + ("等" if len(cells) > 5 else "")
    return make_finding(INFO, "formulas-evaluated", cells[0],
                        f"文件中有 {len(cells)} 个公式没有保存计算结果（保存文件的软件没有计算公式），"
                        f"已由 xlperf 按公式计算后核对：{where}")


def _has_formulas(path: Path, sheets: list[str]) -> bool:
    """Whether any of the sheets holds a formula (a cheap look at the sheet XML)."""
    from .workbook_io import open_package  # decrypted or converted in memory when it has to be

    with open_package(path) as z:
        return any(b"<f" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet"))


def _no_table_finding(wb) -> Finding:
    message = ("未找到项目支出绩效自评表：没有哪一行同时含有“三级指标（目标指标/指标名称）”“权重（分值）”"
               "“目标值（年度指标值/指标值）”“业绩值（实际完成值/实际值）”这几个列标题。请确认文件是填好的附件1表格")
    inputs = [ws for ws in wb.worksheets if is_input_sheet(ws)]
    if inputs:
        # A master workbook nobody recalculated: no 附件1 to audit yet. Say what it is and what to run.
        message = (f"这是 xlperf 的主工作簿（有 {len(inputs)} 张项目录入表），还没有生成附件1，所以没有可审核的表格："
                   "请先运行 xlperf recalc 本文件，它会评分并写入附件1、汇总和校验结果；"
                   "xlperf check 用于审核其他单位报来的附件1")
        return Finding(severity=ERROR, code="no-table", sheet=inputs[0].title, cell="", message=message)
    sheet = wb.worksheets[0].title if wb.worksheets else ""
    return Finding(severity=ERROR, code="no-table", sheet=sheet, cell="", message=message)


def check_table(table: AnnexTable, block: BudgetBlock | None, profile: Profile) -> tuple[TableVerdict, list[Finding]]:
    rows, readings = _rows_with_directions(_as_published(_rows_with_budget(table, block)), profile)
    group_findings: list[Finding] = []
    if "weight" not in table.columns:
        rows, group_findings = weights_from_level1(rows, profile, table.block_points)
    project = Project(
        name=f"{table.sheet}（第{table.header_row}行起的自评表）",
        sheet=table.sheet,
        info={},
        budget=block.table if block else None,
        indicators=tuple(r.indicator for r in rows),
        total_loc=table.total.loc if table.total else None,
        weight_total_loc=table.weight_total_loc,
    )
    result = _qualitative_judgements(_budget_from_table(score_project(project, profile), block, profile), rows, profile)
    findings = _for_the_reviewer(list(result.findings), rows, readings, block, table) + group_findings
    for row, scored in zip(rows, result.indicators):
        findings += published_rate_findings(row, scored)
        findings += published_score_findings(row, scored, profile, readings.get(_key(row.indicator.cells.get("level3"))))
    findings += breakdown_score_findings(block, profile)
    findings += published_total_findings(table.total, rows, result)
    findings += published_grade_findings(table.grade, result, profile)
    verdict = TableVerdict(
        sheet=table.sheet,
        header_row=table.header_row,
        total=result.total,
        grade=result.grade,
        published_total=_published_number(table.total.value) if table.total else None,
        published_grade=cell_text(table.grade) or None,
        form=table.form,
        last_row=max((r.indicator.row for r in table.rows), default=table.header_row),
        project=table.info.get("name"),
        unit=table.info.get("unit"),
        department=table.info.get("department"),
    )
    return verdict, findings


def weights_from_level1(rows: tuple[AnnexRow, ...], profile: Profile,
                        block_points: Decimal | None = None) -> tuple[tuple[AnnexRow, ...], list[Finding]]:
    """A table without a 分值 column (湖北 forms): each 一级 name carries its points (产出指标(40分)).

    A row's 分值 is what its published 得分 implies at the rule's 完成率 (得分 ÷ min(完成率, 100%)). A 得分
    printed to 2 decimals only fixes the 分值 within an interval (8.18 at 9.09% is any 分值 from 89.94 to
    90.04: 8.18 ÷ 0.0909 = 89.99 is one point of it), so the group's 分值 are right when the 一级's points
    lie within the sum of those intervals; the points are then shared over the rows (`_shared_points`: each
    row's 分值 in cents inside its own interval, adding up to the points exactly). Only points outside that
    range mean the group's scores are wrong (an error at the 一级 cell: which row is wrong the table cannot
    tell). A row without a 得分 belongs to the scored row above it (one 得分 per 二级 group) and is not scored
    on its own.
    """
    groups: dict[tuple, list[AnnexRow]] = {}
    if block_points is not None and not any(r.level1_points is not None for r in rows if not is_budget_indicator(r.indicator)):
        # no points in the 一级 names: the header's 年度绩效目标 (80分) is shared by the whole block
        budget = [r for r in rows if is_budget_indicator(r.indicator)]
        rows = tuple(r for r in rows if not is_budget_indicator(r.indicator))
        rows = tuple(dataclasses.replace(r, level1_points=block_points) for r in rows)
        groups[("", None)] = list(rows)
        out_budget = budget
    else:
        out_budget = []
        for r in rows:
            groups.setdefault((r.indicator.level1, _key(r.indicator.cells.get("level1"))), []).append(r)
    out: list[AnnexRow] = list(out_budget)
    findings: list[Finding] = []
    for (level1, _), group in groups.items():
        points = next((r.level1_points for r in group if r.level1_points is not None), None)
        scored = [r for r in group if r.score is not None]
        if points is None or not scored or any(is_budget_indicator(r.indicator) for r in scored):
            out += group
            continue
        implied: list[Decimal | None] = []
        ranges: list[tuple[int, int] | None] = []
        for r in scored:
            probe = dataclasses.replace(r.indicator, weight=parse_value("100"))
            rate = score_indicator(probe, profile)[0].rate
            published = _published_number(r.score.value)
            known = not (rate is None or rate == 0 or published is None)
            implied.append(published / min(rate, Decimal(1)) if known else None)
            ranges.append(_cent_range(published, rate) if known else None)
        known = sum((w for w in implied if w is not None), Decimal(0))
        unknown = [i for i, w in enumerate(implied) if w is None]
        rest = (points - known) / len(unknown) if unknown else None
        shared = _shared_points(points, implied, ranges)
        mismatch = (shared is None and not unknown and half_up(known, CENT) != half_up(points, CENT)
                    and abs(known - points) > CENT * len(scored))
        if mismatch:
            loc = scored[0].indicator.cells.get("level1")
            findings.append(make_finding(
                ERROR, "level1-points-mismatch", loc,
                f"“{level1 or '年度绩效目标'}({format_number(points)}分)”下各指标的得分按完成率折算，分值合计为 {format_number(half_up(known, CENT))}，"
                f"与一级指标的 {format_number(points)} 分不符：其中有得分填错；请逐项核对得分",
                published=format_number(points), expected=format_number(half_up(known, CENT))))
        if shared is not None:
            implied, rest = shared, None
        elif not unknown and not mismatch:
            # 16.67 + 16.67 + 16.66 read back from rounded scores: the group's points are exact, its rows share them.
            rounded = [half_up(w, CENT) for w in implied]
            implied = rounded[:-1] + [points - sum(rounded[:-1], Decimal(0))]
        for r, w in zip(scored, implied):
            weight = w if w is not None else rest
            if weight is None or weight < 0:
                out.append(r)
                continue
            value = Value("number", shown=format_number(half_up(weight, CENT)), number=half_up(weight, CENT))
            out.append(dataclasses.replace(r, indicator=dataclasses.replace(r.indicator, weight=value)))
    return tuple(sorted(out, key=lambda r: r.indicator.row)), findings


def _cent_range(published: Decimal, rate: Decimal) -> tuple[int, int] | None:
    """The 分值 in cents (first, last) at which the rule scores a row at `rate` as its published 得分 (to the cent):
    8.18 at 9.09% → (8994, 9004). None when no 分值 gives that 得分."""
    target = half_up(published, CENT)
    share = min(rate, Decimal(1))
    if target < 0 or share <= 0:
        return None

    def scores(cents: int) -> bool:
        return indicator_score(Decimal(cents) / 100, rate) == target

    low = int(((target - CENT / 2) / share * 100).to_integral_value(rounding=ROUND_CEILING))
    high = int(((target + CENT / 2) / share * 100).to_integral_value(rounding=ROUND_FLOOR))
    first = next((c for c in range(max(low - 1, 0), high + 2) if scores(c)), None)
    if first is None:
        return None
    last = next(c for c in range(high + 1, first - 1, -1) if scores(c))
    return first, last


def _shared_points(points: Decimal, implied: list[Decimal | None],
                   ranges: list[tuple[int, int] | None]) -> list[Decimal | None] | None:
    """The 一级's points shared over its rows in cents, each row's 分值 inside its interval (closest to what its
    得分 implies; what is left over goes to the rows whose 分值 the 得分 fixes least) and rows without a 完成率
    (0% or unscorable) sharing what the others leave. None when the points cannot be shared so (outside
    the intervals' sum, or finer than a cent)."""
    total = points * 100
    if total != total.to_integral_value() or any(w is not None and r is None for w, r in zip(implied, ranges)):
        return None
    total = int(total)
    known = [i for i, r in enumerate(ranges) if r is not None]
    unknown = [i for i, r in enumerate(ranges) if r is None]
    low = sum(ranges[i][0] for i in known)
    high = sum(ranges[i][1] for i in known)
    if low > total or (not unknown and high < total):
        return None
    cents = {i: min(max(int(half_up(implied[i] * 100, Decimal(1))), ranges[i][0]), ranges[i][1]) for i in known}
    target = total if not unknown else min(total, sum(cents.values()))
    for step in (1, -1):  # too few cents: add to the rows with the most room above; too many: take from below
        while (target - sum(cents.values())) * step > 0:
            room = {i: (ranges[i][1] - cents[i]) if step > 0 else (cents[i] - ranges[i][0]) for i in known}
            widest = max((i for i in known if room[i] > 0), key=lambda i: (room[i], -i), default=None)
            if widest is None:
                return None
            need = abs(target - sum(cents.values()))
            share = max(1, need * room[widest] // max(sum(room.values()), 1))
            cents[widest] += step * min(share, room[widest], need)
    left = total - sum(cents.values())
    out: list[Decimal | None] = [Decimal(cents[i]) / 100 if i in cents else None for i in range(len(ranges))]
    for k, i in enumerate(unknown):  # rows scoring 0 share what is left, in cents, the last taking the odd cent
        each = left // len(unknown)
        out[i] = Decimal(each if k < len(unknown) - 1 else left - each * (len(unknown) - 1)) / 100
    return out


def _as_published(rows: tuple[AnnexRow, ...]) -> tuple[AnnexRow, ...]:
    """A qualitative row whose 实际完成值 repeats its 年度指标值 word for word (效果明显 / 效果明显) states
    that the target was met: the reviewer's table reads it as 达成 (100%)."""
    out = []
    for row in rows:
        ind = row.indicator
        if (ind.target.kind == "text" and ind.actual.kind == "text"
                and normalise_text(ind.target.shown) == normalise_text(ind.actual.shown)
                and ind.actual.text not in COMPLETION_WORDS + PARTIAL_WORDS):
            met = dataclasses.replace(ind.actual, text=COMPLETION_WORDS[0])
            row = dataclasses.replace(row, indicator=dataclasses.replace(ind, actual=met))
        out.append(row)
    return tuple(out)


def _budget_from_table(result: ProjectResult, block: BudgetBlock | None, profile: Profile) -> ProjectResult:
    """The reviewer's recomputed total scores 预算执行率 from the budget table's own amounts.

    A published 执行率 is right when it equals the table's rate at the decimals it was printed with
    (86% for 86.20%, domain.md §9); a wrong one keeps its budget-rate-mismatch finding, and the row's
    得分 and the 总分 are recomputed from the table (seed 000: 0.00% published, 100% in the table → 99.5).
    """
    budget = result.budget
    if budget is None or budget.execution_rate is None or result.total is None:
        return result
    indicators = list(result.indicators)
    findings = list(result.findings)
    total = result.total
    for i, r in enumerate(indicators):
        if not r.is_budget or r.indicator.actual_linked:
            continue
        actual = r.indicator.actual
        link = [f for f in findings if f.code == "budget-rate-mismatch" and f.cell == (r.indicator.cells["actual"].cell)]
        if actual.kind == "number" and actual.op is None and actual.unit is None:
            if _same_at(actual.number, budget.execution_rate, printed_rate_places(actual)):
                findings = [f for f in findings if f not in link]
        weight = valid_weight(r.indicator.weight)
        rate = half_up(budget.execution_rate / HUNDRED, RATE_PLACES)
        score = None if weight is None else indicator_score(weight, rate, integer=profile.budget_score_integer)
        total = total - (r.score or Decimal(0)) + (score or Decimal(0))
        from_table = dataclasses.replace(r.indicator, actual=parse_value(f"{format_number(budget.execution_rate)}%"),
                                         actual_linked=True)
        indicators[i] = dataclasses.replace(r, indicator=from_table, rate=rate, score=score)
    return dataclasses.replace(result, indicators=tuple(indicators), findings=tuple(findings), total=total,
                               grade=project_grade(total, profile))


def _qualitative_judgements(result: ProjectResult, rows: tuple[AnnexRow, ...], profile: Profile) -> ProjectResult:
    """A qualitative row whose 实际完成值 is a description (全天候 for 全天候可用) has no share the rules can
    score: its published 得分 (within its 分值) is the author's judgement, a warning, and counts in the total."""
    if result.total is None:
        return result
    indicators, findings, total = list(result.indicators), list(result.findings), result.total
    for i, (row, r) in enumerate(zip(rows, indicators)):
        ind = r.indicator
        weight = valid_weight(ind.weight)
        published = _published_number(row.score.value) if row.score is not None else None
        if (r.score is not None or ind.target.kind != "text" or ind.actual.kind != "text" or weight is None
                or published is None or not 0 <= published <= weight):
            continue
        actual_loc = ind.cells.get("actual")
        findings = [f for f in findings if not (f.code in ("invalid-value", "qualitative-needs-share")
                                                and actual_loc and (f.sheet, f.cell) == (actual_loc.sheet, actual_loc.cell))]
        findings.append(make_finding(
            WARNING, "qualitative-judgement", actual_loc,
            f"“{ind.level3}”是定性指标，实际完成值“{ind.actual.shown}”没有给出完成比例，规则无法计算得分；"
            f"填报得分 {format_number(published)}（分值 {format_number(weight)}）按评价人判断计入总分，请审核人员确认",
            published=ind.actual.shown))
        indicators[i] = dataclasses.replace(r, score=published)
        total += published
    if total == result.total:
        return result
    return dataclasses.replace(result, indicators=tuple(indicators), findings=tuple(findings), total=total,
                               grade=project_grade(total, profile))


def printed_rate_places(v: Value) -> int:
    """Decimals a published rate shows in percent points: 97.80% → 2, 0.958 (a fraction) → 1, 86 → 0."""
    m = re.search(r"\.(\d+)", v.shown)
    decimals = len(m.group(1)) if m else 0
    fraction = v.percent and "%" not in v.shown  # read as a fraction by the reader (0.958 → 95.8)
    return max(decimals - 2, 0) if fraction else decimals


def _rows_with_budget(table: AnnexTable, block: BudgetBlock | None) -> tuple[AnnexRow, ...]:
    """The national form scores 预算执行率 in its budget block: it joins the indicators there."""
    if block is None or block.budget_row is None or any(is_budget_indicator(r.indicator) for r in table.rows):
        return table.rows
    return (block.budget_row,) + table.rows


# ---- a direction the table does not state ----------------------------------------
# A reviewed table has no 指标方向 column: the rules infer 反向 from a word in the name
# (成本, 费用, 投诉…). When the published values follow the 正向 reading instead, the author
# chose 正向 and the row is checked as such; otherwise the reviewer is told both readings.
@dataclass(frozen=True)
class KeywordReading:
    keyword: str
    reverse: tuple[Decimal, Decimal | None]  # (完成率, 指标得分) as the rules read the row
    positive: tuple[Decimal, Decimal | None]  # … and read as 正向
    adopted: bool  # the published 完成率/得分 follow the 正向 reading: the row is scored as 正向
    cost_group: bool = False  # reverse because it is filed under 成本指标 (the rules alone would read it 正向)


Readings = dict[tuple[str, str], KeywordReading]  # by the row's 三级指标 cell


def _rows_with_directions(rows: tuple[AnnexRow, ...], profile: Profile) -> tuple[tuple[AnnexRow, ...], Readings]:
    out: list[AnnexRow] = []
    readings: Readings = {}
    for row in rows:
        reading = keyword_reading(row, profile)
        if reading is not None:
            readings[_key(row.indicator.cells.get("level3"))] = reading
            if reading.adopted:
                row = dataclasses.replace(row, indicator=dataclasses.replace(row.indicator, direction=DIRECTION_POSITIVE))
            elif reading.cost_group:
                row = dataclasses.replace(row, indicator=dataclasses.replace(row.indicator, direction=DIRECTION_REVERSE))
        out.append(row)
    return tuple(out), readings


def keyword_reading(row: AnnexRow, profile: Profile) -> KeywordReading | None:
    """Both readings of a row whose direction is only inferred from its name; None for any other row."""
    ind = row.indicator
    if ind.direction is not None or is_budget_indicator(ind):
        return None
    direction, how = infer_direction(ind.level3, ind.target)
    points, _ = actual_as_points(ind.actual)
    # domain.md §4.3: costs are reverse; a bare target filed under the 二级 成本指标 is a cost even
    # when its name (制作费, 编制费) carries none of the keywords.
    cost_group = how == "default" and category_key(ind.level2) == COST_LEVEL2 and not any(
        w in normalise_text(ind.level3) for w in POSITIVE_NAME_WORDS)
    if not ((how == "keyword" and direction == DIRECTION_REVERSE) or cost_group) or points is None:
        return None
    weight = valid_weight(ind.weight)

    def read(direction: str) -> tuple[tuple[Decimal, Decimal | None], bool | None]:
        rate = completion_rate(direction, ind.target, points, profile.reverse_rule)
        exact = completion_rate(direction, ind.target, points, profile.reverse_rule, places=None)
        score = indicator_score(weight, rate) if weight is not None else None
        scores = {indicator_score(weight, r) for r in (rate, exact)} if weight is not None else set()
        return (rate, score), _published_matches(row, rate, scores)

    reverse, reverse_matches = read(DIRECTION_REVERSE)
    positive, positive_matches = read(DIRECTION_POSITIVE)
    name = normalise_text(ind.level3)
    keyword = "成本指标" if cost_group else next((k for k in REVERSE_KEYWORDS if k in name), "")
    return KeywordReading(keyword, reverse, positive, adopted=bool(positive_matches) and not reverse_matches,
                          cost_group=cost_group)


def _published_matches(row: AnnexRow, rate: Decimal, scores: set[Decimal]) -> bool | None:
    """Whether the published 得分 and 完成率 (those published) agree with this reading; None when neither is.
    Both count: with a small weight both readings round to the same 得分, and only the 完成率 tells them apart."""
    agree = []
    if row.score is not None:
        published = _published_number(row.score.value)
        agree.append(published is not None and half_up(published, CENT) in scores)
    if row.rate is not None:
        agree.append(any(_same_at(points, rate * HUNDRED, places) for points, places in _rate_readings(row.rate)))
    return all(agree) if agree else None


def _reading_text(reading: tuple[Decimal, Decimal | None], verb: str = "") -> str:
    rate, score = reading
    text = f"完成率{verb} {format_percent(rate)}"
    return text if score is None else f"{text}、得分{verb} {format_number(score)}"


def _direction_message(ind: Indicator, reading: KeywordReading) -> str:
    if reading.cost_group:
        named = f"“{ind.level3}”归在二级指标“成本指标”下"
    else:
        named = f"“{ind.level3}”名称含“{reading.keyword}”" if reading.keyword else f"“{ind.level3}”"
    if reading.adopted:
        return (f"{named}，通常按反向指标（越小越好）计算，但本表没有指标方向列，填报的完成率和得分是按正向"
                f"（完成率=业绩值/目标值）计算的，已按正向核对；如该指标应为反向，{_reading_text(reading.reverse, '应为')}")
    head = (f"{named}，本表没有指标方向列，已按反向指标（越小越好，完成率=目标值/业绩值）核对："
            f"{_reading_text(reading.reverse)}")
    if reading.positive == reading.reverse:
        return head + "；按正向计算结果相同"
    return head + f"；如该指标应为正向（越大越好），{_reading_text(reading.positive, '应为')}，请据此核对填报值"


# ---- findings worded for the reviewer's table ---------------------------------------
REASON_REQUEST = "，请填写偏差原因分析及改进措施"


def _for_the_reviewer(findings: list[Finding], rows: tuple[AnnexRow, ...], readings: Readings,
                      block: BudgetBlock | None, table: AnnexTable) -> list[Finding]:
    """The rules speak of the template (指标方向, 偏差原因 cells, rows (1)–(7)); say it in the table's own terms."""
    # A reviewed table has no 指标方向 cell: the rules put direction findings on the 三级指标 cell.
    by_name = {_key(r.indicator.cells.get("direction")): r for r in rows}
    no_reason = {_key(r.indicator.cells.get("reason")): r for r in rows if not r.has_reason}
    national_cells = _national_cells(block)
    out: list[Finding] = []
    for f in findings:
        key = (f.sheet, f.cell)
        reading = readings.get(_key(by_name[key].indicator.cells.get("level3"))) if key in by_name else None
        if f.code == "direction-inferred" and reading is not None:
            f = dataclasses.replace(f, message=_direction_message(by_name[key].indicator, reading))
        elif f.code == "missing-reason" and key in no_reason:
            if block is not None and no_reason[key] is block.budget_row:
                continue  # the national budget block has no 偏差原因 cell: its 得分 speaks for itself
            f = dataclasses.replace(f, message=f.message.removesuffix(REASON_REQUEST)
                                    + "；本表没有偏差原因分析及改进措施一栏，请在自评报告中说明原因和改进措施")
        if key in national_cells:
            f = dataclasses.replace(f, message=national_terms(f.message, block.terms))
        elif f.code == "budget-rate-mismatch" and block is not None and block.table.sheet != table.sheet:
            f = dataclasses.replace(f, message=f.message.replace(
                "请与预算执行情况表核对一致", f"请与工作表“{block.table.sheet}”中的预算执行情况表核对一致"))
        out.append(f)
    # A row checked as 正向 because its published values say so: the reviewer should know.
    for row in rows:
        reading = readings.get(_key(row.indicator.cells.get("level3")))
        if reading is not None and reading.adopted:
            out.append(make_finding(INFO, "direction-inferred", row.indicator.cells.get("level3"),
                                    _direction_message(row.indicator, reading)))
    return out


def _key(loc: Loc | None) -> tuple[str, str] | None:
    return (loc.sheet, loc.cell) if loc else None


def _national_cells(block: BudgetBlock | None) -> set[tuple[str, str]]:
    """Every cell of a national-form budget block, where findings must use that form's names."""
    if block is None or not block.terms:
        return set()
    cells = {_key(loc) for loc in block.table.cells.values()}
    if block.budget_row is not None:
        cells |= {_key(loc) for loc in block.budget_row.indicator.cells.values()}
        if block.budget_row.score is not None:
            cells.add(_key(block.budget_row.score.loc))
    return cells


def national_terms(message: str, terms: Mapping[str, str]) -> str:
    """A rules message about the seeds' budget table, in the national block's names (全年预算数, 年度资金总额…)."""
    def term(key: str, default: str) -> str:
        return terms.get(key) or default

    annual, executed, initial = term("annual", "全年预算数"), term("executed", "全年执行数"), term("initial", "年初预算数")
    rate = term("rate", "执行率")
    columns = {col: term(col, label) for col, label in BUDGET_COLUMN_LABELS.items() if col in terms}

    def link(m: re.Match) -> str:
        column = next((c for c, label in BUDGET_COLUMN_LABELS.items() if label == m.group(1)), "total")
        return f"按{executed}/{annual}（{columns.get(column, term('total', '年度资金总额'))}）计算的{rate}为"

    message = re.sub(r"预算执行情况表第\(7\)行（([^）]*)列）给出的执行率为", link, message)
    replacements = {
        "预算执行率业绩值为": f"{rate}填报为",
        "请与预算执行情况表核对一致": f"请核对{rate}与{annual}、{executed}",
        BUDGET_ROW_LABELS["initial"]: initial, BUDGET_ROW_LABELS["annual"]: annual,
        BUDGET_ROW_LABELS["executed"]: executed,
        "年初预算资金": initial, "年初预算": initial, "全年预算资金": annual, "全年执行资金": executed,
        "小计+上年结转+其他": "+".join(columns.get(c, BUDGET_COLUMN_LABELS[c]) for c in ("subtotal", "carryover", "other")),
    }
    for col, name in columns.items():
        replacements[BUDGET_COLUMN_LABELS[col] + "列"] = name + "行"  # the national form's columns are rows
        replacements[BUDGET_COLUMN_LABELS[col]] = name
    pattern = re.compile("|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True)))
    return pattern.sub(lambda m: replacements[m.group(0)], message)


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


def published_score_findings(row: AnnexRow, scored: IndicatorResult, profile: Profile,
                             reading: KeywordReading | None = None) -> list[Finding]:
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
    judgement = _judgement(row, scored, published)
    if judgement is not None:
        out.append(make_finding(WARNING, "score-judgement", row.score.loc,
                                f"“{ind.level3}”指标得分填报为 {shown}，按规则应为 {expected}；{judgement}，请审核人员判断是否认可",
                                published=shown, expected=expected))
        return out
    if published is None:
        what = f"“{ind.level3}”指标得分“{shown}”不是数值"
    else:
        what = f"“{ind.level3}”指标得分填报为 {shown}"
    rate = format_percent(scored.rate) if scored.rate is not None else "—"
    direction = ""
    if reading is not None and not reading.adopted and reading.positive[1] not in (None, scored.score):
        direction = f"（按名称判定为反向指标；如为正向指标应为 {format_number(reading.positive[1])}）"
    out.append(make_finding(ERROR, "published-score-mismatch", row.score.loc,
                            f"{what}，按权重 {format_number(weight)} × 完成率 {rate}（最高按 100% 计）应为 {expected}"
                            f"{direction}；请改为 {expected}",
                            published=shown, expected=expected))
    return out


def cut_to_whole_points(published: Decimal, rule_score: Decimal) -> bool:
    """The published score is the rule's with its decimals dropped (8.62 → 8): a judgement (domain.md §9)."""
    return published == rule_score.to_integral_value(rounding="ROUND_FLOOR")


def _judgement(row: AnnexRow, scored: IndicatorResult, published: Decimal | None) -> str | None:
    """Why a published score that differs from the rule's may still be the author's judgement (domain.md §9), else None."""
    if published is None or scored.score is None:
        return None
    weight = scored.indicator.weight.number
    if cut_to_whole_points(published, scored.score):
        return f"填报值是规则得分 {format_number(scored.score)} 去掉小数的整数分"
    if scored.is_budget and published == half_up(scored.score, Decimal(1)):
        # domain.md §4.5: some provinces (河北) round the budget score to whole points (profile budget_score_integer)
        return f"填报值是规则得分 {format_number(scored.score)} 四舍五入到整数分的结果（部分省份预算执行率得分取整）"
    qualitative = scored.direction == DIRECTION_QUALITATIVE
    if qualitative and published < weight and published >= 0 and (scored.indicator.reason or "").strip():
        return "定性指标按完成情况扣分，并已填写偏差原因"
    return None


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


def breakdown_score_findings(block: BudgetBlock | None, profile: Profile) -> list[Finding]:
    """A 其中 row (基本支出, 项目支出) that publishes its own 得分: by the form's method it is 分值 × its own
    执行率 (capped at 100%); it never counts in the 总分 (the 年度资金总额 row's 得分 does)."""
    out: list[Finding] = []
    for b in block.breakdown if block is not None else ():
        weight, annual, executed = valid_weight(b.weight), b.annual, b.executed
        published = _published_number(b.score.value)
        if not (annual.is_number and executed.is_number) or annual.number <= 0:
            continue
        rate = half_up(executed.number / annual.number, RATE_PLACES)
        if b.rate is not None:
            out += _breakdown_rate_findings(b, executed.number / annual.number * HUNDRED)
        if weight is None or published is None:
            continue
        expected = indicator_score(weight, rate, integer=profile.budget_score_integer)
        if half_up(published, CENT) == expected:
            continue
        shown = _shown(b.score)
        if cut_to_whole_points(published, expected):
            out.append(make_finding(
                WARNING, "score-judgement", b.score.loc,
                f"“{b.label}”得分填报为 {shown}，按其执行率 {format_percent(rate)} × 分值 {format_number(weight)} 应为 "
                f"{format_number(expected)}；填报值是该得分去掉小数的整数分，请审核人员判断是否认可（其中行的得分不计入总分）",
                published=shown, expected=format_number(expected)))
            continue
        out.append(make_finding(
            ERROR, "published-score-mismatch", b.score.loc,
            f"“{b.label}”得分填报为 {shown}，按其执行率 {format_number(executed.number)}/{format_number(annual.number)}"
            f" = {format_percent(rate)} × 分值 {format_number(weight)} 应为 {format_number(expected)}"
            f"（其中行的得分不计入总分）；请改为 {format_number(expected)}",
            published=shown, expected=format_number(expected)))
    return out


def _breakdown_rate_findings(b, points: Decimal) -> list[Finding]:
    """A 其中 row's published 执行率 against its own 执行数/预算数, at the decimals it was printed with."""
    value = rate_as_points(b.rate.value)
    if value.kind != "number" or value.op is not None or value.unit is not None:
        return []
    places = printed_rate_places(value)
    if _same_at(value.number, points, places):
        return []
    expected = format_percent(points / HUNDRED, min(places, RULE_RATE_PERCENT_PLACES))
    shown = _shown(b.rate)
    return [make_finding(ERROR, "budget-rate-mismatch", b.rate.loc,
                         f"“{b.label}”执行率填报为 {shown}，按其执行数/预算数 {format_number(b.executed.number)}/"
                         f"{format_number(b.annual.number)} 计算应为 {expected}；请改为 {expected}",
                         published=shown, expected=expected)]


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
