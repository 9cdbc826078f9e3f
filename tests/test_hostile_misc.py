"""Hostile input, third round (issue 21): the form marker, structure edits, Excel's escaped control
characters and the command line's path messages.

Each gives a clear Chinese message and the documented exit code, never a traceback, and the user's
file is unchanged unless the command succeeded. (`serve`'s request limits: tests/test_server_hostile.py.)
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName
from typer.testing import CliRunner

from xlperf.cli import app
from xlperf.forms.recorded import FORM_NAME

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _book(tmp_path: Path, name: str = "book.xlsx", projects: int = 1) -> Path:
    path = tmp_path / name
    assert run("new", path, "--projects", projects, "--example").exit_code == 0
    return path


def _refused(result, *phrases: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Error" not in result.output, result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


# ---- the xlperf_form marker ----------------------------------------------------------------------
@pytest.mark.parametrize("definition, shown", [
    ('"future2030"', "future2030"),   # a form of a newer xlperf
    ('"department"', "department"),   # a form xlperf only reads (审核), never writes
    ("national", "national"),         # typed by hand without the quotes: a reference, not a text
    ('""', "“”"),
])
@pytest.mark.parametrize("command", ["recalc", "export", "report"])
def test_an_unknown_form_marker_is_refused_in_chinese(tmp_path, definition, shown, command):
    path = _book(tmp_path)
    wb = load_workbook(path)
    wb.defined_names[FORM_NAME] = DefinedName(FORM_NAME, attr_text=definition)
    wb.save(path)
    before = path.read_bytes()
    result = run(command, path)
    _refused(result, FORM_NAME, shown, "--form", "national")
    assert path.read_bytes() == before
    assert not (tmp_path / "book_导出").exists() or not any((tmp_path / "book_导出").iterdir())


def test_form_given_on_the_command_line_overrides_an_unknown_marker(tmp_path):
    path = _book(tmp_path)
    wb = load_workbook(path)
    wb.defined_names[FORM_NAME] = DefinedName(FORM_NAME, attr_text='"future2030"')
    wb.save(path)
    result = run("recalc", path, "--form", "national")
    assert result.exit_code in (0, 1), result.output


# ---- the command line's path messages -------------------------------------------------------------
PATH_COMMANDS = [("recalc",), ("export",), ("report",), ("check",), ("mail", "--dry-run"),
                 ("add-project", "--name", "新项目"), ("remove-project", "--name", "项目1")]


def _balanced(message: str) -> bool:
    """Every “ closed by a ” (and 「 by 」) in order, never nested."""
    for opening, closing in ("“”", "「」"):
        depth = 0
        for ch in message:
            depth += (ch == opening) - (ch == closing)
            if depth not in (0, 1):
                return False
        if depth:
            return False
    return True


@pytest.mark.parametrize("command", PATH_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("make, phrase", [
    (lambda d: d / "不存在.xlsx", "找不到文件“"),
    (lambda d: d / 'it\'s "quoted".xlsx', "找不到文件“"),
    (lambda d: (d / 'folder "x"').mkdir() or d / 'folder "x"', "是文件夹"),
    (lambda d: Path(""), "是文件夹"),
], ids=["missing", "quotes", "folder", "empty"])
def test_path_messages_are_chinese_with_balanced_quotes(tmp_path, monkeypatch, command, make, phrase):
    monkeypatch.chdir(tmp_path)
    path = make(tmp_path)
    result = run(command[0], path, *command[1:])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("错误：") and phrase in message, message
    assert "Traceback" not in result.output and not re.search(r"[A-Za-z]{4,} (?:path|file|exist)", message), message
    assert _balanced(message), message
    shown = str(path) or "."
    assert f"“{shown}”" in message, message  # the path itself, whole, between one pair of quotes
    assert list(tmp_path.iterdir()) == ([path] if path.name.startswith("folder") else [])  # nothing written


def test_a_click_error_from_an_environment_variable_is_chinese():
    from xlperf.cli_chinese import error_message

    message = error_message("Invalid value for '--max-size' (env var: 'XLPERF_SERVE_MAX_SIZE'): "
                            "Input should be greater than or equal to 0.001")
    assert message == "--max-size（或环境变量 XLPERF_SERVE_MAX_SIZE）的值无效：应不小于 0.001"


# ---- Excel's escaped control characters (_x000B_, _x0007_) ------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402
from openpyxl.utils.escape import escape  # noqa: E402

from xlperf import layout as L  # noqa: E402
from xlperf.export import clean_file_part  # noqa: E402
from xlperf.report.content import clean, one_line  # noqa: E402

CONTROLS = st.text(alphabet=st.sampled_from(["信", "息", "a", " ", "_", "x", "\x07", "\x0b", "\x0c", "\x1b", "\x01",
                                             "\t", "\n"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(CONTROLS)
def test_an_escaped_control_character_is_treated_as_the_character(text):
    escaped = escape(text)  # what Excel writes for it, and openpyxl hands over undecoded
    assert clean_file_part(escaped) == clean_file_part(text)
    assert clean(escaped) == clean(text) and one_line(escaped) == one_line(text)
    assert L.printable_name(escaped) == L.printable_name(text)


def test_an_escape_of_a_printable_character_stays_as_typed():
    assert L.decode_control_escapes("A_x0041_B_x4E2D_") == "A_x0041_B_x4E2D_"
    assert clean_file_part("铃_x0007_声") == "铃_声" and clean("铃_x0007_声") == "铃声"


def test_escaped_control_characters_never_reach_file_names_or_the_report(tmp_path):
    import zipfile

    path = _book(tmp_path)
    wb = load_workbook(path)
    ws = next(ws for ws in wb.worksheets if ws["A1"].value == L.INPUT_TITLE)
    ws[L.NAME_CELL] = "信息化_x000B_运维_x0007_项目"  # as Excel stores a vertical tab and a bell typed into it
    wb.save(path)
    result = run("report", path)
    assert result.exit_code in (0, 1), result.output
    result = run("export", path)
    assert result.exit_code in (0, 1), result.output
    written = [p for p in (tmp_path / "book_导出").rglob("*") if p.is_file()]
    assert any(p.suffix == ".docx" for p in written) and any(p.suffix == ".xlsx" for p in written)
    assert all("_x00" not in p.name and "信息化 运维_项目" in p.name for p in written if p.suffix in (".docx", ".xlsx")
               and "信息化" in p.name), [p.name for p in written]
    (docx,) = [p for p in written if p.suffix == ".docx"]
    with zipfile.ZipFile(docx) as z:
        document = z.read("word/document.xml").decode("utf-8")
    assert "_x000B_" not in document and "_x0007_" not in document and "信息化运维项目" in document


# ---- remove-project and the user's formulas that refer to its sheet ---------------------------------
def test_remove_project_warns_about_a_user_formula_referring_to_the_removed_sheet(tmp_path):
    path = _book(tmp_path, projects=2)
    wb = load_workbook(path)
    inputs = [ws for ws in wb.worksheets if ws["A1"].value == L.INPUT_TITLE]
    removed, kept = inputs[0].title, inputs[1].title
    mine = wb.create_sheet("我的汇总")
    mine["C3"] = f"='{removed}'!B2"
    mine["D4"] = f"={kept}!B2"
    wb.save(path)
    result = run("remove-project", path, "--name", removed)
    assert result.exit_code == 0, result.output
    assert f"我的汇总!C3 的公式引用了已删除的工作表“{removed}”" in result.stderr
    assert "D4" not in result.stderr
    assert removed not in load_workbook(path).sheetnames
