"""附件1 in a registered form with its own blocks (xlperf.forms): the national 项目支出绩效自评表 and its
provincial variants, print-ready.

Column A carries the section labels (项目资金 / 年度总体目标 / 绩效指标), merged down each section;
the form's indicator columns follow. Everything the sheet prints comes from the form (titles,
column order, where weights live, the budget block and its points, labels, the amount unit) and
from the engine's result: no number is computed here that the rules did not compute.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Mapping

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..forms import Form
from ..model import IndicatorResult, ProjectResult, Value
from ..values import format_number, operator_symbol
from ..vocabulary import DIRECTION_REVERSE, GRADE_RANKS, UNSCORED_GRADE
from .cells import (
    merge,
    BODY_FONT, BOLD_FONT, BORDER, CENTER, GENERAL, LEFT, PERCENT, TEXT, TITLE_FONT, TOTAL_FILL,
    fit_row_heights, new_sheet, print_landscape, set_column_widths, set_number, set_text, style, style_header,
)

SCORE_FORMAT = "0.00"
AMOUNT_FORMAT = "#,##0.00####"
NOT_SCORED = "—"  # 其中 rows of the budget block carry no 分值/得分
LABEL_WIDTH = 10
MIN_NUMBER_WIDTH = 11  # 100.00% and 12,345.67 in the budget block
FOOTER = "第 &P 页，共 &N 页"
QUALITATIVE_NATURE = "定性"


@dataclass(frozen=True)
class AnnexContext:
    """What the sheet states about the project beside its scores (from 项目清单 and the input sheet)."""

    unit: str = ""  # 实施单位 (预算单位)
    department: str = ""  # 主管部门
    year: str = ""
    expected: str = ""  # 年度总体目标：预期目标
    achieved: str = ""  # 年度总体目标：实际完成情况
    amount_unit: str = "万元"

    def field(self, name: str, project: str) -> str:
        return {"name": project, "unit": self.unit, "department": self.department}.get(name, "")


def annex_context(result: ProjectResult) -> AnnexContext:
    """What the project states beside its scores: 项目清单's 预算单位/主管部门/年度, the input sheet's goals."""
    meta, info = result.project.meta, result.project.info

    def text(value) -> str:
        return "" if value is None else str(value).strip()

    return AnnexContext(unit=text(meta.get("implementer")) or text(meta.get("unit")),
                        department=text(meta.get("department")), year=text(meta.get("year")),
                        expected=text(info.get(L.EXPECTED_GOAL)), achieved=text(info.get(L.ACHIEVED_LABEL)),
                        amount_unit=text(meta.get("amount_unit")) or "万元")


def form_grade(grade: str, form: Form) -> str:
    """The engine's grade in the form's own labels (优秀 → 优 on the national form)."""
    rank = GRADE_RANKS.get(grade)
    return grade if rank is None else form.grade_labels[rank]


def budget_indicator(result: ProjectResult) -> IndicatorResult | None:
    return next((r for r in result.indicators if r.is_budget), None)


def table_indicators(result: ProjectResult, form: Form) -> list[IndicatorResult]:
    """The rows of the 绩效指标 block: all but 预算执行率 when the form scores it in its budget block."""
    if form.budget_scored:
        return [r for r in result.indicators if not r.is_budget]
    return list(result.indicators)


class _Sheet:
    def __init__(self, ws: Worksheet, ncols: int):
        self.ws, self.ncols, self.row = ws, ncols, 1

    def merge(self, r0: int, c0: int, r1: int, c1: int) -> None:
        if (r0, c0) != (r1, c1):
            merge(self.ws, r0, c0, r1, c1)

    def text(self, r: int, c: int, s: str | None, *, bold=False, left=False, header=False, span_to: int | None = None,
             fill=None) -> None:
        cell = self.ws.cell(r, c)
        set_text(cell, s)
        if header:
            style_header(cell)
        else:
            style(cell, font=BOLD_FONT if bold else BODY_FONT, alignment=LEFT if left else CENTER, border=BORDER, fill=fill)
        if span_to is not None and span_to > c:
            self.merge(r, c, r, span_to)

    def number(self, r: int, c: int, value: Decimal | None, fmt: str, *, bold=False, fill=None) -> None:
        cell = self.ws.cell(r, c)
        set_number(cell, value, fmt)
        style(cell, font=BOLD_FONT if bold else BODY_FONT, alignment=CENTER, border=BORDER, fill=fill)


def write_form_annex(wb, result: ProjectResult, sheet_name: str, form: Form, context: AnnexContext) -> Worksheet:
    """One 附件1 sheet for result in `form` (a form whose info style is "grid"). Deterministic."""
    ws = new_sheet(wb, sheet_name)
    ncols = 1 + len(form.indicators)
    s = _Sheet(ws, ncols)
    _title(s, form, context)
    _info(s, form, result, context)
    if form.budget is not None:
        _budget_block(s, form, result, context)
    if form.goals:
        _goals(s, form, context)
    header_row = s.row
    _indicators(s, form, result)
    _totals(s, form, result)
    last = s.row - 1
    widths = [LABEL_WIDTH, *form.widths]
    if form.budget is not None:  # a column that shows amounts (5,396.63) or 100.00% must be wide enough for them
        first_data = 2 + max(1, ncols - 1 - len(form.budget.columns))
        for i in range(len(form.budget.columns)):
            widths[first_data - 1 + i] = max(widths[first_data - 1 + i], MIN_NUMBER_WIDTH)
    set_column_widths(ws, widths)
    fit_row_heights(ws, 2, last)
    print_landscape(ws, title_rows=f"{header_row}:{header_row}")
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5, header=0.3, footer=0.3)
    ws.print_area = f"A1:{get_column_letter(ncols)}{last}"
    ws.oddFooter.center.text = FOOTER
    return ws


def _title(s: _Sheet, form: Form, context: AnnexContext) -> None:
    lines = [(form.title, TITLE_FONT, 30)]
    if context.year.strip():
        lines.append((f"（{context.year.strip()}年度）", BODY_FONT, None))
    for r, (text, font, height) in enumerate(lines, start=1):
        cell = s.ws.cell(r, 1)
        set_text(cell, text)
        style(cell, font=font, alignment=CENTER, border=None)
        s.merge(r, 1, r, s.ncols)
        if height:
            s.ws.row_dimensions[r].height = height
    s.row = len(lines) + 1


def _info(s: _Sheet, form: Form, result: ProjectResult, context: AnnexContext) -> None:
    """项目名称 over the whole width; 主管部门 | … | 实施单位 | … halves below."""
    for fields in form.info_rows:
        width = s.ncols - len(fields)  # columns left for the values
        column = 1
        for i, f in enumerate(fields):
            span = width // len(fields) + (1 if i < width % len(fields) else 0)
            s.text(s.row, column, f.title, header=True)
            s.text(s.row, column + 1, context.field(f.field, result.project.name).strip(), left=True,
                   span_to=column + span)
            column += span + 1
        s.row += 1


def _unit_label(label: str, amount_unit: str) -> str:
    return label.replace("万元", amount_unit) if amount_unit != "万元" else label


def _budget_block(s: _Sheet, form: Form, result: ProjectResult, context: AnnexContext) -> None:
    block = form.budget
    top = s.row
    label_span = max(1, s.ncols - 1 - len(block.columns))  # the row labels' width
    first_data = 2 + label_span
    s.text(top, 2, "", header=True, span_to=1 + label_span)
    for i, column in enumerate(block.columns):
        s.text(top, first_data + i, column.title, header=True)
    amounts = result.budget.amounts if result.budget else {}
    indicator = budget_indicator(result)
    for j, source in enumerate(block.rows):
        r = top + 1 + j
        s.text(r, 2, source.title, left=j > 0, span_to=1 + label_span)
        for i, column in enumerate(block.columns):
            c = first_data + i
            if column.field in ("initial", "annual", "executed"):
                s.number(r, c, amounts.get((column.field, source.field)), AMOUNT_FORMAT)
            elif j > 0:
                s.text(r, c, NOT_SCORED if column.field in ("weight", "score") else None)
            elif column.field == "rate":
                s.number(r, c, indicator.rate if indicator else None, PERCENT)
            elif column.field == "weight" and indicator is not None:
                _weight_cell(s, r, c, indicator.indicator.weight, form)
            elif column.field == "score":
                s.number(r, c, indicator.score if indicator else None, SCORE_FORMAT)
    last = top + len(block.rows)
    s.text(top, 1, _unit_label(block.label, context.amount_unit), bold=True)
    s.merge(top, 1, last, 1)
    s.row = last + 1


def _goals(s: _Sheet, form: Form, context: AnnexContext) -> None:
    top = s.row
    half = (s.ncols - 1) // 2
    spans = [(2, 1 + half), (2 + half, s.ncols)]
    texts = {"expected": context.expected, "achieved": context.achieved}
    for (c0, c1), column in zip(spans, form.goals):
        s.text(top, c0, column.title, header=True, span_to=c1)
        s.text(top + 1, c0, (texts.get(column.field) or "").strip(), left=True, span_to=c1)
    s.text(top, 1, form.goals_label, bold=True)
    s.merge(top, 1, top + 1, 1)
    s.row = top + 2


def _split_target(v: Value, direction: str) -> dict[str, str]:
    """A target as the 云南 form's 指标性质 / 指标值 / 度量单位; a bare number takes the sign of the
    direction the rules scored it in (正向 ≥, 反向 ≤)."""
    if v.kind == "number":
        implied = "≤" if direction == DIRECTION_REVERSE else "≥"
        return {"nature": operator_symbol(v.op) or implied, "target": format_number(v.number),
                "unit": "%" if v.percent else (v.unit or "")}
    if v.kind == "text":
        return {"nature": QUALITATIVE_NATURE, "target": v.shown, "unit": ""}
    return {"nature": "", "target": v.shown, "unit": ""}


def _weight_cell(s: _Sheet, r: int, c: int, w: Value, form: Form) -> None:
    if w.kind == "number" and w.op is None and w.number is not None:
        if form.weights == "percent":
            s.text(r, c, f"{format_number(w.number)}%")
        else:
            s.number(r, c, w.number, GENERAL)
    else:
        s.text(r, c, w.shown or None)
        s.ws.cell(r, c).number_format = TEXT


def _level1_points(rows: list[IndicatorResult]) -> dict[str, Decimal]:
    points: dict[str, Decimal] = {}
    for r in rows:
        w = r.indicator.weight
        if w.kind == "number" and w.number is not None:
            key = (r.indicator.level1 or "").strip()
            points[key] = points.get(key, Decimal(0)) + w.number
    return points


def _indicators(s: _Sheet, form: Form, result: ProjectResult) -> None:
    top = s.row
    columns = {c.field: i for i, c in enumerate(form.indicators, start=2)}
    for c in form.indicators:
        s.text(top, columns[c.field], c.title, header=True)
    rows = table_indicators(result, form)
    points = _level1_points(rows) if form.weights == "level1_header" else {}
    for i, ir in enumerate(rows):
        r = top + 1 + i
        ind = ir.indicator
        level1 = (ind.level1 or "").strip()
        if level1 in points:
            level1 = f"{level1}({format_number(points[level1])}分)"
        values: Mapping[str, str] = {"level1": level1, "level2": (ind.level2 or "").strip(),
                                     "level3": (ind.level3 or "").strip(), "actual": ind.actual.shown,
                                     "reason": (ind.reason or "").strip()}
        if "nature" in columns:
            values = {**values, **_split_target(ind.target, ir.direction)}
        else:
            values = {**values, "target": ind.target.shown}
        for field, c in columns.items():
            if field == "weight":
                _weight_cell(s, r, c, ind.weight, form)
            elif field == "score":
                s.number(r, c, ir.score, SCORE_FORMAT)
            elif field == "rate":
                s.number(r, c, ir.rate, PERCENT)
            else:
                s.text(r, c, values.get(field) or None, left=field in ("level3", "reason"))
                if field in ("target", "actual"):
                    s.ws.cell(r, c).number_format = TEXT
    _merge_groups(s, rows, columns, top + 1)
    last = top + max(len(rows), 1)
    if form.indicators_label:
        s.text(top, 1, form.indicators_label, bold=True)
        s.merge(top, 1, last, 1)
    s.row = last + 1


def _merge_groups(s: _Sheet, rows: list[IndicatorResult], columns: Mapping[str, int], first: int) -> None:
    """一级 and 二级 names merged down runs of the same group, as published forms print them."""
    from .annex import group_runs

    level1 = [s.ws.cell(first + i, columns["level1"]).value or "" for i in range(len(rows))]
    for f1, l1, _ in group_runs(level1):
        _merge_run(s, columns["level1"], first + f1, first + l1)
        level2 = [rows[i].indicator.level2 for i in range(f1, l1 + 1)]
        for f2, l2, _ in group_runs(level2, start=f1):
            _merge_run(s, columns["level2"], first + f2, first + l2)


def _merge_run(s: _Sheet, column: int, top: int, bottom: int) -> None:
    for r in range(top + 1, bottom + 1):
        s.ws.cell(r, column).value = None
    s.merge(top, column, bottom, column)


def _totals(s: _Sheet, form: Form, result: ProjectResult) -> None:
    columns = {c.field: i for i, c in enumerate(form.indicators, start=2)}
    score_col = columns["score"]
    r = s.row
    weights = [ir.indicator.weight.number for ir in result.indicators
               if ir.indicator.weight.kind == "number" and ir.indicator.weight.op is None]
    label_end = min(c for f, c in columns.items() if f in ("weight", "score", "target")) - 1
    s.text(r, 1, form.total_label, bold=True, span_to=label_end, fill=TOTAL_FILL)
    for c in range(label_end + 1, s.ncols + 1):
        s.text(r, c, None, fill=TOTAL_FILL)
    if "weight" in columns and weights:
        total_weight = sum(weights, Decimal(0))
        s.text(r, columns["weight"], f"{format_number(total_weight)}%", bold=True, fill=TOTAL_FILL) \
            if form.weights == "percent" else s.number(r, columns["weight"], total_weight, GENERAL, bold=True, fill=TOTAL_FILL)
    s.number(r, score_col, result.total, SCORE_FORMAT, bold=True, fill=TOTAL_FILL)
    s.text(r + 1, 1, form.grade_label, bold=True, span_to=label_end, fill=TOTAL_FILL)
    for c in range(label_end + 1, s.ncols + 1):
        s.text(r + 1, c, None, fill=TOTAL_FILL)
    grade = UNSCORED_GRADE if result.total is None else form_grade(result.grade, form)
    s.text(r + 1, score_col, grade, bold=True, fill=TOTAL_FILL)
    s.row = r + 2
