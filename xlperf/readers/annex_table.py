"""Find 项目支出绩效自评表 (附件1) and 预算执行情况 tables in any workbook.

Reviewers receive tables other units laid out by hand: the header may sit
anywhere on any sheet, use the national column names, merge 一级/二级 cells,
and put 总分 and 评价等级 in whichever column the author chose. This module only
locates and reads what the cells show; scoring and the comparison with the
published values live in `xlperf.check`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dataclass_field
from typing import Iterator, Mapping

from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..model import BLANK, BUDGET_COLUMNS, BUDGET_ROWS, BudgetTable, Indicator, Loc, Value
from ..rules.budget import AMOUNT_ROWS
from ..values import normalise_text, parse_value
from ..vocabulary import BUDGET_INDICATOR_NAME, BUDGET_LEVEL, PLACEHOLDERS
from .input_sheet import is_input_sheet

# ---- vocabulary of the tables, compared after `title_key` ---------------------
INDICATOR_TITLES: dict[str, tuple[str, ...]] = {
    "level1": ("一级指标",),
    "level2": ("二级指标",),
    "level3": ("三级指标", "目标指标", "指标名称"),
    "weight": ("权重", "分值"),
    "target": ("年度指标值", "目标值", "指标值"),
    "actual": ("实际完成值", "业绩值", "全年实际值", "实际值"),
    "rate": ("完成率",),
    "score": ("得分", "指标得分"),
}
REQUIRED_FIELDS = ("level3", "weight", "target", "actual")
# 偏差原因分析及改进措施, 偏差原因分析, 未完成原因和改进措施…: every variant names the 原因.
REASON_WORD = "原因"
# Labels of the summary rows under the table, compared after `summary_key`.
TOTAL_LABELS = frozenset({
    "总分", "合计", "总计", "总得分", "得分合计", "自评得分", "自评总分", "自评总得分", "综合得分", "综合评分", "评价得分",
})
GRADE_LABELS = frozenset({
    "评价等级", "等级", "自评等级", "绩效评价等级", "绩效等级", "评价结果", "自评结果", "绩效评价结果",
    "等次", "评价等次", "自评等次", "绩效等次", "评定等级",
})
# A grade written without a label beside the 总分 of a summary row (domain.md §5 synonyms).
GRADE_WORDS = frozenset({"优秀", "良好", "中", "差", "优", "良", "中等", "一般", "较差"})
NOTE_PREFIXES = ("注:", "说明:", "备注:", "填表说明")  # a note under the table, not an indicator named 注册…

# The seeds' 预算执行情况 table: money columns × rows (1)–(7).
BUDGET_COLUMN_TITLES = {
    "年度总金额": "total", "小计": "subtotal", "财政资金小计": "subtotal", "中央级": "central", "省级": "provincial",
    "市级": "municipal", "县区级": "county", "上年结转资金": "carryover", "上年结转": "carryover", "其他资金": "other",
}
BUDGET_ROW_LABELS = {
    "年初预算资金": "initial", "全年预算资金": "annual", "实际到位资金": "received", "全年执行资金": "executed",
    "资金结余": "balance", "预算到位率": "arrival_rate", "预算执行率": "execution_rate",
}
# The national form's block is the same table transposed: its columns are our rows
# (same keys), its rows our columns.
NATIONAL_BUDGET_TITLES = {
    "年初预算数": "initial", "全年预算数": "annual", "全年执行数": "executed",
    "分值": "weight", "执行率": "rate", "得分": "score",
}
NATIONAL_BUDGET_ROWS = {
    "年度资金总额": "total", "当年财政拨款": "subtotal", "本年财政拨款": "subtotal", "财政拨款": "subtotal",
    "上年结转资金": "carryover", "上年结转": "carryover", "其他资金": "other",
}
MIN_BUDGET_COLUMNS = 3  # fewer matching titles is a coincidence, not a budget table
BUDGET_SCAN_ROWS = 12  # rows (1)–(7) sit right under the header; stop looking after this many
BLANK_ROWS_ENDING_TABLE = 2  # one blank row inside a table is a typing slip, two end it

_TRAILING_NOTE = re.compile(r"(\([^()]*\))+$")  # (万元), (%), (分)


def title_key(raw: object) -> str:
    """A column title or row label as compared: NFKC, no spaces, no trailing unit or colon, no 其中."""
    if not isinstance(raw, str):
        return ""
    s = normalise_text(raw)
    s = _TRAILING_NOTE.sub("", s).rstrip(":")
    return s.removeprefix("其中:").removeprefix("其中")


def indicator_field(title: str) -> str | None:
    key = title_key(title)
    if not key:
        return None
    for field, titles in INDICATOR_TITLES.items():
        if key in titles:
            return field
    return "reason" if REASON_WORD in key else None


# ---- what the reader hands over ------------------------------------------------
@dataclass(frozen=True)
class SheetCell:
    """What one cell shows: its cached value, its number format and where it is."""

    raw: object
    number_format: str
    loc: Loc

    @property
    def value(self) -> Value:
        return parse_value(self.raw, self.number_format)


@dataclass(frozen=True)
class AnnexRow:
    """One indicator row with the 完成率 and 指标得分 the author published (None where not given)."""

    indicator: Indicator
    rate: SheetCell | None
    score: SheetCell | None
    has_reason: bool = True  # the table has a 偏差原因 cell for this row


@dataclass(frozen=True)
class AnnexTable:
    sheet: str
    header_row: int
    rows: tuple[AnnexRow, ...]
    total: SheetCell | None  # published 总分
    grade: SheetCell | None  # published 评价等级
    weight_total_loc: Loc  # where a weights finding should point: 权重合计, else the 权重 title


@dataclass(frozen=True)
class BudgetBlock:
    """A 预算执行情况 table found on a sheet; `budget_row` only for the national form."""

    table: BudgetTable
    header_row: int
    last_row: int
    budget_row: AnnexRow | None = None
    # The national form's own names for the rules' budget rows and columns (全年预算数, 年度资金总额…);
    # empty for the seeds' layout, whose names the rules already use.
    terms: Mapping[str, str] = dataclass_field(default_factory=dict)


# ---- the sheet as a grid of non-empty cells ---------------------------------------
class Grid:
    """Non-empty cells of a worksheet by (row, column), with merged ranges resolved on demand."""

    def __init__(self, ws: Worksheet):
        self.title = ws.title
        self.max_row = ws.max_row
        self.max_column = ws.max_column
        self._cells = {(c.row, c.column): c for row in ws.iter_rows() for c in row if c.value is not None}
        self._merged = [m.bounds for m in ws.merged_cells.ranges]  # (min_col, min_row, max_col, max_row)

    def cell(self, row: int, column: int) -> SheetCell | None:
        c = self._cells.get((row, column))
        return SheetCell(c.value, c.number_format or "General", Loc(self.title, c.coordinate)) if c else None

    def shown(self, row: int, column: int) -> SheetCell | None:
        """The cell, or for a cell inside a merged range the range's top-left cell (what the eye sees)."""
        own = self.cell(row, column)
        if own is not None:
            return own
        for min_col, min_row, max_col, max_row in self._merged:
            if min_row <= row <= max_row and min_col <= column <= max_col:
                return self.cell(min_row, min_col)
        return None

    def row(self, row: int) -> Iterator[tuple[int, SheetCell]]:
        """The row's cells that show something (a string of spaces shows nothing)."""
        for column in range(1, self.max_column + 1):
            c = self.cell(row, column)
            if c is not None and cell_text(c):
                yield column, c

    def is_blank_row(self, row: int) -> bool:
        return next(self.row(row), None) is None

    def text(self, row: int, column: int | None) -> str:
        return cell_text(self.cell(row, column) if column else None)


def cell_text(c: SheetCell | None) -> str:
    return "" if c is None or c.raw is None else str(c.raw).strip()


def _loc(grid: Grid, row: int, column: int) -> Loc:
    return Loc(grid.title, f"{get_column_letter(column)}{row}")


# ---- scanning a workbook --------------------------------------------------------
def scan_workbook(wb: Workbook) -> tuple[list[AnnexTable], list[BudgetBlock]]:
    """Every 绩效指标 table and every 预算执行情况 table, on every sheet but xlperf's own input sheets."""
    tables: list[AnnexTable] = []
    blocks: list[BudgetBlock] = []
    for ws in wb.worksheets:
        if is_input_sheet(ws):
            continue  # input sheets are recalc's business: check looks only at tables people made
        grid = Grid(ws)
        tables += annex_tables_in(grid)
        blocks += budget_blocks_in(grid)
    return tables, blocks


# ---- 附件1 tables -------------------------------------------------------------
def annex_tables_in(grid: Grid) -> list[AnnexTable]:
    tables: list[AnnexTable] = []
    row = 1
    while row <= grid.max_row:
        columns = header_columns(grid, row)
        if columns is None:
            row += 1
            continue
        table, row = _read_annex_table(grid, row, columns)
        tables.append(table)
    return tables


def header_columns(grid: Grid, row: int) -> dict[str, int] | None:
    """field → column when `row` is a 绩效指标 header row, else None."""
    columns: dict[str, int] = {}
    for column, c in grid.row(row):
        field = indicator_field(c.raw)
        if field is not None:
            columns.setdefault(field, column)
    return columns if all(f in columns for f in REQUIRED_FIELDS) else None


@dataclass(frozen=True)
class _Summary:
    total: SheetCell | None
    grade: SheetCell | None


def _read_annex_table(grid: Grid, header_row: int, columns: dict[str, int]) -> tuple[AnnexTable, int]:
    """Read rows under the header until 总分/评价等级 rows, two blank rows or something else. Returns the next row to scan."""
    rows: list[AnnexRow] = []
    total = grade = None
    weight_total_loc = _loc(grid, header_row, columns["weight"])
    levels = _LevelFill(grid, columns)
    summary_seen = False
    blank_run = 0
    row = header_row + 1
    while row <= grid.max_row:
        if grid.is_blank_row(row):
            blank_run += 1
            if blank_run >= BLANK_ROWS_ENDING_TABLE:
                break
            row += 1
            continue
        blank_run = 0
        if header_columns(grid, row) is not None:
            break  # the next table
        summary = _summary_row(grid, row, columns)
        if summary is not None:
            if not summary_seen:
                weight_total_loc = _loc(grid, row, columns["weight"])
            total, grade = total or summary.total, grade or summary.grade
            summary_seen = True
        elif summary_seen or not _is_indicator_row(grid, row, columns):
            break  # after 总分/评价等级, or a note: the table is over
        else:
            rows.append(_annex_row(grid, row, columns, levels))
        row += 1
    table = AnnexTable(sheet=grid.title, header_row=header_row, rows=tuple(rows), total=total, grade=grade,
                       weight_total_loc=weight_total_loc)
    return table, row


def _is_indicator_row(grid: Grid, row: int, columns: dict[str, int]) -> bool:
    values = [grid.text(row, columns[f]) for f in ("weight", "target", "actual")]
    name = normalise_text(grid.text(row, columns["level3"]))
    if any(values):
        return True
    return bool(name) and not name.startswith(NOTE_PREFIXES)


class _LevelFill:
    """一级/二级 cells left blank or merged mean "same as above"."""

    def __init__(self, grid: Grid, columns: dict[str, int]):
        self.grid, self.columns = grid, columns
        self.last: dict[str, tuple[str, Loc | None]] = {"level1": ("", None), "level2": ("", None)}

    def read(self, row: int, field: str) -> tuple[str, Loc | None]:
        column = self.columns.get(field)
        if column is None:
            return "", None
        c = self.grid.shown(row, column)
        text = cell_text(c)
        if text:
            self.last[field] = (text, c.loc)
        return self.last[field]


def _annex_row(grid: Grid, row: int, columns: dict[str, int], levels: _LevelFill) -> AnnexRow:
    def cell(field: str) -> SheetCell | None:
        return grid.cell(row, columns[field]) if field in columns else None

    def value(field: str) -> Value:
        c = cell(field)
        return c.value if c else BLANK

    name_loc = _loc(grid, row, columns["level3"])
    cells = {f: _loc(grid, row, columns[f]) if f in columns else name_loc
             for f in ("level3", "weight", "target", "actual", "reason")}
    # The table has no 指标方向 column: a direction finding is about the name.
    cells["direction"] = name_loc
    level1, loc1 = levels.read(row, "level1")
    level2, loc2 = levels.read(row, "level2")
    cells["level1"] = loc1 or name_loc
    cells["level2"] = loc2 or name_loc
    indicator = Indicator(
        row=row, level1=level1, level2=level2, level3=grid.text(row, columns["level3"]), direction=None,
        weight=value("weight"), target=value("target"), actual=value("actual"),
        reason=grid.text(row, columns.get("reason")), cells=cells,
    )
    return AnnexRow(indicator, rate=_published(cell("rate")), score=_published(cell("score")),
                    has_reason="reason" in columns)


def _published(c: SheetCell | None) -> SheetCell | None:
    return None if c is None or c.value.is_blank else c


def summary_key(text: str) -> str:
    """A summary label as compared: NFKC, no spaces, no trailing (满分100分) or colon."""
    return _TRAILING_NOTE.sub("", normalise_text(text)).rstrip(":")


def grade_word(raw: object) -> str | None:
    """The grade a cell holds by itself (良好, “优”), else None."""
    if not isinstance(raw, str):
        return None
    key = normalise_text(raw).strip("\"'“”‘’")
    return key if key in GRADE_WORDS else None


def _summary_label(raw: object) -> tuple[str, str | None] | None:
    """("total"|"grade", value typed after a colon in the same cell) for a 总分/评价等级 label."""
    if not isinstance(raw, str):
        return None
    head, _, tail = normalise_text(raw).partition(":")
    key = summary_key(head)
    kind = "total" if key in TOTAL_LABELS else "grade" if key in GRADE_LABELS else None
    return (kind, tail or None) if kind else None


def _summary_row(grid: Grid, row: int, columns: dict[str, int]) -> _Summary | None:
    """The published 总分 and/or 评价等级 of a summary row, wherever the author put them."""
    cells = list(grid.row(row))
    labels = [(column, c, label) for column, c in cells if (label := _summary_label(c.raw))]
    if not labels:
        return None
    # Neither a label nor the 权重合计 under the weight column can be the published value.
    taken = {column for column, _, _ in labels} | {columns["weight"]}
    # A grade word is the 评价等级 typed without its own label (合计 100 … 99.78 良好), never the 总分.
    grade_words = {column for column, c in cells if grade_word(c.raw)}
    found: dict[str, SheetCell | None] = {"total": None, "grade": None}
    for column, label_cell, (kind, inline) in labels:
        if inline is not None:
            found[kind] = SheetCell(inline, "General", label_cell.loc)
            continue
        skip = taken | (grade_words if kind == "total" else set())
        value_column = _summary_value_column(cells, column, skip, columns.get("score") if kind == "total" else None)
        if value_column is not None:
            taken.add(value_column)
            found[kind] = grid.cell(row, value_column)
    if found["grade"] is None and found["total"] is not None:
        unlabelled = [column for column in sorted(grade_words) if column not in taken]
        if unlabelled:
            found["grade"] = grid.cell(row, unlabelled[0])
    return _Summary(found["total"], found["grade"])


def _summary_value_column(cells, label_column: int, taken: set[int], preferred: int | None) -> int | None:
    """The score column when it holds something right of the label, else the next non-empty cell to the right."""
    right = [column for column, _ in cells if column > label_column and column not in taken]
    if preferred in right:
        return preferred
    return right[0] if right else None


# ---- 预算执行情况 tables --------------------------------------------------------
def budget_blocks_in(grid: Grid) -> list[BudgetBlock]:
    """Every 预算执行情况 table on the sheet, in the seeds' layout or the national form's."""
    blocks: list[BudgetBlock] = []
    row = 1
    while row <= grid.max_row:
        block = _seeds_budget(grid, row) or _national_budget(grid, row)
        if block is None:
            row += 1
            continue
        blocks.append(block)
        row = block.last_row + 1
    return blocks


def _budget_value(c: SheetCell | None) -> Value:
    """A budget cell's value; "—" or "/" mean "not applicable" there, not a typing error."""
    if c is None:
        return BLANK
    v = c.value
    if v.kind == "invalid" and isinstance(c.raw, str) and normalise_text(c.raw) in PLACEHOLDERS:
        return BLANK
    return v


def _titles_in_row(grid: Grid, row: int, titles: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for column, c in grid.row(row):
        key = titles.get(title_key(c.raw))
        if key is not None:
            found.setdefault(key, column)
    return found


def _labels_below(grid: Grid, header_row: int, first_data_column: int, labels: dict[str, str]) -> dict[str, Loc]:
    """label key → the label's cell, for row labels left of the data columns under a budget header."""
    found: dict[str, Loc] = {}
    for row in range(header_row + 1, min(header_row + BUDGET_SCAN_ROWS, grid.max_row) + 1):
        if header_columns(grid, row) is not None:
            break
        for column, c in grid.row(row):
            key = labels.get(title_key(c.raw))
            if column < first_data_column and key is not None:
                found.setdefault(key, c.loc)
    return found


def _budget_table(grid: Grid, positions: dict[tuple[str, str], tuple[int, int]]) -> BudgetTable:
    """(budget row, budget column) → (sheet row, sheet column) read into a BudgetTable."""
    values = {key: _budget_value(grid.cell(r, c)) for key, (r, c) in positions.items()}
    cells = {key: _loc(grid, r, c) for key, (r, c) in positions.items()}
    return BudgetTable(sheet=grid.title, values=values, cells=cells)


def _row_of(loc: Loc) -> int:
    return coordinate_from_string(loc.cell)[1]


def _column_of(loc: Loc) -> int:
    return column_index_from_string(coordinate_from_string(loc.cell)[0])


def _seeds_budget(grid: Grid, row: int) -> BudgetBlock | None:
    # 财政资金 spans 小计…县区级 on the header's second row.
    columns = _titles_in_row(grid, row, BUDGET_COLUMN_TITLES)
    if not columns:
        return None
    for key, column in _titles_in_row(grid, row + 1, BUDGET_COLUMN_TITLES).items():
        columns.setdefault(key, column)
    if len(columns) < MIN_BUDGET_COLUMNS:
        return None
    rows = _labels_below(grid, row, min(columns.values()), BUDGET_ROW_LABELS)
    if "annual" not in rows or "executed" not in rows:
        return None
    positions = {(row_key, col_key): (_row_of(label), column)
                 for row_key, label in rows.items() for col_key, column in columns.items()}
    return BudgetBlock(_budget_table(grid, positions), header_row=row, last_row=max(map(_row_of, rows.values())))


def _national_budget(grid: Grid, row: int) -> BudgetBlock | None:
    columns = _titles_in_row(grid, row, NATIONAL_BUDGET_TITLES)
    if "annual" not in columns or "executed" not in columns:
        return None
    rows = _labels_below(grid, row, min(columns.values()), NATIONAL_BUDGET_ROWS)
    if "total" not in rows:
        return None
    # Its 执行率 is not copied into row (7): it is the 预算执行率 indicator's 业绩值, and the
    # rules' budget link already compares that with the table (one finding, not two).
    positions = {(row_key, col_key): (_row_of(label), columns[row_key])
                 for col_key, label in rows.items() for row_key in AMOUNT_ROWS if row_key in columns}
    # Findings about this block speak its names: 全年预算数, not the seeds' 全年预算资金(2).
    terms = {key: title_key(grid.text(row, column)) for key, column in columns.items() if key in AMOUNT_ROWS + ("rate",)}
    terms.update({key: title_key(grid.text(_row_of(label), _column_of(label))) for key, label in rows.items()})
    return BudgetBlock(_budget_table(grid, positions), header_row=row, last_row=max(map(_row_of, rows.values())),
                       budget_row=_national_budget_row(grid, rows["total"], columns), terms=terms)


def _national_budget_row(grid: Grid, label: Loc, columns: dict[str, int]) -> AnnexRow:
    """The national form scores 预算执行率 in the budget block (分值 10), not among the indicators.

    As an indicator its 业绩值 is the published 执行率; left blank, it follows the table.
    """
    row = _row_of(label)

    def loc(key: str) -> Loc:
        return _loc(grid, row, columns[key]) if key in columns else label

    def value(key: str) -> Value:
        return _budget_value(grid.cell(row, columns[key])) if key in columns else BLANK

    actual = value("rate")
    locs = {f: label for f in ("level1", "level2", "level3", "direction", "target", "reason")}
    locs.update(weight=loc("weight"), actual=loc("rate"))
    indicator = Indicator(
        row=row, level1=BUDGET_LEVEL, level2=BUDGET_LEVEL, level3=BUDGET_INDICATOR_NAME, direction=None,
        weight=value("weight"), target=parse_value("100%"), actual=actual, reason="",
        cells=locs, actual_linked=actual.is_blank,
    )
    # The 执行率 is the row's 业绩值 and its 完成率 at once; only the 得分 is a separate published value.
    score = grid.cell(row, columns["score"]) if "score" in columns else None
    return AnnexRow(indicator, rate=None, score=_published(score), has_reason=False)


def budget_block_for(table: AnnexTable, blocks: list[BudgetBlock]) -> BudgetBlock | None:
    """The budget table that belongs to an indicator table: the nearest one above it on its sheet,
    else any on its sheet, else the workbook's only one."""
    same_sheet = [b for b in blocks if b.table.sheet == table.sheet]
    above = [b for b in same_sheet if b.header_row < table.header_row]
    if above:
        return max(above, key=lambda b: b.header_row)
    if same_sheet:
        return same_sheet[0]
    return blocks[0] if len(blocks) == 1 else None


# ---- recalc's own 附件1 sheets and their input sheets ------------------------------
PROJECT_NAME_PREFIX = "项目名称:"  # row 2 of a generated 附件1 sheet, after normalise_text


def generated_budget_blocks(wb: Workbook) -> dict[str, BudgetBlock]:
    """recalc's 附件1-<name> sheets → the 预算执行情况 table of their project's input sheet.

    recalc writes no budget table on a 附件1 sheet: it stays on the input sheet. The
    sheets recalc generated carry a marker name (pipeline.generated_sheet_names); row 2 of
    each 附件1 sheet names its project (项目名称：<name>); the input sheet of that name holds the table. Projects of the same name pair in sheet order,
    as recalc wrote them.
    """
    from ..pipeline import generated_sheet_names  # the one reader of the markers

    generated = [name for name in generated_sheet_names(wb) if name in wb.sheetnames]
    if not generated:
        return {}
    inputs: dict[str, list[Worksheet]] = {}
    for ws in wb.worksheets:
        if is_input_sheet(ws):
            inputs.setdefault(normalise_text(_input_project_name(ws)), []).append(ws)
    blocks: dict[str, BudgetBlock] = {}
    for sheet in generated:
        name = generated_project_name(wb[sheet])
        candidates = inputs.get(normalise_text(name)) if name else None
        if not candidates:
            continue
        block = input_budget_block(candidates.pop(0))
        if block is not None:
            blocks[sheet] = block
    return blocks


def generated_project_name(ws: Worksheet) -> str | None:
    """The project a generated 附件1 sheet belongs to: "项目名称：<name>" in its info row."""
    for row in ws.iter_rows(min_row=L.ANNEX_INFO_ROW, max_row=L.ANNEX_INFO_ROW):
        for c in row:
            if isinstance(c.value, str) and normalise_text(c.value).startswith(PROJECT_NAME_PREFIX):
                return re.split(r"[:：]", c.value, maxsplit=1)[1].strip()
    return None


def _input_project_name(ws: Worksheet) -> str:
    """The name recalc gives the input sheet's project: its 项目名称 cell, else the sheet's name."""
    try:
        cell = L.locate_input_positions(ws).name_cell
    except L.LayoutChanged:
        cell = L.NAME_CELL
    value = ws[cell].value
    return str(value).strip() if value is not None and str(value).strip() else ws.title


def input_budget_block(ws: Worksheet) -> BudgetBlock | None:
    """The 预算执行情况 table of an input sheet read from a data_only workbook.

    A file openpyxl wrote has no cached values for the template's formulas (小计,
    年度总金额, rows (5)–(7)), so those cells are marked derived, as the input reader
    marks its own formulas, and the rules derive them from the typed parts.
    """
    try:
        pos = L.locate_input_positions(ws)
    except L.LayoutChanged:
        return None  # recalc does not score such a sheet either
    values: dict[tuple[str, str], Value] = {}
    cells: dict[tuple[str, str], Loc] = {}
    derived: dict[tuple[str, str], bool] = {}
    for row in BUDGET_ROWS:
        for col in BUDGET_COLUMNS:
            ref = pos.budget_cell(row, col)
            formula = row not in L.BUDGET_AMOUNT_ROWS or col in L.BUDGET_FORMULA_COLUMNS
            c = ws[ref]
            values[(row, col)] = BLANK if formula else parse_value(c.value, c.number_format)
            cells[(row, col)] = Loc(ws.title, ref)
            derived[(row, col)] = formula
    table = BudgetTable(sheet=ws.title, values=values, cells=cells, derived=derived)
    return BudgetBlock(table, header_row=pos.budget_rows["initial"], last_row=pos.budget_rows["execution_rate"])
