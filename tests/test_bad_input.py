"""Bad input (issue 6): every file in the corpus gets its Chinese message or its finding at the right cell.

File-level cases: every reading command (recalc, check, add-project, export)
exits 2 with a message naming the file, no traceback, and writes nothing.
Sheet-level cases: recalc reports each hand edit at its cell and never
scores a shifted table.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf import workbook_io
from xlperf.cli import app
from xlperf.pipeline import recalc_workbook
from xlperf.readers.input_sheet import read_projects
from xlperf.profiles import load_profile
from xlperf.workbook_io import UnreadableWorkbook, open_workbook, reading_options

from .bad_files import BASE_TOTAL, FILE_CASES, SHEET, SHEET_CASES, base_workbook

runner = CliRunner()
PROFILE = load_profile()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def folder_state(folder: Path) -> dict:
    return {p.name: (p.read_bytes() if p.is_file() else "dir") for p in sorted(folder.iterdir())}


def test_the_corpus_has_at_least_40_files():
    assert len(FILE_CASES) + len(SHEET_CASES) >= 40


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_unreadable_file_is_refused_with_its_message(tmp_path, name):
    case = FILE_CASES[name]
    path = case.build(tmp_path)
    with reading_options(password=case.password):
        with pytest.raises(UnreadableWorkbook) as info:
            open_workbook(path)
    message = str(info.value)
    assert case.message in message, message
    assert path.name in message or str(path) in message  # the message names the file
    assert "Traceback" not in message


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_every_command_exits_2_and_writes_nothing(tmp_path, name):
    case = FILE_CASES[name]
    path = case.build(tmp_path)
    before = folder_state(tmp_path)
    extra = ["--password", case.password] if case.password else []
    for command in (["recalc", path, *extra], ["check", path, *extra], ["add-project", path, "--name", "新项目", *extra],
                    ["export", path, *extra]):  # mail first asks for the export record; see below
        result = runner.invoke(app, [str(a) for a in command], catch_exceptions=False)
        assert result.exit_code == 2, (command, result.stdout)
        assert "Traceback" not in result.stderr and result.stderr.strip(), command
        assert case.message in " ".join(result.stderr.split()).replace(" ", "") or \
            case.message.replace(" ", "") in result.stderr.replace(" ", "").replace("\n", ""), (command, result.stderr)
    assert folder_state(tmp_path) == before  # nothing written, nothing changed


# Refused from the zip directory or the parts' XML: openpyxl never loads them (no cost before the refusal).
PACKAGE_REFUSALS = ("huge-dimension", "declared-dimension", "huge-merge", "zip-bomb", "lying-sizes", "xxe",
                    "billion-laughs", "zip-encrypted-entry", "missing-workbook-part")


@pytest.mark.parametrize("name", PACKAGE_REFUSALS)
def test_package_refusals_never_load_the_workbook(tmp_path, monkeypatch, name):
    calls = []
    monkeypatch.setattr(workbook_io, "load_workbook", lambda *a, **k: calls.append(a))
    path = FILE_CASES[name].build(tmp_path)
    with pytest.raises(UnreadableWorkbook) as info:
        open_workbook(path)
    assert FILE_CASES[name].message in str(info.value)
    assert not calls


def test_xxe_payload_never_resolves(tmp_path):
    """openpyxl parses with defusedxml; even without xlperf's own pre-check the entity is never expanded."""
    assert openpyxl.DEFUSEDXML is True  # defusedxml is installed and openpyxl uses it
    from defusedxml import DefusedXmlException

    path = FILE_CASES["xxe"].build(tmp_path)
    with pytest.raises(Exception) as raw:
        openpyxl.load_workbook(path)
    chain, causes = raw.value, []
    while chain is not None:
        causes.append(chain)
        chain = chain.__cause__ or chain.__context__
    assert any(isinstance(c, DefusedXmlException) for c in causes)  # refused by defusedxml, never expanded
    with pytest.raises(UnreadableWorkbook) as info:
        open_workbook(path)
    assert "TOP-SECRET" not in str(info.value)


def test_defused_errors_are_reported_even_past_the_precheck(tmp_path, monkeypatch):
    """Should a DOCTYPE ever get past the pre-check, the parsers still fail safely, as "不安全的 XML"."""
    path = FILE_CASES["xxe"].build(tmp_path)
    monkeypatch.setattr(workbook_io, "_refuse_doctype", lambda *a: None)
    monkeypatch.setattr(workbook_io, "_refuse_dtd_part", lambda *a: None)  # the pre-check of the other parts
    with pytest.raises(UnreadableWorkbook, match="不安全的 XML"):
        open_workbook(path)


def test_limits_are_checked_from_the_directory(tmp_path, monkeypatch):
    import zipfile

    path = tmp_path / "many.xlsx"
    base_workbook().save(path)
    with zipfile.ZipFile(path, "a") as z:
        for i in range(30):
            z.writestr(f"customXml/item{i}.xml", "<a/>")
    monkeypatch.setattr(workbook_io, "MAX_ENTRIES", 20)
    with pytest.raises(UnreadableWorkbook, match="超过上限 20"):
        open_workbook(path)
    monkeypatch.setattr(workbook_io, "MAX_ENTRIES", 50_000)
    monkeypatch.setattr(workbook_io, "MAX_UNCOMPRESSED", 1000)
    with pytest.raises(UnreadableWorkbook, match="压缩炸弹"):
        open_workbook(path)


def test_encrypted_workbook_opens_with_password_in_memory(tmp_path):
    from .bad_files import encrypted_bytes

    path = tmp_path / "加密.xlsx"
    path.write_bytes(encrypted_bytes("密码123"))
    with reading_options(password="密码123"):
        wb = open_workbook(path)
    assert SHEET in wb.sheetnames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["加密.xlsx"]  # nothing decrypted on disk


def test_export_and_mail_take_the_password_too(tmp_path):
    """An encrypted master: export decrypts it in memory with --password; no decrypted copy of the master on disk."""
    from .bad_files import encrypted_bytes

    path = tmp_path / "加密.xlsx"
    path.write_bytes(encrypted_bytes("密码123"))
    outdir = tmp_path / "导出"
    result = runner.invoke(app, ["export", str(path), "--outdir", str(outdir), "--password", "密码123"])
    assert result.exit_code in (0, 1), result.stderr
    assert [p.name for p in outdir.glob("*.xlsx")]  # the per-project files were written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["加密.xlsx", "导出"]
    result = runner.invoke(app, ["mail", str(path), "--outdir", str(outdir), "--dry-run", "--to", "czj@example.cn",
                                 "--password", "密码123"])
    assert result.exit_code in (0, 1), result.stderr
    assert list((outdir / "待发送邮件").glob("*.eml"))


# ---- sheet-level cases --------------------------------------------------------------------
def _recalc_case(tmp_path, name):
    case = SHEET_CASES[name]
    wb = base_workbook()
    case.edit(wb[SHEET])
    path = tmp_path / f"{name}.xlsx"
    wb.save(path)
    return case, path, recalc_workbook(path, None, PROFILE, crosscheck=False)  # the CLI test below runs it


def test_base_workbook_scores_100(tmp_path):
    path = tmp_path / "base.xlsx"
    base_workbook().save(path)
    report = recalc_workbook(path, None, PROFILE)
    assert report.results[0].total == Decimal(BASE_TOTAL)
    assert not [f for f in report.findings if f.severity == "error"]


@pytest.mark.parametrize("name", sorted(SHEET_CASES))
def test_hand_edited_sheet_reports_at_the_right_cell(tmp_path, name):
    case, path, report = _recalc_case(tmp_path, name)
    found = {(f.code, f.cell) for f in report.findings if f.sheet == SHEET}
    for code, cell in case.findings:
        assert (code, cell) in found, (code, cell, sorted(found))
    result = report.results[0]
    if case.total is not None:
        assert result.total == Decimal(case.total), result.total
    if case.unscored:
        assert not result.indicators and result.budget is None  # a shifted table is never read
        errors = [f for f in report.findings if f.severity == "error"]
        assert [f.code for f in errors] == ["layout-changed"]  # one finding, nothing else made up
        assert result.total is None and result.grade == "未评分"  # never a made-up 0 分 差
        out = openpyxl.load_workbook(path)
        summary = {row[0]: row for row in out[L.SUMMARY_SHEET].iter_rows(min_row=2, values_only=True)}
        assert summary[result.project.name][1:3] == (None, "未评分")
    for r in result.indicators:  # never a score above its weight
        if r.score is not None:
            assert r.indicator.weight.is_number and r.score <= r.indicator.weight.number


def test_moved_layout_reads_the_same_values_as_the_template(tmp_path):
    """Rows and columns moved: every value read is the one typed, at its new cell."""
    wb = base_workbook()
    plain = read_projects(wb, lambda s, c: None, PROFILE)[0]
    ws = wb[SHEET]
    from . import excel_edits as E

    E.insert_rows(ws, 3, 2)
    E.insert_rows(ws, L.INDICATOR_FIRST_ROW + 4, 1)
    E.insert_cols(ws, 3, 1)
    moved = read_projects(wb, lambda s, c: None, PROFILE)[0]
    assert moved.positions.moved and not plain.positions.moved
    assert [(i.level3, i.weight, i.target, i.actual) for i in moved.indicators] == \
        [(i.level3, i.weight, i.target, i.actual) for i in plain.indicators]
    assert moved.budget.values == plain.budget.values
    assert moved.indicators[0].actual_linked  # the 预算执行率 link formula was recognised at its new cell
    assert moved.indicators[1].cells["weight"].cell == f"F{L.INDICATOR_FIRST_ROW + 3}"  # E, one column inserted before
    assert [f.code for f in moved.read_findings] == ["layout-moved"]  # every template formula recognised


def test_recalc_json_of_a_refused_sheet(tmp_path):
    wb = base_workbook()
    SHEET_CASES["header-renamed"].edit(wb[SHEET])
    path = tmp_path / "改表头.xlsx"
    wb.save(path)
    result = run("recalc", path, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    codes = [(f["code"], f["cell"]) for f in data["findings"] if f["severity"] == "error"]
    assert codes == [("layout-changed", L.indicator_cell("weight", L.INDICATOR_HEADER_ROW))]


_MEASURE = """
import resource, sys
from typer.testing import CliRunner
from xlperf.cli import app
import openpyxl, xlperf.check, xlperf.pipeline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = CliRunner().invoke(app, [sys.argv[2], sys.argv[1]])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(result.exit_code, after - before)
"""


@pytest.mark.parametrize("command", ["check", "recalc"])
def test_a_part_holding_far_more_than_the_zip_says_is_refused_in_bounded_memory(tmp_path, command):
    """xl/styles.xml inflating to 640 MB while the zip directory says 200 KB (the ratio looks normal): the
    members are inflated in chunks before any whole-member read, and the file is refused at once."""
    import subprocess
    import sys

    from .bad_files import _good_bytes, understated_member

    path = tmp_path / "造假.xlsx"
    path.write_bytes(understated_member(_good_bytes(), "xl/styles.xml", 640 << 20, 200 << 10))
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path), command], capture_output=True, text=True,
                          timeout=600)
    code, growth_kib = map(int, proc.stdout.split()[-2:])
    assert code == 2, proc.stderr
    assert growth_kib < 300 << 10, f"{growth_kib >> 10} MB"  # ru_maxrss is in KiB on Linux
    assert path.read_bytes() == before
