"""The WPS 加载项 (JS add-in) for WPS 表格: the 绩效自评 tab, a second client of `xlperf serve`.

ADDIN_DIR holds the add-in as WPS loads it (package data):

    ribbon.xml   the tab (CustomUI 2006/01), generated from xlperf.actions (`python -m xlperf.wps`)
    actions.js   button id -> server script, label, "save first": generated from xlperf.actions too
    index.html   the entry page WPS opens; it loads config.js, actions.js and main.js
    main.js      OnAddinLoad/OnAction: reads the active workbook through the ET object model, sends
                 xlwings' book payload to `xlperf serve` on 127.0.0.1 and applies the actions it returns
    config.js    port and per-install token, written by `xlperf wps install` (a placeholder here)

`xlperf wps install/remove`: xlperf.wps.cli.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..actions import ACTIONS, TAB_LABEL

ADDIN_DIR = Path(__file__).resolve().parent / "addin"
ADDIN_NAME = "xlperf"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
GENERATED = ("ribbon.xml", "actions.js")


def ribbon_xml() -> str:
    """The 绩效自评 tab: one large button per action, OnAction switching on the button's id."""
    from lxml import etree

    E = lambda tag, **attrs: etree.Element(f"{{{CUSTOMUI_NS}}}{tag}", attrs, nsmap={None: CUSTOMUI_NS})  # noqa: E731
    root = E("customUI", onLoad="OnAddinLoad")
    ribbon = etree.SubElement(root, f"{{{CUSTOMUI_NS}}}ribbon", startFromScratch="false")
    tabs = etree.SubElement(ribbon, f"{{{CUSTOMUI_NS}}}tabs")
    tab = etree.SubElement(tabs, f"{{{CUSTOMUI_NS}}}tab", id="xlperfTab", label=TAB_LABEL)
    group = etree.SubElement(tab, f"{{{CUSTOMUI_NS}}}group", id="xlperfGroup", label=TAB_LABEL)
    for action in ACTIONS:
        etree.SubElement(group, f"{{{CUSTOMUI_NS}}}button", id=action.id, label=action.label, size="large",
                         imageMso=action.icon, screentip=action.label, supertip=action.tip,
                         onAction="OnAction", getEnabled="OnGetEnabled")
    # WPS' publish validator wants the file to start with <customUI (no XML declaration).
    return etree.tostring(root, encoding="unicode", pretty_print=True)


def actions_js() -> str:
    table = {a.id: {"script": a.function, "label": a.label, "savedFile": a.saved_file} for a in ACTIONS}
    return ("// Generated from xlperf/actions/actions.toml by `python -m xlperf.wps`: do not edit.\n"
            f"var XLPERF_ACTIONS = {json.dumps(table, ensure_ascii=False, indent=2)};\n")


def generate() -> dict[str, str]:
    return {"ribbon.xml": ribbon_xml(), "actions.js": actions_js()}


def write_generated(directory: Path = ADDIN_DIR) -> None:
    for name, text in generate().items():
        (directory / name).write_text(text, encoding="utf-8", newline="\n")
