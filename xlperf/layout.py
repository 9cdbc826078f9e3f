"""Where every field of the workbook lives. The one owner of coordinates.

The template builder, the readers, the writers and the Excel formulas all ask
this module; nothing else hard-codes a row or a column of the input sheet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from openpyxl.utils import get_column_letter

from .model import BUDGET_COLUMNS, BUDGET_ROWS

# ---- sheet names and markers -------------------------------------------------
INSTRUCTIONS_SHEET = "使用说明"
PROJECT_LIST_SHEET = "项目清单"
SUMMARY_SHEET = "汇总"
FINDINGS_SHEET = "校验结果"
ANNEX_PREFIX = "附件1-"
INPUT_TITLE = "项目支出绩效自评录入表"  # A1 of every input sheet: how the reader finds them
ANNEX_TITLE = "附件1.项目支出绩效自评表"
RESERVED_SHEETS = (INSTRUCTIONS_SHEET, PROJECT_LIST_SHEET, SUMMARY_SHEET, FINDINGS_SHEET)
MAX_SHEET_NAME = 31
FORBIDDEN_SHEET_CHARS = '[]:*?/\\'
# A custom document property listing the sheets xlperf generated (so recalc
# replaces exactly those and never a sheet the user made).
GENERATED_PROPERTY = "xlperf.generated_sheets"
# A sheet-scoped defined name on every generated sheet, ="<the sheet's name>": the record
# Excel itself (and xlwings, which cannot set document properties) reads and writes.
# A copy or a renamed sheet no longer matches its own name, so it counts as the user's.
GENERATED_MARKER = "xlperf_generated"
# A hidden sheet-scoped name on each input sheet holding the print area xlperf last gave it. A print area
# equal to it is xlperf's to follow the rows in use; one the user set (it differs) is left as it is.
# It is a reference, not a text, so Excel moves it with the print area when rows are inserted.
PRINT_AREA_MARKER = "xlperf_print_area"

# ---- 项目清单 ---------------------------------------------------------------
PROJECT_LIST_COLUMNS = ("项目名称", "预算单位", "主管部门", "项目负责人", "联系人", "联系电话", "电子邮箱", "年度", "录入表")
PROJECT_LIST_KEYS = ("name", "unit", "department", "leader", "contact", "phone", "email", "year", "sheet")
PROJECT_LIST_HEADER_ROW = 1
PROJECT_LIST_FIRST_ROW = 2

# ---- input sheet -------------------------------------------------------------
INPUT_LAST_COLUMN = 10  # A..J
TITLE_CELL = "A1"
NAME_LABEL_CELL = "A2"
NAME_CELL = "B2"
NAME_BLOCK = "B2:D2"
# What the national form states beside the project name, typed on the name row. Read by their labels,
# so a sheet made before they existed (name merged over B2:J2) still reads: they are then empty.
SIDE_FIELDS = {"department": ("主管部门", "E2", "F2:G2"), "implementer": ("实施单位", "H2", "I2:J2")}
# 年度绩效目标 is the national form's 预期目标; its 实际完成情况 is typed beside it on the same row.
EXPECTED_GOAL = "年度绩效目标"
ACHIEVED_LABEL = "实际完成情况"

INFO_FIELDS = ("项目概况", "立项依据", "设立的必要性", "保证项目实施的措施与制度", "项目实施计划")
INFO_SECTION_ROW = 3
INFO_FIRST_ROW = 4  # one row per INFO_FIELDS entry, label in A, text merged B:J

BUDGET_SECTION_ROW = INFO_FIRST_ROW + len(INFO_FIELDS)  # 9
BUDGET_HEADER_ROW = BUDGET_SECTION_ROW + 1  # 10 and 11
BUDGET_FIRST_ROW = BUDGET_HEADER_ROW + 2  # 12: row (1)
BUDGET_ROW_NUMBERS = {key: BUDGET_FIRST_ROW + i for i, key in enumerate(BUDGET_ROWS)}  # initial→12 … execution_rate→18
BUDGET_ROW_TITLES = {
    "initial": ("年初预算资金", "(1)"),
    "annual": ("全年预算资金", "(2)"),
    "received": ("实际到位资金", "(3)"),
    "executed": ("全年执行资金", "(4)"),
    "balance": ("资金结余", "(5)=(3)-(4)"),
    "arrival_rate": ("预算到位率", "(6)=(3)/(2)"),
    "execution_rate": ("预算执行率(%)", "(7)=(4)/(2)"),
}
BUDGET_COLUMN_LETTERS = dict(zip(BUDGET_COLUMNS, "CDEFGHIJ"))  # total→C … other→J
BUDGET_COLUMN_TITLES = {
    "total": "年度总金额",
    "subtotal": "小计",
    "central": "中央级",
    "provincial": "省级",
    "municipal": "市级",
    "county": "县区级",
    "carryover": "上年结转资金",
    "other": "其他资金",
}
# The unit of every amount on the sheet, chosen right of the section title (older sheets: 万元).
AMOUNT_UNIT_LABEL = "金额单位"
AMOUNT_UNIT_LABEL_CELL = f"I{BUDGET_SECTION_ROW}"
AMOUNT_UNIT_CELL = f"J{BUDGET_SECTION_ROW}"
AMOUNT_UNITS = ("万元", "元")
BUDGET_AMOUNT_ROWS = ("initial", "annual", "received", "executed")
BUDGET_FORMULA_COLUMNS = ("total", "subtotal")  # in the amount rows; the rest are typed

GOALS_SECTION_ROW = BUDGET_FIRST_ROW + len(BUDGET_ROWS)  # 19
GOAL_FIELDS = ("实施期绩效目标", "年度绩效目标")
GOALS_FIRST_ROW = GOALS_SECTION_ROW + 1  # 20, 21

INDICATOR_SECTION_ROW = GOALS_FIRST_ROW + len(GOAL_FIELDS)  # 22
INDICATOR_HEADER_ROW = INDICATOR_SECTION_ROW + 1  # 23
INDICATOR_FIRST_ROW = INDICATOR_HEADER_ROW + 1  # 24
INDICATOR_ROWS = 40
INDICATOR_LAST_ROW = INDICATOR_FIRST_ROW + INDICATOR_ROWS - 1  # 63
INDICATOR_FIELDS = ("level1", "level2", "level3", "direction", "weight", "target", "actual", "rate", "score", "reason")
INDICATOR_TITLES = ("一级指标", "二级指标", "三级指标", "指标方向", "权重", "目标值", "业绩值", "完成率", "指标得分", "偏差原因分析及改进措施")
INDICATOR_COLUMN_LETTERS = dict(zip(INDICATOR_FIELDS, "ABCDEFGHIJ"))
INDICATOR_INPUT_FIELDS = ("level1", "level2", "level3", "direction", "weight", "target", "actual", "reason")
# Hidden helper columns: the target and the actual as numbers (percent points).
HELPER_COLUMN_LETTERS = {"target_number": "L", "actual_number": "M"}
BUDGET_INDICATOR_ROW = INDICATOR_FIRST_ROW  # pre-filled 预算执行率 row; its 业绩值 links to row (7)

HELPER_TITLES = {"target_number": "目标值(数)", "actual_number": "业绩值(数)"}
BUDGET_CORNER_TITLES = ("项目", "行次")  # A and B of the budget header, merged over its two rows
BUDGET_GROUP_TITLE = "财政资金"  # over 小计…县区级
TOTAL_LABEL = "合计（权重合计 / 总得分）"
GRADE_LABEL = "评价等级"

TOTAL_ROW = INDICATOR_LAST_ROW + 1  # 64: 权重合计 in E, 总得分 in I
GRADE_ROW = TOTAL_ROW + 1  # 65: 评价等级 in I
WEIGHT_TOTAL_CELL = f"{INDICATOR_COLUMN_LETTERS['weight']}{TOTAL_ROW}"
TOTAL_SCORE_CELL = f"{INDICATOR_COLUMN_LETTERS['score']}{TOTAL_ROW}"
GRADE_CELL = f"{INDICATOR_COLUMN_LETTERS['score']}{GRADE_ROW}"
# ---- the report's own text (xlperf report): a section below the 评价等级 row ----------------------
# Label in A, text merged B:J, like INFO_FIELDS. Read by their labels, so a sheet made before they
# existed still reads (they are then empty) and a blank one is written from the numbers.
REPORT_SECTION_TITLE = "五、自评报告文字（xlperf report 写入自评报告；留空的由计算结果生成）"
REPORT_FIELDS = ("项目实施和预算执行情况及分析", "产出情况及分析", "效益情况及分析", "满意度情况及分析",
                 "项目主要经验做法", "项目管理中存在问题及原因分析", "进一步加强项目管理措施及建议")
REPORT_SECTION_ROW = GRADE_ROW + 2  # 67: one blank row under 评价等级
REPORT_FIRST_ROW = REPORT_SECTION_ROW + 1  # 68 … 74

INPUT_COLUMN_WIDTHS = {"A": 16, "B": 18, "C": 34, "D": 10, "E": 9, "F": 13, "G": 13, "H": 11, "I": 11, "J": 40, "K": 3, "L": 10, "M": 10}


@lru_cache(maxsize=4096)
def _reference(column: str, row: int) -> str:
    """"H24": one string for every sheet that has its field there (a thousand projects keep a few hundred)."""
    return f"{column}{row}"


def goal_blocks() -> dict[str, str]:
    """The input blocks of the goal rows: 年度绩效目标 shares its row with its 实际完成情况."""
    last = get_column_letter(INPUT_LAST_COLUMN)
    blocks = {f: f"B{GOALS_FIRST_ROW + i}:{last}{GOALS_FIRST_ROW + i}" for i, f in enumerate(GOAL_FIELDS)}
    blocks[EXPECTED_GOAL] = f"B{_EXPECTED_ROW}:F{_EXPECTED_ROW}"
    return blocks


_EXPECTED_ROW = GOALS_FIRST_ROW + GOAL_FIELDS.index(EXPECTED_GOAL)
ACHIEVED_LABEL_CELL = f"G{_EXPECTED_ROW}"
ACHIEVED_BLOCK = f"H{_EXPECTED_ROW}:{get_column_letter(INPUT_LAST_COLUMN)}{_EXPECTED_ROW}"


def info_cell(field: str) -> str:
    return f"B{INFO_FIRST_ROW + INFO_FIELDS.index(field)}"


def report_cell(field: str) -> str:
    return f"B{REPORT_FIRST_ROW + REPORT_FIELDS.index(field)}"


def goal_cell(field: str) -> str:
    return f"B{GOALS_FIRST_ROW + GOAL_FIELDS.index(field)}"


def budget_cell(row: str, column: str) -> str:
    return f"{BUDGET_COLUMN_LETTERS[column]}{BUDGET_ROW_NUMBERS[row]}"


def indicator_cell(field: str, row: int) -> str:
    letter = INDICATOR_COLUMN_LETTERS.get(field) or HELPER_COLUMN_LETTERS[field]
    return f"{letter}{row}"


def indicator_rows() -> range:
    return range(INDICATOR_FIRST_ROW, INDICATOR_LAST_ROW + 1)


def is_input_cell(cell: str) -> bool:
    """True for every cell an accountant types into (unlocked in the template)."""
    from openpyxl.utils.cell import coordinate_from_string

    letter, row = coordinate_from_string(cell)
    if cell == NAME_CELL or cell in {block.split(":")[0] for _, _, block in SIDE_FIELDS.values()}:
        return True
    if cell in (ACHIEVED_BLOCK.split(":")[0], AMOUNT_UNIT_CELL):
        return True
    if row in {INFO_FIRST_ROW + i for i in range(len(INFO_FIELDS))} | {GOALS_FIRST_ROW + i for i in range(len(GOAL_FIELDS))} | \
            {REPORT_FIRST_ROW + i for i in range(len(REPORT_FIELDS))}:
        return letter == "B"
    if row in BUDGET_ROW_NUMBERS.values():
        amount_row = next(k for k, v in BUDGET_ROW_NUMBERS.items() if v == row)
        col = next((k for k, v in BUDGET_COLUMN_LETTERS.items() if v == letter), None)
        return amount_row in BUDGET_AMOUNT_ROWS and col is not None and col not in BUDGET_FORMULA_COLUMNS
    if INDICATOR_FIRST_ROW <= row <= INDICATOR_LAST_ROW:
        field = next((k for k, v in INDICATOR_COLUMN_LETTERS.items() if v == letter), None)
        return field in INDICATOR_INPUT_FIELDS
    return False


# ---- where the fields of one input sheet actually are ------------------------------
# Accountants insert and delete rows, move columns. The reader verifies the
# anchor labels above and, when they moved, finds every table by its labels.
@dataclass(frozen=True)
class InputPositions:
    """The positions of one input sheet's fields: the template's, or found by their labels."""

    name_cell: str
    info_cells: Mapping[str, str]  # INFO_FIELDS → cell
    goal_cells: Mapping[str, str]  # GOAL_FIELDS → cell
    budget_rows: Mapping[str, int]  # BUDGET_ROWS → row
    budget_columns: Mapping[str, str]  # BUDGET_COLUMNS → letter
    indicator_header_row: int
    indicator_rows: tuple[int, ...]
    indicator_columns: Mapping[str, str]  # INDICATOR_FIELDS and the helper columns found → letter
    total_row: int
    grade_row: int
    budget_indicator_row: int

    def budget_cell(self, row: str, column: str) -> str:
        return _reference(self.budget_columns[column], self.budget_rows[row])

    def indicator_cell(self, field: str, row: int) -> str:
        return _reference(self.indicator_columns[field], row)

    @property
    def weight_total_cell(self) -> str:
        return f"{self.indicator_columns['weight']}{self.total_row}"

    @property
    def total_score_cell(self) -> str:
        return f"{self.indicator_columns['score']}{self.total_row}"

    @property
    def grade_cell(self) -> str:
        return f"{self.indicator_columns['score']}{self.grade_row}"

    @property
    def moved(self) -> bool:
        """True when anything is not where the template put it."""
        return self != TEMPLATE_POSITIONS


TEMPLATE_POSITIONS = InputPositions(
    name_cell=NAME_CELL,
    info_cells={f: info_cell(f) for f in INFO_FIELDS},
    goal_cells={f: goal_cell(f) for f in GOAL_FIELDS},
    budget_rows=dict(BUDGET_ROW_NUMBERS),
    budget_columns=dict(BUDGET_COLUMN_LETTERS),
    indicator_header_row=INDICATOR_HEADER_ROW,
    indicator_rows=tuple(indicator_rows()),
    indicator_columns={**INDICATOR_COLUMN_LETTERS, **HELPER_COLUMN_LETTERS},
    total_row=TOTAL_ROW,
    grade_row=GRADE_ROW,
    budget_indicator_row=BUDGET_INDICATOR_ROW,
)


def input_print_ranges(positions: InputPositions, last_used_row: int, last_row: int) -> list[str]:
    """The print area of an input sheet: everything above the indicator table's rows, the rows in use
    (down to last_used_row), then 权重合计/总得分 and below (to last_row). The unused indicator rows in
    between are left out; the two ranges then print as two pages, as Excel and LibreOffice print a
    print area of two ranges."""
    from openpyxl.utils import column_index_from_string

    letters = [v for k, v in positions.indicator_columns.items() if k not in HELPER_COLUMN_LETTERS]
    letters += list(positions.budget_columns.values())
    last = get_column_letter(max(column_index_from_string(x) for x in letters))
    first_indicator = positions.indicator_rows[0] if positions.indicator_rows else positions.total_row
    upper = max(last_used_row, first_indicator)
    if upper + 1 >= positions.total_row:
        return [f"$A$1:${last}${max(last_row, positions.total_row)}"]
    return [f"$A$1:${last}${upper}", f"$A${positions.total_row}:${last}${max(last_row, positions.grade_row)}"]


def print_area_text(title: str, ranges: list[str]) -> str:
    """A print area's definition as workbook.xml holds it: 'title'!$A$1:$J$26,'title'!$A$64:$J$74."""
    from openpyxl.utils import quote_sheetname

    return ",".join(f"{quote_sheetname(title)}!{r}" for r in ranges)


class LayoutChanged(Exception):
    """The input sheet's tables cannot be found by their labels. cell: where the missing label belongs."""

    def __init__(self, cell: str, message: str):
        super().__init__(message)
        self.cell = cell
        self.message = message


LOCATE_MAX_ROWS = 2000  # an input sheet has 65 rows; users add indicator rows, not thousands
LOCATE_MAX_COLUMNS = 40


def _label_key(value) -> str:
    """A label as compared: no white space; a trailing (万元) dropped (sheets made before the amount unit
    could be chosen title 年度总金额(万元); now the unit is the 金额单位 cell's)."""
    if not isinstance(value, str):
        return ""
    key = "".join(value.split())
    for legacy in ("(万元)", "（万元）"):
        key = key.removesuffix(legacy)
    return key


def _template_anchors() -> dict[str, str]:
    """cell → label every input sheet carries there (the anchors the reader verifies)."""
    out = {TITLE_CELL: INPUT_TITLE, NAME_LABEL_CELL: "项目名称"}
    out.update({f"A{INFO_FIRST_ROW + i}": f for i, f in enumerate(INFO_FIELDS)})
    out.update({f"A{GOALS_FIRST_ROW + i}": f for i, f in enumerate(GOAL_FIELDS)})
    out[f"A{BUDGET_HEADER_ROW}"], out[f"B{BUDGET_HEADER_ROW}"] = BUDGET_CORNER_TITLES
    for col, letter in BUDGET_COLUMN_LETTERS.items():
        row = BUDGET_HEADER_ROW + (1 if col in ("subtotal", "central", "provincial", "municipal", "county") else 0)
        out[f"{letter}{row}"] = BUDGET_COLUMN_TITLES[col]
    for key, row in BUDGET_ROW_NUMBERS.items():
        out[f"A{row}"] = BUDGET_ROW_TITLES[key][0]
    for field, title in zip(INDICATOR_FIELDS, INDICATOR_TITLES):
        out[f"{INDICATOR_COLUMN_LETTERS[field]}{INDICATOR_HEADER_ROW}"] = title
    for field, title in HELPER_TITLES.items():
        out[f"{HELPER_COLUMN_LETTERS[field]}{INDICATOR_HEADER_ROW}"] = title
    out[f"A{TOTAL_ROW}"], out[f"A{GRADE_ROW}"] = TOTAL_LABEL, GRADE_LABEL
    return out


TEMPLATE_ANCHORS = _template_anchors()


def locate_input_positions(ws) -> InputPositions:
    """Where the fields of input sheet ws are. Raises LayoutChanged when a table cannot be found.

    The anchors (labels and header titles) are checked at the template's
    cells first; when one is elsewhere, each table is found by its labels:
    rows inserted or deleted, columns inserted or moved are all followed.
    """
    if all(_label_key(ws[ref].value) == _label_key(text) for ref, text in TEMPLATE_ANCHORS.items()):
        return TEMPLATE_POSITIONS
    return _Locator(ws).locate()


class _Locator:
    def __init__(self, ws):
        self.where: dict[str, list[tuple[int, int]]] = {}
        max_row = min(ws.max_row or 1, LOCATE_MAX_ROWS)
        max_col = min(ws.max_column or 1, LOCATE_MAX_COLUMNS)
        for row in ws.iter_rows(min_row=1, max_row=max_row, max_col=max_col):
            for cell in row:
                key = _label_key(cell.value)
                if key:
                    self.where.setdefault(key, []).append((cell.row, cell.column))
        self.texts = {rc: k for k, rcs in self.where.items() for rc in rcs}

    def find(self, label: str, template_cell: str, what: str, after: int = 0) -> tuple[int, int]:
        """The first cell (row-major) below row `after` holding label."""
        hits = sorted(rc for rc in self.where.get(_label_key(label), []) if rc[0] > after)
        if not hits:
            raise LayoutChanged(template_cell, f"找不到{what}“{label}”（模板中位于 {template_cell}）：录入表的结构被改动，"
                                               "无法确定各项内容的位置，本表未评分。请恢复该标题，或把内容复制到新的录入表（xlperf add-project）")
        return hits[0]

    def locate(self) -> InputPositions:
        title = self.find(INPUT_TITLE, TITLE_CELL, "标题")
        name_r, name_c = self.find("项目名称", NAME_LABEL_CELL, "标签", after=title[0] - 1)
        info = {}
        last = name_r
        for i, f in enumerate(INFO_FIELDS):
            r, c = self.find(f, f"A{INFO_FIRST_ROW + i}", "基本情况标签", after=last)
            info[f], last = f"{column(c + 1)}{r}", r
        corner_r, _ = self.find(BUDGET_CORNER_TITLES[1], f"B{BUDGET_HEADER_ROW}", "预算执行情况表标题", after=last)
        budget_columns = {}
        for col in BUDGET_COLUMNS:
            two = col in ("subtotal", "central", "provincial", "municipal", "county")
            template = f"{BUDGET_COLUMN_LETTERS[col]}{BUDGET_HEADER_ROW + (1 if two else 0)}"
            r, c = self.find(BUDGET_COLUMN_TITLES[col], template, "预算执行情况表列标题", after=corner_r - 1)
            if r > corner_r + 1:
                raise LayoutChanged(template, f"预算执行情况表的列标题“{BUDGET_COLUMN_TITLES[col]}”不在表头行：录入表的结构被改动，本表未评分")
            budget_columns[col] = column(c)
        budget_rows = {}
        last = corner_r + 1
        for key in BUDGET_ROWS:
            r, _ = self.find(BUDGET_ROW_TITLES[key][0], f"A{BUDGET_ROW_NUMBERS[key]}", "预算执行情况表行标题", after=last)
            budget_rows[key], last = r, r
        goals = {}
        for i, f in enumerate(GOAL_FIELDS):
            r, c = self.find(f, f"A{GOALS_FIRST_ROW + i}", "绩效目标标签", after=last)
            goals[f], last = f"{column(c + 1)}{r}", r
        header_r, _ = self.find(INDICATOR_TITLES[0], f"A{INDICATOR_HEADER_ROW}", "绩效指标表列标题", after=last)
        indicator_columns = {}
        for field, title in [*zip(INDICATOR_FIELDS, INDICATOR_TITLES), *HELPER_TITLES.items()]:
            letter = INDICATOR_COLUMN_LETTERS.get(field) or HELPER_COLUMN_LETTERS[field]
            hits = [c for r, c in self.where.get(_label_key(title), []) if r == header_r]
            if not hits:
                if field in HELPER_TITLES:
                    continue  # hidden helper columns deleted: only the template's formulas used them
                raise LayoutChanged(f"{letter}{INDICATOR_HEADER_ROW}",
                                    f"绩效指标表的列标题“{title}”不在表头行（第 {header_r} 行）：录入表的结构被改动，"
                                    "无法确定各列的位置，本表未评分。请恢复该列标题")
            indicator_columns[field] = column(hits[0])
        total_r, _ = self.find(TOTAL_LABEL, f"A{TOTAL_ROW}", "合计行标签", after=header_r)
        grade_r, _ = self.find(GRADE_LABEL, f"A{GRADE_ROW}", "评价等级标签", after=total_r)
        rows = tuple(range(header_r + 1, total_r))
        if not rows:
            raise LayoutChanged(f"A{INDICATOR_FIRST_ROW}", "绩效指标表没有任何指标行：录入表的结构被改动，本表未评分")
        level3 = indicator_columns["level3"]
        from .vocabulary import BUDGET_INDICATOR_NAME

        budget_row = next((r for r in rows if BUDGET_INDICATOR_NAME in self.texts.get((r, column_index(level3)), "")),
                          rows[0])
        return InputPositions(
            name_cell=f"{column(name_c + 1)}{name_r}", info_cells=info, goal_cells=goals, budget_rows=budget_rows,
            budget_columns=budget_columns, indicator_header_row=header_r, indicator_rows=rows,
            indicator_columns=indicator_columns, total_row=total_r, grade_row=grade_r, budget_indicator_row=budget_row)


def column_index(letter: str) -> int:
    from openpyxl.utils import column_index_from_string

    return column_index_from_string(letter)


# ---- 附件1 sheet (generated) --------------------------------------------------
ANNEX_COLUMNS = ("一级指标", "二级指标", "目标指标", "权重", "目标值", "业绩值", "完成率", "指标得分", "偏差原因分析及改进措施")
ANNEX_TITLE_ROW = 1
ANNEX_INFO_ROW = 2  # 项目名称 / 预算单位 / 年度
ANNEX_HEADER_ROW = 3
ANNEX_FIRST_ROW = 4
ANNEX_FIELDS = ("level1", "level2", "level3", "weight", "target", "actual", "rate", "score", "reason")
ANNEX_COLUMN_WIDTHS = (14, 18, 36, 8, 12, 12, 11, 10, 40)

# ---- 汇总 and 校验结果 (generated) -------------------------------------------
SUMMARY_COLUMNS = ("项目名称", "总得分", "评价等级", "预算执行率", "错误", "警告", "提示")
FINDINGS_COLUMNS = ("严重程度", "代码", "位置", "说明", "填报值", "应为")
SUMMARY_COLUMN_WIDTHS = (40, 10, 10, 12, 8, 8, 8)
FINDINGS_COLUMN_WIDTHS = (10, 26, 24, 80, 16, 16)


@dataclass(frozen=True)
class SheetNames:
    """The sheet names chosen for one project."""

    input: str
    annex: str


def decode_control_escapes(text: str) -> str:
    """text with Excel's escapes of the characters XML cannot hold decoded (OOXML ST_Xstring: "_x000B_" is a
    vertical tab, "_x0007_" a bell), so that they are dropped or replaced as the characters themselves are.
    Only escapes of control characters, surrogates and U+FFFE/U+FFFF are decoded: "_x0041_" stays as typed."""
    if "_x" not in text:
        return text

    def decoded(m) -> str:
        code = int(m.group(1), 16)
        return chr(code) if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code >= 0xFFFE \
            else m.group(0)

    return _CONTROL_ESCAPE.sub(decoded, text)


_CONTROL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def printable_name(name: str) -> str:
    """name without what no name may hold: control and format characters (line feeds, ESC, the
    right-to-left override, and Excel's escapes of them such as "_x000B_"), surrogates left by invalid
    UTF-8, private-use and non-XML characters; runs of white space become one space."""
    import unicodedata

    kept = "".join(" " if ch.isspace() else ch for ch in decode_control_escapes(name or "")
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return " ".join(kept.split())


def safe_sheet_name(name: str, taken: set[str], prefix: str = "", reserved: bool = True) -> str:
    """A valid, unused sheet name: control characters dropped, forbidden characters replaced, ≤31 chars,
    numbered if taken.

    reserved: also avoid the names of the sheets xlperf owns (for users' project sheets).
    """
    visible = printable_name(name)
    cleaned = "".join("_" if ch in FORBIDDEN_SHEET_CHARS else ch for ch in visible).strip("'") or "项目"
    base = (prefix + cleaned)[:MAX_SHEET_NAME]
    lower = {t.lower() for t in taken} | ({r.lower() for r in RESERVED_SHEETS} if reserved else set())
    candidate, n = base, 1
    while candidate.lower() in lower:
        n += 1
        suffix = f"({n})"
        candidate = base[: MAX_SHEET_NAME - len(suffix)] + suffix
    return candidate


def column(letter_index: int) -> str:
    return get_column_letter(letter_index)
