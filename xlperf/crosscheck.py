"""Cross-check every formula of the input sheets: its value in Python, the value cached in the file, the rules.

Three witnesses per cell. The formula's value comes from xlperf.formula (the
faithful engine), the cached value is what Excel/WPS last saved, and the rule
value is the engine's own result for the cells that are rates, scores, totals,
grades or budget figures. Each disagreement is a finding at that cell.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

from .formula import runtime as rt
from .formula.book import UNSUPPORTED, FormulaBook, cell_name, formula_of
from .readers.input_sheet import expected_formulas, is_template_formula
from .formula.cached import stored_formula_values
from .forking import default_workers, fork_map
from .model import ERROR, WARNING, Finding, Loc, ProjectResult
from .rules.indicator import make_finding
from .values import format_number, half_up

_TOLERANCE = Decimal("1e-9")


def _show(v) -> str:
    try:
        return _shown(v)
    except (ArithmeticError, ValueError):
        return str(v)


def _shown(v) -> str:
    if v is None or v == "":
        return "空"
    if isinstance(v, rt.XlError):
        return v.code
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return rt.general(v)
    if isinstance(v, Decimal):
        return format_number(v)
    return str(v)


def same(a, b) -> bool:
    """Equal as Excel would show them: numbers to 1e-9 relative, blank ≡ "", text exactly."""
    blank_a, blank_b = a is None or a == "", b is None or b == ""
    if blank_a or blank_b:
        return blank_a and blank_b
    if isinstance(a, rt.XlError) or isinstance(b, rt.XlError):
        return isinstance(a, rt.XlError) and isinstance(b, rt.XlError) and a.code == b.code
    numeric = (float, int, Decimal)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool):
        if any(isinstance(x, float) and not math.isfinite(x) for x in (a, b)):
            return a == b
        da, db = Decimal(repr(a)) if isinstance(a, float) else Decimal(a), Decimal(repr(b)) if isinstance(b, float) else Decimal(b)
        return abs(da - db) <= _TOLERANCE * max(abs(da), abs(db), Decimal(1))
    return a == b


def _difference(a, b) -> str:
    numeric = (float, int, Decimal)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool):
        d = abs(Decimal(repr(a) if isinstance(a, float) else a) - Decimal(repr(b) if isinstance(b, float) else b))
        return f"，相差 {format_number(half_up(d, Decimal('1e-10')).normalize())}"  # half_up: a huge d stays as it is
    return ""


def rule_values(result: ProjectResult) -> dict[str, object]:
    """The rule's value for each formula cell of one input sheet that the rules also compute."""
    pos = result.project.positions
    out: dict[str, object] = {}
    rows_with_errors = {f.cell for f in result.findings if f.severity == ERROR}
    # A target the rules read in another unit than Excel's formula (0.95 beside 90%): the warning at the
    # target cell says what Excel shows and what to type; the row and the total are not compared again.
    read_otherwise = {f.cell for f in result.findings if f.code == "unit-ambiguous"
                      for r in result.indicators if r.indicator.cells.get("target") and r.indicator.cells["target"].cell == f.cell}
    rows_with_errors |= read_otherwise
    if result.budget is not None:
        for (row, col), amount in result.budget.amounts.items():
            out[pos.budget_cell(row, col)] = amount
    for r in result.indicators:
        row = r.indicator.row
        input_cells = {loc.cell for loc in r.indicator.cells.values()}
        if input_cells & rows_with_errors:
            continue  # the rules refuse to score this row; Excel's value there is no score
        out[pos.indicator_cell("rate", row)] = r.rate
        out[pos.indicator_cell("score", row)] = r.score
        if r.indicator.direction is None and not r.is_budget:
            out[pos.indicator_cell("direction", row)] = r.direction
        if r.indicator.actual_linked:
            out[pos.indicator_cell("actual", row)] = r.indicator.actual.shown or None
    if not rows_with_errors and result.total is not None:  # an unscored sheet has no total to compare
        out[pos.total_score_cell] = result.total
        out[pos.grade_cell] = result.grade
    return out


def _computed_cells(result: ProjectResult) -> list[str]:
    """Formula cells the input reader never reads: 完成率, 指标得分, the helper columns and the totals."""
    pos = result.project.positions
    rows = {r.indicator.row for r in result.indicators}
    fields = [f for f in ("rate", "score", "target_number", "actual_number") if f in pos.indicator_columns]
    cells = [pos.indicator_cell(f, row) for row in sorted(rows) for f in fields]
    return cells + [pos.weight_total_cell, pos.total_score_cell, pos.grade_cell]


def overwritten_formulas(wb, result: ProjectResult, expected: dict[str, str]) -> list[Finding]:
    """A computed cell holding a typed value, another formula, or nothing where the template has its formula."""
    ws = wb[result.project.sheet]
    out = []
    for ref in _computed_cells(result):
        cell = ws[ref]
        loc = Loc(ws.title, ref)
        if ref not in expected:
            continue  # the template has no formula here in this sheet's layout (a referenced row was deleted)
        if cell.data_type == "f":
            formula = formula_of(cell) or ""
            if not is_template_formula(ref, formula, expected, result.project.positions.moved):
                out.append(make_finding(WARNING, "formula-changed", loc,
                                        f"此单元格的公式被改为 {formula}，模板公式为 {expected[ref]}；请核对或恢复模板公式",
                                        published=formula, expected=expected[ref]))
            continue
        if cell.value is None:
            out.append(make_finding(ERROR, "formula-deleted", loc,
                                    f"自动计算单元格的公式被删除，Excel 中不再显示结果；请恢复公式 {expected[ref]}",
                                    expected=expected[ref]))
        else:
            out.append(make_finding(ERROR, "formula-overwritten", loc,
                                    f"自动计算单元格的公式被改为固定值“{cell.value}”，Excel 不会再随填写内容更新；"
                                    f"请恢复公式 {expected[ref]}", published=str(cell.value), expected=expected[ref]))
    return out


def _function_finding(book: FormulaBook, sheet: str, r: int, c: int, stored: dict) -> Finding | None:
    """A formula calling a function no engine here computes: said once, at its cell, in words."""
    key, loc = (sheet, r, c), Loc(sheet, cell_name(r, c))
    formula = re.sub(r"(?i)_xl(?:fn|ws)\.", "", book.formulas[sheet][(r, c)])  # as Excel shows it: =WEBSERVICE(…)
    if key in book.unknown:
        names = "、".join(book.unknown[key])
        return make_finding(WARNING, "formula-unknown-function", loc,
                            f"公式 {formula} 中的 {names} 不是 Excel 函数（可能是函数名拼写有误），Excel 中显示 #NAME?；"
                            "请改正函数名，或直接填写数值", published=formula)
    if key in book.uncomputable:
        names = "、".join(n.removeprefix("_XLFN.").removeprefix("_XLWS.") for n in book.uncomputable[key])
        kept = stored.get((r, c))
        how = (f"已按文件中保存的结果“{_show(kept)}”核对引用它的单元格" if kept is not None
               else "文件中也没有保存它的计算结果，引用它的单元格无法核对")
        what = (f"使用了函数 {names}，xlperf 无法重新计算它（需要联网或较新版本 Excel 的函数）" if names
                else "xlperf 无法重新计算（可能引用了其他工作簿或定义的名称）")
        return make_finding(WARNING, "formula-unsupported-function", loc,
                            f"公式 {formula} {what}；{how}。评分所用的单元格请直接填写数值", published=formula)
    return None


def compare_formulas(book: FormulaBook, sheet: str, stored: dict, rules: dict[str, object],
                     template: dict[str, str] | None = None) -> list[Finding]:
    """Every formula cell of one sheet: its value against the cached value and, where there is one, the rule.

    template: cell → the template formula it should hold. Such a cell that still holds it gets no
    formula-error: its error comes from a cell it reads, and is reported there."""
    findings: list[Finding] = []
    template = template or {}
    for (r, c), value in book.evaluate_sheet(sheet).items():
        ref = cell_name(r, c)
        loc = Loc(sheet, ref)
        formula = book.formulas[sheet][(r, c)]
        said = _function_finding(book, sheet, r, c, stored)
        if said is not None:
            findings.append(said)
            continue
        if value == UNSUPPORTED:
            continue  # reads a cell whose function could not be computed (said there): nothing to compare
        if (r, c) in stored and not same(stored[(r, c)], value):
            findings.append(make_finding(
                WARNING, "stale-cached-value", loc,
                f"文件中保存的计算结果为 {_show(stored[(r, c)])}，按公式 {formula} 重新计算应为 {_show(value)}"
                f"{_difference(stored[(r, c)], value)}；保存该文件的软件没有重新计算，打开后请重新计算（Ctrl+Alt+F9）再保存",
                published=_show(stored[(r, c)]), expected=_show(value)))
        if ref in rules and not same(value, rules[ref]):
            findings.append(make_finding(
                ERROR, "formula-rule-mismatch", loc,
                f"公式 {formula} 的结果为 {_show(value)}，评分规则的结果为 {_show(rules[ref])}"
                f"{_difference(value, rules[ref])}；Excel 中显示的数值有误，请恢复模板公式",
                published=_show(value), expected=_show(rules[ref])))
        elif isinstance(value, rt.XlError) and ref not in rules and value.code != "#N/A" and not _untouched(ref, formula, template):
            findings.append(make_finding(
                WARNING, "formula-error", loc, f"公式 {formula} 的结果为错误值 {value.code}，请检查它引用的单元格",
                published=value.code))
    return findings


def _untouched(ref: str, formula: str, template: dict[str, str]) -> bool:
    return ref in template and is_template_formula(ref, formula, template)


def crosscheck_any(wb, path: Path, sheets: list[str]) -> list[Finding]:
    """For a reviewer's workbook: every formula of the given sheets against the values the file stores."""
    cached = stored_formula_values(wb, path, sheets)
    book = FormulaBook(wb, sheets, stored=cached)
    findings: list[Finding] = []
    for sheet in sheets:
        findings += compare_formulas(book, sheet, cached.get(sheet, {}), {})
    return findings


PARALLEL_FROM = 40  # projects: below this a second process costs more than it saves


def crosscheck(wb, path: Path | None, results: list[ProjectResult], profile=None,
               cached: dict | None = None, workers: int | None = 1) -> list[Finding]:
    """Findings for every formula cell of the projects' input sheets where two witnesses disagree.

    The stored values are the file's at path, or cached (sheet → (row, column) → value) when given.
    workers: processes to share the projects among; None: one per core from PARALLEL_FROM projects on, where the
    system can fork (only for a process of its own, such as the command line: never fork a threaded server).
    The findings are the same, in the same order, either way.
    """
    sheets = [r.project.sheet for r in results]
    if cached is None:
        cached = stored_formula_values(wb, path, sheets)
    if workers is None:
        workers = default_workers(len(results), PARALLEL_FROM)
    workers = max(1, min(workers, len(results)))
    chunks = [list(range(i, len(results), workers)) for i in range(workers)]  # one chunk: this process
    parts = list(fork_map(_crosscheck_chunk, chunks, (wb, sheets, results, profile, cached), workers))
    by_index = {i: found for chunk, part in zip(chunks, parts) for i, found in zip(chunk, part)}
    return [f for i in range(len(results)) for f in by_index[i]]


def _crosscheck_chunk(shared, indices: list[int]) -> list[list[Finding]]:
    wb, sheets, results, profile, cached = shared
    book = FormulaBook(wb, sheets, stored=cached)
    return [_crosscheck_project(wb, book, results[i], profile, cached) for i in indices]


def _crosscheck_project(wb, book: FormulaBook, result: ProjectResult, profile, cached: dict) -> list[Finding]:
    positions = result.project.positions
    if positions is None:
        return []  # the tables were not found at all: the reader reported it, there is nothing to compare
    sheet = result.project.sheet
    # Rows or columns moved: the template's formulas translated to where this sheet's cells are now.
    expected = expected_formulas(positions, profile)
    found = overwritten_formulas(wb, result, expected)
    found += compare_formulas(book, sheet, cached.get(sheet, {}), rule_values(result), expected)
    return [f.for_project(result.project.name, sheet) for f in found]
