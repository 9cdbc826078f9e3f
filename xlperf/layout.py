"""Where every field of the workbook lives. The one owner of coordinates.

The template builder, the readers, the writers and the Excel formulas all ask
this module; nothing else hard-codes a row or a column of the input sheet.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    "total": "年度总金额(万元)",
    "subtotal": "小计",
    "central": "中央级",
    "provincial": "省级",
    "municipal": "市级",
    "county": "县区级",
    "carryover": "上年结转资金(万元)",
    "other": "其他资金(万元)",
}
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

TOTAL_ROW = INDICATOR_LAST_ROW + 1  # 64: 权重合计 in E, 总得分 in I
GRADE_ROW = TOTAL_ROW + 1  # 65: 评价等级 in I
WEIGHT_TOTAL_CELL = f"{INDICATOR_COLUMN_LETTERS['weight']}{TOTAL_ROW}"
TOTAL_SCORE_CELL = f"{INDICATOR_COLUMN_LETTERS['score']}{TOTAL_ROW}"
GRADE_CELL = f"{INDICATOR_COLUMN_LETTERS['score']}{GRADE_ROW}"
INPUT_COLUMN_WIDTHS = {"A": 16, "B": 18, "C": 34, "D": 10, "E": 9, "F": 13, "G": 13, "H": 11, "I": 11, "J": 40, "K": 3, "L": 10, "M": 10}


def info_cell(field: str) -> str:
    return f"B{INFO_FIRST_ROW + INFO_FIELDS.index(field)}"


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
    if cell == NAME_CELL:
        return True
    if row in {INFO_FIRST_ROW + i for i in range(len(INFO_FIELDS))} | {GOALS_FIRST_ROW + i for i in range(len(GOAL_FIELDS))}:
        return letter == "B"
    if row in BUDGET_ROW_NUMBERS.values():
        amount_row = next(k for k, v in BUDGET_ROW_NUMBERS.items() if v == row)
        col = next((k for k, v in BUDGET_COLUMN_LETTERS.items() if v == letter), None)
        return amount_row in BUDGET_AMOUNT_ROWS and col is not None and col not in BUDGET_FORMULA_COLUMNS
    if INDICATOR_FIRST_ROW <= row <= INDICATOR_LAST_ROW:
        field = next((k for k, v in INDICATOR_COLUMN_LETTERS.items() if v == letter), None)
        return field in INDICATOR_INPUT_FIELDS
    return False


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


def safe_sheet_name(name: str, taken: set[str], prefix: str = "", reserved: bool = True) -> str:
    """A valid, unused sheet name: forbidden characters replaced, ≤31 chars, numbered if taken.

    reserved: also avoid the names of the sheets xlperf owns (for users' project sheets).
    """
    cleaned = "".join("_" if ch in FORBIDDEN_SHEET_CHARS else ch for ch in (name or "").strip()).strip("'") or "项目"
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
