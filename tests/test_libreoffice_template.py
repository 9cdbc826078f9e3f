"""LibreOffice as an independent oracle: the template's live formulas must give the Python rules' values."""
from __future__ import annotations

import dataclasses
import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from openpyxl import load_workbook

from xlperf import layout as L
from xlperf import libreoffice
from xlperf.model import ERROR
from xlperf.pipeline import recalc_workbook, score_workbook
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_projects
from xlperf.template.inputs import IndicatorInput, ProjectInput, Typed
from xlperf.template.seeds import SEEDS

from .strategies import project_inputs
from .test_corpus_golden import ZHUJIAN

pytestmark = [pytest.mark.libreoffice,
              pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")]
PROFILE = load_profile()
CROSSCHECK_CODES = {"stale-cached-value", "formula-rule-mismatch", "formula-error", "formula-overwritten",
                    "formula-changed", "formula-deleted"}


def _close(a, b, rel=Decimal("1e-12")) -> bool:
    if a is None or b is None or a == "" or b == "":
        return (a in (None, "")) and (b in (None, ""))
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    a, b = Decimal(str(a)), Decimal(str(b))
    return abs(a - b) <= rel * max(abs(a), abs(b), Decimal(1))


# Errors for which the rules refuse to score a row while the template's formulas, which cannot see
# them, still show a 完成率 (a contradictory "<=256%以上", a 业绩值 in another unit than the target's).
# Every other row is compared, errors or not: where the rules give no score, LibreOffice must show none.
FRACTION_TARGET = "unit-ambiguous"  # at the target cell: the rules read 0.95 as 95%, the formula as 0.95
# missing-target: a 定性 row with no target and a number as its 业绩值 shows a 完成率 in the template (the formula
# grades the actual alone) while the rules refuse it and say so at the target cell (found by the search,
# kept in tests/hypothesis-db/libreoffice-oracle; the template should leave such a row blank: open).
UNSCORED_BY_FORMULA_UNKNOWN = {"invalid-value", "unit-mismatch", FRACTION_TARGET, "missing-target"}


@dataclasses.dataclass
class Comparison:
    problems: list[str]
    rows: int = 0      # indicator rows whose 完成率 and 指标得分 were compared
    skipped: int = 0   # indicator rows left out (UNSCORED_BY_FORMULA_UNKNOWN)
    total: int = 0     # indicator rows the rules read


def libreoffice_comparison(tmp_path: Path, projects) -> Comparison:
    """Write projects into a workbook, recalculate in LibreOffice, compare every computed cell with Python."""
    source = tmp_path / "生成.xlsx"
    new_workbook(projects, PROFILE).save(source)
    results = score_workbook(load_workbook(source), source, PROFILE)
    lo_file = libreoffice.recalculate(source, tmp_path / "lo")
    recalculated = load_workbook(lo_file, data_only=True)
    out = Comparison([])
    problems = out.problems
    # The formula cross-check on LibreOffice's saved file: its cached values, Python's formula
    # values and the rules must all agree on a clean workbook.
    report = recalc_workbook(lo_file, tmp_path / "crosschecked.xlsx", PROFILE)
    problems += [f"{f.where} {f.code}: {f.message}" for f in report.findings if f.code in CROSSCHECK_CODES]

    def expect(ws, ref, python_value, what):
        lo_value = ws[ref].value
        if not _close(lo_value, python_value):
            problems.append(f"{ws.title}!{ref} {what}: LibreOffice={lo_value!r} Python={python_value!r}")

    for result in results:
        ws = recalculated[result.project.sheet]
        budget = result.budget
        if budget is None:  # an unused (empty) project sheet: no score, no 总得分 — LibreOffice shows none either
            expect(ws, L.TOTAL_SCORE_CELL, None, "总得分")
            expect(ws, L.GRADE_CELL, None, "评价等级")
            continue
        for (row, col), amount in budget.amounts.items():
            expect(ws, L.budget_cell(row, col), amount, "预算表")
        error_rows: dict[int, set[str]] = {}
        for f in result.findings:
            if f.severity == ERROR and f.cell[:1] in "EFG" and f.cell[1:].isdigit():
                error_rows.setdefault(int(f.cell[1:]), set()).add(f.code)
            # A fraction target beside a percent actual (0.95 and 90%): the rules read 95%, Excel's formula 0.95,
            # and the warning at the target cell says so (crosscheck.rule_values leaves such rows out too).
            elif f.code == FRACTION_TARGET and f.cell[:1] == "F" and f.cell[1:].isdigit():
                error_rows.setdefault(int(f.cell[1:]), set()).add(f.code)
        for r in result.indicators:
            out.total += 1
            row = r.indicator.row
            if error_rows.get(row, set()) & UNSCORED_BY_FORMULA_UNKNOWN:
                out.skipped += 1
                continue  # the rules refuse to score it for a reason the formulas do not know
            out.rows += 1
            expect(ws, L.indicator_cell("rate", row), r.rate, "完成率")
            expect(ws, L.indicator_cell("score", row), r.score, "指标得分")
            if r.indicator.direction is None and not r.is_budget:
                expect(ws, L.indicator_cell("direction", row), r.direction, "指标方向")
            if r.indicator.actual_linked:
                expect(ws, L.indicator_cell("actual", row), r.indicator.actual.shown if budget.execution_rate is not None
                       else None, "预算执行率业绩值")
        if not error_rows:
            expect(ws, L.TOTAL_SCORE_CELL, result.total, "总得分")
            expect(ws, L.GRADE_CELL, result.grade, "评价等级")
    return out


def _assert_compared(comparison: Comparison, floor: int) -> None:
    """The oracle agrees, and it agreed on enough rows to mean something."""
    assert comparison.problems == []
    assert comparison.rows + comparison.skipped == comparison.total  # no row left out unaccounted
    assert comparison.rows >= floor, (f"only {comparison.rows} indicator rows compared "
                                      f"({comparison.skipped} skipped), fewer than {floor}")


def test_seeds_and_examples_agree_with_libreoffice(tmp_path):
    _assert_compared(libreoffice_comparison(tmp_path, list(SEEDS) + example_projects(40)), SEEDS_AND_EXAMPLES_ROWS)


# Texts with a number inside, as accountants type targets and actuals, each as target and as actual:
# most are text to the rules (issue 27: the template read "6月份完成宣传片制作;9月份…" as the number 6).
NUMBERS_IN_TEXT = ["6月份完成宣传片制作;9月份完成文本;11月完成专家评审", "1.各级各部门业务上云数2.", "10、完成", "10.", "90%,",
                   "6/1完成", "2023-12", "5-10", "3个,5个", "完成1部宣传片,2套方案", "(含95%)", "90(5)",
                   "95%以上（含95%）", "100%按合同支付", "1,000万元", "100%(全部)", "≥.5", "2个：", "80分", "90 % 以上", "１０个"]


def _numbers_in_text_projects() -> list:
    projects = []
    for i, text in enumerate(NUMBERS_IN_TEXT):
        indicators = tuple(IndicatorInput("产出指标", "数量指标", "验收合格率", 10, text, actual, "", direction)
                           for actual, direction in (("100%", ""), (text, ""), ("80", ""), ("80%", "正向")))
        projects.append(ProjectInput(name=f"文中数字{i + 1}", indicators=indicators,
                                     budget={("annual", "central"): 100.0, ("executed", "central"): 50.0}))
    return projects


def test_published_dated_plan_and_numbers_in_text_agree_with_libreoffice(tmp_path):
    """The published 黄石 table (its 时效指标 target is a dated plan) and texts with numbers inside."""
    comparison = libreoffice_comparison(tmp_path, [ZHUJIAN] + _numbers_in_text_projects())
    _assert_compared(comparison, NUMBERS_IN_TEXT_ROWS)


# Floors on the indicator rows compared: about 90% of what was measured when they were set.
SEEDS_AND_EXAMPLES_ROWS = 320  # 357 measured
NUMBERS_IN_TEXT_ROWS = 85  # 95 measured
GENERATED_ROWS = 900  # 1010 measured

# The generated projects come from this fixed seed, so every run checks the same ones (issue 14: a
# random run once failed on a 完成率 cell, Python 0.00, and passed on rerun; the input was not kept).
ORACLE_SEED = 20261127
ORACLE_EXAMPLES = 200


def _edge_projects() -> list:
    """Explicit inputs around a 完成率 of 0.00: zeros typed every way, tiny numbers, percent formats,
    in each direction (the family of the lost failing input; all agreed with LibreOffice when added)."""
    values = ["0", "0%", "0.00%", Typed(0.0, "0%"), Typed(0.0, "0.00%"), Typed(0.00005, "0.00%"), Typed(0.0049, "0%"),
              Typed(0.005, "0%"), "0.00005", "0.005%", "≥0", "≤0", "０", Typed(0.0004, "General"), "500", "100%",
              "0天", "少于0"]
    projects = []
    for i in range(0, len(values) ** 2, 7):  # a spread of (target, actual) pairs, every direction
        target, actual = values[i // len(values)], values[i % len(values)]
        indicators = tuple(IndicatorInput("产出指标", "数量指标", "验收合格率", 10, target, actual, "", direction)
                           for direction in ("", "正向", "反向", "定性"))
        projects.append(ProjectInput(name=f"边界{len(projects) + 1}", indicators=indicators,
                                     budget={("annual", "central"): 100.0, ("executed", "central"): 50.0}))
    return projects


def generated_projects(seed_value: int = ORACLE_SEED, examples: int = ORACLE_EXAMPLES) -> list:
    """The hypothesis-generated projects of one seed: the same list on every run."""
    projects = []

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(project_inputs())
    def collect(project):
        projects.append(dataclasses.replace(project, name=f"生成项目{len(projects) + 1}"))

    collect()
    return projects


def test_generated_projects_are_the_same_every_run():
    assert generated_projects(examples=30) == generated_projects(examples=30)


@pytest.mark.slow
def test_generated_projects_agree_with_libreoffice(tmp_path):
    """A regression sample: hundreds of hypothesis-generated projects of one fixed seed and the edge
    inputs in one workbook, one LibreOffice run. The random search is test_random_projects_…"""
    projects = generated_projects()
    assert len(projects) >= 150
    _assert_compared(libreoffice_comparison(tmp_path, projects + _edge_projects()), GENERATED_ROWS)


# The random search (issue 27): new projects on every run, in batches of ORACLE_BATCH per LibreOffice
# run. A failing batch is shrunk, printed with its reproduce blob, and saved in ORACLE_DATABASE, which is
# committed: every later run tries the saved failures first. It runs apart from the suite (.ci/run:
# pytest -m search); XLPERF_ORACLE_EXAMPLES sets the number of batches.
ORACLE_DATABASE = Path(__file__).parent / "hypothesis-db" / "libreoffice-oracle"
ORACLE_BATCH = 20
ORACLE_SEARCH_EXAMPLES = int(os.environ.get("XLPERF_ORACLE_EXAMPLES", "4"))


def _named(batch) -> list:
    return [dataclasses.replace(p, name=f"随机项目{i + 1}") for i, p in enumerate(batch)]


@pytest.mark.search
@settings(max_examples=ORACLE_SEARCH_EXAMPLES, deadline=None, derandomize=False, print_blob=True,
          database=DirectoryBasedExampleDatabase(str(ORACLE_DATABASE)),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.lists(project_inputs(), min_size=ORACLE_BATCH, max_size=ORACLE_BATCH).map(_named))
def test_random_projects_agree_with_libreoffice(tmp_path_factory, projects):
    comparison = libreoffice_comparison(tmp_path_factory.mktemp("oracle"), projects)
    # Every row the rules read was compared or skipped for a listed reason; a batch may hold no row at all.
    _assert_compared(comparison, 0)


def test_finished_workbook_opens_in_libreoffice(tmp_path):
    """recalc's output (附件1 sheets, 汇总 with its chart, 校验结果 with links) loads and recalculates in LibreOffice."""
    source = tmp_path / "完成.xlsx"
    new_workbook(list(SEEDS), PROFILE).save(source)
    report = recalc_workbook(source, None, PROFILE)
    wb = load_workbook(libreoffice.recalculate(source, tmp_path / "lo"), data_only=True)
    assert set(load_workbook(source).sheetnames) == set(wb.sheetnames)
    for result, annex in zip(report.results, report.annex_sheets):
        assert wb[result.project.sheet][L.TOTAL_SCORE_CELL].value == pytest.approx(float(result.total))
        values = [c.value for row in wb[annex].iter_rows() for c in row]
        assert float(result.total) in values and result.grade in values
