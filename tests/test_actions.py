"""One list of buttons, every office suite: each ribbon xlperf ships lists exactly the actions of
xlperf/actions/actions.toml, in its order, and every button reaches its handler in that client —
a VBA Sub of the desktop add-in's own vbaProject.bin (and of xlperf.bas for the fallback), a JS
function of the WPS add-in and of the web task pane, and a script on xlwings Server. The generators
have their own tests (test_addin, test_wps, test_server_web); this one looks only at what is
shipped, side by side, so that no client can drift from the list.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from xlperf.actions import ACTIONS, BY_ID

ROOT = Path(__file__).resolve().parents[1]
MACROS = ROOT / "macros"
WPS = ROOT / "xlperf" / "wps" / "addin"
SERVER = ROOT / "xlperf" / "server" / "project"
LABELS = [a.label for a in ACTIONS]


def ribbon_buttons(path: Path) -> list[etree._Element]:
    """The <button>s of a customUI file (2006/01 or 2009/07 schema), in ribbon order."""
    tree = etree.parse(str(path))
    return [el for el in tree.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "button"]


def vba_procedures(source: str) -> dict[str, str]:
    """Public Sub name -> its parameter list, from VBA source text."""
    return {m["name"]: m["params"].strip() for m in
            re.finditer(r"^Public Sub (?P<name>[^\s(]+)\((?P<params>[^)]*)\)", source, re.MULTILINE)}


def xlam_modules() -> dict[str, str]:
    """Module name -> source, as oletools' olevba reads the shipped add-in's vbaProject.bin."""
    olevba = pytest.importorskip("oletools.olevba")
    parser = olevba.VBA_Parser(str(MACROS / "xlperf.xlam"))
    try:
        return {Path(stream).name if not name else name.rsplit(".", 1)[0]: code
                for _, stream, name, code in parser.extract_macros()}
    finally:
        parser.close()


def test_every_ribbon_lists_the_actions_in_order():
    ribbons = {
        "desktop add-in (macros/customUI.xml)": MACROS / "customUI.xml",
        "WPS add-in (ribbon.xml)": WPS / "ribbon.xml",
    }
    for what, path in ribbons.items():
        assert [b.get("label") for b in ribbon_buttons(path)] == LABELS, what
    # the fallback: a workbook that imports xlperf.bas adds the four buttons the one-button xlam lacks
    fallback = [b.get("label") for b in ribbon_buttons(MACROS / "customUI-workbook.xml")]
    assert fallback == LABELS[1:]
    # Excel on the web: manifest.xml's buttons, by their labels' resource ids in order
    manifest = (SERVER / "templates" / "manifest.xml").read_text(encoding="utf-8")
    functions = re.findall(r"<FunctionName>([^<]+)</FunctionName>", manifest)
    assert functions == [f"xlperf-{a.id}" for a in ACTIONS]
    for a in ACTIONS:
        assert f'DefaultValue="{a.label}"' in manifest, a.label


def test_each_desktop_button_has_its_public_ribbon_sub_in_the_addins_own_vba():
    modules = xlam_modules()
    for button in ribbon_buttons(MACROS / "customUI.xml"):
        module, sub = button.get("onAction").split(".")
        assert module in modules, f"{button.get('label')}: no module {module}"
        params = vba_procedures(modules[module])
        assert re.fullmatch(r"(ByRef\s+)?control As IRibbonControl", params.get(sub, "")), (button.get("label"), sub)


def test_each_fallback_button_has_its_sub_in_the_bas_module():
    source = (MACROS / "xlperf.bas").read_bytes().decode("gbk")
    subs = vba_procedures(source)
    for button in ribbon_buttons(MACROS / "customUI-workbook.xml"):
        assert subs.get(button.get("onAction")) == "control As IRibbonControl", button.get("label")


def test_each_wps_button_reaches_a_script_through_main_js():
    main = (WPS / "main.js").read_text(encoding="utf-8")
    buttons = ribbon_buttons(WPS / "ribbon.xml")
    callbacks = {b.get("onAction") for b in buttons} | {b.get("getEnabled") for b in buttons} - {None}
    root = etree.parse(str(WPS / "ribbon.xml")).getroot()
    callbacks.add(root.get("onLoad"))
    for name in callbacks - {None}:
        assert re.search(rf"^function {name}\(", main, re.MULTILINE), f"main.js has no function {name}"
        assert not re.search(rf"async\s+function {name}\(", main), f"{name}: WPS drops async ribbon callbacks"
    table = (WPS / "actions.js").read_text(encoding="utf-8")
    mapping = json.loads(table[table.index("{"):table.rindex("}") + 1])
    assert list(mapping) == [b.get("id") for b in buttons] == [a.id for a in ACTIONS]
    assert {i: m["script"] for i, m in mapping.items()} == {a.id: a.function for a in ACTIONS}


def test_each_web_button_reaches_a_script_through_ribbon_js():
    js = (SERVER / "static" / "js" / "ribbon.js").read_text(encoding="utf-8")
    mapping = dict(re.findall(r'"(xlperf-[^"]+)":\s*"([^"]+)"', js))
    assert mapping == {f"xlperf-{a.id}": a.function for a in ACTIONS}


def test_every_script_a_button_names_is_an_xlwings_server_script_calling_its_excel_function():
    """The scripts as xlwings Server registers them (imported in a child: xlwings.server needs its key at
    import), and each action's function of xlperf.excel, the one the desktop ribbon and the CLI share."""
    code = ("import json, xlperf.server.project.custom_scripts as c; "
            "print(json.dumps({n: bool(getattr(getattr(c, n), '__xlscript__', False)) for n in c.__all__}))")
    env = {**os.environ, "XLWINGS_LICENSE_KEY": os.environ.get("XLWINGS_LICENSE_KEY", "noncommercial")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    scripts = json.loads(out.stdout.strip().splitlines()[-1])
    assert scripts == {a.function: True for a in ACTIONS}
    import xlperf.excel

    for a in ACTIONS:
        assert callable(getattr(xlperf.excel, a.function)), a.function


def test_the_list_is_well_formed():
    assert len(ACTIONS) == 5 and set(BY_ID) == {"recalc", "check", "export", "report", "mail"}
    for a in ACTIONS:
        assert re.fullmatch(r"[a-z_]+", a.id) and re.fullmatch(r"[a-z_]+", a.function)
        assert a.label and a.tip and re.fullmatch(r"[A-Za-z]+", a.icon)
    assert [a.saved_file for a in ACTIONS] == [False, False, True, True, True]
