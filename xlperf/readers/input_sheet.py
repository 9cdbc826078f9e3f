"""Read the template's input sheets into `Project` records.

A cell holding the template's own formula is "derived": the engine computes it
from the rules. A typed constant is read as typed. Another formula is read
through its cached value and reported, so nothing is scored silently wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..model import BLANK, BUDGET_COLUMNS, BUDGET_ROWS, INFO, WARNING, BudgetTable, Finding, Indicator, Loc, Project, Value
from ..rules.indicator import make_finding
from ..template.formulas import overwritable_formula_cells, template_formulas
from ..values import parse_value

CachedValue = Callable[[str, str], object]  # (sheet, cell) → cached value of a formula cell


def is_input_sheet(ws) -> bool:
    return isinstance(ws, Worksheet) and ws[L.TITLE_CELL].value == L.INPUT_TITLE


def input_sheets(wb: Workbook) -> list[Worksheet]:
    return [ws for ws in wb.worksheets if is_input_sheet(ws)]


def formula_text(value) -> str | None:
    if isinstance(value, ArrayFormula):
        return value.text
    if isinstance(value, str) and value.startswith("="):
        return value
    return None


_STRING = re.compile(r'"(?:[^"]|"")*"')


def normalise_formula(f: str) -> str:
    """Compare formulas the way Excel re-saves them: case and spaces outside strings ignored."""
    parts, last = [], 0
    for m in _STRING.finditer(f):
        parts.append(re.sub(r"\s+", "", f[last:m.start()]).upper().replace("_XLFN.", ""))
        parts.append(m.group(0))
        last = m.end()
    parts.append(re.sub(r"\s+", "", f[last:]).upper().replace("_XLFN.", ""))
    return "".join(parts)


@dataclass(frozen=True)
class _Cell:
    """One cell as the reader classifies it."""

    value: Value
    derived: bool  # holds the template's formula
    formula: str | None


class _SheetReader:
    def __init__(self, ws: Worksheet, cached: CachedValue, profile):
        self.ws = ws
        self.cached = cached
        self.expected = template_formulas(profile)
        self.findings: list[Finding] = []

    def loc(self, ref: str) -> Loc:
        return Loc(self.ws.title, ref)

    def text(self, ref: str) -> str:
        v = self.ws[ref].value
        if v is None or formula_text(v):
            v = self.cached(self.ws.title, ref) if formula_text(v) else v
        return "" if v is None else str(v).strip()

    def cell(self, ref: str) -> _Cell:
        c = self.ws[ref]
        f = formula_text(c.value)
        expected = self.expected.get(ref)
        if f is not None:
            if expected is not None and normalise_formula(f) == normalise_formula(expected):
                return _Cell(BLANK, True, f)
            cached = self.cached(self.ws.title, ref)
            if expected is not None:
                self.findings.append(make_finding(WARNING, "formula-changed", self.loc(ref),
                                                  f"此单元格的公式被改为 {f}，模板公式为 {expected}；已按其计算结果“{cached}”读取，请核对或恢复模板公式",
                                                  published=f, expected=expected))
            return _Cell(parse_value(cached, c.number_format), False, f)
        if expected is not None and ref not in overwritable_formula_cells() and c.value is not None:
            self.findings.append(make_finding(WARNING, "formula-overwritten", self.loc(ref),
                                              f"自动计算单元格的公式被改为固定值“{c.value}”，应为公式 {expected}；请恢复公式",
                                              published=str(c.value), expected=expected))
        return _Cell(parse_value(c.value, c.number_format), False, None)


def read_project(ws: Worksheet, meta: dict, cached: CachedValue, profile) -> Project:
    r = _SheetReader(ws, cached, profile)
    name = r.text(L.NAME_CELL)
    if not name:
        name = ws.title
        r.findings.append(make_finding(INFO, "missing-name", r.loc(L.NAME_CELL), f"项目名称未填写，已使用工作表名“{ws.title}”"))
    info = {f: r.text(L.info_cell(f)) for f in L.INFO_FIELDS}
    info.update({f: r.text(L.goal_cell(f)) for f in L.GOAL_FIELDS})
    budget = _read_budget(r)
    indicators = _read_indicators(r)
    return Project(
        name=name,
        sheet=ws.title,
        info=info,
        budget=budget,
        indicators=tuple(indicators),
        meta=meta,
        read_findings=tuple(r.findings),
        total_loc=r.loc(L.TOTAL_SCORE_CELL),
        weight_total_loc=r.loc(L.WEIGHT_TOTAL_CELL),
    )


def _read_budget(r: _SheetReader) -> BudgetTable:
    values, cells, derived = {}, {}, {}
    for row in BUDGET_ROWS:
        for col in BUDGET_COLUMNS:
            ref = L.budget_cell(row, col)
            c = r.cell(ref)
            values[(row, col)], cells[(row, col)], derived[(row, col)] = c.value, r.loc(ref), c.derived
    return BudgetTable(sheet=r.ws.title, values=values, cells=cells, derived=derived)


def _read_indicators(r: _SheetReader) -> list[Indicator]:
    out: list[Indicator] = []
    level1 = level2 = ""
    for row in L.indicator_rows():
        refs = {f: L.indicator_cell(f, row) for f in L.INDICATOR_INPUT_FIELDS}
        texts = {f: r.text(refs[f]) for f in ("level1", "level2", "level3", "reason")}
        weight, target, actual = r.cell(refs["weight"]), r.cell(refs["target"]), r.cell(refs["actual"])
        direction = r.cell(refs["direction"])
        if not any(texts.values()) and weight.value.is_blank and target.value.is_blank and \
                (actual.value.is_blank or actual.derived):
            continue  # blank rows are ignored
        # Blank means "same as above"; a new 一级 group starts its 二级 afresh.
        if texts["level1"] and texts["level1"] != level1:
            level1, level2 = texts["level1"], ""
        level2 = texts["level2"] or level2
        out.append(Indicator(
            row=row,
            level1=level1,
            level2=level2,
            level3=texts["level3"],
            direction=None if direction.derived else (direction.value.shown or None),
            weight=weight.value,
            target=target.value,
            actual=actual.value,
            reason=texts["reason"],
            cells={f: r.loc(ref) for f, ref in refs.items()},
            actual_linked=actual.derived,
        ))
    return out


def read_project_list(wb: Workbook) -> dict[str, dict]:
    """项目清单 rows keyed by input sheet name (录入表) and by project name."""
    if L.PROJECT_LIST_SHEET not in wb.sheetnames:
        return {}
    ws = wb[L.PROJECT_LIST_SHEET]
    out: dict[str, dict] = {}
    for row in ws.iter_rows(min_row=L.PROJECT_LIST_FIRST_ROW, max_col=len(L.PROJECT_LIST_KEYS), values_only=True):
        record = {k: ("" if v is None else str(v).strip()) for k, v in zip(L.PROJECT_LIST_KEYS, row)}
        if not record.get("name") and not record.get("sheet"):
            continue
        for key in (record.get("sheet"), record.get("name")):
            if key and key not in out:
                out[key] = record
    return out


def read_projects(wb: Workbook, cached: CachedValue, profile) -> list[Project]:
    project_list = read_project_list(wb)
    projects = []
    for ws in input_sheets(wb):
        name = ws[L.NAME_CELL].value
        meta = project_list.get(ws.title) or project_list.get(str(name or "").strip()) or {}
        projects.append(read_project(ws, meta, cached, profile))
    return projects
