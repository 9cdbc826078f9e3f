"""LibreOffice as an independent oracle: the template's live formulas must give the Python rules' values."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
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


def libreoffice_disagreements(tmp_path: Path, projects) -> list[str]:
    """Write projects into a workbook, recalculate in LibreOffice, compare every computed cell with Python."""
    source = tmp_path / "生成.xlsx"
    new_workbook(projects, PROFILE).save(source)
    results = score_workbook(load_workbook(source), source, PROFILE)
    lo_file = libreoffice.recalculate(source, tmp_path / "lo")
    recalculated = load_workbook(lo_file, data_only=True)
    problems: list[str] = []
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
        error_rows = {int(f.cell[1:]) for f in result.findings if f.severity == ERROR and f.cell[:1] in "EFG"
                      and f.cell[1:].isdigit()}
        # A fraction target beside a percent actual (0.95 and 90%): the rules read 95%, Excel's formula 0.95,
        # and the warning at the target cell says so (crosscheck.rule_values leaves such rows out too).
        error_rows |= {int(f.cell[1:]) for f in result.findings if f.code == "unit-ambiguous" and f.cell[:1] == "F"
                       and f.cell[1:].isdigit()}
        for r in result.indicators:
            row = r.indicator.row
            if row in error_rows:
                continue  # the rules refuse to score it; Excel's value there is not a score
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
    return problems


def test_seeds_and_examples_agree_with_libreoffice(tmp_path):
    assert libreoffice_disagreements(tmp_path, list(SEEDS) + example_projects(40)) == []


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


def test_generated_projects_agree_with_libreoffice(tmp_path):
    """Hundreds of hypothesis-generated projects (a fixed seed) and the edge inputs in one workbook, one LibreOffice run."""
    projects = generated_projects()
    assert len(projects) >= 150
    assert libreoffice_disagreements(tmp_path, projects + _edge_projects()) == []


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
