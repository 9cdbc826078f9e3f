"""What an accountant types into one input sheet, and the code that types it.

`ProjectInput` is the data; `type_into(ws, data)` writes it into the input
cells exactly as Excel stores typing into them (text cells keep "90%" as text,
numbers in number cells), so the seeds and the examples take the same path a
user's values take.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .. import layout as L


@dataclass(frozen=True)
class Typed:
    """A number as it lands in a cell when pasted with its format (0.95 shown as 95%)."""

    value: float
    number_format: str = "General"


def _type_value(cell, value) -> None:
    from ..writers.cells import set_text

    if isinstance(value, Typed):
        cell.value, cell.number_format = value.value, value.number_format
    else:
        set_text(cell, value)


@dataclass(frozen=True)
class IndicatorInput:
    level1: str = ""
    level2: str = ""
    level3: str = ""
    weight: object = None  # number as typed
    target: str = ""
    actual: str = ""
    reason: str = ""
    direction: str = ""  # blank: the template's formula infers it


@dataclass(frozen=True)
class ProjectInput:
    name: str
    meta: dict = field(default_factory=dict)  # keys of layout.PROJECT_LIST_KEYS (without name/sheet)
    info: dict = field(default_factory=dict)  # layout.INFO_FIELDS → text
    goals: dict = field(default_factory=dict)  # layout.GOAL_FIELDS → text
    budget: dict = field(default_factory=dict)  # (row, column) → amount typed, rows (1)–(4)
    indicators: tuple[IndicatorInput, ...] = ()
    budget_actual_typed: object = None  # a value typed over the 预算执行率 link (seed 000): str or Typed
    side: dict = field(default_factory=dict)  # layout.SIDE_FIELDS keys (department, implementer) → text
    achieved: str = ""  # 年度绩效目标's 实际完成情况
    amount_unit: str = ""  # 万元 (the template's) or 元
    report: dict = field(default_factory=dict)  # layout.REPORT_FIELDS → text (the Word report's own sections)


def _number(x):
    if isinstance(x, Decimal):
        return int(x) if x == x.to_integral_value() else float(x)
    return x


def type_into(ws, data: ProjectInput) -> None:
    """Type a project's values into an input sheet built by template.build."""
    from ..writers.cells import set_text

    set_text(ws[L.NAME_CELL], data.name)
    for key, (_, _, block) in L.SIDE_FIELDS.items():
        if data.side.get(key):
            set_text(ws[block.split(":")[0]], data.side[key])
    if data.achieved:
        set_text(ws[L.ACHIEVED_BLOCK.split(":")[0]], data.achieved)
    if data.amount_unit:
        set_text(ws[L.AMOUNT_UNIT_CELL], data.amount_unit)
    for f, text in data.info.items():
        set_text(ws[L.info_cell(f)], text)
    for f, text in data.goals.items():
        set_text(ws[L.goal_cell(f)], text)
    for f, text in data.report.items():
        set_text(ws[L.report_cell(f)], text)
    for (row, col), amount in data.budget.items():
        ws[L.budget_cell(row, col)] = _number(amount)
    rows = list(L.indicator_rows())
    budget_first = bool(data.indicators) and "预算执行率" in data.indicators[0].level3
    # The template pre-fills its first row with 预算执行率; other indicators start below it.
    start = 0 if budget_first else 1
    for ind, row in zip(data.indicators, rows[start:]):
        c = lambda f: ws[L.indicator_cell(f, row)]  # noqa: E731
        for f in ("level1", "level2", "level3", "reason"):
            set_text(c(f), getattr(ind, f))
        if ind.direction:
            set_text(c("direction"), ind.direction)
        c("weight").value = _number(ind.weight)
        _type_value(c("target"), ind.target)
        if row != L.BUDGET_INDICATOR_ROW:
            _type_value(c("actual"), ind.actual)
    if data.budget_actual_typed is not None:
        _type_value(ws[L.indicator_cell("actual", L.BUDGET_INDICATOR_ROW)], data.budget_actual_typed)
