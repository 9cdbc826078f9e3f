"""The desktop add-in: macros/xlperf.xlam (xlwings' template, our VBA and customUI), xlperf-basic.xlam (the
template's VBA, our customUI), xlperf.bas, `xlperf addin`.

Real Excel is not available here; what only Excel can show is the README's manual check list. These tests
read the files the way Excel would: the zip package, the ribbon relationship, the customUI XML against
Microsoft's 2009/07 schema, and the VBA that each button's onAction must reach, with three independent
readers: pyopenvba, oletools' olevba and LibreOffice.
"""
from __future__ import annotations

import io
import re
import sys
import tomllib
import types
import zipfile
from pathlib import Path

import pytest
import xmlschema
from defusedxml import ElementTree as ET
from oletools.olevba import VBA_Parser
from typer.testing import CliRunner

import xlperf
from xlperf import addin as A
from xlperf.cli import app

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
CUI = f"{{{A.CUSTOM_UI_NAMESPACE}}}"
RIBBON_REL_2010 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"  # customUI14 part
RIBBON_REL_2007 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"  # customUI (2006/01)
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"

runner = CliRunner()


# ---- helpers --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(SCHEMAS / "customui14.xsd")


@pytest.fixture(scope="module")
def template() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(A.xlwings_template()))


@pytest.fixture(scope="module")
def xlam() -> zipfile.ZipFile:
    return zipfile.ZipFile(A.ADDIN_PATH)


@pytest.fixture(scope="module")
def basic() -> zipfile.ZipFile:
    return zipfile.ZipFile(A.BASIC_ADDIN_PATH)


def vba_modules(path: Path, data: bytes | None = None) -> dict[str, str]:
    """Module name → VBA source, as olevba extracts it."""
    parser = VBA_Parser(str(path), data=data)
    try:
        return {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


_PROC = re.compile(r"^(?:(Public|Private) )?(Sub|Function) (\w+)\(([^)]*)\)[^\n]*\n(.*?)^End \2", re.M | re.S)


def procedures(code: str) -> dict[str, dict]:
    """Procedure name → scope, kind, parameters and body (line continuations joined)."""
    code = code.replace("\r\n", "\n").replace(" _\n", " ")
    return {m[3]: {"scope": m[1] or "Public", "kind": m[2], "params": m[4].strip(), "body": m[5]}
            for m in _PROC.finditer(code)}


def is_ribbon_callback(proc: dict) -> bool:
    return proc["scope"] == "Public" and proc["kind"] == "Sub" and \
        re.fullmatch(r"(ByRef |ByVal )?\w+ As IRibbonControl", proc["params"]) is not None


def ribbon_buttons(xml: bytes) -> list:
    root = ET.fromstring(xml)
    return list(root.iter(CUI + "button"))


def control_ids() -> set[str]:
    lines = (SCHEMAS / "excel_control_ids.txt").read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def bas_source() -> str:
    return A.BAS_PATH.read_bytes().decode(A.BAS_ENCODING)  # strict: the file must be GBK


# ---- the package ----------------------------------------------------------------------------------
def test_committed_macros_match_a_fresh_build():
    """Regenerate with: python -m xlperf.addin (or xlperf addin build)."""
    for path, data in A.generated_files().items():
        assert path.read_bytes() == data, f"{path.name} 已过期：运行 python -m xlperf.addin"


def test_build_is_deterministic_with_fixed_zip_metadata():
    first, second = A.generated_files(), A.generated_files()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first[A.ADDIN_PATH])) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {(i.create_system, i.external_attr) for i in z.infolist()} == {(0, 0o600 << 16)}
        assert z.testzip() is None


def test_basic_addin_differs_from_the_xlwings_template_only_in_its_custom_ui(template, basic):
    assert basic.namelist() == template.namelist()
    changed = [n for n in template.namelist() if basic.read(n) != template.read(n)]
    assert changed == [A.CUSTOM_UI_PART]
    # in particular the VBA, the relationships and the content types are the template's, byte for byte
    for name in ("xl/vbaProject.bin", "_rels/.rels", "[Content_Types].xml", "xl/workbook.xml"):
        assert basic.read(name) == template.read(name)
    assert basic.read(A.CUSTOM_UI_PART) == A.basic_custom_ui()


def test_full_addin_differs_from_the_template_in_its_vba_config_sheet_and_custom_ui(template, xlam):
    assert xlam.namelist() == template.namelist()
    changed = [n for n in template.namelist() if xlam.read(n) != template.read(n)]
    assert changed == ["xl/workbook.xml", "xl/vbaProject.bin", A.CUSTOM_UI_PART]
    assert xlam.read(A.CUSTOM_UI_PART) == A.CUSTOM_UI_PATH.read_bytes()
    # workbook.xml: only the config sheet's name (xlwings reads the sheet PROJECT_NAME & ".conf")
    assert xlam.read("xl/workbook.xml") == template.read("xl/workbook.xml").replace(
        b'name="_myaddin.conf"', b'name="_xlperf.conf"')
    assert b'name="_xlperf.conf"' in xlam.read("xl/workbook.xml")


@pytest.mark.parametrize("path", [A.ADDIN_PATH, A.BASIC_ADDIN_PATH], ids=lambda p: p.name)
def test_ribbon_relationship_and_content_type_fit_the_2009_07_custom_ui(path):
    xlam = zipfile.ZipFile(path)
    rels = ET.fromstring(xlam.read("_rels/.rels"))
    ribbon = [r for r in rels.iter(PKG_REL + "Relationship") if "ui/extensibility" in r.get("Type")]
    assert [(r.get("Type"), r.get("Target")) for r in ribbon] == [(RIBBON_REL_2010, A.CUSTOM_UI_PART)]
    assert not [r for r in rels.iter(PKG_REL + "Relationship") if r.get("Type") == RIBBON_REL_2007]
    # the customUI14 relationship requires the 2009/07 namespace (the template itself paired it with 2006/01)
    assert ET.fromstring(xlam.read(A.CUSTOM_UI_PART)).tag == "{http://schemas.microsoft.com/office/2009/07/customui}customUI"
    types_ = ET.fromstring(xlam.read("[Content_Types].xml"))
    overrides = {o.get("PartName"): o.get("ContentType") for o in types_.iter(CT + "Override")}
    defaults = {d.get("Extension"): d.get("ContentType") for d in types_.iter(CT + "Default")}
    part = "/" + A.CUSTOM_UI_PART
    assert overrides.get(part, defaults["xml"]) == "application/xml"  # the customUI part's content type
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"  # an add-in


def test_custom_ui_files_are_valid_against_the_2009_07_schema(schema, xlam, basic):
    for xml in (xlam.read(A.CUSTOM_UI_PART), basic.read(A.CUSTOM_UI_PART), A.WORKBOOK_CUSTOM_UI_PATH.read_bytes()):
        schema.validate(io.BytesIO(xml))
    # the schema is really checking: a wrong size, an unknown attribute or the 2006 namespace are refused
    good = A.CUSTOM_UI_PATH.read_text(encoding="utf-8")
    for bad in (good.replace('size="large"', 'size="huge"'), good.replace("imageMso=", "icon="),
                good.replace(A.CUSTOM_UI_NAMESPACE, "http://schemas.microsoft.com/office/2006/01/customui")):
        assert not schema.is_valid(io.BytesIO(bad.encode("utf-8")))


def test_basic_addin_ribbon_is_the_tab_with_the_recalc_button(basic):
    root = ET.fromstring(basic.read(A.CUSTOM_UI_PART))
    tabs = list(root.iter(CUI + "tab"))
    assert [t.get("label") for t in tabs] == ["绩效自评"]
    buttons = ribbon_buttons(basic.read(A.CUSTOM_UI_PART))
    assert [(b.get("label"), b.get("size"), b.get("onAction")) for b in buttons] == \
        [("重新计算得分", "large", "RibbonMyAddin.RunMain")]
    assert "xlperf check" in buttons[0].get("supertip")  # the tip says where the other actions are


def test_addin_ribbon_has_every_action_on_the_one_tab(xlam):
    root = ET.fromstring(xlam.read(A.CUSTOM_UI_PART))
    assert [t.get("label") for t in root.iter(CUI + "tab")] == ["绩效自评"]
    buttons = ribbon_buttons(xlam.read(A.CUSTOM_UI_PART))
    assert [b.get("label") for b in buttons] == ["重新计算得分", "检查", "导出", "生成报告", "发送邮件"]
    assert [b.get("label") for b in buttons] == [a.label for a in A.ACTIONS]
    assert [b.get("onAction") for b in buttons] == [
        "XlperfRibbon.XlperfRecalc", "XlperfRibbon.XlperfCheck", "XlperfRibbon.XlperfExport",
        "XlperfRibbon.XlperfReport", "XlperfRibbon.XlperfMail"]
    assert {b.get("size") for b in buttons} == {"large"}


def test_workbook_ribbon_adds_the_other_actions_to_the_same_tab():
    root = ET.fromstring(A.WORKBOOK_CUSTOM_UI_PATH.read_bytes())
    addin_root = ET.fromstring(A.CUSTOM_UI_PATH.read_bytes())
    (tab,), (addin_tab,) = list(root.iter(CUI + "tab")), list(addin_root.iter(CUI + "tab"))
    assert tab.get("idQ") == addin_tab.get("idQ") == "xlperf:tab"  # shared tab (same namespace URI in both)
    assert [b.get("label") for b in ribbon_buttons(A.WORKBOOK_CUSTOM_UI_PATH.read_bytes())] == ["检查", "导出", "生成报告", "发送邮件"]


def test_icons_are_office_built_in_images():
    known = control_ids()
    for xml in (A.CUSTOM_UI_PATH.read_bytes(), A.WORKBOOK_CUSTOM_UI_PATH.read_bytes()):
        for button in ribbon_buttons(xml):
            assert button.get("imageMso") in known, button.get("imageMso")
            assert button.get("image") is None and button.get("getImage") is None


# ---- the VBA --------------------------------------------------------------------------------------
def test_each_basic_addin_on_action_is_a_ribbon_sub_that_runs_xlperf_main(basic, monkeypatch):
    modules = vba_modules(A.BASIC_ADDIN_PATH)
    for button in ribbon_buttons(basic.read(A.CUSTOM_UI_PART)):
        module, name = button.get("onAction").split(".")
        proc = procedures(modules[module])[name]
        assert is_ribbon_callback(proc), proc
        # mymodule = the add-in's file name without extension; RunPython "import mymodule;mymodule.main()"
        assert re.search(r"mymodule = Left\(ThisWorkbook\.Name, \(InStrRev\(ThisWorkbook\.Name, \"\.\"", proc["body"])
        assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in proc["body"]
    # the command RunMain builds for a file named xlperf.xlam, run as RunPython runs it: recalc on the caller
    stem = Path(A.ADDIN_NAME).stem
    command = "import " + stem + ";" + stem + ".main()"
    assert command == "import xlperf;xlperf.main()"
    import xlwings

    import xlperf.excel

    calls, caller = [], object()
    monkeypatch.setattr(xlperf.excel, "recalc", lambda book, *a, **k: calls.append(book))
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: caller))
    exec(compile(command, "<RunPython>", "exec"), {})
    assert calls == [caller]


def test_the_template_vba_has_exactly_one_ribbon_callback():
    """Why the basic add-in has one button: no other public Sub takes an IRibbonControl (vbaProject.bin is unchanged)."""
    callbacks = [f"{module}.{name}" for module, code in vba_modules(A.BASIC_ADDIN_PATH).items()
                 for name, proc in procedures(code).items() if "IRibbonControl" in proc["params"]]
    assert callbacks == [A.BASIC_RIBBON_CALLBACK]


def test_vba_xlwings_version_equals_the_pinned_python_xlwings():
    xlwings_module = vba_modules(A.ADDIN_PATH)["xlwings"]
    (vba_version,) = re.findall(r'^Public Const XLWINGS_VERSION As String = "([^"]+)"', xlwings_module, re.M)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    pins = {spec.split("==")[1] for extra in extras.values() for spec in extra if spec.startswith("xlwings==")}
    import importlib.metadata

    assert pins == {vba_version} == {A.XLWINGS_VERSION} == {importlib.metadata.version("xlwings")}
    assert f'"xlwings64-{vba_version}.dll"' in xlwings_module  # the whole VBA is that release


@pytest.mark.parametrize(("path", "prefix"), [(A.ADDIN_PATH, "xlperf"), (A.BASIC_ADDIN_PATH, "myaddin")],
                         ids=["full", "basic"])
def test_vba_config_location_is_what_install_writes(path, prefix, tmp_path):
    code = vba_modules(path)["xlwings"]
    assert re.search(rf'^Public Const PROJECT_NAME As String = "{prefix}"', code, re.M)
    plan = A.plan_install("win32", home=tmp_path, env={}, interpreter=WIN_PYTHON, basic=path == A.BASIC_ADDIN_PATH)
    assert plan.addin_source == path and plan.addin_target.name == "xlperf.xlam"
    assert plan.config_file == tmp_path / f".{prefix}" / f"{prefix}.conf"
    get_path = procedures(code)["GetConfigFilePath"]["body"]
    assert 'Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in get_path
    assert 'GetMacDir("$HOME", False) & "/" & PROJECT_NAME & ".conf"' in get_path  # the sandbox home on macOS
    assert 'GetConfig("INTERPRETER_WIN", "")' in code and 'GetConfig("INTERPRETER_MAC", "")' in code
    assert 'AppleScriptTask("xlwings-" & XLWINGS_VERSION & ".applescript"' in code


def test_bas_is_gbk_with_crlf_and_its_ribbon_callbacks_reach_the_addins_run_python():
    text = bas_source()
    assert "\n" not in text.replace("\r\n", "")  # CRLF only, as the VBA editor writes
    assert text.startswith(f'Attribute VB_Name = "{A.BAS_MODULE}"')
    (code,) = vba_modules(A.BAS_PATH, text.encode("utf-8")).values()
    procs = procedures(code)
    (target,) = re.findall(r'^Private Const ADDIN_RUN_PYTHON As String = "([^"]+)"', code, re.M)
    assert "Application.Run ADDIN_RUN_PYTHON, PythonCommand" in procs["RunXlperf"]["body"]
    # the target is RunPython of the add-in's xlwings module
    book, qualified = target.split("!")
    module, function = qualified.split(".")
    assert book == f"'{A.ADDIN_NAME}'" and function == "RunPython"
    run_python = procedures(vba_modules(A.ADDIN_PATH)[module])[function]
    assert run_python["scope"] == "Public" and run_python["params"] == "PythonCommand As String"

    on_actions = [b.get("onAction") for b in ribbon_buttons(A.WORKBOOK_CUSTOM_UI_PATH.read_bytes())]
    assert on_actions == ["检查", "导出", "生成报告", "发送邮件"]
    for action in A.ACTIONS:  # every action: a ribbon callback and a parameterless macro, same command
        callback, macro = procs[action.label], procs[action.macro]
        assert is_ribbon_callback(callback)
        assert macro["scope"] == "Public" and macro["params"] == ""
        for proc in (callback, macro):
            assert proc["body"].strip() == f'RunXlperf "{A.python_command(action)}"'
    assert set(on_actions) <= {a.label for a in A.ACTIONS}


@pytest.mark.parametrize("action", A.ACTIONS, ids=lambda a: a.function)
def test_bas_commands_call_xlperf_excel_with_the_calling_book(action, monkeypatch):
    """Run each command as RunPython would (python -c): it calls xlperf.excel.<function>(Book.caller())."""
    import xlwings

    calls = []
    fake = types.ModuleType("xlperf.excel")
    for a in A.ACTIONS:
        setattr(fake, a.function, lambda book, name=a.function: calls.append((name, book)))
    caller = object()
    monkeypatch.setitem(sys.modules, "xlperf.excel", fake)
    monkeypatch.setattr(xlperf, "excel", fake, raising=False)
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: caller))
    exec(compile(A.python_command(action), "<RunPython>", "exec"), {})
    assert calls == [(action.function, caller)]


def test_xlperf_excel_provides_every_bas_action():
    excel = pytest.importorskip("xlperf.excel", reason="xlperf.excel (Excel entry points) not present")
    for action in A.ACTIONS:
        assert callable(getattr(excel, action.function, None)), action.function


# ---- install --------------------------------------------------------------------------------------
WIN_PYTHON = r"C:\Python311\python.exe"


def _win_env(tmp_path):
    return {"USERPROFILE": str(tmp_path / "Users" / "kuaiji"),
            "APPDATA": str(tmp_path / "Users" / "kuaiji" / "AppData" / "Roaming")}


def test_install_plan_windows_copies_to_xlstart_and_writes_the_interpreter(tmp_path):
    env = _win_env(tmp_path)
    plan = A.plan_install("win32", home=tmp_path / "Users" / "kuaiji", env=env, interpreter=WIN_PYTHON)
    assert plan.addin_target == Path(env["APPDATA"]) / "Microsoft" / "Excel" / "XLSTART" / "xlperf.xlam"
    assert plan.config_file == Path(env["USERPROFILE"]) / ".xlperf" / "xlperf.conf"
    assert plan.copies == () and plan.warnings == ()

    plan.config_file.parent.mkdir(parents=True)  # a config the user already has: other lines are kept
    plan.config_file.write_bytes(b'"SHOW CONSOLE","True"\r\n"INTERPRETER_WIN","C:\\old\\python.exe"\r\n')
    A.apply_plan(plan)
    assert plan.addin_target.read_bytes() == A.ADDIN_PATH.read_bytes()
    expected = b'"SHOW CONSOLE","True"\r\n"INTERPRETER_WIN","C:\\Python311\\python.exe"\r\n'
    assert plan.config_file.read_bytes() == expected
    A.apply_plan(plan)  # running it again changes nothing
    assert plan.config_file.read_bytes() == expected


def test_install_plan_macos_uses_the_sandbox_folders_and_the_applescript(tmp_path):
    home = tmp_path / "kuaiji"
    office = home / "Library/Group Containers/UBF8T346G9.Office/User Content.localized"
    office.mkdir(parents=True)
    xlwings_dir = A.xlwings_dir()
    plan = A.plan_install("darwin", home=home, env={}, interpreter="/usr/local/bin/python3", xlwings_dir=xlwings_dir)
    assert plan.addin_target == office / "Startup.localized" / "Excel" / "xlperf.xlam"
    assert plan.config_file == home / "Library/Containers/com.microsoft.Excel/Data/xlperf.conf"
    script = home / "Library/Application Scripts/com.microsoft.Excel/xlwings-0.37.8.applescript"
    assert plan.copies == ((xlwings_dir / "xlwings-0.37.8.applescript", script),)
    A.apply_plan(plan)
    assert plan.addin_target.read_bytes() == A.ADDIN_PATH.read_bytes()
    assert plan.config_file.read_text(encoding="ascii") == '"INTERPRETER_MAC","/usr/local/bin/python3"\n'
    assert "VbaHandler" in script.read_text(encoding="utf-8")
    # an existing, non-localized start-up folder is used as it is
    (home / "Library/Group Containers/UBF8T346G9.Office/User Content.localized").rename(
        home / "Library/Group Containers/UBF8T346G9.Office/User Content")
    (home / "Library/Group Containers/UBF8T346G9.Office/User Content/Startup.localized").rename(
        home / "Library/Group Containers/UBF8T346G9.Office/User Content/Startup")
    assert A.mac_startup_dir(home) == home / "Library/Group Containers/UBF8T346G9.Office/User Content/Startup/Excel"


def test_install_plan_macos_without_office_says_what_to_do(tmp_path):
    with pytest.raises(A.AddinError, match="启动过一次"):
        A.plan_install("darwin", home=tmp_path, env={}, interpreter="/usr/bin/python3", xlwings_dir=tmp_path)


def test_install_plan_warns_about_paths_the_vba_cannot_handle(tmp_path):
    plan = A.plan_install("win32", home=tmp_path, env={}, interpreter=r"C:\Users\张三\python.exe",
                          startup_dir=tmp_path / "XLSTART")
    assert plan.addin_target == tmp_path / "XLSTART" / "xlperf.xlam"  # --dir wins
    assert plan.config_file == tmp_path / ".xlperf" / "xlperf.conf"  # no USERPROFILE: the home folder
    assert any("纯英文路径" in w for w in plan.warnings)
    A.apply_plan(plan)
    assert plan.config_file.read_bytes().decode("gbk") == '"INTERPRETER_WIN","C:\\Users\\张三\\python.exe"\r\n'
    mac = A.plan_install("darwin", home=tmp_path, env={}, interpreter="/Users/a b/python3",
                         startup_dir=tmp_path / "Excel", xlwings_dir=tmp_path)
    assert any("空格" in w for w in mac.warnings)
    with pytest.raises(A.AddinError, match="双引号"):
        A.plan_install("win32", home=tmp_path, env={}, interpreter='C:\\"x"\\python.exe')


def test_remove_deletes_only_the_addin(tmp_path):
    plan = A.plan_install("win32", home=tmp_path, env=_win_env(tmp_path), interpreter=WIN_PYTHON)
    assert A.remove_addin(plan) is False
    A.apply_plan(plan)
    assert A.remove_addin(plan) is True
    assert not plan.addin_target.exists() and plan.config_file.exists()


def test_install_on_linux_explains_why_not(tmp_path):
    with pytest.raises(A.AddinError, match="Windows 或 macOS"):
        A.plan_install("linux", home=tmp_path, env={}, interpreter=sys.executable)


@pytest.mark.skipif(sys.platform in A.SUPPORTED_PLATFORMS, reason="the Linux message")
@pytest.mark.parametrize("args", [["install"], ["install", "--dry-run"], ["install", "--basic"], ["remove"]])
def test_addin_install_command_on_linux_exits_2_in_chinese(args):
    result = runner.invoke(app, ["addin", *args])
    assert result.exit_code == 2
    assert "无法安装 xlperf.xlam" in result.stderr and "Windows" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_addin_build_command_writes_the_committed_files(tmp_path):
    result = runner.invoke(app, ["addin", "build", "--outdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "已生成" in result.output
    for path in (A.ADDIN_PATH, A.BASIC_ADDIN_PATH, A.CUSTOM_UI_PATH, A.WORKBOOK_CUSTOM_UI_PATH, A.BAS_PATH):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def test_addin_help_is_chinese():
    result = runner.invoke(app, ["addin", "--help"])
    assert result.exit_code == 0 and "加载项" in result.output
    assert "复制到 Excel 的启动文件夹" in result.output


# ---- the full add-in's VBA, written by pyopenvba, read back by three independent readers ----------------
from xlperf import addin_vba as V  # noqa: E402


def pyopenvba_modules(path: Path) -> dict[str, str]:
    from pyopenvba import ExcelFile

    with ExcelFile(path) as book:
        return book.vba_modules()


def expected_modules() -> dict[str, str]:
    """What xlperf.xlam's project must hold: the template's modules, our ribbon module, the xlperf config prefix."""
    template = vba_modules(A.BASIC_ADDIN_PATH)  # the template's vbaProject.bin, byte for byte (tested above)
    expected = {name: code for name, code in template.items() if name != V.TEMPLATE_RIBBON_MODULE}
    expected[V.RIBBON_MODULE] = V.ribbon_module_source()
    expected["xlwings"] = template["xlwings"].replace('PROJECT_NAME As String = "myaddin"', 'PROJECT_NAME As String = "xlperf"')
    return expected


@pytest.mark.parametrize("reader", [vba_modules, pyopenvba_modules], ids=["olevba", "pyopenvba"])
def test_every_module_reads_back_as_its_source(reader):
    modules = reader(A.ADDIN_PATH)
    expected = expected_modules()
    assert list(modules) == ["ThisWorkbook", "Dictionary", "XlperfRibbon", "Sheet2", "xlwings"]
    assert modules == expected  # exactly, line endings included
    assert reader(A.BASIC_ADDIN_PATH)["xlwings"] != modules["xlwings"]  # the comparison can fail


@pytest.mark.parametrize("reader", [vba_modules, pyopenvba_modules], ids=["olevba", "pyopenvba"])
def test_xlwings_module_is_the_release_source_but_for_its_project_name(reader):
    ours, release = reader(A.ADDIN_PATH)["xlwings"], reader(A.BASIC_ADDIN_PATH)["xlwings"]
    changed = [(a, b) for a, b in zip(ours.split("\n"), release.split("\n"), strict=True) if a != b]
    assert changed == [('Public Const PROJECT_NAME As String = "xlperf"', 'Public Const PROJECT_NAME As String = "myaddin"')]


@pytest.mark.parametrize("reader", [vba_modules, pyopenvba_modules], ids=["olevba", "pyopenvba"])
def test_each_on_action_is_a_public_ribbon_sub_that_runs_its_action(reader, xlam):
    modules = reader(A.ADDIN_PATH)
    buttons = ribbon_buttons(xlam.read(A.CUSTOM_UI_PART))
    assert len(buttons) == len(A.ACTIONS)
    for button, action in zip(buttons, A.ACTIONS, strict=True):
        module, name = button.get("onAction").split(".")
        assert module == "XlperfRibbon"
        procs = procedures(modules[module])
        proc = procs[name]
        assert is_ribbon_callback(proc) and proc["params"] == "control As IRibbonControl", proc
        assert proc["body"].strip() == f'RunXlperf "{A.python_command(action)}"'
    run = procedures(modules["XlperfRibbon"])["RunXlperf"]
    assert run["scope"] == "Private" and "    RunPython PythonCommand\n" in run["body"]
    run_python = procedures(modules["xlwings"])["RunPython"]  # the xlwings module's public RunPython
    assert run_python["scope"] == "Public" and run_python["params"] == "PythonCommand As String"
    # no other ribbon callback: every Sub taking an IRibbonControl has a button
    callbacks = {f"{m}.{n}" for m, code in modules.items() for n, p in procedures(code).items()
                 if "IRibbonControl" in p["params"]}
    assert callbacks == {b.get("onAction") for b in buttons}


def test_ribbon_module_is_ascii_for_the_projects_code_page():
    """The template's project is code page 1252: Chinese text in the module would be lost; ChrW builds it."""
    from pyopenvba import ExcelFile

    with ExcelFile(A.ADDIN_PATH) as book:
        assert book.vba_project().code_page == 1252
    source = V.ribbon_module_source()
    assert source.isascii()
    assert "\n" not in source.replace("\r\n", "")
    assert max(len(line) for line in source.split("\r\n")) < 1024  # VBA's line limit
    assert "MsgBox " + V.vba_string("请先打开要处理的工作簿。") in source


def _eval_vba_string(expr: str) -> str:
    """Evaluate a `"…" & ChrW(n) & …` expression as VBA does."""
    token = re.compile(r'\s*(?:"((?:[^"]|"")*)"|ChrW\((\d+)\))\s*(&|$)')
    out, pos = [], 0
    while pos < len(expr):
        m = token.match(expr, pos)
        assert m, expr[pos:]
        out.append(m[1].replace('""', '"') if m[1] is not None else chr(int(m[2])))
        pos = m.end()
    return "".join(out)


from hypothesis import given, strategies as st  # noqa: E402


@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=40))
def test_vba_string_is_ascii_and_means_the_text(text):
    expr = V.vba_string(text)
    assert expr.isascii()
    assert _eval_vba_string(expr) == text


def test_two_builds_are_byte_identical(tmp_path):
    for out in ("one", "two"):
        result = runner.invoke(app, ["addin", "build", "--outdir", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == ["customUI-workbook.xml", "customUI.xml", "xlperf-basic.xlam", "xlperf.bas", "xlperf.xlam"]
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_a_template_without_the_expected_vba_is_refused_in_chinese():
    with pytest.raises(A.AddinError, match="PROJECT_NAME"):
        V.xlwings_module_source('Public Const PROJECT_NAME As String = "other"\r\n')
    with pytest.raises(A.AddinError, match="配置工作表"):
        V.rename_config_sheet(b'<sheet name="Sheet1"/>')


@pytest.mark.libreoffice
def test_libreoffice_opens_the_addin_and_lists_its_modules(tmp_path):
    """A third reader: LibreOffice loads the VBA project into Basic (converted to .ods, Basic/<project>/*.xml)."""
    from xlperf import libreoffice

    if not libreoffice.available():
        pytest.skip("LibreOffice 未安装")
    out = libreoffice.convert(A.ADDIN_PATH, "ods", tmp_path, infilter="Calc MS Excel 2007 VBA XML")
    expected = expected_modules()
    with zipfile.ZipFile(out) as ods:
        found = {}
        for name in ods.namelist():
            parts = name.split("/")
            if len(parts) == 3 and parts[0] == "Basic" and parts[2].endswith(".xml") and not parts[2].startswith("script-"):
                root = ET.fromstring(ods.read(name))
                found[root.get("{http://openoffice.org/2000/script}name")] = root.text or ""
    assert set(found) == set(expected)
    for name, code in expected.items():
        body = "\n".join(line for line in code.replace("\r\n", "\n").split("\n") if not line.startswith("Attribute "))  # LO drops attribute lines
        kind = {"XlperfRibbon": "VBAModule", "xlwings": "VBAModule", "Dictionary": "VBAClassModule"}.get(name, "VBADocumentModule")
        header = [f"Rem Attribute VBA_ModuleType={kind}", "Option VBASupport 1"] + (["Option ClassModule"] if kind == "VBAClassModule" else [])
        lo = found[name].split("\n")
        assert lo[:len(header)] == header, (name, lo[:3])
        assert "\n".join(lo[len(header):]).strip("\n") == body.strip("\n"), name
    ribbon = found["XlperfRibbon"]
    for action in A.ACTIONS:
        assert f"Public Sub {V.callback_name(action)}(control As IRibbonControl)" in ribbon
