"""Find 项目支出绩效自评表 (附件1) and 预算执行情况 tables in any workbook.

Reviewers receive tables other units laid out by hand: the header may sit
anywhere on any sheet, use the national column names, merge 一级/二级 cells,
and put 总分 and 评价等级 in whichever column the author chose. This module only
locates and reads what the cells show; scoring and the comparison with the
published values live in `xlperf.check`.
"""
from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from functools import lru_cache
from dataclasses import dataclass, field as dataclass_field
from typing import Iterator, Mapping, NamedTuple

from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import forms, layout as L
from ..model import BLANK, BUDGET_COLUMNS, BUDGET_ROWS, BudgetTable, Indicator, Loc, Value
from ..rules.budget import AMOUNT_ROWS
from ..values import normalise_text, parse_value
from ..vocabulary import BUDGET_INDICATOR_NAME, BUDGET_LEVEL, PLACEHOLDERS
from .input_sheet import is_input_sheet

# ---- vocabulary of the tables: the forms registry's, compared after `title_key` ---------
# 偏差原因分析及改进措施, 偏差原因分析, 未完成原因和改进措施…: every variant names the 原因.
REASON_WORD = "原因"
REQUIRED_FIELDS = ("level3", "target", "actual")
SCORING_FIELDS = ("weight", "score")  # a table states at least one of them (湖北 forms print no 分值 column)
# A grade written without a label beside the 总分 of a summary row (domain.md §5 synonyms).
GRADE_WORDS = frozenset({"优秀", "良好", "中", "差", "优", "良", "中等", "一般", "较差"})
NOTE_PREFIXES = ("注:", "说明:", "备注:", "填表说明", "填报说明", "填表人", "联系电话", "单位负责人", "项目负责人", "财务负责人")
MIN_BUDGET_COLUMNS = 3  # fewer matching titles is a coincidence, not a budget table
BUDGET_SCAN_ROWS = 12  # rows (1)–(7) sit right under the header; stop looking after this many
BLANK_ROWS_ENDING_TABLE = 2  # one blank row inside a table is a typing slip, two end it
TITLE_ROWS_ABOVE = 20  # how far above a header the form's title and its info rows are looked for

_TRAILING_NOTE = re.compile(r"(\([^()]*\))+$")  # (万元), (%), (分)
# 指标1:, 指标2：, ……, …, 1.…: rows of the blank form nobody filled in.
_PLACEHOLDER_NAME = re.compile(r"^(指标\d*[:：]?|[.…。·]+|\d+[.、]?[.…。·]*|)$")


@lru_cache(maxsize=1)
def _simplifier():
    import opencc  # traditional characters in published tables (繁體) read as simplified

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def simplified(text: str) -> str:
    """Text in simplified characters (published tables from Hong Kong-style fonts or converters)."""
    if text.isascii():
        return text
    return _simplifier().convert(text)


def title_key(raw: object) -> str:
    """A column title or row label as compared: NFKC, simplified, no whitespace or line break, no trailing unit or colon, no 其中."""
    if not isinstance(raw, str):
        return ""
    s = simplified(normalise_text(raw))
    s = _TRAILING_NOTE.sub("", s).rstrip(":")
    return s.removeprefix("其中:").removeprefix("其中").lstrip(":")


def _keyed(titles: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """title_key(title) → field, first registration wins."""
    out: dict[str, str] = {}
    for field, names in titles.items():
        for name in names:
            out.setdefault(title_key(name), field)
    return out


class _Keys(NamedTuple):
    """The registry's vocabulary as the reader compares it (title_key → field, or sets of keys)."""

    indicator_fields: dict[str, str]
    budget_columns: dict[str, str]
    budget_rows: dict[str, str]
    total_labels: frozenset[str]
    grade_labels: frozenset[str]


@lru_cache(maxsize=1)
def _vocabulary() -> _Keys:
    v = forms.vocabulary()
    return _Keys(_keyed(v.indicator_fields), _keyed(v.budget_columns), _keyed(v.budget_rows),
                 frozenset(title_key(t) for t in v.total_labels), frozenset(title_key(t) for t in v.grade_labels))


def indicator_field(title: str) -> str | None:
    key = title_key(title)
    if not key:
        return None
    field = _vocabulary().indicator_fields.get(key)
    if field is not None:
        return field
    return "reason" if REASON_WORD in key else None


# The seeds' 预算执行情况 table: money columns × rows (1)–(7).
BUDGET_COLUMN_TITLES = {
    "年度总金额": "total", "小计": "subtotal", "财政资金小计": "subtotal", "中央级": "central", "省级": "provincial",
    "市级": "municipal", "县区级": "county", "上年结转资金": "carryover", "上年结转": "carryover", "其他资金": "other",
}
BUDGET_ROW_LABELS = {
    "年初预算资金": "initial", "全年预算资金": "annual", "实际到位资金": "received", "全年执行资金": "executed",
    "资金结余": "balance", "预算到位率": "arrival_rate", "预算执行率": "execution_rate",
}


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
    level1_points: Decimal | None = None  # the points its 一级 name carries (产出指标(40分) → 40)


@dataclass(frozen=True)
class AnnexTable:
    sheet: str
    header_row: int
    rows: tuple[AnnexRow, ...]
    total: SheetCell | None  # published 总分
    grade: SheetCell | None  # published 评价等级
    weight_total_loc: Loc  # where a weights finding should point: 权重合计, else the 权重 title
    columns: Mapping[str, int] = dataclass_field(default_factory=dict)  # field → column of the header
    header_last_row: int = 0  # the header's last row (a header may span two)
    form: str = forms.DEFAULT_FORM  # the registered form the table matches
    block_points: Decimal | None = None  # points its header gives the whole block: 年度绩效目标1 (80分)
    # who and what it is about, from the rows above its header: name (项目名称), department, unit (预算单位)
    info: Mapping[str, str] = dataclass_field(default_factory=dict)


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
    breakdown: tuple["BreakdownRow", ...] = ()  # 其中 rows that publish a 得分 of their own


@dataclass(frozen=True)
class BreakdownRow:
    """A 其中 row of a budget block (基本支出, 项目支出) that the author scored as well."""

    label: str
    annual: Value
    executed: Value
    weight: Value
    score: SheetCell
    rate: SheetCell | None = None  # its published 执行率


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
        sheet_blocks = budget_blocks_in(grid)
        tables += [_with_form(grid, t, sheet_blocks) for t in annex_tables_in(grid)]
        blocks += sheet_blocks
    return tables, blocks


# ---- 附件1 tables -------------------------------------------------------------
@dataclass(frozen=True)
class Header:
    """A 绩效指标 header: field → column, over one row or two (年度指标值 over 指标性质/指标值/度量单位)."""

    row: int
    last_row: int
    columns: Mapping[str, int]


def annex_tables_in(grid: Grid) -> list[AnnexTable]:
    tables: list[AnnexTable] = []
    row = 1
    while row <= grid.max_row:
        header = find_header(grid, row)
        if header is None:
            row += 1
            continue
        table, row = _read_annex_table(grid, header)
        tables.append(table)
    return tables


def _fields_in(cells) -> dict[str, int]:
    columns: dict[str, int] = {}
    for column, text in cells:
        field = indicator_field(text)
        if field is not None:
            columns.setdefault(field, column)
    return columns


def _is_header(columns: Mapping[str, int]) -> bool:
    return all(f in columns for f in REQUIRED_FIELDS) and any(f in columns for f in SCORING_FIELDS)


def header_columns(grid: Grid, row: int) -> dict[str, int] | None:
    """field → column when `row` (alone, or with the row under it) is a 绩效指标 header row, else None."""
    header = find_header(grid, row)
    return dict(header.columns) if header is not None else None


def find_header(grid: Grid, row: int) -> Header | None:
    """The 绩效指标 header starting at `row`: one row, a row whose titles continue on the next
    (年度指标值 over 指标性质/指标值/度量单位), or titles broken over two rows (年度 / 指标值)."""
    top = [(column, c.raw) for column, c in grid.row(row)]
    columns = _fields_in(top)
    below = [(column, c.raw) for column, c in grid.row(row + 1)] if row < grid.max_row else []
    below_fields = _fields_in(below)
    below_is_titles = bool(below) and len(below_fields) == len(below)
    if _is_header(columns):
        if below_is_titles:
            merged = {**columns, **below_fields}
            return Header(row, row + 1, merged)
        return Header(row, row, columns)
    if len(columns) < 2 or not below or _is_header(below_fields):
        return None  # a title row above a header is not half of it
    # Titles broken over two rows: each column's text read top to bottom.
    texts = {column: str(raw) for column, raw in top}
    for column, raw in below:
        texts[column] = texts.get(column, "") + str(raw)
    joined = _fields_in(sorted(texts.items()))
    if _is_header(joined) and (below_is_titles or len(joined) > len(columns)):
        if below_is_titles:
            joined = {**joined, **{f: c for f, c in below_fields.items() if f not in columns}}
        return Header(row, row + 1, joined)
    return None


@dataclass(frozen=True)
class _Summary:
    total: SheetCell | None
    grade: SheetCell | None


def _read_annex_table(grid: Grid, header: Header) -> tuple[AnnexTable, int]:
    """Read rows under the header until 总分/评价等级 rows, two blank rows or something else. Returns the next row to scan."""
    columns = dict(header.columns)
    rows: list[AnnexRow] = []
    total = grade = None
    anchor = columns.get("weight") or columns.get("score")
    weight_total_loc = _loc(grid, header.row, anchor)
    levels = _LevelFill(grid, columns)
    summary_seen = False
    blank_run = 0
    row = header.last_row + 1
    while row <= grid.max_row:
        if grid.is_blank_row(row):
            blank_run += 1
            if blank_run >= BLANK_ROWS_ENDING_TABLE:
                break
            row += 1
            continue
        blank_run = 0
        if find_header(grid, row) is not None:
            break  # the next table
        summary = _summary_row(grid, row, columns)
        if summary is not None:
            if not summary_seen:
                weight_total_loc = _loc(grid, row, anchor)
            total, grade = total or summary.total, grade or summary.grade
            summary_seen = True
        elif summary_seen or _is_note_row(grid, row):
            break  # after 总分/评价等级, or a note: the table is over
        else:
            levels.read(row, "level1"), levels.read(row, "level2")  # a group name on a row of its own still counts
            if _is_indicator_row(grid, row, columns):
                rows.append(_annex_row(grid, row, columns, levels))
        row += 1
    points = [_header_points(grid, r) for r in range(header.row, header.last_row + 1)]
    block_points = next((p.number for p in points if p is not None and p.is_number), None)
    table = AnnexTable(sheet=grid.title, header_row=header.row, rows=tuple(rows), total=total, grade=grade,
                       weight_total_loc=weight_total_loc, columns=columns, header_last_row=header.last_row,
                       block_points=block_points)
    return table, row


def _is_note_row(grid: Grid, row: int) -> bool:
    first = next(grid.row(row), None)
    return first is not None and normalise_text(cell_text(first[1])).startswith(NOTE_PREFIXES)


def _is_indicator_row(grid: Grid, row: int, columns: dict[str, int]) -> bool:
    """A row that states an indicator: not a placeholder of the blank form, not a 其中 breakdown row,
    not a group name on its own (an empty 二级 row with no weight)."""
    name = simplified(normalise_text(grid.text(row, columns["level3"])))
    if name.startswith("其中"):
        return False  # a breakdown of the row above: never scored, never added
    if _PLACEHOLDER_NAME.match(name) and not any(grid.text(row, columns[f]) for f in ("target", "actual") if f in columns):
        return False
    if name in PLACEHOLDERS and not any(grid.text(row, columns[f]) for f in ("target", "actual", "weight", "score") if f in columns):
        return False  # '-', '/', '无' in the 三级 cell of an otherwise empty row: a line of the blank form left unused
    values = [grid.text(row, columns[f]) for f in ("weight", "target", "actual", "score", "nature") if f in columns]
    return bool(name) or any(values)


# 产出指标(50分), 产出指标（40分）, 产出指标50分: the 一级 name and the points it carries.
_LEVEL1_POINTS = re.compile(r"^(.*?)[(（]?(\d+(?:\.\d+)?)分[)）]?$")


def level1_points(text: str) -> tuple[str, Decimal | None]:
    """(name, points) of a 一级 cell that carries its points in its name, else (text, None)."""
    m = _LEVEL1_POINTS.match(normalise_text(text or ""))
    if not m or not m.group(1):
        return text, None
    return m.group(1), Decimal(m.group(2))


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
        if text and (text, c.loc) != self.last[field]:
            self.last[field] = (text, c.loc)
            if field == "level1":
                self.last["level2"] = ("", None)  # a new 一级 group starts its own 二级 groups
        return self.last[field]


def _split_target(grid: Grid, row: int, columns: dict[str, int]) -> SheetCell | None:
    """The 云南 form's 指标性质 + 指标值 + 度量单位 read as one target (≥ 90 % → "≥90%")."""
    parts = [grid.cell(row, columns[f]) for f in ("nature", "target", "unit") if f in columns]
    present = [c for c in parts if c is not None and cell_text(c)]
    if not present:
        return None
    value_cell = grid.cell(row, columns["target"]) if "target" in columns else None
    nature = cell_text(grid.cell(row, columns["nature"])) if "nature" in columns else ""
    number = value_cell.value if value_cell is not None else BLANK
    unit = cell_text(grid.cell(row, columns["unit"])) if "unit" in columns else ""
    if simplified(normalise_text(nature)) == "定性" or (number.kind == "text"):
        return value_cell or present[0]
    shown = number.shown if number.kind == "number" else cell_text(value_cell)
    op = "" if simplified(normalise_text(nature)) in ("", "定量") else nature.strip()
    text = f"{op}{shown}{'' if shown.endswith('%') else unit.strip()}"
    loc = value_cell.loc if value_cell is not None else present[0].loc
    return SheetCell(text, "General", loc)


def _annex_row(grid: Grid, row: int, columns: dict[str, int], levels: _LevelFill) -> AnnexRow:
    def cell(field: str) -> SheetCell | None:
        return grid.cell(row, columns[field]) if field in columns else None

    def value(c: SheetCell | None) -> Value:
        return c.value if c else BLANK

    name_loc = _loc(grid, row, columns["level3"])
    cells = {f: _loc(grid, row, columns[f]) if f in columns else name_loc
             for f in ("level3", "weight", "target", "actual", "reason")}
    # The table has no 指标方向 column: a direction finding is about the name.
    cells["direction"] = name_loc
    level1, loc1 = levels.read(row, "level1")
    level2, loc2 = levels.read(row, "level2")
    level1, points = level1_points(level1)
    cells["level1"] = loc1 or name_loc
    cells["level2"] = loc2 or name_loc
    target = _split_target(grid, row, columns) if "nature" in columns or "unit" in columns else cell("target")
    indicator = Indicator(
        row=row, level1=level1, level2=level2, level3=grid.text(row, columns["level3"]), direction=None,
        weight=value(cell("weight")), target=value(target), actual=value(cell("actual")),
        reason=grid.text(row, columns.get("reason")), cells=cells,
    )
    return AnnexRow(indicator, rate=_published(cell("rate")), score=_published(cell("score")),
                    has_reason="reason" in columns, level1_points=points)


def _with_form(grid: Grid, table: AnnexTable, blocks: list[BudgetBlock]) -> AnnexTable:
    """The table with the registered form it matches (forms.recognise)."""
    title_rows = range(max(1, table.header_row - TITLE_ROWS_ABOVE), table.header_row)
    title = "".join(title_key(c.raw) for r in title_rows for _, c in grid.row(r))
    headers = tuple(title_key(grid.text(r, column)) for column in sorted(table.columns.values())
                    for r in range(table.header_row, table.header_last_row + 1) if grid.text(r, column))
    fields = tuple(f for f, _ in sorted(table.columns.items(), key=lambda kv: kv[1]))
    block = budget_block_for(table, blocks)
    points = None
    if block is not None and block.budget_row is not None and block.budget_row.indicator.weight.is_number:
        points = block.budget_row.indicator.weight.number
    level1_weights = any(level1_points(grid.text(r.indicator.row, table.columns["level1"]))[1] is not None
                         for r in table.rows if "level1" in table.columns)
    percent = any(r.indicator.weight.percent for r in table.rows)
    traits = forms.TableTraits(title=title, headers=headers, fields=fields, budget_points=points,
                               level1_header_weights=level1_weights, percent_weights=percent)
    return dataclasses.replace(table, form=forms.recognise(traits).name, info=table_info(grid, table, title_rows))


_LABELLED = re.compile(r"\s*([^:：]{2,20}?)\s*[:：]\s*(.*)$", re.S)
# where one statement ends in a cell stating several: a wide gap, or a space before the next "label:"
_NEXT_STATEMENT = re.compile(r"\u3000|\s{2,}|\n|\s+(?=[^\s:：]+\s*[:：])")


@lru_cache(maxsize=1)
def _info_keys() -> dict[str, str]:
    return _keyed(forms.vocabulary().info_labels)


def table_info(grid: Grid, table: AnnexTable, rows: range) -> dict[str, str]:
    """项目名称, 主管部门, 预算单位 as the rows above the table state them (info_from_rows), nearest row first."""
    return info_from_rows([cell_text(c) for _, c in grid.row(r)] for r in reversed(rows))


def info_from_rows(rows) -> dict[str, str]:
    """name/department/unit from rows of texts (the nearest first; the first statement of a field wins): a
    label cell and the text right of it (项目名称 | X), or statements in one cell or paragraph
    (项目名称：X　　预算单位：Y　年度：2020, 单位名称:Y 填报日期:…)."""
    keys = _info_keys()
    info: dict[str, str] = {}
    for texts in rows:
        texts = [t for t in texts if t]
        for i, text in enumerate(texts):
            field = keys.get(title_key(text))
            if field is not None:  # a label alone: its value is the next cell that is not a label
                value = next((_NEXT_STATEMENT.split(t.strip(), maxsplit=1)[0].strip() for t in texts[i + 1:]
                              if title_key(t) not in keys), "")
                if value and field not in info:
                    info[field] = value
                continue
            for piece in _NEXT_STATEMENT.split(text.strip()):
                labelled = _LABELLED.match(piece)
                field = keys.get(title_key(labelled.group(1))) if labelled else None
                if field is not None and field not in info and labelled.group(2).strip():
                    info[field] = labelled.group(2).strip()
    return info


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
    keys = _vocabulary()
    key = simplified(key)
    kind = "total" if key in keys.total_labels else "grade" if key in keys.grade_labels else None
    return (kind, tail or None) if kind else None


def _summary_row(grid: Grid, row: int, columns: dict[str, int]) -> _Summary | None:
    """The published 总分 and/or 评价等级 of a summary row, wherever the author put them."""
    cells = list(grid.row(row))
    labels = [(column, c, label) for column, c in cells if (label := _summary_label(c.raw))]
    if not labels:
        return None
    # Neither a label nor the 权重合计 under the weight column can be the published value.
    taken = {column for column, _, _ in labels} | ({columns["weight"]} if "weight" in columns else set())
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
    numbers = [column for column, c in cells if column in right and c.value.kind == "number"]
    if len(numbers) >= 2:
        return numbers[-1]  # 总分 | 100 | 96 | 优: the 分值 total comes first, the 得分 total after it
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


AMOUNT_UNITS = {"万元": Decimal(10000), "万": Decimal(10000), "元": Decimal(1)}  # in 元


def _budget_value(c: SheetCell | None, unit: str = "万元") -> Value:
    """A budget cell's value in the block's unit; "—" or "/" mean "not applicable" there, not a typing error.

    An amount typed with its unit inside the cell (4753.66万元, 150万, 2000元) is converted to the
    unit the block states (项目资金（万元） or （元））."""
    if c is None:
        return BLANK
    v = c.value
    if v.kind == "invalid" and isinstance(c.raw, str) and normalise_text(c.raw) in PLACEHOLDERS:
        return BLANK
    if v.kind == "number" and v.unit in AMOUNT_UNITS and not v.percent and v.op is None:
        return dataclasses.replace(v, number=v.number * AMOUNT_UNITS[v.unit] / AMOUNT_UNITS[unit], unit=None)
    return v


def block_unit(grid: Grid, header_row: int, last_row: int) -> str:
    """元 when the block's label or header says (元), else 万元 (the forms' default)."""
    for row in range(max(1, header_row - 1), last_row + 1):
        for _, c in grid.row(row):
            if re.search(r"[(（]元[)）]", normalise_text(cell_text(c))):
                return "元"
    return "万元"


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


def _budget_table(grid: Grid, positions: dict[tuple[str, str], tuple[int, int]], unit: str = "万元") -> BudgetTable:
    """(budget row, budget column) → (sheet row, sheet column) read into a BudgetTable."""
    values = {key: _budget_value(grid.cell(r, c), unit) for key, (r, c) in positions.items()}
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
    columns = _titles_in_row(grid, row, _vocabulary().budget_columns)
    if "annual" not in columns and "initial" in columns:
        columns["annual"] = columns["initial"]  # a block with 年初预算数 and 全年执行数 only (贵州 部门整体)
    if "annual" not in columns or "executed" not in columns:
        return None
    rows = _labels_below(grid, row, min(columns.values()), _vocabulary().budget_rows)
    if "total" not in rows:
        return None
    points = None if "weight" in columns else _header_points(grid, row)
    # Its 执行率 is not copied into row (7): it is the 预算执行率 indicator's 业绩值, and the
    # rules' budget link already compares that with the table (one finding, not two).
    positions = {(row_key, col_key): (_row_of(label), columns[row_key])
                 for col_key, label in rows.items() if col_key in BUDGET_COLUMNS
                 for row_key in AMOUNT_ROWS if row_key in columns}
    # Findings about this block speak its names: 全年预算数, not the seeds' 全年预算资金(2).
    terms = {key: title_key(grid.text(row, column)) for key, column in columns.items() if key in AMOUNT_ROWS + ("rate",)}
    terms.update({key: title_key(grid.text(_row_of(label), _column_of(label))) for key, label in rows.items()})
    last_row = max(map(_row_of, rows.values()))
    unit = block_unit(grid, row, last_row)
    # 其中 rows with a 得分 of their own, read in the block's unit like its other amounts
    breakdown = tuple(_breakdown_row(grid, label, columns, unit) for key, label in rows.items()
                      if key != "total" and _block_value(grid, _row_of(label), columns, "score").is_number)
    return BudgetBlock(_budget_table(grid, positions, unit), header_row=row, last_row=last_row,
                       budget_row=_national_budget_row(grid, rows["total"], columns, points), terms=terms,
                       breakdown=breakdown)


def _block_value(grid: Grid, row: int, columns: dict[str, int], key: str, unit: str = "万元") -> Value:
    """The value a budget block's row holds in column `key` (blank when the block has no such column)."""
    return _budget_value(grid.cell(row, columns[key]), unit) if key in columns else BLANK


def _breakdown_row(grid: Grid, label: Loc, columns: dict[str, int], unit: str) -> "BreakdownRow":
    row = _row_of(label)

    def value(key: str) -> Value:
        return _block_value(grid, row, columns, key, unit)

    rate = grid.cell(row, columns["rate"]) if "rate" in columns else None
    return BreakdownRow(label=title_key(grid.text(row, _column_of(label))), annual=value("annual"),
                        executed=value("executed"), weight=value("weight"), score=grid.cell(row, columns["score"]),
                        rate=rate if rate is not None and not rate_as_points(rate.value).is_blank else None)


_HEADER_POINTS = re.compile(r"(\d+(?:\.\d+)?)分")


def _header_points(grid: Grid, row: int) -> Value | None:
    """The points a budget block without a 分值 column states in its header: 预算执行情况(20分), 得分(20分*执行率)."""
    for _, c in grid.row(row):
        m = _HEADER_POINTS.search(normalise_text(cell_text(c)))
        if m:
            return parse_value(m.group(1))
    return None


def _national_budget_row(grid: Grid, label: Loc, columns: dict[str, int], points: Value | None = None) -> AnnexRow:
    """The national form scores 预算执行率 in the budget block (分值 10), not among the indicators.

    As an indicator its 业绩值 is the published 执行率; left blank, it follows the table.
    """
    row = _row_of(label)

    def loc(key: str) -> Loc:
        return _loc(grid, row, columns[key]) if key in columns else label

    def value(key: str) -> Value:
        return _block_value(grid, row, columns, key)  # 分值, 执行率, 得分: no amounts, no unit

    actual = rate_as_points(value("rate"))
    locs = {f: label for f in ("level1", "level2", "level3", "direction", "target", "reason")}
    locs.update(weight=loc("weight"), actual=loc("rate"))
    indicator = Indicator(
        row=row, level1=BUDGET_LEVEL, level2=BUDGET_LEVEL, level3=BUDGET_INDICATOR_NAME, direction=None,
        weight=points if points is not None else value("weight"), target=parse_value("100%"), actual=actual, reason="",
        cells=locs, actual_linked=actual.is_blank,
    )
    # The 执行率 is the row's 业绩值 and its 完成率 at once; only the 得分 is a separate published value.
    score = grid.cell(row, columns["score"]) if "score" in columns else None
    return AnnexRow(indicator, rate=None, score=_published(score), has_reason=False)


FRACTION_RATE_LIMIT = Decimal("1.5")  # a bare 0.958 in a 执行率 cell is 95.8%; 1% execution is never written 0.01


def rate_as_points(v: Value) -> Value:
    """A published 执行率 typed as a fraction (0.958) in percent points, as the rules read rates."""
    if v.kind == "number" and not v.percent and v.op is None and v.unit is None and 0 < v.number <= FRACTION_RATE_LIMIT:
        return dataclasses.replace(v, number=v.number * 100, percent=True)
    return v


def budget_block_table(block: BudgetBlock) -> AnnexTable:
    """An empty 绩效指标 table standing for a budget block found without one (a cut-off copy)."""
    loc = block.budget_row.indicator.cells["weight"]
    return AnnexTable(sheet=block.table.sheet, header_row=block.header_row, rows=(), total=None, grade=None,
                      weight_total_loc=loc)


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
    from ..generated import generated_sheet_names  # the one reader of the markers

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
    """The project a generated 山西-layout 附件1 sheet belongs to: "项目名称：<name>" in its info row.
    (Only those sheets carry no budget table of their own: check pairs them with their input sheet's.)"""
    for row in ws.iter_rows(min_row=L.ANNEX_INFO_ROW, max_row=L.ANNEX_INFO_ROW):
        for c in row:
            if isinstance(c.value, str) and normalise_text(c.value).startswith(PROJECT_NAME_PREFIX):
                return re.split(r"[:：]", c.value, maxsplit=1)[1].strip()
    return None


def annex_project_name(ws: Worksheet) -> str | None:
    """The project any generated 附件1 sheet belongs to: the 山西 info row, or the cell right of a
    项目名称 label in its first rows (the forms with an info grid)."""
    name = generated_project_name(ws)
    if name is not None:
        return name
    labels = {title_key(c.title) for f in forms.all_forms() for row in f.info_rows for c in row if c.field == "name"}
    for row in ws.iter_rows(min_row=1, max_row=TITLE_ROWS_ABOVE):
        for c in row:
            if title_key(c.value) in labels:
                value = ws.cell(c.row, c.column + 1).value
                return str(value).strip() if value is not None else None
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
