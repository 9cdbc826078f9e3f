"""Pictures of the 绩效自评 ribbon for the README, rendered in headless Chromium:
``python3 -m xlperf.tools.ribbon_pictures docs/img``.

One renderer (`ribbon_html`) draws a ribbon tab from a parsed ribbon (`Ribbon`): tab label, groups, large
buttons with their labels and icons. Its inputs:

- the WPS add-in's ``xlperf/wps/addin/ribbon.xml`` (CustomUI 2006/01) -> ``wps-ribbon.png`` (WPS 表格's look);
- the desktop add-in's ``macros/customUI.xml`` (CustomUI 2009/07) -> ``excel-ribbon.png`` (Excel's look);
- the manifest that a running ``xlperf serve`` (127.0.0.1, a free port, stopped afterwards) serves at
  ``/manifest.xml`` -> ``web-taskpane.png`` (Excel 网页版's look). The icons are loaded from the server, and the
  add-in's task pane page (``taskpane.html``, with a stand-in for Office.js, which comes from Microsoft) is
  opened first: the picture is made only when its ribbon.js has a handler for every button of the manifest.

A customUI names Office built-in images (imageMso); the picture shows xlperf's own icons for them (the PNGs of
the server's ``static/images/xlperf/``, found through the action whose ``icon`` is that imageMso), or a
placeholder drawn from the label. Needs Debian's ``chromium`` (/usr/bin/chromium) and PyPI ``playwright``;
no browser is downloaded.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import html
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from defusedxml import ElementTree

from ..actions import ACTIONS, TAB_LABEL

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
WPS_RIBBON = Path(__file__).resolve().parents[1] / "wps" / "addin" / "ribbon.xml"
DESKTOP_RIBBON = ROOT / "macros" / "customUI.xml"
STARTUP_SECONDS = 60


class ToolMissing(RuntimeError):
    """Chromium or playwright is not installed."""


# ---- the parsed ribbon ---------------------------------------------------------------------
@dataclass(frozen=True)
class Button:
    action: str  # the action's id in actions.toml (the control's id where no action matches)
    label: str
    tip: str
    icon: str  # an image address (data: or http:) or "" for a placeholder drawn from the label


@dataclass(frozen=True)
class Group:
    label: str
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Ribbon:
    tab: str
    groups: tuple[Group, ...]

    @property
    def buttons(self) -> list[Button]:
        return [b for g in self.groups for b in g.buttons]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _action_id(control_id: str, label: str, image_mso: str = "") -> str:
    """The action a control stands for: same label, else same built-in icon, else the control's own id."""
    for action in ACTIONS:
        if action.label == label:
            return action.id
    for action in ACTIONS:
        if image_mso and action.icon == image_mso:
            return action.id
    return control_id


def _icon_file(action_id: str, size: int = 32) -> Path | None:
    from ..server.icons import ICON_DIR

    path = ICON_DIR / f"{action_id}-{size}.png"
    return path if path.is_file() else None


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _xml(text: str, what: str):
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ValueError(f"{what}不是有效的 XML（第 {exc.position[0]} 行第 {exc.position[1]} 列）") from exc


def parse_customui(xml: str) -> Ribbon:
    """The first tab of a customUI (2006/01 as WPS reads it, or 2009/07 as Excel reads it): groups and buttons."""
    root = _xml(xml, "功能区文件（customUI）")
    tab = next((e for e in root.iter() if _local(e.tag) == "tab"), None)
    if tab is None:
        raise ValueError("customUI 中没有功能区选项卡（<tab>）")
    groups = []
    for group in (e for e in tab if _local(e.tag) == "group"):
        buttons = []
        for control in (e for e in group.iter() if _local(e.tag) == "button"):
            label = control.get("label", "")
            action = _action_id(control.get("id") or control.get("idQ", ""), label, control.get("imageMso", ""))
            icon = _icon_file(action)
            buttons.append(Button(action, label, control.get("supertip") or control.get("screentip", ""),
                                  _data_uri(icon) if icon else ""))
        groups.append(Group(group.get("label", ""), tuple(buttons)))
    return Ribbon(tab.get("label", ""), tuple(groups))


def parse_manifest(xml: str) -> Ribbon:
    """The custom tab of an Office add-in manifest (as `xlperf serve` serves it): labels and icons by resid."""
    root = _xml(xml, "加载项清单（manifest.xml）")
    strings = {e.get("id"): e.get("DefaultValue", "") for e in root.iter() if _local(e.tag) in ("String", "Image")}

    def text(element, name: str) -> str:
        child = next((c for c in element if _local(c.tag) == name), None)
        return strings.get(child.get("resid"), "") if child is not None else ""

    tab = next((e for e in root.iter() if _local(e.tag) == "CustomTab"), None)
    if tab is None:
        raise ValueError("清单中没有自定义选项卡（<CustomTab>）")
    groups = []
    for group in (e for e in tab if _local(e.tag) == "Group"):
        buttons = []
        for control in (e for e in group if _local(e.tag) == "Control"):
            label = text(control, "Label")
            supertip = next((c for c in control if _local(c.tag) == "Supertip"), None)
            icon = next((c for c in control if _local(c.tag) == "Icon"), None)
            images = {c.get("size"): strings.get(c.get("resid"), "") for c in icon} if icon is not None else {}
            buttons.append(Button(_action_id(control.get("id", ""), label), label,
                                  text(supertip, "Description") if supertip is not None else "",
                                  images.get("32") or images.get("80") or ""))
        groups.append(Group(text(group, "Label"), tuple(buttons)))
    return Ribbon(text(tab, "Label"), tuple(groups))


# ---- the renderer --------------------------------------------------------------------------
# Each suite's look: title bar, the tabs around ours, colours.
STYLES = {
    "wps": dict(title="绩效自评示例.xlsx - WPS 表格", tabs=("开始", "插入", "页面布局", "公式", "数据", "审阅", "视图", "工具"),
                first="三 文件", bar="#ffffff", band="#f7f8fa", accent="#1b9e5a", tabbar="#ffffff", text="#222"),
    "excel": dict(title="绩效自评示例.xlsx - Excel", tabs=("开始", "插入", "页面布局", "公式", "数据", "审阅", "视图", "帮助"),
                  first="文件", bar="#217346", band="#f3f3f3", accent="#217346", tabbar="#ffffff", text="#222"),
    "web": dict(title="Excel 网页版 · 绩效自评示例.xlsx", tabs=("开始", "插入", "绘图", "页面布局", "公式", "数据", "审阅", "视图"),
                first="文件", bar="#185c37", band="#f5f5f5", accent="#185c37", tabbar="#ffffff", text="#242424"),
}
FONTS = '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'


def ribbon_html(ribbon: Ribbon, style: str = "wps") -> str:
    """A page showing the ribbon tab `ribbon` selected, as the suite `style` (wps, excel, web) draws it."""
    s = STYLES[style]
    e = html.escape
    tabs = "".join(f'<span class="tab">{e(t)}</span>' for t in s["tabs"])
    groups = []
    for group in ribbon.groups:
        buttons = []
        for b in group.buttons:
            if b.icon:
                image = f'<img class="icon" src="{e(b.icon)}" alt="">'
            else:
                image = f'<span class="icon placeholder">{e(b.label[:1])}</span>'
            buttons.append(f'<div class="button" data-action="{e(b.action)}" title="{e(b.tip)}">{image}'
                           f'<span class="label">{e(b.label)}</span></div>')
        groups.append(f'<div class="group"><div class="buttons">{"".join(buttons)}</div>'
                      f'<div class="group-label">{e(group.label)}</div></div>')
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(ribbon.tab)}</title>
<style>
  * {{ box-sizing: border-box; }}
  body {{ margin: 0; font-family: {FONTS}; font-size: 13px; color: {s['text']}; background: #fff; }}
  #window {{ display: inline-block; min-width: 760px; border: 1px solid #c8c8c8; }}
  .title {{ background: {s['bar']}; color: {'#222' if style == 'wps' else '#fff'}; padding: 7px 14px; font-size: 12.5px;
           border-bottom: {'1px solid #e3e3e3' if style == 'wps' else 'none'}; }}
  .tabs {{ background: {s['tabbar']}; padding: 0 8px; display: flex; gap: 2px; border-bottom: 1px solid #dcdcdc; }}
  .tab {{ padding: 8px 12px 7px; color: #444; }}
  .tab.first {{ color: {s['accent']}; font-weight: 600; }}
  .tab.active {{ color: {s['accent']}; font-weight: 600; border-bottom: 3px solid {s['accent']}; padding-bottom: 4px; }}
  .band {{ background: {s['band']}; display: flex; padding: 6px 6px 2px; min-height: 112px; border-bottom: 1px solid #dcdcdc; }}
  .group {{ display: flex; flex-direction: column; padding: 0 6px; border-right: 1px solid #d6d6d6; }}
  .buttons {{ display: flex; gap: 2px; flex: 1; }}
  .button {{ min-width: 64px; display: flex; flex-direction: column; align-items: center; padding: 5px 8px 4px;
             border-radius: 3px; }}
  .group:first-child .button:first-child {{ background: {'#e3f1e9' if style == 'wps' else '#e1e1e1'}; }}
  .icon {{ width: 32px; height: 32px; margin-bottom: 6px; }}
  .placeholder {{ display: flex; align-items: center; justify-content: center; border-radius: 6px;
                  background: {s['accent']}; color: #fff; font-weight: 600; font-size: 17px; }}
  .label {{ text-align: center; line-height: 1.3; white-space: nowrap; }}
  .group-label {{ text-align: center; color: #666; font-size: 12px; padding: 3px 0 2px; }}
  .sheet {{ height: 46px; background-color: #fff;
            background-image: repeating-linear-gradient(90deg, transparent 0 79px, #e6e6e6 79px 80px),
                              repeating-linear-gradient(0deg, transparent 0 21px, #e6e6e6 21px 22px); }}
</style></head>
<body><div id="window">
  <div class="title">{e(s['title'])}</div>
  <div class="tabs"><span class="tab first">{e(s['first'])}</span>{tabs}<span class="tab active">{e(ribbon.tab)}</span></div>
  <div class="band">{"".join(groups)}</div>
  <div class="sheet"></div>
</div></body></html>"""


# ---- Chromium ------------------------------------------------------------------------------
@contextlib.contextmanager
def chromium():
    """A headless Debian Chromium driven by playwright (no downloaded browser)."""
    if not CHROMIUM.exists():
        raise ToolMissing(f"没有找到 Chromium（{CHROMIUM}）；请先安装，例如 apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ToolMissing("没有安装 playwright；请先安装，例如 pip install playwright") from exc
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot(browser, page_html: str, png: Path, base_url: str | None = None) -> Path:
    """page_html rendered at twice the pixel density, the ribbon window alone saved as png."""
    page = browser.new_page(viewport={"width": 1000, "height": 400}, device_scale_factor=2)
    try:
        if base_url:
            page.goto(base_url + "/manifest.xml")  # same origin as the icons it shows
        page.set_content(page_html, wait_until="load")
        page.evaluate("document.fonts.ready")
        png.parent.mkdir(parents=True, exist_ok=True)
        page.locator("#window").screenshot(path=str(png))
    finally:
        page.close()
    return png


def render_customui(browser, xml_path: Path, png: Path, style: str) -> Path:
    return screenshot(browser, ribbon_html(parse_customui(xml_path.read_text("utf-8")), style), png)


# ---- Excel on the web: a real `xlperf serve` ------------------------------------------------
# Office.js comes from Microsoft and works only inside Excel: a stand-in host that records the handlers
# ribbon.js associates with the manifest's function names.
OFFICE_STUB = """
window.__associated = {};
window.Office = {
  actions: { associate(id, fn) { window.__associated[id] = fn; } },
  onReady(callback) { const info = { host: "Excel", platform: "OfficeOnline" };
                      if (callback) callback(info); return Promise.resolve(info); },
  context: { requirements: { isSetSupported: () => true }, ui: {}, document: {} },
  HostType: { Excel: "Excel" }, PlatformType: { OfficeOnline: "OfficeOnline" },
};
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(workdir: Path):
    """`xlperf serve` on 127.0.0.1 (plain HTTP, a free port) in a subprocess; its address; always stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLWINGS_", "XLPERF_"))}
    env.update(XLWINGS_LICENSE_KEY=os.environ.get("XLWINGS_LICENSE_KEY") or "noncommercial",
               XLWINGS_ON_SERVER="true", XLWINGS_ENABLE_SOCKETIO="false")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "xlperf", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"xlperf serve 退出（{process.returncode}）：{log.read_text('utf-8', 'replace')}")
            try:
                with urlopen(url + "/xlwings/custom-scripts-meta", timeout=5) as response:
                    if response.status == 200:
                        break
            except (URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"xlperf serve 在 {STARTUP_SECONDS} 秒内没有响应：{log.read_text('utf-8', 'replace')}")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def render_web(browser, base_url: str, png: Path) -> Path:
    """The served manifest's ribbon, after checking in the task pane page that each button has its handler."""
    import re

    manifest = _served(base_url, "/manifest.xml")
    ribbon = parse_manifest(manifest)
    functions = [f.text for f in ElementTree.fromstring(manifest).iter() if _local(f.tag) == "FunctionName"]
    context = browser.new_context()
    try:
        context.route(re.compile(r".*/office\.js(\?.*)?$"),
                      lambda route: route.fulfill(status=200, content_type="text/javascript", body=OFFICE_STUB))
        page = context.new_page()
        page.goto(base_url + "/taskpane.html")
        page.wait_for_function("window.__associated && Object.keys(window.__associated).length > 0", timeout=30000)
        associated = set(page.evaluate("Object.keys(window.__associated)"))
    finally:
        context.close()
    missing = [f for f in functions if f not in associated]
    if missing:
        raise RuntimeError(f"任务窗格页面没有这些按钮的处理函数：{'、'.join(missing)}")
    return screenshot(browser, ribbon_html(ribbon, "web"), png, base_url=base_url)


def _served(base_url: str, path: str) -> str:
    with urlopen(base_url + path, timeout=30) as response:
        return response.read().decode("utf-8")


# ---- the command ---------------------------------------------------------------------------
PICTURES = (("wps-ribbon.png", WPS_RIBBON, "wps"), ("excel-ribbon.png", DESKTOP_RIBBON, "excel"))
WEB_PICTURE = "web-taskpane.png"


def make_pictures(outdir: Path) -> list[Path]:
    made = []
    with chromium() as browser:
        for filename, source, style in PICTURES:
            made.append(render_customui(browser, source, outdir / filename, style))
        with tempfile.TemporaryDirectory(prefix="xlperf-ribbon-") as tmp, running_server(Path(tmp)) as url:
            made.append(render_web(browser, url, outdir / WEB_PICTURE))
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m xlperf.tools.ribbon_pictures",
                                     description=f"生成 README 中“{TAB_LABEL}”功能区的图片（WPS、桌面 Excel、Excel 网页版），用无界面 Chromium 截图")
    parser.add_argument("outdir", nargs="?", default="docs/img", type=Path, help="图片存放的文件夹（默认 docs/img）")
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import Error as BrowserError
    except ImportError:
        BrowserError = RuntimeError
    try:
        made = make_pictures(args.outdir)
    except (ToolMissing, ValueError) as exc:  # no browser, or a ribbon file it cannot read
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError, BrowserError) as exc:
        print(f"错误：生成功能区图片失败：{exc}", file=sys.stderr)
        return 1
    for path in made:
        print(f"已生成 {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
