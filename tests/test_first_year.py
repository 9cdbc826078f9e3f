"""An accountant's first year: an unused project sheet, removing a project, a blank template."""
from __future__ import annotations

import dataclasses
import json
import re

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf import libreoffice
from xlperf.cli import app
from xlperf.formula.book import FormulaBook
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_project
from xlperf.template.inputs import ProjectInput, type_into

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _two_projects_one_filled(tmp_path):
    path = tmp_path / "测试.xlsx"
    assert run("new", path, "--projects", 2).exit_code == 0
    wb = load_workbook(path)
    type_into(wb["项目1"], dataclasses.replace(example_project(0), name="项目1"))
    wb.save(path)
    return path


def test_an_unused_project_sheet_is_said_once_and_left_out(tmp_path):
    path = _two_projects_one_filled(tmp_path)
    result = run("recalc", path, "--json")
    assert result.exit_code == 0, result.stdout  # an unused sheet is not an error
    data = json.loads(result.stdout)
    (unused,) = [f for f in data["findings"] if f["code"] == "project-not-filled"]
    assert (unused["severity"], unused["sheet"], unused["cell"]) == ("warning", "项目2", "B2")
    assert "尚未填写" in unused["message"] and "remove-project" in unused["message"]
    assert not [f for f in data["findings"] if f["sheet"] == "项目2" and f["code"] != "project-not-filled"]
    wb = load_workbook(path)
    assert [n for n in wb.sheetnames if n.startswith(L.ANNEX_PREFIX)] == ["附件1-项目1"]
    names = [c.value for c in wb[L.SUMMARY_SHEET]["A"]]
    assert "项目1" in names and "项目2" not in names
    exported = run("export", path, "--outdir", tmp_path / "out")
    assert exported.exit_code == 0, exported.stdout
    assert [p.name for p in (tmp_path / "out").glob("*.xlsx")] == ["项目1_项目支出绩效自评表.xlsx"]
    assert "尚未填写" in exported.stdout and "未导出或失败" not in exported.stdout


def test_remove_project_removes_its_sheet_row_and_annex_and_nothing_else(tmp_path):
    path = _two_projects_one_filled(tmp_path)
    assert run("add-project", path, "--name", "项目3", "--example").exit_code == 0
    assert run("recalc", path).exit_code in (0, 1)
    before = load_workbook(path)
    kept = {name: [[c.value for c in row] for row in before[name].iter_rows()]
            for name in ("使用说明", "项目1", "附件1-项目1", "项目3", "附件1-项目3")}
    result = run("remove-project", path, "--name", "项目3")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "项目3" in result.stdout and "recalc" in result.stdout
    after = load_workbook(path)
    assert "项目3" not in after.sheetnames and "附件1-项目3" not in after.sheetnames
    for name in ("使用说明", "项目1", "附件1-项目1"):
        assert [[c.value for c in row] for row in after[name].iter_rows()] == kept[name], name
    listed = [row[0] for row in after[L.PROJECT_LIST_SHEET].iter_rows(min_row=2, values_only=True)]
    assert listed == ["项目1", "项目2"]
    links = [c.hyperlink.target for row in after[L.PROJECT_LIST_SHEET].iter_rows(min_row=2) for c in row if c.hyperlink]
    assert links == ["#'项目1'!A1", "#'项目2'!A1"]
    assert run("recalc", path).exit_code == 0  # nothing left pointing at the removed project


def test_remove_project_refuses_what_it_cannot_find(tmp_path):
    path = _two_projects_one_filled(tmp_path)
    before = path.read_bytes()
    result = run("remove-project", path, "--name", "没有这个项目")
    assert result.exit_code == 2 and "现有项目：项目1、项目2" in result.stderr
    assert path.read_bytes() == before


def test_a_blank_project_sheet_shows_no_total_and_no_grade(tmp_path):
    path = tmp_path / "blank.xlsx"
    new_workbook([ProjectInput(name="项目1")], form="national").save(path)
    book = FormulaBook(load_workbook(path), ["项目1"])
    row, column = int(L.TOTAL_SCORE_CELL[1:]), L.column_index(L.TOTAL_SCORE_CELL[0])
    assert book.value("项目1", row, column) in ("", None)
    row, column = int(L.GRADE_CELL[1:]), L.column_index(L.GRADE_CELL[0])
    assert book.value("项目1", row, column) in ("", None)


def test_mail_subject_without_a_year_and_drafts_say_smtp_is_not_configured(tmp_path, monkeypatch):
    from email import message_from_bytes, policy

    for var in ("XLPERF_SMTP_HOST", "XLPERF_SMTP_FROM", "XLPERF_SMTP_USER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no user config file
    monkeypatch.setenv("APPDATA", str(tmp_path))
    path = _two_projects_one_filled(tmp_path)
    wb = load_workbook(path)
    ws = wb[L.PROJECT_LIST_SHEET]
    ws.cell(2, L.PROJECT_LIST_KEYS.index("year") + 1).value = None
    ws.cell(2, L.PROJECT_LIST_KEYS.index("email") + 1).value = "a@unit.example"
    wb.save(path)
    assert run("export", path).exit_code == 0
    result = run("mail", path, "--dry-run")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "尚未配置" in result.stderr and "Outlook" in result.stderr
    (draft,) = (tmp_path / "测试_导出" / "待发送邮件").glob("*.eml")
    message = message_from_bytes(draft.read_bytes(), policy=policy.default)
    assert message["Subject"].startswith("项目支出绩效自评表：项目1")


# ---- the whole year, as issue 14 walks it ---------------------------------------------------------
def _type(ws, name: str, budget: dict, indicators: list[tuple]) -> None:
    """What an accountant types: 项目名称 in B2, amounts into the budget table, indicators below 预算执行率."""
    ws[L.NAME_CELL] = name
    for (row, column), amount in budget.items():
        ws[L.budget_cell(row, column)] = amount
    fields = ("level1", "level2", "level3", "weight", "target", "actual")
    for row, values in enumerate(indicators, start=L.BUDGET_INDICATOR_ROW + 1):
        for field, value in zip(fields, values):
            ws[L.indicator_cell(field, row)] = value


def _flat(text: str) -> str:
    """The console's words without spaces, line breaks and table rules (it wraps at 80 columns)."""
    return re.sub(r"[\s│┃]", "", text)


@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")
def test_the_first_year_through_the_command_line(tmp_path, monkeypatch):
    """new with 3 projects → type 2, leave 1 → recalc (a mistake, named by project) → fix → recalc → check
    → export --pdf → mail --dry-run → remove-project → recalc."""
    for var in ("XLPERF_SMTP_HOST", "XLPERF_SMTP_FROM", "XLPERF_SMTP_USER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no user config file
    monkeypatch.setenv("APPDATA", str(tmp_path))
    book = tmp_path / "绩效自评.xlsx"
    made = run("new", book, "--projects", 3)
    assert made.exit_code == 0 and "3个项目录入表" in _flat(made.stdout) and "xlperfrecalc" in _flat(made.stdout)

    wb = load_workbook(book)
    assert wb.sheetnames == ["使用说明", L.PROJECT_LIST_SHEET, "项目1", "项目2", "项目3"]
    _type(wb["项目1"], "社区养老服务补助",
          {("annual", "municipal"): 120, ("received", "municipal"): 120, ("executed", "municipal"): 118.5},
          [("产出指标", "数量指标", "补助老人人数", 30, "≥500人", "512人"),
           ("产出指标", "质量指标", "补助发放准确率", 20, "100%", "100%"),
           ("效益指标", "社会效益指标", "老人生活质量改善", 25, "有效", "95%"),  # weights 95: the mistake
           ("满意度指标", "服务对象满意度指标", "服务对象满意度", 10, "≥90%", "96%")])
    _type(wb["项目2"], "乡村道路养护",
          {("annual", "county"): 80, ("received", "county"): 80, ("executed", "county"): 80},
          [("产出指标", "数量指标", "养护里程", 30, "120公里", "120公里"),
           ("产出指标", "时效指标", "养护及时率", 20, "≥95%", "97%"),
           ("效益指标", "社会效益指标", "道路通行状况改善", 30, "持续", "100%"),
           ("满意度指标", "服务对象满意度指标", "群众满意度", 10, "≥90%", "93%")])
    listing = wb[L.PROJECT_LIST_SHEET]
    for row in (2, 3):
        listing.cell(row, L.PROJECT_LIST_KEYS.index("email") + 1).value = f"xm{row}@unit.example"
        listing.cell(row, L.PROJECT_LIST_KEYS.index("year") + 1).value = "2024"
    wb.save(book)

    # recalc: the weight mistake, at the cell and naming the project as typed (the sheet is still 项目1)
    first = run("recalc", book, "--json")
    assert first.exit_code == 1
    data = json.loads(first.stdout)
    (weights,) = [f for f in data["findings"] if f["code"] == "weights-sum"]
    assert (weights["sheet"], weights["cell"], weights["project"]) == ("项目1", L.WEIGHT_TOTAL_CELL, "社区养老服务补助")
    assert all(f["project"] == "社区养老服务补助" for f in data["findings"] if f["sheet"] == "项目1")
    (unused,) = [f for f in data["findings"] if f["sheet"] == "项目3"]
    assert unused["code"] == "project-not-filled" and unused["severity"] == "warning"
    shown = run("recalc", book)
    assert shown.exit_code == 1 and f"项目1!{L.WEIGHT_TOTAL_CELL}（社区养老服务补助）" in _flat(shown.stdout)
    places = [c.value for c in load_workbook(book)[L.FINDINGS_SHEET]["C"][1:]]
    assert f"项目1!{L.WEIGHT_TOTAL_CELL}（社区养老服务补助）" in places and "项目3!B2" in places

    # the accountant fixes the weight and writes the reasons; the year is clean but for the unused sheet
    wb = load_workbook(book)
    ws = wb["项目1"]
    ws[L.indicator_cell("weight", L.BUDGET_INDICATOR_ROW + 3)] = 30
    ws[L.indicator_cell("reason", L.BUDGET_INDICATOR_ROW)] = "年末 1.5 万元尚未支付，已于次年 1 月支付"
    ws[L.indicator_cell("reason", L.BUDGET_INDICATOR_ROW + 3)] = "个别老人回访未覆盖，下年改进"
    wb.save(book)
    fixed = run("recalc", book)
    assert fixed.exit_code == 0, fixed.stdout
    flat = _flat(fixed.stdout)
    assert "社区养老服务补助98.38优秀98.75%" in flat and "乡村道路养护100.00优秀100.00%" in flat
    assert "发现0个错误、1个警告、0个提示" in flat and "尚未填写" in flat
    wb = load_workbook(book)
    annexes = ["附件1-社区养老服务补助", "附件1-乡村道路养护"]
    assert [n for n in wb.sheetnames if n.startswith(L.ANNEX_PREFIX)] == annexes
    summary = [row[:3] for row in wb[L.SUMMARY_SHEET].iter_rows(min_row=2, values_only=True) if row[0]]
    assert summary == [("社区养老服务补助", 98.38, "优秀"), ("乡村道路养护", 100, "优秀")]  # 项目3 left out
    annex = [v for row in wb[annexes[0]].iter_rows(values_only=True) for v in row if v is not None]
    assert {"社区养老服务补助", "补助老人人数", "个别老人回访未覆盖，下年改进", 98.38, 9.88} <= set(annex)

    # check: the 附件1 sheets recalc wrote agree with the rules
    checked = run("check", book, "--json")
    assert checked.exit_code == 0, checked.stdout
    tables = json.loads(checked.stdout)["tables"]
    assert [(t["sheet"], t["total"]) for t in tables] == [(annexes[0], "98.38"), (annexes[1], "100.00")]

    # export --pdf: two workbooks and two PDFs; the unused project said once, not exported
    exported = run("export", book, "--pdf")
    assert exported.exit_code == 0, exported.stdout + exported.stderr
    outdir = tmp_path / "绩效自评_导出"
    assert sorted(p.name for p in outdir.glob("*.xlsx")) == sorted(f"{n}_项目支出绩效自评表.xlsx"
                                                                    for n in ("社区养老服务补助", "乡村道路养护"))
    assert sorted(p.name for p in outdir.glob("*.pdf")) == sorted(f"{n}_项目支出绩效自评表.pdf"
                                                                   for n in ("社区养老服务补助", "乡村道路养护"))
    assert all(p.read_bytes().startswith(b"%PDF") for p in outdir.glob("*.pdf"))
    assert "已导出2个项目" in _flat(exported.stdout) and "尚未填写，未导出" in _flat(exported.stdout)

    # mail --dry-run: one draft per exported project, to the 电子邮箱 of its 项目清单 row
    mailed = run("mail", book, "--dry-run")
    assert mailed.exit_code == 0, mailed.stdout + mailed.stderr
    drafts = sorted((outdir / "待发送邮件").glob("*.eml"))
    assert len(drafts) == 2 and "尚未配置" in _flat(mailed.stderr)
    from email import message_from_bytes, policy

    messages = {m["To"]: m for m in (message_from_bytes(p.read_bytes(), policy=policy.default) for p in drafts)}
    assert set(messages) == {"xm2@unit.example", "xm3@unit.example"}
    assert messages["xm2@unit.example"]["Subject"].startswith("2024年度项目支出绩效自评表：社区养老服务补助")
    assert not (tmp_path / "绩效自评_发送记录.csv").exists() or "xm2" not in (
        tmp_path / "绩效自评_发送记录.csv").read_text(encoding="utf-8-sig")  # a draft is not a sent mail

    # remove-project: the unused sheet and its 项目清单 row go; the next recalc is clean
    removed = run("remove-project", book, "--name", "项目3")
    assert removed.exit_code == 0 and "删除项目“项目3”" in _flat(removed.stdout)
    again = run("recalc", book)
    assert again.exit_code == 0 and "未发现问题" in again.stdout
    wb = load_workbook(book)
    assert wb.sheetnames == ["使用说明", L.PROJECT_LIST_SHEET, "项目1", "项目2", L.SUMMARY_SHEET, L.FINDINGS_SHEET,
                             *annexes]
    assert [row[0] for row in wb[L.PROJECT_LIST_SHEET].iter_rows(min_row=2, values_only=True)] == ["项目1", "项目2"]
    assert wb[L.FINDINGS_SHEET]["A2"].value == "未发现问题"


# ---- an 80-column terminal ---------------------------------------------------------------------------
def _column(lines: list[str], index: int) -> str:
    """The text of one column of a rich table (rows split at │), line by line, without its padding."""
    return "\n".join(line.split("│")[index].strip() for line in lines if line.count("│") >= index + 1)


def test_tables_wrap_in_an_80_column_terminal_and_cut_nothing(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from xlperf import cli
    from xlperf.cli_text import NO_END, NO_START

    screen = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(width=80, file=screen, markup=False, color_system=None))
    assert run("demo", tmp_path).exit_code == 0
    text = screen.getvalue()
    lines = text.splitlines()
    from rich.cells import cell_len

    assert max(cell_len(line) for line in lines) <= 80
    assert "…" not in text  # nothing cut with an ellipsis
    summary_end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    names = _column(lines[:summary_end], 1)
    assert "忻州市政府信息化建设经费" in names.replace("\n", "")  # wrapped, whole
    findings = json.loads(run("recalc", tmp_path / "绩效自评示例.xlsx", "--json").stdout)["findings"]
    table = lines[summary_end + 1:]
    messages = _column(table, 3)
    flat = messages.replace("\n", "").replace(" ", "")
    for f in findings:
        assert f["message"].replace(" ", "") in flat, f["message"]  # every message whole, in order of its words
    for line in messages.splitlines():
        assert line[:1] not in NO_START and line[-1:] not in NO_END, line  # no line starts with ，or ends with （
    assert "10 分" in messages  # a number stays with its unit



@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")
def test_check_convert_of_a_csv_names_the_file_not_libreoffices_copy(tmp_path):
    data = tmp_path / "数据.csv"
    data.write_text("项目名称,权重,目标值,业绩值\n测试,10,100,90\n", encoding="utf-8")
    result = run("check", "--convert", data, "--json")
    assert result.exit_code == 1, result.stdout + result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "no-table" and finding["sheet"] == "数据.csv" and finding["project"] is None
    shown = run("check", "--convert", data)
    assert "数据.csv" in _flat(shown.stdout) and "source" not in shown.stdout


def test_wrap_keeps_every_character_and_fits_the_width():
    from hypothesis import given, settings, strategies as st
    from rich.cells import cell_len

    from xlperf.cli_text import wrap

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(st.text(alphabet=st.sampled_from(list("项目资金执行率，。（）“”、；：0123456789.% abc-/!\n")), max_size=120),
           st.integers(min_value=2, max_value=40))
    def check(text, width):
        lines = wrap(text, width)
        assert all(cell_len(line) <= width for line in lines)
        assert "".join("".join(lines).split()) == "".join(text.split())

    check()


def _print_ranges(path, sheet):
    area = load_workbook(path)[sheet].print_area
    return area.split(",") if area else []


def test_an_input_sheet_prints_the_indicator_rows_in_use_then_its_totals(tmp_path):
    """The 40 indicator rows print only as far as they are filled; 合计/总得分 and the report's text follow."""
    path = _two_projects_one_filled(tmp_path)
    first, last = L.INDICATOR_FIRST_ROW, L.TOTAL_ROW
    end = L.REPORT_FIRST_ROW + len(L.REPORT_FIELDS) - 1
    # a new sheet: the header and the pre-filled 预算执行率 row, then the totals
    assert _print_ranges(path, "项目2") == [f"'项目2'!$A$1:$J${first}", f"'项目2'!$A${last}:$J${end}"]
    used = max(r for r in L.indicator_rows() if load_workbook(path)["项目1"][f"C{r}"].value)
    assert run("recalc", path).exit_code == 0
    assert _print_ranges(path, "项目1") == [f"'项目1'!$A$1:$J${used}", f"'项目1'!$A${last}:$J${end}"]
    # two more rows typed: the print area follows them at the next recalc
    wb = load_workbook(path)
    for row, name in ((used + 1, "新增指标一"), (used + 2, "新增指标二")):
        wb["项目1"][f"C{row}"] = name
    wb.save(path)
    run("recalc", path)
    assert _print_ranges(path, "项目1")[0] == f"'项目1'!$A$1:$J${used + 2}"
    # every indicator row filled: one range, nothing left out
    wb = load_workbook(path)
    wb["项目1"][f"C{L.INDICATOR_LAST_ROW}"] = "最后一行"
    wb.save(path)
    run("recalc", path)
    assert _print_ranges(path, "项目1") == [f"'项目1'!$A$1:$J${end}"]


def test_a_print_area_the_user_chose_is_kept(tmp_path):
    path = _two_projects_one_filled(tmp_path)
    wb = load_workbook(path)
    wb["项目1"].print_area = "A1:F20"
    wb.save(path)
    assert run("recalc", path).exit_code == 0
    assert _print_ranges(path, "项目1") == ["'项目1'!$A$1:$F$20"]


def test_a_print_area_excel_wrote_again_is_still_xlperfs(tmp_path):
    """Excel writes the references without quotes (and moves both names when rows are inserted): the
    marker still matches, so recalc still follows the rows in use."""
    from xlperf.package.opc import MAIN_NS, Package

    path = _two_projects_one_filled(tmp_path)
    used = max(r for r in L.indicator_rows() if load_workbook(path)["项目1"][f"C{r}"].value)
    package = Package.from_bytes(path.read_bytes())
    root = package.xml(package.main_document())
    for el in root.iter(f"{{{MAIN_NS}}}definedName"):
        if el.text and "项目1" in el.text:
            el.text = el.text.replace("'", "")
    package.touch(package.main_document())
    path.write_bytes(package.to_bytes())
    written = Package.from_bytes(path.read_bytes())
    assert f">项目1!$A$1:$J${L.INDICATOR_FIRST_ROW}," in written.read(written.main_document()).decode()
    assert run("recalc", path).exit_code == 0
    assert _print_ranges(path, "项目1")[0] == f"'项目1'!$A$1:$J${used}"
