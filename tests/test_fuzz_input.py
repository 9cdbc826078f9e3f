"""Fuzz (issue 6): random input sheets — random values, types and blank patterns in every input cell.

recalc and check never raise, never write a score above its weight, and every
indicator row with anything typed in it is either scored or has a finding at
its row.

Two runs of the same check (issue 27): a regression sample in the suite (derandomised: the same 12
sheets every time), and a search (new sheets on every run, pytest -m search in .ci/run) whose
failures are printed and saved in tests/hypothesis-db/fuzz-input, committed, and tried first by
every later run.
"""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_from_string

from xlperf import layout as L
from xlperf.check import check_workbook
from xlperf.pipeline import recalc_workbook
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.inputs import ProjectInput
from xlperf.values import parse_value

from .strategies import typed_value

PROFILE = load_profile()
SHEET = "随机项目"
INPUT_CELLS = [f"{get_column_letter(c)}{r}" for r in range(1, L.GRADE_ROW + 1) for c in range(1, 14)
               if L.is_input_cell(f"{get_column_letter(c)}{r}")]
ERRORS = ("#DIV/0!", "#REF!", "#VALUE!", "#N/A", "#NAME?")
WORDS = ("约90%", "90%以上", "暂无", "/", "—", "-", "=1+1", "+5", "@x", "及时", "部分达成", "产出指标", "数量指标",
         "正向", "反向", "定性", "预算执行率", "１００％", "≥95%", " ", "\n")

values = st.one_of(
    st.none(), st.none(), st.none(),
    st.integers(min_value=-1000, max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.decimals(min_value=0, max_value=200, places=2).map(float),
    typed_value,
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.booleans(),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.sampled_from(ERRORS).map(lambda e: ("error", e)),
    st.sampled_from(("=1/0", "=E25*2", "=SUM(E24:E30)")).map(lambda f: ("formula", f)),
)


@st.composite
def sheets(draw):
    """{cell: value} for a random subset of the input cells; indicator rows more often filled at the top."""
    active_rows = draw(st.integers(min_value=0, max_value=10))
    cells = {}
    for ref in INPUT_CELLS:
        _, row = coordinate_from_string(ref)
        in_table = L.INDICATOR_FIRST_ROW <= row <= L.INDICATOR_LAST_ROW
        if in_table and row > L.INDICATOR_FIRST_ROW + active_rows and not draw(st.integers(0, 40)) == 0:
            continue  # mostly blank below the active rows, with a stray value now and then
        cells[ref] = draw(values)
    return cells


def _type(ws, ref, value):
    cell = ws[ref]
    if hasattr(value, "number_format") and hasattr(value, "value"):  # strategies.Typed: a number with its format
        cell.value, cell.number_format = value.value, value.number_format
    elif isinstance(value, tuple) and value[0] == "error":
        cell.value = value[1]
        cell.data_type = "e"
    elif isinstance(value, tuple):
        cell.value = value[1]  # a formula typed by the user (no cached value: never calculated)
    elif isinstance(value, str):
        from xlperf.writers.cells import clean_text

        cell.value = clean_text(value) or None
        if cell.value is not None:
            cell.data_type = "s"  # typed text, as Excel keeps it in a text cell
    else:
        cell.value = value


def _row_has_input(ws, row: int) -> bool:
    for field in L.INDICATOR_INPUT_FIELDS:
        ref = L.indicator_cell(field, row)
        v = ws[ref].value
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if isinstance(v, str) and v.startswith("=") and ws[ref].data_type == "f":
            if field in ("direction",) or (field == "actual" and row == L.BUDGET_INDICATOR_ROW):
                continue  # the template's own formula
        return True
    return False


_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


@settings(max_examples=12, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=_HEALTH)
@given(cells=sheets())
def test_random_input_sheets_regression_sample(tmp_path_factory, cells):
    """The same 12 random sheets on every run (derandomised): a regression sample, not a search."""
    _never_break_recalc_or_check(tmp_path_factory.mktemp("fuzz"), cells)


@pytest.mark.search
@settings(max_examples=int(os.environ.get("XLPERF_SEARCH_EXAMPLES", "25")), deadline=None, derandomize=False,
          print_blob=True, suppress_health_check=_HEALTH,
          database=DirectoryBasedExampleDatabase(str(Path(__file__).parent / "hypothesis-db" / "fuzz-input")))
@given(cells=sheets())
def test_random_input_sheets_search(tmp_path_factory, cells):
    """New random sheets on every run (pytest -m search); a failure is printed and saved in the database."""
    _never_break_recalc_or_check(tmp_path_factory.mktemp("fuzz"), cells)


def _never_break_recalc_or_check(folder: Path, cells: dict) -> None:
    wb = new_workbook([ProjectInput(name=SHEET)], PROFILE)
    ws = wb[SHEET]
    for ref, value in cells.items():
        _type(ws, ref, value)
    typed_rows = [r for r in L.indicator_rows() if _row_has_input(ws, r)]
    path = folder / "随机.xlsx"
    wb.save(path)

    report = recalc_workbook(path, None, PROFILE)  # never raises
    result = report.results[0]
    for r in result.indicators:
        if r.score is not None:
            weight = r.indicator.weight
            assert weight.is_number and Decimal(0) <= r.score <= weight.number, (r.indicator.row, r.score, weight)
    scored = {r.indicator.row for r in result.indicators if r.score is not None}
    reported = {coordinate_from_string(f.cell)[1] for f in report.findings if f.sheet == SHEET and f.cell}
    for row in typed_rows:
        assert row in scored or row in reported, (row, [(f.code, f.cell) for f in report.findings])

    if report.annex_sheets[0] is None:  # nothing typed: an unused project sheet is said once and left out
        assert [f.code for f in result.findings if f.severity != "info"] == ["project-not-filled"]
        return
    out = openpyxl.load_workbook(path)
    annex = out[report.annex_sheets[0]]
    weight_col = L.ANNEX_FIELDS.index("weight") + 1
    score_col = L.ANNEX_FIELDS.index("score") + 1
    for row in range(L.ANNEX_FIRST_ROW, L.ANNEX_FIRST_ROW + len(result.indicators)):
        w, s = parse_value(annex.cell(row, weight_col).value), parse_value(annex.cell(row, score_col).value)
        if s.is_number:
            assert w.is_number and s.number <= w.number, (row, s.shown, w.shown)

    checked = check_workbook(path, PROFILE)  # never raises
    assert not [f for f in checked.findings if f.code == "score-above-weight"]
