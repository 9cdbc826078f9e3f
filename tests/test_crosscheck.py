"""The formula cross-check: each kind of tampering is caught at the right cell; clean workbooks raise nothing."""
from __future__ import annotations

import re
from decimal import Decimal
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlperf import layout as L
from xlperf import libreoffice
from xlperf.crosscheck import same
from xlperf.formula import runtime as rt
from xlperf.formula.book import FormulaBook
from xlperf.formula.cached import cached_formula_values
from xlperf.pipeline import recalc_workbook
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.seeds import SEED_004

PROFILE = load_profile()
CROSSCHECK_CODES = {"stale-cached-value", "formula-rule-mismatch", "formula-error"}
SHEET = SEED_004.name
ROW = L.INDICATOR_FIRST_ROW + 6  # 使用者满意度: 98% → 11.03
SCORE = L.indicator_cell("score", ROW)
RATE = L.indicator_cell("rate", ROW)


def _findings(path, **kw):
    report = recalc_workbook(path, path.with_name("out.xlsx"), PROFILE, **kw)
    return [(f.code, f.sheet, f.cell) for f in report.findings]


@pytest.fixture
def seed_book(tmp_path) -> Path:
    path = tmp_path / "种子.xlsx"
    new_workbook([SEED_004], PROFILE).save(path)
    return path


@pytest.fixture(scope="module")
def calculated_seed_book(tmp_path_factory) -> Path:
    """The seed workbook with cached values, as LibreOffice (or Excel) saves it."""
    if not libreoffice.available():
        pytest.skip("LibreOffice 未安装")
    d = tmp_path_factory.mktemp("calc")
    new_workbook([SEED_004], PROFILE).save(d / "种子.xlsx")
    return libreoffice.recalculate(d / "种子.xlsx", d / "lo")


def _edit(path: Path, ref: str, value) -> None:
    wb = load_workbook(path)
    wb[SHEET][ref] = value
    wb.save(path)


def test_clean_workbook_has_no_crosscheck_findings(seed_book):
    assert not [f for f in _findings(seed_book) if f[0] in CROSSCHECK_CODES]


def test_typed_over_formula(seed_book):
    _edit(seed_book, SCORE, 11.25)
    assert ("formula-overwritten", SHEET, SCORE) in _findings(seed_book)


def test_changed_formula(seed_book):
    _edit(seed_book, SCORE, f"=E{ROW}*H{ROW}")  # no ROUND: 11.025 instead of 11.03
    found = _findings(seed_book)
    assert ("formula-changed", SHEET, SCORE) in found
    assert ("formula-rule-mismatch", SHEET, SCORE) in found


def test_shifted_reference(seed_book):
    """A formula dragged one row off reads its neighbour's values: its value disagrees with the rule."""
    shifted = f'=IF(OR(H{ROW + 1}="",NOT(ISNUMBER(E{ROW + 1}))),"",ROUND(E{ROW + 1}*MIN(H{ROW + 1},1),2))'
    _edit(seed_book, SCORE, shifted)
    assert ("formula-rule-mismatch", SHEET, SCORE) in _findings(seed_book)


def test_shifted_reference_to_blank_row(seed_book):
    last = L.INDICATOR_LAST_ROW
    _edit(seed_book, RATE, f'=IF(OR(M{last}="",D{last}=""),"",ROUND(MAX(M{last}/L{last},0),4))')
    assert ("formula-rule-mismatch", SHEET, RATE) in _findings(seed_book)


def test_no_crosscheck_flag(seed_book):
    _edit(seed_book, SCORE, f"=E{ROW}*H{ROW}")
    assert ("formula-rule-mismatch", SHEET, SCORE) not in _findings(seed_book, crosscheck=False)


def test_deleted_formula(seed_book):
    _edit(seed_book, SCORE, None)  # the Delete key on a computed cell
    assert ("formula-deleted", SHEET, SCORE) in _findings(seed_book)


def _delete_row(path: Path, row: int) -> None:
    """Delete one whole row the way Excel does: everything below moves up, every reference follows."""
    from tests.excel_edits import delete_rows

    wb = load_workbook(path)
    delete_rows(wb[SHEET], row)
    wb.save(path)


def test_deleted_indicator_row_is_checked_where_the_cells_are_now(seed_book):
    """After a row is deleted the formulas sit one row up: checked there, with no false finding."""
    _delete_row(seed_book, L.INDICATOR_FIRST_ROW + 3)
    report = recalc_workbook(seed_book, seed_book.with_name("out.xlsx"), PROFILE)
    assert "layout-moved" in {f.code for f in report.findings}
    assert not [f for f in report.findings if f.code in CROSSCHECK_CODES or f.code.startswith("formula-")]
    assert report.results[0].total == Decimal("88.53")  # 99.78 less the deleted row's 11.25


def test_deleted_row_then_tampering_is_caught_at_the_moved_cell(seed_book):
    _delete_row(seed_book, L.INDICATOR_FIRST_ROW + 3)
    moved_row = ROW - 1
    score, next_rate = L.indicator_cell("score", moved_row), L.indicator_cell("rate", moved_row + 1)
    wb = load_workbook(seed_book)
    wb[SHEET][score] = 11.25
    wb[SHEET][next_rate] = f"=ROUND(MAX(M{moved_row + 2}/L{moved_row + 2},0),4)"  # dragged one row off
    wb.save(seed_book)
    found = _findings(seed_book)
    assert ("formula-overwritten", SHEET, score) in found
    assert ("formula-rule-mismatch", SHEET, next_rate) in found
    assert ("formula-overwritten", SHEET, SCORE) not in found  # not at the template's cell


def test_deleting_the_tables_last_row_shrinks_the_totals_without_findings(seed_book):
    """Excel shrinks SUM(E24:E63) to SUM(E24:E62) when row 63 goes: nothing to report but the move."""
    _delete_row(seed_book, L.INDICATOR_LAST_ROW)
    found = _findings(seed_book)
    assert not [f for f in found if f[0] in CROSSCHECK_CODES or f[0].startswith("formula-")]


def test_deleted_budget_row_is_reported_at_its_label(seed_book):
    """Row (7) deleted: the 预算执行率 link has nothing to point at; the sheet is not scored from guessed cells."""
    row7 = L.BUDGET_ROW_NUMBERS[L.BUDGET_ROWS[-1]]
    _delete_row(seed_book, row7)
    assert ("layout-changed", SHEET, f"A{row7}") in _findings(seed_book)


@pytest.mark.parametrize("weight, actual, score", [("3.335", "100%", "3.33"), ("16.665", "100%", "16.66"),
                                                   ("3.335", "99.9%", "3.33"), ("33.333", "100%", "33.33")])
def test_score_never_above_a_weight_with_three_decimals(tmp_path, weight, actual, score):
    """The rule and the template formula agree that 3.335 × 100% scores 3.33 (3.34 would exceed the weight)."""
    import dataclasses

    rows = list(SEED_004.indicators)
    rows[1] = dataclasses.replace(rows[1], weight=float(weight), target="100%", actual=actual)
    path = tmp_path / "权重.xlsx"
    new_workbook([dataclasses.replace(SEED_004, indicators=tuple(rows))], PROFILE).save(path)
    report = recalc_workbook(path, tmp_path / "out.xlsx", PROFILE)
    row = L.INDICATOR_FIRST_ROW + 1
    assert report.results[0].indicators[1].score == Decimal(score)
    assert FormulaBook(load_workbook(path), [SHEET]).value(SHEET, *_rc(L.indicator_cell("score", row))) == float(score)
    assert not [f for f in report.findings if f.code in CROSSCHECK_CODES]
    if libreoffice.available():
        lo = load_workbook(libreoffice.recalculate(path, tmp_path / "lo"), data_only=True)
        assert lo[SHEET][L.indicator_cell("score", row)].value == pytest.approx(float(score), rel=1e-12)


def _patch_cached(path: Path, sheet_index: int, ref: str, new_value: str) -> None:
    """Overwrite the cached <v> of one formula cell inside the .xlsx, the way a non-recalculating tool leaves it."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == f"xl/worksheets/sheet{sheet_index}.xml":
                text = data.decode("utf-8")
                text, n = re.subn(rf'(<c r="{ref}"[^>]*>(?:(?!</c>).)*?<v>)[^<]*(</v>)', rf"\g<1>{new_value}\g<2>", text,
                                  flags=re.S)
                assert n == 1, ref
                data = text.encode("utf-8")
            dst.writestr(item, data)
    shutil.move(tmp, path)


def test_stale_cached_value(calculated_seed_book, tmp_path):
    path = tmp_path / "旧值.xlsx"
    shutil.copy(calculated_seed_book, path)
    sheet_index = load_workbook(path).sheetnames.index(SHEET) + 1
    _patch_cached(path, sheet_index, SCORE, "11.25")
    assert cached_formula_values(path, [SHEET])[SHEET][(ROW, 9)] == 11.25
    found = _findings(path)
    assert ("stale-cached-value", SHEET, SCORE) in found
    assert ("formula-rule-mismatch", SHEET, SCORE) not in found  # the formula itself is right


def test_libreoffice_saved_workbook_is_clean(calculated_seed_book, tmp_path):
    path = tmp_path / "lo.xlsx"
    shutil.copy(calculated_seed_book, path)
    assert not [f for f in _findings(path) if f[0] in CROSSCHECK_CODES]


def test_engine_values_on_the_template(seed_book):
    book = FormulaBook(load_workbook(seed_book), [SHEET])
    assert book.value(SHEET, ROW, 9) == 11.03
    assert book.value(SHEET, *_rc(L.TOTAL_SCORE_CELL)) == 99.78
    assert book.value(SHEET, *_rc(L.GRADE_CELL)) == "优秀"
    assert book.value(SHEET, *_rc(L.indicator_cell("actual", L.BUDGET_INDICATOR_ROW))) == "100.00%"
    assert book.fallback_cells == 0


def _rc(ref: str) -> tuple[int, int]:
    from openpyxl.utils.cell import coordinate_to_tuple

    return coordinate_to_tuple(ref)


@pytest.mark.parametrize("formula, expected", [
    ('=1/0', rt.DIV0), ('="a"+1', rt.VALUE), ('=IFERROR(1/0,"x")', "x"), ('=""+0', rt.VALUE), ('=A9+1', 1.0),
    ('="90%"*1', 0.9), ('=TRUE+1', 2.0), ('=IF("a"="A",1,2)', 1.0), ('=1<"a"', True), ('=ROUND(0.285,2)', 0.29),
    ('=LOOKUP(9E+307,--LEFT("12.5万元",{1,2,3,4,5}))', 12.5), ('=SUMPRODUCT(--ISNUMBER(FIND({"≤","<"},"≤5")))', 1.0),
    ('=TEXT(98.5,"0.00")&"%"', "98.50%"), ('=-2^2', 4.0), ('=2^3^2', 64.0), ('=10%', 0.1), ('=N("x")', 0.0),
    ('=COUNT(1,"2","x",TRUE)', 3.0), ('=MAX()', 0.0), ('=SUM(A9:A10)', 0.0), ('=IF(1/0,1,2)', rt.DIV0),
])
def test_excel_semantics(tmp_path, formula, expected):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = formula
    assert same(FormulaBook(wb).value(wb.active.title, 1, 1), expected)


def test_unknown_function_falls_back_to_formulas(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = 4
    wb.active["B1"] = "=SQRT(A1)+ROUND(0.285,2)"
    book = FormulaBook(wb)
    assert same(book.value(wb.active.title, 1, 2), 2.29)
    assert book.fallback_cells == 1


def test_aggregates_ignore_text_in_referenced_cells():
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["A2"], ws["A3"] = '=""', 5, "7"
    ws["B1"], ws["B2"], ws["B3"] = "=SUM(A1,A2,A3)", "=COUNT(A1,A2,A3)", '=SUM("7",A2)'
    book = FormulaBook(wb)
    assert [book.value(ws.title, r, 2) for r in (1, 2, 3)] == [5.0, 1.0, 12.0]


@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")
def test_check_evaluates_a_reviewers_formulas(tmp_path):
    """A received 附件1 whose 指标得分 are formulas, saved by a tool that did not recalculate one of them."""
    from openpyxl import Workbook

    from xlperf.check import check_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "附件1"
    ws.append(list(L.ANNEX_COLUMNS))
    rows = [("产出指标", "数量指标", "培训人次", 50, "100", "90", None, None, "原因"),
            ("效益指标", "社会效益指标", "群众满意度", 50, "90%", "90%", None, None, "")]
    for i, row in enumerate(rows, start=2):
        ws.append(list(row))
        ws[f"G{i}"] = f"=ROUND(VALUE(F{i})/VALUE(E{i}),4)"
        ws[f"H{i}"] = f"=ROUND(D{i}*MIN(G{i},1),2)"
    ws.append(["总分", None, None, "=SUM(D2:D3)", None, None, None, "=SUM(H2:H3)", None])
    wb.save(tmp_path / "收到.xlsx")
    calculated = libreoffice.recalculate(tmp_path / "收到.xlsx", tmp_path / "lo")
    report = check_workbook(calculated, PROFILE)
    assert not [f for f in report.findings if f.code in CROSSCHECK_CODES]
    assert report.tables[0].total == Decimal("95")

    _patch_cached(calculated, 1, "H2", "50")  # typed over in the cache only: the formula still says 45
    report = check_workbook(calculated, PROFILE)
    codes = {(f.code, f.cell) for f in report.findings}
    assert ("stale-cached-value", "H2") in codes
    assert ("published-score-mismatch", "H2") in codes  # the published (cached) 50 is also wrong by the rules


def test_the_cross_check_shared_among_processes_finds_the_same(tmp_path):
    """From PARALLEL_FROM projects on, the projects are shared among forked processes: the findings must be
    the same, in the same order, as in one process (here forced on a small book with typed-over formulas)."""
    import sys

    from xlperf.crosscheck import crosscheck
    from xlperf.forking import can_fork as _can_fork
    from xlperf.pipeline import score_workbook
    from xlperf.template.seeds import SEEDS
    from xlperf.workbook_io import open_workbook

    if not _can_fork():
        pytest.skip(f"{sys.platform}: the cross-check runs in one process")
    path = tmp_path / "种子.xlsx"
    wb = new_workbook([*SEEDS, SEED_004], PROFILE)
    wb[SEED_004.name][SCORE] = 11.25  # a formula typed over
    wb.save(path)
    wb = open_workbook(path)
    results = score_workbook(wb, path, PROFILE)
    one = crosscheck(wb, path, results, PROFILE, workers=1)
    assert one and crosscheck(wb, path, results, PROFILE, workers=3) == one


def test_a_workbook_made_by_an_earlier_release_keeps_its_template_formulas(seed_book):
    """The helper-number formulas changed in 2026-12 (a number followed by more text is text). A workbook made
    before holds the earlier ones: they are still the template's, never 3,000 "formula-changed" warnings; a
    formula that is neither is still said."""
    from xlperf.template.formulas import earlier_template_formulas, template_formulas

    earlier, today = earlier_template_formulas(), template_formulas(PROFILE)
    assert earlier and all(earlier[ref] != today[ref] for ref in earlier)
    wb = load_workbook(seed_book)
    for ref, formula in earlier.items():
        wb[SHEET][ref] = formula
    wb.save(seed_book)
    found = _findings(seed_book)
    assert not [f for f in found if f[0] in CROSSCHECK_CODES or f[0] == "formula-changed"]
    changed = L.indicator_cell("target_number", ROW)
    wb[SHEET][changed] = "=1+1"
    wb.save(seed_book)
    assert [f for f in _findings(seed_book) if f[0] == "formula-changed"] == [("formula-changed", SHEET, changed)]
