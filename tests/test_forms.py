"""The registry of published forms (xlperf/forms) and 附件1 written in each of them.

Every writable form: a master workbook recalculated into that form is read back by `check`,
which recognises the form, recomputes the same totals and raises no error; the national form's
sheet states what the national form states (主管部门, 实施单位, the 项目资金 block, 年度总体目标,
总分); rendered to PDF each form is one page wide with real Chinese text.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from xlperf import forms, libreoffice
from xlperf.check import check_workbook
from xlperf.cli import app
from xlperf.forms.recorded import FORM_NAME, recorded_form
from xlperf.pipeline import recalc_workbook
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_projects
from xlperf.template.seeds import SEED_004

from .test_export import read_pgm

PROFILE = load_profile()
runner = CliRunner()
WRITABLE = forms.writable_forms()
# example_project(i) carries a deliberate mistake when i % 3 == 2: these are clean.
CLEAN = [p for i, p in enumerate(example_projects(5)) if i % 3 != 2]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _book(tmp_path: Path, form: str | None, projects=None, name="book.xlsx") -> Path:
    path = tmp_path / name
    new_workbook(list(projects or CLEAN), PROFILE, form=form).save(path)
    return path


# ---- the registry ----------------------------------------------------------------------
def test_registry_lists_the_families():
    names = forms.available_forms()
    assert names[0] == forms.DEFAULT_FORM == "national"
    assert {"national", "shanxi", "yunnan", "xianjie", "hubei", "region", "department"} <= set(names)
    assert len(names) == len(set(names))
    assert "department" in names and "department" not in WRITABLE  # read, never generated from a project sheet
    for form in forms.all_forms():
        assert form.indicator_fields.count("score") == 1 and "level3" in form.indicator_fields, form.name
        assert ("weight" in form.indicator_fields) == (form.weights != "level1_header"), form.name
        assert len(form.widths) == len(form.indicators), form.name
        assert len(form.grade_labels) == 4


def test_every_form_title_is_in_the_readers_vocabulary():
    vocab = forms.vocabulary()
    for form in forms.all_forms():
        for column in form.indicators:
            assert column.title in vocab.indicator_fields[column.field], (form.name, column.title)
        assert form.total_label in vocab.total_labels


def test_budget_blocks_carry_their_points():
    assert forms.load_form("national").budget.points == Decimal(10)
    assert forms.load_form("hubei").budget.points == Decimal(20)
    assert not forms.load_form("region").budget_scored
    assert forms.load_form("shanxi").budget is None  # 预算执行率 is a row of the indicator table


def test_unknown_and_read_only_forms_are_refused_with_the_known_names():
    with pytest.raises(forms.UnknownForm) as unknown:
        forms.load_form("guangdong")
    assert "national" in str(unknown.value) and "xlperf forms" in str(unknown.value)
    with pytest.raises(forms.UnknownForm) as read_only:
        forms.load_form("department", writable=True)
    assert "只用于审核" in str(read_only.value)


def _traits(**kw):
    base = dict(title="", headers=(), fields=(), budget_points=None, level1_header_weights=False,
                percent_weights=False)
    return forms.TableTraits(**{**base, **kw})


@pytest.mark.parametrize("traits, expected", [
    (_traits(headers=("一级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分")), "national"),
    (_traits(headers=("目标指标", "权重", "目标值", "业绩值", "完成率", "指标得分")), "shanxi"),
    (_traits(headers=("三级指标", "指标性质", "指标值", "度量单位", "实际完成值", "分值", "得分")), "yunnan"),
    (_traits(title="2022年财政衔接资金项目绩效自评表", headers=("三级指标", "分值", "年度指标值", "全年实际值")), "xianjie"),
    (_traits(headers=("三级指标", "分值", "年度指标值", "全年实际值", "得分"),
             fields=("level3", "weight", "target", "actual", "score"), budget_points=Decimal(10)), "xianjie"),
    (_traits(headers=("三级指标", "年度指标值", "实际完成值", "分值", "得分"), budget_points=Decimal(20)), "hubei"),
    (_traits(headers=("三级指标", "年初目标值", "实际完成值", "得分"), fields=("level3", "target", "actual", "score"),
             level1_header_weights=True), "hubei"),
    (_traits(title="中央对地方转移支付区域绩效自评表", headers=("三级指标", "年度指标值", "全年实际值", "分值")), "region"),
    (_traits(title="部门整体支出绩效自评表", headers=("三级指标", "年度指标值", "实际完成值", "分值")), "department"),
    (_traits(), "national"),
])
def test_recognise(traits, expected):
    assert forms.recognise(traits).name == expected


# ---- the form a workbook records ---------------------------------------------------------
def test_new_records_the_form_and_an_override_does_not_change_it(tmp_path):
    path = _book(tmp_path, "yunnan")
    assert recorded_form(load_workbook(path)) == "yunnan"
    recalc_workbook(path, profile=PROFILE, crosscheck=False, form="region")
    assert recorded_form(load_workbook(path)) == "yunnan"
    (table,) = check_workbook(path, PROFILE, crosscheck=False).tables[:1]
    assert table.form == "region"


def test_a_workbook_made_before_forms_keeps_the_seeds_layout(tmp_path):
    path = _book(tmp_path, None)
    wb = load_workbook(path)
    assert FORM_NAME not in wb.defined_names
    recalc_workbook(path, profile=PROFILE, crosscheck=False)
    assert {t.form for t in check_workbook(path, PROFILE, crosscheck=False).tables} == {"shanxi"}


def test_unknown_form_on_recalc_writes_nothing(tmp_path):
    path = _book(tmp_path, "national")
    before = path.read_bytes()
    with pytest.raises(forms.UnknownForm):
        recalc_workbook(path, profile=PROFILE, form="nowhere")
    assert path.read_bytes() == before


# ---- every writable form, written and read back -----------------------------------------------
@pytest.mark.parametrize("form", WRITABLE)
def test_check_agrees_with_recalc_in_every_form(tmp_path, form):
    path = _book(tmp_path, form, projects=[*CLEAN, SEED_004])
    report = recalc_workbook(path, profile=PROFILE)
    checked = check_workbook(path, PROFILE)
    by_sheet = {t.sheet: t for t in checked.tables}
    assert set(by_sheet) == set(report.annex_sheets)
    for result, sheet in zip(report.results, report.annex_sheets):
        table = by_sheet[sheet]
        assert table.form == form
        assert (table.total, table.published_total) == (result.total, result.total), sheet
    errors = [(f.code, f.sheet, f.cell, f.message) for f in checked.findings if f.severity == "error"]
    assert errors == []


def test_national_sheet_states_what_the_national_form_states(tmp_path):
    project = CLEAN[0]
    path = _book(tmp_path, "national", projects=[project])
    report = recalc_workbook(path, profile=PROFILE)
    (result,) = report.results
    ws = load_workbook(path)[report.annex_sheets[0]]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    flat = [v for row in rows for v in row if v is not None]
    assert rows[0][0] == "项目支出绩效自评表" and rows[1][0] == f"（{project.meta['year']}年度）"
    for label, value in (("项目名称", project.name), ("主管部门", project.side["department"]),
                         ("实施单位", project.side["implementer"])):
        row = next(r for r in rows if label in r)
        assert row[row.index(label) + 1] == value
    for text in ("项目资金（万元）", "年度资金总额", "其中：当年财政拨款", "上年结转资金", "其他资金", "年度总体目标",
                 project.goals["年度绩效目标"], project.achieved, "绩效指标", "年度指标值", "实际完成值", "总分", "评价等级"):
        assert text in flat, text
    block = next(r for r in rows if "年度资金总额" in r)
    amounts = [v for v in block if isinstance(v, (int, float))]
    budget = result.budget.amounts
    assert amounts[:3] == [float(budget[(k, "total")]) for k in ("initial", "annual", "executed")]
    weight = next(r.indicator.weight.number for r in result.indicators if r.is_budget)
    assert Decimal(str(amounts[3])) == weight  # 分值
    total_row = next(r for r in rows if r[0] == "总分")
    assert Decimal(str([v for v in total_row if isinstance(v, (int, float))][-1])) == result.total
    grade_row = next(r for r in rows if r[0] == "评价等级")
    assert grade_row[-3:].count("优") + grade_row.count("良") + grade_row.count("中") + grade_row.count("差") >= 1
    # 预算执行率 is scored in the block, not repeated as an indicator row
    assert sum(1 for r in rows if "预算执行率" in r) == 0


def test_yunnan_splits_each_target(tmp_path):
    path = _book(tmp_path, "yunnan", projects=[CLEAN[0]])
    report = recalc_workbook(path, profile=PROFILE)
    ws = load_workbook(path)[report.annex_sheets[0]]
    header = next(r for r in ws.iter_rows(values_only=True) if "指标性质" in r)
    nature, value, unit = header.index("指标性质"), header.index("指标值"), header.index("度量单位")
    rows = [r for r in ws.iter_rows(values_only=True) if r[nature] in ("≥", "≤", "=", ">", "<", "定性")]
    assert rows
    for r in rows:
        if r[nature] == "定性":
            assert r[value] and not r[unit]
        else:
            assert re.fullmatch(r"-?\d+(\.\d+)?", str(r[value])), r


def test_hubei_writes_points_in_the_level1_names(tmp_path):
    path = _book(tmp_path, "hubei", projects=[CLEAN[0]])
    report = recalc_workbook(path, profile=PROFILE)
    ws = load_workbook(path)[report.annex_sheets[0]]
    values = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert any(re.fullmatch(r"产出指标\(\d+(\.\d+)?分\)", v) for v in values)
    header = next(r for r in ws.iter_rows(values_only=True) if "三级指标" in r)
    assert "分值" not in header


# ---- the command line ---------------------------------------------------------------------
def test_forms_command_lists_every_form():
    result = run("forms", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.stdout)["forms"]
    assert [f["name"] for f in listed] == forms.available_forms()
    assert {f["name"]: f["writable"] for f in listed}["department"] is False
    plain = run("forms")
    assert plain.exit_code == 0 and "national" in plain.stdout and "只用于审核" in plain.stdout


def test_new_defaults_to_national_and_refuses_unknown_forms(tmp_path):
    assert run("new", tmp_path / "a.xlsx").exit_code == 0
    assert recorded_form(load_workbook(tmp_path / "a.xlsx")) == "national"
    assert "national" in " ".join(str(c.value) for c in load_workbook(tmp_path / "a.xlsx")["使用说明"]["A"])
    bad = run("new", tmp_path / "b.xlsx", "--form", "guangdong")
    assert bad.exit_code == 2 and "未知的表样" in bad.stderr and not (tmp_path / "b.xlsx").exists()
    assert run("recalc", tmp_path / "a.xlsx", "--form", "department").exit_code == 2


def test_demo_keeps_the_seeds_in_their_own_form(tmp_path):
    assert run("demo", tmp_path).exit_code == 0
    wb = load_workbook(tmp_path / "绩效自评示例.xlsx")
    assert recorded_form(wb) == "shanxi"


# ---- what people see --------------------------------------------------------------------------
@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")
@pytest.mark.skipif(not shutil.which("pdftoppm") or not shutil.which("pdftotext"), reason="poppler-utils 未安装")
@pytest.mark.parametrize("form", WRITABLE)
def test_export_pdf_in_every_form_is_one_page_wide(tmp_path, form):
    path = _book(tmp_path, form, projects=[CLEAN[0]])
    result = run("export", path, "--outdir", tmp_path / "out", "--pdf")
    assert result.exit_code == 0, result.stdout + result.stderr
    (pdf,) = (tmp_path / "out").glob("*.pdf")
    subprocess.run(["pdftoppm", "-gray", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    (page,) = tmp_path.glob("page*.pgm")
    width, height, pixels = read_pgm(page)
    assert width > height  # A4 landscape
    assert sum(1 for p in pixels if p < 128) > 0.005 * width * height, "page looks blank"
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                                              capture_output=True, timeout=60).stdout.decode("utf-8"))
    spec = forms.load_form(form)
    expected = [spec.title, spec.total_label, CLEAN[0].name] + [c.title for c in spec.indicators]
    if spec.budget is not None:
        expected += [c.title for c in spec.budget.columns]
    for word in expected:  # every column on the first page: one page wide
        assert re.sub(r"\s+", "", word) in text, (form, word)


# ---- the national form's fields on the input sheet ---------------------------------------------
def test_amounts_in_yuan_are_labelled_in_yuan(tmp_path):
    import dataclasses

    project = dataclasses.replace(SEED_004, amount_unit="元")
    path = _book(tmp_path, "national", projects=[project])
    report = recalc_workbook(path, profile=PROFILE)
    assert report.results[0].project.meta["amount_unit"] == "元"
    values = [v for row in load_workbook(path)[report.annex_sheets[0]].iter_rows(values_only=True) for v in row]
    assert "项目资金（元）" in values and "项目资金（万元）" not in values
    result = run("export", path, "--outdir", tmp_path / "out")
    (xlsx,) = (tmp_path / "out").glob("*.xlsx")
    budget = load_workbook(xlsx)["预算执行情况"]
    texts = [v for row in budget.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert "预算执行情况表（单位：元）" in texts and "年度总金额(元)" in texts, result.stdout


def test_an_input_sheet_made_before_the_new_fields_still_reads(tmp_path):
    """Sheets made by earlier versions: name merged over B2:J2, no 主管部门/实施单位/实际完成情况/金额单位,
    amount columns titled 年度总金额(万元)."""
    from xlperf import layout as L

    path = _book(tmp_path, "national", projects=[CLEAN[0]])
    wb = load_workbook(path)
    ws = wb[wb.sheetnames[2]]
    for merged in [m for m in ws.merged_cells.ranges if m.min_row in (2, 21)]:
        ws.unmerge_cells(str(merged))
    for ref in ("E2", "F2", "H2", "I2", L.ACHIEVED_LABEL_CELL, L.ACHIEVED_BLOCK.split(":")[0],
                L.AMOUNT_UNIT_LABEL_CELL, L.AMOUNT_UNIT_CELL):
        ws[ref].value = None
    for col in ("total", "carryover", "other"):
        ws[f"{L.BUDGET_COLUMN_LETTERS[col]}{L.BUDGET_HEADER_ROW}"].value = L.BUDGET_COLUMN_TITLES[col] + "(万元)"
    wb.save(path)
    report = recalc_workbook(path, profile=PROFILE)
    (result,) = report.results
    assert result.total is not None and not [f for f in result.findings if f.code == "layout-changed"]
    assert result.project.meta["amount_unit"] == "万元"
    assert result.project.meta["department"] == CLEAN[0].meta["department"]  # from 项目清单
    assert result.project.info[L.ACHIEVED_LABEL] == ""
