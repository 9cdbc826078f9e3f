"""The xlwings Server ribbon, generated from the one list of buttons (xlperf/actions/actions.toml).

The parts of project/templates/manifest.xml and project/static/js/ribbon.js between the
`BEGIN generated` / `END generated` markers are written from ACTIONS; the rest of both files is
hand-written. Each button's <FunctionName> is "xlperf-<action id>"; ribbon.js runs for it the
custom script named after the action's `function` (custom_scripts/__init__.py defines one per
action; the WPS add-in calls the same scripts). After changing actions.toml run:

    python -m xlperf.server.ribbon

tests/test_server_web.py fails while the files are not up to date.
"""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from ..actions import ACTIONS, Action
from . import PROJECT_DIR

MANIFEST = PROJECT_DIR / "templates" / "manifest.xml"
RIBBON_JS = PROJECT_DIR / "static" / "js" / "ribbon.js"
SIZES = (16, 32, 80)
_REGION = re.compile(r"(?P<head>[ \t]*(?:<!--|//) BEGIN generated: (?P<name>[\w-]+)[^\n]*\n)(?P<body>.*?)"
                     r"(?P<tail>[ \t]*(?:<!--|//) END generated[^\n]*\n)", re.S)


def function_id(action: Action) -> str:
    """The manifest's <FunctionName> of the action's button (what ribbon.js associates)."""
    return f"xlperf-{action.id}"


def _resid(action: Action) -> str:
    return action.id.capitalize()


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _icons(action: Action, indent: str) -> str:
    return "".join(f'{indent}<bt:Image size="{n}" resid="{_resid(action)}.Icon.{n}" />\n' for n in SIZES)


def _controls() -> str:
    out = []
    for a in ACTIONS:
        r = _resid(a)
        out.append(
            f'                <Control xsi:type="Button" id="Xlperf{r}Button">\n'
            f'                  <Label resid="{r}.Label" />\n'
            f'                  <Supertip>\n'
            f'                    <Title resid="{r}.Label" />\n'
            f'                    <Description resid="{r}.Tooltip" />\n'
            f'                  </Supertip>\n'
            f'                  <Icon>\n{_icons(a, " " * 20)}'
            f'                  </Icon>\n'
            f'                  <Action xsi:type="ExecuteFunction">\n'
            f'                    <FunctionName>{function_id(a)}</FunctionName>\n'
            f'                  </Action>\n'
            f'                </Control>\n')
    return "\n".join(out)


def _images() -> str:
    url = "{{ base_url }}{{ settings.static_url_path }}/images/xlperf"
    return "".join(f'        <bt:Image id="{_resid(a)}.Icon.{n}" DefaultValue="{url}/{a.id}-{n}.png" />\n'
                   for a in ACTIONS for n in SIZES)


def _labels() -> str:
    return "".join(f'        <bt:String id="{_resid(a)}.Label" DefaultValue="{_attr(a.label)}" />\n' for a in ACTIONS)


def _tips() -> str:
    return "".join(f'        <bt:String id="{_resid(a)}.Tooltip" DefaultValue="{_attr(a.tip)}" />\n' for a in ACTIONS)


def _group_icon() -> str:
    return _icons(ACTIONS[0], " " * 18)


def _scripts() -> str:
    return "".join(f"    {json.dumps(function_id(a))}: {json.dumps(a.function)},\n" for a in ACTIONS)


REGIONS = {"group-icon": _group_icon, "controls": _controls, "images": _images, "labels": _labels, "tips": _tips,
           "scripts": _scripts}


def generate(text: str) -> str:
    """text with every generated region rewritten from ACTIONS."""
    return _REGION.sub(lambda m: m["head"] + REGIONS[m["name"]]() + m["tail"], text)


def write() -> list[Path]:
    changed = []
    for path in (MANIFEST, RIBBON_JS):
        text = path.read_text("utf-8")
        new = generate(text)
        if new != text:
            path.write_text(new, "utf-8", newline="\n")
            changed.append(path)
    return changed


if __name__ == "__main__":
    for p in write():
        print(p)
