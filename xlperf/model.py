"""Immutable records that flow through the pipeline.

workbook → readers (Project) → rules (ProjectResult) → writers.
Every record that came from a cell carries its sheet and cell address so that
findings can point at it, the way beancount entries carry their source.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Mapping

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_LABELS = {ERROR: "错误", WARNING: "警告", INFO: "提示"}
# Findings of the reader that leave a project unscored (total None, 未评分), never "0 分 差".
UNSCORED_CODES = frozenset({"layout-changed", "project-sheet-missing", "project-not-filled"})


_DOCUMENT_CELL = re.compile(r"R\d+C\d+")  # a cell of a Word table (never an A1 address: letters come first there)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a workbook, at one sheet!cell."""

    severity: str
    code: str
    sheet: str
    cell: str
    message: str
    published: str | None = None
    expected: str | None = None
    # The project the finding concerns, as typed in its input sheet's 项目名称 (B2); None when the
    # sheet is not a project's (a reviewer's 附件1, 使用说明…). Sheets are often still named 项目1.
    project: str | None = None

    @property
    def where(self) -> str:
        if not self.cell:
            return self.sheet
        if self.cell.startswith("段落") or _DOCUMENT_CELL.fullmatch(self.cell):
            return f"{self.sheet} {self.cell}"  # a Word document: 表3 R2C5, 正文 段落12 (xlperf.check_docx)
        return f"{self.sheet}!{self.cell}"

    @property
    def place(self) -> str:
        """The location as the user reads it: sheet!cell, and the project's name when the sheet's name is not it."""
        if self.project and self.project != self.sheet:
            return f"{self.where}（{self.project}）"
        return self.where

    def for_project(self, name: str | None, sheet: str) -> "Finding":
        """This finding naming project `name` when it is on that project's sheet (and names no project yet)."""
        if not name or self.project is not None or self.sheet != sheet:
            return self
        return replace(self, project=name)

    def as_json(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "sheet": self.sheet,
            "cell": self.cell,
            "message": self.message,
            "published": self.published,
            "expected": self.expected,
            "project": self.project,
        }


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a value lives in the workbook."""

    sheet: str
    cell: str


@dataclass(frozen=True, slots=True)
class Value:
    """A cell value as an accountant typed it, parsed.

    kind: "blank" | "number" | "text" | "invalid".
    number is in the value's own unit; for percentages it is in percent
    points (90% → 90), so a bare 90 and 90% compare as the same unit.
    """

    kind: str
    shown: str = ""
    number: Decimal | None = None
    percent: bool = False
    op: str | None = None  # ">=", "<=", ">", "<", "="
    unit: str | None = None
    text: str | None = None
    problem: str | None = None  # why it is invalid, in Chinese

    @property
    def is_blank(self) -> bool:
        return self.kind == "blank"

    @property
    def is_number(self) -> bool:
        return self.kind == "number"


BLANK = Value("blank")


@dataclass(frozen=True, slots=True)
class Indicator:
    """One row of the 绩效指标 table (input side)."""

    row: int
    level1: str
    level2: str
    level3: str
    direction: str | None  # 正向/反向/定性 as typed; None = infer
    weight: Value
    target: Value
    actual: Value
    reason: str
    cells: Mapping[str, Loc]  # field name → location
    actual_linked: bool = False  # 业绩值 is the template's link to row (7)


BUDGET_ROWS = ("initial", "annual", "received", "executed", "balance", "arrival_rate", "execution_rate")
BUDGET_COLUMNS = ("total", "subtotal", "central", "provincial", "municipal", "county", "carryover", "other")
SUBTOTAL_PARTS = ("central", "provincial", "municipal", "county")
TOTAL_PARTS = ("subtotal", "carryover", "other")


@dataclass(frozen=True, slots=True)
class BudgetTable:
    """The 预算执行情况 table as read: rows (1)–(4) amounts, (5)–(7) as published.

    values[(row, column)] is what the cell holds; derived[(row, column)] is True
    where the cell holds the template's own formula (the engine derives it).
    """

    sheet: str
    values: Mapping[tuple[str, str], Value]
    cells: Mapping[tuple[str, str], Loc]
    derived: Mapping[tuple[str, str], bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    sheet: str
    # layout.INFO_FIELDS, GOAL_FIELDS, ACHIEVED_LABEL and REPORT_FIELDS (the Word report's own text,
    # "" when blank or when the sheet predates them) → text as typed
    info: Mapping[str, str]
    budget: BudgetTable | None
    indicators: tuple[Indicator, ...]
    meta: Mapping[str, str] = field(default_factory=dict)
    read_findings: tuple[Finding, ...] = ()
    total_loc: Loc | None = None
    weight_total_loc: Loc | None = None
    # Where the input sheet's fields were read (layout.InputPositions); None: not an input sheet.
    # positions.moved is True when rows or columns were inserted, deleted or moved.
    positions: object | None = None


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    indicator: Indicator
    direction: str  # 正向/反向/定性
    rate: Decimal | None  # completion rate as a fraction, 4 places (1.0000 = 100.00%)
    score: Decimal | None
    is_budget: bool = False


@dataclass(frozen=True, slots=True)
class BudgetResult:
    """Every cell of the budget table after derivation: amounts in 万元, rates in percent points."""

    amounts: Mapping[tuple[str, str], Decimal | None]
    execution_rate: Decimal | None  # percent points of the column the indicator links to
    rate_column: str | None


@dataclass(frozen=True, slots=True)
class ProjectResult:
    project: Project
    indicators: tuple[IndicatorResult, ...]
    budget: BudgetResult | None
    total: Decimal | None  # None: the sheet's tables were not found, nothing was scored (grade UNSCORED_GRADE)
    grade: str
    findings: tuple[Finding, ...]

    @property
    def budget_execution_rate(self) -> Decimal | None:
        return self.budget.execution_rate if self.budget else None
