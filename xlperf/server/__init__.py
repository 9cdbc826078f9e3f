"""Excel on the web and Mac: the xlwings Server project behind `xlperf serve`.

PROJECT_DIR is the xlwings Server project (XLWINGS_PROJECT_DIR); it holds only what differs
from xlwings Server's defaults, which it falls back to for everything else:

    custom_scripts/__init__.py   the ribbon's Python side: scripts wrapping xlperf.excel.recalc/check
    templates/manifest.xml       the 绩效自评 tab and its buttons (served at /manifest.xml)
    templates/xlwings_alert.html alerts with Chinese buttons
    static/js/ribbon.js          button (FunctionName) -> script
    static/images/xlperf/        icons (python -m xlperf.server.icons)

PROJECT_DIR is package data, not a package: xlwings Server puts it on sys.path and imports
`custom_scripts` as a top-level module.
"""
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent / "project"
