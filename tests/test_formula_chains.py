"""Deep chains of formulas: any depth that is not a real cycle gets its exact value.

A running total down a column (B2 = B1 + A2, B3 = B2 + A3, …) is a chain as
deep as the column is long. The engine evaluates a few formulas inside one
another and the rest from an explicit stack (xlperf.formula.book), so neither
the depth nor Python's recursion limit turns it into #CIRCULAR!; a cell that
really reads itself, through any number of cells, still does.
"""
from __future__ import annotations

import re
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from xlperf import layout as L
from xlperf.crosscheck import crosscheck_any, same
from xlperf.formula import book as formula_book
from xlperf.formula import runtime as rt
from xlperf.formula.book import CIRCULAR, FormulaBook
from xlperf.formula.cached import cached_formula_values
from xlperf.profiles import load_profile
from xlperf.workbook_io import open_workbook

DEPTH = 2000
PROFILE = load_profile()
CROSSCHECK_CODES = {"stale-cached-value", "formula-rule-mismatch", "formula-error"}


def amounts(n: int = DEPTH) -> list[float]:
    """Amounts with cents, so that the running total's floating-point rounding is exercised."""
    return [round(i * 1.37 % 97 + 0.01 * (i % 7), 2) for i in range(1, n + 1)]


def running_totals(values: list[float]) -> list[float]:
    """B1 = A1, Bi = B(i-1) + Ai: the same additions, in the same order, as the formulas."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total = v if i == 0 else total + v
        out.append(total)
    return out


def running_total_sheet(ws, values: list[float], col: int = 1, first_row: int = 1) -> None:
    """Amounts in column col, their running total (one formula per row) in the next column."""
    a, b = get_column_letter(col), get_column_letter(col + 1)
    for i, v in enumerate(values):
        row = first_row + i
        ws.cell(row, col, v)
        ws.cell(row, col + 1, f"={a}{row}" if i == 0 else f"={b}{row - 1}+{a}{row}")


def test_a_2000_deep_running_total_is_exact():
    wb = Workbook()
    ws = wb.active
    values = amounts()
    running_total_sheet(ws, values)
    expected = running_totals(values)
    book = FormulaBook(wb)
    assert book.value(ws.title, DEPTH, 2) == expected[-1]  # the bottom first: the whole chain at once
    assert [book.value(ws.title, r, 2) for r in range(1, DEPTH + 1)] == expected
    assert book.depth == 0 and not book.pending


def test_every_order_of_evaluation_gives_the_same_values():
    wb = Workbook()
    ws = wb.active
    values = amounts()
    running_total_sheet(ws, values)
    expected = running_totals(values)
    top_down = FormulaBook(wb).evaluate_sheet(ws.title)
    middle_first = FormulaBook(wb)
    middle_first.value(ws.title, DEPTH // 2, 2)
    assert [top_down[(r, 2)] for r in range(1, DEPTH + 1)] == expected
    assert [middle_first.value(ws.title, r, 2) for r in range(DEPTH, 0, -1)] == expected[::-1]


def test_a_chain_across_sheets_through_sums_and_conditions():
    """A chain that goes through another sheet, a SUM of a range, an IF and IFERROR at every step."""
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    other = wb.create_sheet("明细")
    values = amounts(600)
    for i, v in enumerate(values, start=1):
        other.cell(i, 1, v)
        if i == 1:
            ws.cell(1, 1, "=明细!A1")
        elif i % 3 == 0:
            ws.cell(i, 1, f"=SUM(A{i - 1}:A{i - 1},明细!A{i})")
        elif i % 3 == 1:
            ws.cell(i, 1, f'=IF(A{i - 1}>=0,A{i - 1}+明细!A{i},"负数")')
        else:
            ws.cell(i, 1, f"=IFERROR(A{i - 1}+明细!A{i},0)")
    other["B1"] = "=汇总!A600"
    book = FormulaBook(wb)
    assert book.value("明细", 1, 2) == running_totals(values)[-1]
    assert book.fallback_cells == 0


def test_a_chain_through_fallback_formulas():
    """Formulas the compiler leaves to the `formulas` package still wait on the stack, not on recursion."""
    wb = Workbook()
    ws = wb.active
    n = 3 * formula_book._MAX_NESTING
    values = amounts(n)
    running_total_sheet(ws, values)
    for row in range(2, n + 1, 2):  # every other step with a function outside the compiler's library
        ws.cell(row, 2, f"=B{row - 1}+A{row}+SQRT(0)")
    book = FormulaBook(wb)
    assert same(book.value(ws.title, n, 2), running_totals(values)[-1])
    assert book.fallback_cells == n // 2  # each counted once, though waiting made some start twice


@pytest.mark.parametrize("size", [3, 2 * DEPTH])
def test_a_real_cycle_is_still_circular(size):
    """A1 → A2 → … → A(size) → A1: every cell of the ring, and a cell reading it, is #CIRCULAR!."""
    wb = Workbook()
    ws = wb.active
    ws["A1"] = f"=A{size}+1"
    for row in range(2, size + 1):
        ws.cell(row, 1, f"=A{row - 1}+1")
    ws["B1"] = f"=A{size // 2}*2"
    ws["C1"] = "=ISERROR(A1)"
    book = FormulaBook(wb)
    values = book.evaluate_sheet(ws.title)
    assert all(values[(row, 1)] == CIRCULAR for row in range(1, size + 1))
    assert values[(1, 2)] == CIRCULAR and values[(1, 3)] is True
    assert book.depth == 0 and not book.pending


def test_a_cycle_beside_a_deep_chain():
    """A deep chain that reads a 3-cell cycle halfway: the cycle is circular, and so is what reads it."""
    wb = Workbook()
    ws = wb.active
    values = amounts()
    running_total_sheet(ws, values)
    ws["D1"], ws["D2"], ws["D3"] = "=D3+1", "=D1+1", "=D2+1"
    ws["B1000"] = "=B999+A1000+D2"
    ws["E1"] = "=B999"  # above the cycle's reader: exact
    book = FormulaBook(wb)
    assert book.value(ws.title, DEPTH, 2) == CIRCULAR
    assert book.value(ws.title, 1, 5) == running_totals(values)[998]
    assert [book.value(ws.title, r, 4) for r in (1, 2, 3)] == [CIRCULAR] * 3


def test_a_chain_evaluated_with_little_stack_left():
    """Called from deep inside a program: running out of Python stack defers cells, it never makes them circular."""
    wb = Workbook()
    ws = wb.active
    values = amounts(500)
    running_total_sheet(ws, values)
    book = FormulaBook(wb)

    def depth() -> int:
        frame, n = sys._getframe(), 0
        while frame is not None:
            frame, n = frame.f_back, n + 1
        return n

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth() + 60)  # room for a few nested formulas, far fewer than _MAX_NESTING
    try:
        result = book.value(ws.title, 500, 2)
    finally:
        sys.setrecursionlimit(limit)
    assert result == running_totals(values)[-1]


# ---- a received workbook with a deep chain: no error finding -------------------------------------
def _with_cached_values(path: Path, cached: dict[str, dict[str, object]]) -> None:
    """Give every formula cell the value Excel would have saved (openpyxl writes an empty <v/>)."""
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', workbook)
        parts = {name: f"xl/worksheets/sheet{i}.xml" for i, name in enumerate(names, start=1)}
        contents = {info.filename: z.read(info.filename) for info in z.infolist()}
        infos = z.infolist()
    for sheet, values in cached.items():
        xml = contents[parts[sheet]].decode()

        def fill(m: re.Match) -> str:
            value = values[m.group(2)]
            kind = ' t="str"' if isinstance(value, str) else ""
            shown = value if isinstance(value, str) else repr(float(value))
            return f'<c r="{m.group(2)}"{m.group(3)}{kind}><f>{m.group(4)}</f><v>{shown}</v></c>'

        xml, n = re.subn(r'(<c r="([A-Z]+\d+)"([^>]*)><f>([^<]*)</f><v\s*/>\s*</c>)', fill, xml)
        assert n == len(values), (sheet, n, len(values))
        contents[parts[sheet]] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in infos:
            z.writestr(info, contents[info.filename])


def reviewed_workbook(path: Path) -> tuple[Path, float]:
    """A received 附件1 whose 指标得分 are formulas, beside two deep running totals, with Excel's cached values.

    明细!B1:B2000 runs down (B2 = B1 + A2 …) and 附件1 reads its bottom; 附件1!L4:L2003 runs up
    (L4 = L5 + K4 …), so reading the sheet from the top starts at the deep end of both chains.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "附件1"
    ws.append(["项目支出绩效自评表"])
    ws.append(["项目名称", "培训项目"])
    ws.append(list(L.ANNEX_COLUMNS))
    rows = [("产出指标", "数量指标", "培训人次", 50, "100", "90"), ("效益指标", "社会效益指标", "群众满意度", 50, "90%", "90%")]
    for i, row in enumerate(rows, start=4):
        ws.append(list(row) + [f"=ROUND(VALUE(F{i})/VALUE(E{i}),4)", f"=ROUND(D{i}*MIN(G{i},1),2)", "原因" if i == 4 else ""])
    ws.append(["总分", None, None, "=SUM(D4:D5)", None, None, None, "=SUM(H4:H5)", None])
    cached = {"G4": 0.9, "H4": 45.0, "G5": 1.0, "H5": 50.0, "D6": 100.0, "H6": 95.0}

    detail = wb.create_sheet("明细")
    values = amounts()
    running_total_sheet(detail, values)
    totals = running_totals(values)
    ws["K1"], ws["L1"] = "明细合计", "=明细!B2000"
    cached["L1"] = totals[-1]

    up = amounts()[::-1]  # K4:K2003, summed from the bottom
    last = 4 + DEPTH - 1
    for i, v in enumerate(up):
        row = 4 + i
        ws.cell(row, 11, v)
        ws.cell(row, 12, f"=K{row}" if row == last else f"=L{row + 1}+K{row}")
    for i, total in enumerate(running_totals(up[::-1])):
        cached[f"L{last - i}"] = total
    wb.save(path)
    _with_cached_values(path, {"附件1": cached, "明细": {f"B{r}": totals[r - 1] for r in range(1, DEPTH + 1)}})
    return path, totals[-1]


def test_crosscheck_of_a_deep_chain_finds_nothing(tmp_path):
    path, total = reviewed_workbook(tmp_path / "收到.xlsx")
    assert cached_formula_values(path, ["附件1"])["附件1"][(1, 12)] == total  # the cache is really there
    findings = crosscheck_any(open_workbook(path), path, ["附件1", "明细"])
    assert not findings, findings[:3]
    book = FormulaBook(open_workbook(path), ["附件1"])
    assert book.value("附件1", 4, 12) != CIRCULAR and book.value("附件1", 1, 12) == total


def test_check_of_a_deep_chain_raises_no_error(tmp_path):
    from xlperf.check import check_workbook

    path, _ = reviewed_workbook(tmp_path / "收到.xlsx")
    report = check_workbook(path, PROFILE)
    assert not [f for f in report.findings if f.severity == "error" or f.code in CROSSCHECK_CODES], \
        [(f.code, f.cell, f.message) for f in report.findings][:5]
    assert report.tables[0].total == Decimal("95")


def test_xlperf_check_command_on_a_deep_chain(tmp_path):
    from typer.testing import CliRunner

    from xlperf.cli import app

    path, _ = reviewed_workbook(tmp_path / "收到.xlsx")
    result = CliRunner().invoke(app, ["check", str(path), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "#CIRCULAR!" not in result.stdout


def test_errors_in_a_deep_chain_stay_errors():
    """Not everything deep is fine: a #DIV/0! at the top of a 2 000-deep chain reaches its bottom."""
    wb = Workbook()
    ws = wb.active
    running_total_sheet(ws, amounts())
    ws["B1"] = "=A1/0"
    assert FormulaBook(wb).value(ws.title, DEPTH, 2) == rt.DIV0
