"""What one project's 项目支出绩效自评报告 says: every section, table and sentence, as plain data.

`report_content(result, form)` turns the engine's `ProjectResult` into a `ReportContent`;
`xlperf.report.document` puts it into the .docx template. Every number is the engine's value
formatted the way the workbook shows it (`format_score` for scores and the rates of the budget
table, `format_number` for weights and amounts, `format_percent` for completion rates); the text
typed in the input sheet is used as typed. A report section left blank in the input sheet
(layout.REPORT_FIELDS) is written from the numbers: which indicators reached their targets, which
fell short, and the 偏差原因 given for them; `ReportContent.generated` names those sections.

The 附件1 at the end is the 附件1 sheet itself: `annex_grid` has the workbook's writer
(`writers.annex.write_annex_sheet`, in the workbook's form) write it into a scratch workbook and
reads back its rows, columns, merges and shown values, so the report never re-derives a number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from .. import layout as L
from ..model import BUDGET_COLUMNS, BUDGET_ROWS, IndicatorResult, ProjectResult
from ..rules.indicator import standard_level1
from ..values import CENT, decimal_from_float, format_number, format_percent, format_score, half_up
from ..vocabulary import BUDGET_LEVEL

REPORT_SUFFIX = "_项目支出绩效自评报告"
TITLE_SUFFIX = "项目支出绩效自评报告"

# 二、项目绩效情况: one small table per 一级指标, as the seeds print them.
SCORE_SECTIONS = (
    ("budget", "（一）预算执行情况", (BUDGET_LEVEL,)),
    ("output", "（二）项目产出情况", ("产出指标", "成本指标")),
    ("benefit", "（三）项目效益情况", ("效益指标",)),
    ("satisfaction", "（四）项目满意度情况", ("满意度指标",)),
)
OTHER_SECTION = ("other", "（五）其他指标", ())
SCORE_COLUMNS = ("二级指标", "三级指标", "权重", "目标值", "业绩值", "得分")

# 三、项目绩效分析 (numbered 1.–4.) and 四、五、六、: heading → the input sheet's field.
ANALYSIS = (
    ("1. 项目实施和预算执行情况及分析", "项目实施和预算执行情况及分析", "budget"),
    ("2. 产出情况及分析", "产出情况及分析", "output"),
    ("3. 效益情况及分析", "效益情况及分析", "benefit"),
    ("4. 满意度情况及分析", "满意度情况及分析", "satisfaction"),
)
CLOSING = (
    ("四、项目主要经验做法", "项目主要经验做法"),
    ("五、项目管理中存在问题及原因分析", "项目管理中存在问题及原因分析"),
    ("六、进一步加强项目管理措施及建议", "进一步加强项目管理措施及建议"),
)
assert {f for _, f, _ in ANALYSIS} | {f for _, f in CLOSING} == set(L.REPORT_FIELDS)

GOALS = (("（1）项目实施期绩效目标", "实施期绩效目标"), ("（2）项目年度目标", "年度绩效目标"))
SECTION_TITLES = {"budget": "预算执行", "output": "产出指标", "benefit": "效益指标", "satisfaction": "满意度指标",
                  "other": "其他指标"}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text) -> str:
    """Text a Word document can hold: no control or non-XML characters (nor Excel's escapes of them, "_x000B_"),
    Windows/Mac line ends as \\n."""
    if text is None:
        return ""
    s = L.decode_control_escapes(str(text)).replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML.sub("", s).strip()


def one_line(text) -> str:
    """Text for a table cell: line breaks as spaces."""
    return " ".join(clean(text).split())


def paragraphs(text) -> list[str]:
    """Text as its paragraphs (one per non-empty line)."""
    return [line.strip() for line in clean(text).split("\n") if line.strip()]


@dataclass(frozen=True)
class ScoreRow:
    level2: str
    level3: str
    weight: str
    target: str
    actual: str
    score: str


@dataclass(frozen=True)
class ScoreSection:
    key: str
    heading: str
    rows: tuple[ScoreRow, ...]


@dataclass(frozen=True)
class TextSection:
    heading: str
    field: str
    paragraphs: tuple[str, ...]
    generated: bool  # written from the numbers: the input sheet's field was blank


@dataclass(frozen=True)
class BudgetRow:
    title: str
    number: str
    cells: dict  # BUDGET_COLUMNS key → shown text


@dataclass(frozen=True)
class GridCell:
    text: str
    bold: bool = False
    left: bool = False


@dataclass(frozen=True)
class AnnexTable:
    rows: tuple[tuple[GridCell, ...], ...]
    merges: tuple[tuple[int, int, int, int], ...]  # (first row, first column, last row, last column), 0-based
    header_rows: int  # the first header_rows rows repeat on every page


@dataclass(frozen=True)
class AnnexGrid:
    """The 附件1 sheet as the writer made it: the lines above the table, then the table, split where the
    sheet's repeated header row is (a form's indicator header below its 项目资金 block)."""

    heading_lines: tuple[str, ...]
    tables: tuple[AnnexTable, ...]
    widths: tuple[float, ...]  # column widths in Excel's character units


@dataclass(frozen=True)
class ReportContent:
    name: str
    title: str
    unit: str
    department: str
    year: str
    amount_unit: str
    info: tuple[tuple[str, tuple[str, ...]], ...]  # (label, paragraphs) of 项目概况 … 项目实施计划
    budget_rows: tuple[BudgetRow, ...]
    goals: tuple[tuple[str, tuple[str, ...]], ...]
    total: str
    grade: str
    score_sentence: str
    score_sections: tuple[ScoreSection, ...]
    analysis: tuple[TextSection, ...]
    closing: tuple[TextSection, ...]
    annex: AnnexGrid | None = None
    findings: tuple = field(default=())

    @property
    def generated(self) -> tuple[str, ...]:
        """The headings of the sections written from the numbers (their input fields were blank)."""
        return tuple(s.heading for s in (*self.analysis, *self.closing) if s.generated)


# ---- numbers as the workbook shows them ------------------------------------------------
def shown_amount(d: Decimal | None) -> str:
    return "" if d is None else format_number(Decimal(d))


def shown_rate_points(d: Decimal | None) -> str:
    """A rate of the budget table (percent points, as the seeds print them: 100.00)."""
    return "" if d is None else format_score(Decimal(d))


def shown_score(d: Decimal | None) -> str:
    return "" if d is None else format_score(d)


def shown_weight(ir: IndicatorResult) -> str:
    w = ir.indicator.weight
    if w.kind == "number" and w.op is None and w.unit is None and w.number is not None:
        return format_number(w.number)
    return one_line(w.shown)


def shown_rate(rate: Decimal | None) -> str:
    return "" if rate is None else format_percent(rate)


def score_sentence(name: str, total: Decimal, grade: str) -> str:
    return ("综合考虑预算执行情况、产出、效益、服务对象满意度各方面因素，通过数据采集及分析，最终评分结果："
            f"{name}项目绩效自评价结果为：总得分{format_score(total)}分，属于“{grade}”。")


# ---- the sections -----------------------------------------------------------------------
def section_key(ir: IndicatorResult) -> str:
    if ir.is_budget:
        return "budget"
    level1 = standard_level1(ir.indicator.level1) or (ir.indicator.level1 or "").strip()
    for key, _, names in SCORE_SECTIONS:
        if level1 in names:
            return key
    return "other"


def grouped(result: ProjectResult) -> dict[str, list[IndicatorResult]]:
    out: dict[str, list[IndicatorResult]] = {key: [] for key, _, _ in (*SCORE_SECTIONS, OTHER_SECTION)}
    for ir in result.indicators:
        out[section_key(ir)].append(ir)
    return out


def _score_rows(items: list[IndicatorResult]) -> tuple[ScoreRow, ...]:
    rows, previous = [], None
    for ir in items:
        ind = ir.indicator
        level2 = one_line(ind.level2)
        rows.append(ScoreRow(level2="" if level2 == previous else level2, level3=one_line(ind.level3),
                             weight=shown_weight(ir), target=one_line(ind.target.shown),
                             actual=one_line(ind.actual.shown), score=shown_score(ir.score)))
        previous = level2
    return tuple(rows)


def score_sections(result: ProjectResult) -> tuple[ScoreSection, ...]:
    groups = grouped(result)
    out = [ScoreSection(key, heading, _score_rows(groups[key])) for key, heading, _ in SCORE_SECTIONS]
    if groups["other"]:
        out.append(ScoreSection("other", OTHER_SECTION[1], _score_rows(groups["other"])))
    return tuple(out)


def budget_rows(result: ProjectResult) -> tuple[BudgetRow, ...]:
    amounts = result.budget.amounts if result.budget is not None else {}
    rows = []
    for key in BUDGET_ROWS:
        title, number = L.BUDGET_ROW_TITLES[key]
        rate = key.endswith("_rate")
        cells = {col: (shown_rate_points if rate else shown_amount)(amounts.get((key, col))) for col in BUDGET_COLUMNS}
        rows.append(BudgetRow(title, number, cells))
    return tuple(rows)


# ---- text written from the numbers -------------------------------------------------------
def reached(ir: IndicatorResult) -> bool:
    return ir.rate is not None and ir.score is not None and ir.rate >= 1


def _quoted(items: list[IndicatorResult]) -> str:
    return "、".join(f"“{one_line(ir.indicator.level3) or one_line(ir.indicator.level2) or '未命名指标'}”" for ir in items)


def _weight_sum(items: list[IndicatorResult]) -> Decimal:
    total = Decimal(0)
    for ir in items:
        w = ir.indicator.weight
        if w.kind == "number" and w.number is not None:
            total += w.number
    return total


def _shortfall(ir: IndicatorResult) -> str:
    ind = ir.indicator
    name = one_line(ind.level3) or one_line(ind.level2) or "未命名指标"
    if ir.score is None or ir.rate is None:
        return f"“{name}”未能评分（目标值“{one_line(ind.target.shown)}”，业绩值“{one_line(ind.actual.shown)}”），请核对填写"
    text = (f"“{name}”目标值{one_line(ind.target.shown)}，业绩值{one_line(ind.actual.shown)}，完成率{shown_rate(ir.rate)}，"
            f"得分{shown_score(ir.score)}分（权重{shown_weight(ir)}分）")
    reason = one_line(ind.reason)
    return text + (f"，偏差原因及改进措施：{reason.rstrip('。；;')}" if reason else "，未填写偏差原因分析及改进措施")


def indicators_text(title: str, items: list[IndicatorResult]) -> list[str]:
    """What a group of indicators shows: how many, their points, which reached their targets, which fell short."""
    if not items:
        return [f"本项目未设置{title}。"]
    scores = [ir.score for ir in items if ir.score is not None]
    got = sum(scores, Decimal(0)).quantize(CENT)
    head = (f"{title}共{len(items)}项，权重合计{format_number(_weight_sum(items))}分，"
            f"得分{format_score(got)}分。")
    ok = [ir for ir in items if reached(ir)]
    short = [ir for ir in items if not reached(ir)]
    parts = []
    if ok:
        parts.append(f"{_quoted(ok)}{'均' if len(ok) > 1 else ''}达到目标值")
    if short:
        parts.append("未达到目标值的有：" + "；".join(_shortfall(ir) for ir in short))
    return [head + "；".join(parts) + "。"]


def budget_text(result: ProjectResult, unit: str) -> list[str]:
    b = result.budget
    budget_ir = next((ir for ir in result.indicators if ir.is_budget), None)
    if b is None or b.rate_column is None:
        sentence = "预算执行情况表中没有全年预算资金，无法计算预算执行率。"
    else:
        a = b.amounts
        col = b.rate_column

        def amt(row):
            v = a.get((row, col))
            return f"{shown_amount(v)}{unit}" if v is not None else "未填写"

        sentence = (f"本项目全年预算资金{amt('annual')}，实际到位资金{amt('received')}，全年执行资金{amt('executed')}，"
                    f"资金结余{amt('balance')}；预算到位率{shown_rate_points(a.get(('arrival_rate', col)))}%，"
                    f"预算执行率{shown_rate_points(a.get(('execution_rate', col)))}%。")
        initial = a.get(("initial", col))
        if initial is not None and a.get(("annual", col)) is not None and initial != a.get(("annual", col)):
            sentence += f"年初预算资金{amt('initial')}，年中调整为{amt('annual')}。"
    if budget_ir is not None:
        sentence += (f"预算执行率指标业绩值{one_line(budget_ir.indicator.actual.shown) or '未填写'}，"
                     f"得分{shown_score(budget_ir.score)}分（权重{shown_weight(budget_ir)}分）。")
    return [sentence]


def experience_text(result: ProjectResult) -> list[str]:
    items = list(result.indicators)
    ok = [ir for ir in items if reached(ir)]
    return [f"本项目自评总得分{format_score(result.total)}分，评价等级为“{result.grade}”；"
            f"{len(items)}项绩效指标中{len(ok)}项达到目标值。"]


def problems_text(result: ProjectResult) -> list[str]:
    short = [ir for ir in result.indicators if not reached(ir)]
    if not short:
        return ["本年度各项绩效指标均达到目标值，未发现指标完成方面的问题。"]
    return ["以下指标未达到目标值：" + "；".join(_shortfall(ir) for ir in short) + "。"]


def measures_text(result: ProjectResult) -> list[str]:
    short = [ir for ir in result.indicators if not reached(ir)]
    if not short:
        return ["继续加强预算绩效管理，保持各项绩效指标的完成水平。"]
    with_reason = [ir for ir in short if one_line(ir.indicator.reason)]
    without = [ir for ir in short if not one_line(ir.indicator.reason)]
    parts = []
    if with_reason:
        parts.append("针对" + _quoted(with_reason) + "未达到目标值的情况，落实偏差原因分析中提出的改进措施")
    if without:
        parts.append("对" + _quoted(without) + "分析未达到目标值的原因并提出改进措施")
    return ["；".join(parts) + "。"]


def _text_section(heading: str, field: str, typed: str, generate) -> TextSection:
    typed_paragraphs = paragraphs(typed)
    if typed_paragraphs:
        return TextSection(heading, field, tuple(typed_paragraphs), False)
    return TextSection(heading, field, tuple(generate()), True)


# ---- the whole report ---------------------------------------------------------------------
def report_content(result: ProjectResult, form=None) -> ReportContent:
    """The report of one scored project (result.total is not None); the 附件1 in `form` (None: the seeds')."""
    if result.total is None:
        raise ValueError("an unscored project has no report")
    project = result.project
    info, meta = project.info, project.meta
    unit = str(meta.get("amount_unit") or L.AMOUNT_UNITS[0])
    name = one_line(project.name)
    groups = grouped(result)
    generators = {
        "budget": lambda: budget_text(result, unit),
        **{key: (lambda key=key: indicators_text(SECTION_TITLES[key], groups[key]))
           for key in ("output", "benefit", "satisfaction")},
    }
    analysis = tuple(_text_section(h, f, info.get(f, ""), generators[key]) for h, f, key in ANALYSIS)
    closing_generators = {"项目主要经验做法": lambda: experience_text(result),
                          "项目管理中存在问题及原因分析": lambda: problems_text(result),
                          "进一步加强项目管理措施及建议": lambda: measures_text(result)}
    closing = tuple(_text_section(h, f, info.get(f, ""), closing_generators[f]) for h, f in CLOSING)
    return ReportContent(
        name=name,
        title=f"{name}{TITLE_SUFFIX}",
        unit=one_line(meta.get("implementer") or meta.get("unit")),
        department=one_line(meta.get("department")),
        year=one_line(meta.get("year")),
        amount_unit=unit,
        info=tuple((f, tuple(paragraphs(info.get(f, "")))) for f in L.INFO_FIELDS),
        budget_rows=budget_rows(result),
        goals=tuple((h, tuple(paragraphs(info.get(f, "")))) for h, f in GOALS),
        total=format_score(result.total),
        grade=result.grade,
        score_sentence=score_sentence(name, result.total, result.grade),
        score_sections=score_sections(result),
        analysis=analysis,
        closing=closing,
        annex=annex_grid(result, form),
        findings=tuple(result.findings),
    )


# ---- 附件1: the sheet writer's own rows ------------------------------------------------------
def _shown(cell) -> str:
    """A cell's value as the sheet shows it (its number format), from the writer's own cell."""
    from ..writers.cells import GENERAL, PERCENT

    v = cell.value
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        return one_line(v)
    d = v if isinstance(v, Decimal) else (Decimal(v) if isinstance(v, int) else decimal_from_float(v))
    fmt = cell.number_format or GENERAL
    if fmt == PERCENT:
        return format_percent(d)
    if fmt == "0.00":
        return format_score(d)
    if fmt.startswith("#,##0.00"):
        places = fmt.count("0", fmt.index(".")) if "." in fmt else 0
        q = half_up(d, Decimal(1).scaleb(-max(2, min(places, len(format_number(d).partition('.')[2])))))
        return f"{q:,}"
    return format_number(d)


def annex_grid(result: ProjectResult, form=None) -> AnnexGrid:
    """The 附件1 sheet the workbook's writer makes for result in `form`, as rows of shown text."""
    from openpyxl import Workbook

    from ..writers.annex import write_annex_sheet

    wb = Workbook()
    wb.remove(wb.active)
    meta = result.project.meta
    ws = write_annex_sheet(wb, result, "附件1", unit=meta.get("unit") or None, year=meta.get("year") or None, form=form)
    last_row = ws.max_row
    ncols = ws.max_column
    merged = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
    covered = {(r, c) for m in ws.merged_cells.ranges for r in range(m.min_row, m.max_row + 1)
               for c in range(m.min_col, m.max_col + 1)} - set(merged)

    def bordered(r: int) -> bool:
        return any(ws.cell(r, c).border is not None and ws.cell(r, c).border.left is not None
                   and ws.cell(r, c).border.left.style for c in range(1, ncols + 1))

    first = 1
    heading = []
    while first <= last_row and not bordered(first):
        texts = [_shown(ws.cell(first, c)) for c in range(1, ncols + 1) if (first, c) not in covered]
        line = "　　".join(t for t in texts if t)
        if line:
            heading.append(line)
        first += 1
    def grid_row(r: int) -> tuple[GridCell, ...]:
        row = []
        for c in range(1, ncols + 1):
            cell = ws.cell(r, c)
            if (r, c) in covered:
                row.append(GridCell(""))
                continue
            font, align = cell.font, cell.alignment
            row.append(GridCell(_shown(cell), bold=bool(font is not None and font.b),
                                left=bool(align is not None and align.horizontal == "left")))
        return tuple(row)

    header = first
    titles = ws.print_title_rows
    if titles:  # the row the sheet repeats on every printed page: the indicator table's header
        header = max(first, int(str(titles).split(":")[-1].lstrip("$")))
    parts = [(first, header - 1, 0), (header, last_row, 1)] if header > first else [(first, last_row, 1)]
    tables = []
    for top, bottom, repeat in parts:
        merges = tuple((m.min_row - top, m.min_col - 1, m.max_row - top, m.max_col - 1)
                       for m in ws.merged_cells.ranges if top <= m.min_row and m.max_row <= bottom)
        tables.append(AnnexTable(rows=tuple(grid_row(r) for r in range(top, bottom + 1)), merges=merges,
                                 header_rows=repeat))
    widths = tuple(float(ws.column_dimensions[L.column(c)].width or 10) for c in range(1, ncols + 1))
    return AnnexGrid(heading_lines=tuple(heading), tables=tuple(tables), widths=widths)
