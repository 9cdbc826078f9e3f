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
