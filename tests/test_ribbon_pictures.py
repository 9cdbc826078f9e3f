"""The README's ribbon pictures (`python3 -m xlperf.tools.ribbon_pictures docs/img`).

The renderer's page is generated from each ribbon file (WPS ribbon.xml, the desktop customUI, the server's
manifest) and lists exactly the actions of actions.toml, in order, with their labels; a label with markup
characters is shown as text. Screenshots (headless Debian Chromium through playwright; skipped when either is
missing) are PNGs of a sensible size that are not blank.
"""
from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlperf.actions import ACTIONS, TAB_LABEL
from xlperf.server import PROJECT_DIR
from xlperf.tools import ribbon_pictures as rp

MANIFEST = PROJECT_DIR / "templates" / "manifest.xml"
SOURCES = {
    "wps": lambda: rp.parse_customui(rp.WPS_RIBBON.read_text("utf-8")),
    "excel": lambda: rp.parse_customui(rp.DESKTOP_RIBBON.read_text("utf-8")),
    "web": lambda: rp.parse_manifest(MANIFEST.read_text("utf-8")),
}


class Shown(HTMLParser):
    """What the page shows: the selected tab, and each button's action id, label and icon kind, in order."""

    def __init__(self):
        super().__init__()
        self.buttons: list[dict] = []
        self.tab = ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "button" in classes:
            self.buttons.append({"action": a.get("data-action"), "label": "", "icon": None})
        elif self.buttons and tag == "img" and "icon" in classes:
            self.buttons[-1]["icon"] = "image"
        elif self.buttons and "placeholder" in classes:
            self.buttons[-1]["icon"] = "placeholder"
        if "label" in classes:
            self._in = "label"
        elif "active" in classes:
            self._in = "tab"

    def handle_endtag(self, tag):
        if tag == "span":
            self._in = None

    def handle_data(self, data):
        if self._in == "label":
            self.buttons[-1]["label"] += data
        elif self._in == "tab":
            self.tab += data


def shown(page: str) -> Shown:
    parser = Shown()
    parser.feed(page)
    return parser


@pytest.mark.parametrize("style", sorted(SOURCES))
def test_each_ribbon_page_lists_the_actions_in_order_with_their_icons(style):
    page = shown(rp.ribbon_html(SOURCES[style](), style))
    assert [b["action"] for b in page.buttons] == [a.id for a in ACTIONS]
    assert [b["label"] for b in page.buttons] == [a.label for a in ACTIONS]
    assert page.tab.startswith(TAB_LABEL)
    assert all(b["icon"] == "image" for b in page.buttons)  # xlperf's icon for every button


def test_customui_icons_are_the_servers_pngs_of_the_action():
    ribbon = rp.parse_customui(rp.DESKTOP_RIBBON.read_text("utf-8"))
    report = next(b for b in ribbon.buttons if b.label == "生成报告")  # id word_report in this customUI
    assert report.action == "report"
    assert report.icon == rp._data_uri(rp._icon_file("report"))


XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=12).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(XML_TEXT, min_size=1, max_size=6, unique=True), tab=XML_TEXT)
def test_any_customui_is_shown_as_written_with_a_placeholder_for_unknown_icons(labels, tab):
    from xml.sax.saxutils import quoteattr

    known = {a.label for a in ACTIONS}
    buttons = "".join(f'<button id="b{i}" label={quoteattr(label)} imageMso="NoSuchImage" onAction="X"/>'
                      for i, label in enumerate(labels))
    xml = (f'<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"><ribbon><tabs>'
           f'<tab id="t" label={quoteattr(tab)}><group id="g" label="组">{buttons}</group></tab></tabs></ribbon></customUI>')
    page = shown(rp.ribbon_html(rp.parse_customui(xml), "wps"))
    assert [b["label"] for b in page.buttons] == labels
    assert page.tab == tab
    for label, button in zip(labels, page.buttons):
        assert button["icon"] == ("image" if label in known else "placeholder")


def test_a_customui_without_a_tab_is_refused_in_chinese():
    with pytest.raises(ValueError, match="没有功能区选项卡"):
        rp.parse_customui('<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"/>')


# ---- screenshots in Chromium --------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not rp.CHROMIUM.exists():
        pytest.skip(f"chromium is not installed ({rp.CHROMIUM})")
    pytest.importorskip("playwright.sync_api")
    with rp.chromium() as launched:
        yield launched


def assert_picture(png: Path) -> None:
    from PIL import Image

    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert 1200 <= width <= 3000 and 300 <= height <= 1200, image.size  # the ribbon window at 2x
    assert colours is None or len(colours) > 50  # icons and anti-aliased text, not a blank page


@pytest.mark.parametrize("filename, source, style", rp.PICTURES)
def test_customui_screenshots_are_pictures_of_the_ribbon(browser, tmp_path, filename, source, style):
    assert_picture(rp.render_customui(browser, source, tmp_path / filename, style))


def test_web_picture_from_a_running_server(browser, tmp_path):
    pytest.importorskip("xlwings_server")
    with rp.running_server(tmp_path) as url:
        png = rp.render_web(browser, url, tmp_path / rp.WEB_PICTURE)
    assert_picture(png)


def test_the_readme_shows_the_committed_pictures():
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text("utf-8")
    for name in [p[0] for p in rp.PICTURES] + [rp.WEB_PICTURE]:
        assert f"(docs/img/{name})" in readme
        assert (root / "docs" / "img" / name).stat().st_size > 10_000


def test_without_chromium_the_command_says_so_in_chinese_and_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(rp, "CHROMIUM", tmp_path / "no-chromium")
    assert rp.main([str(tmp_path / "img")]) == 2
    assert "没有找到 Chromium" in capsys.readouterr().err
    assert not (tmp_path / "img").exists()  # nothing written


def test_a_broken_ribbon_file_is_refused_in_chinese():
    with pytest.raises(ValueError, match="不是有效的 XML（第 1 行"):
        rp.parse_customui("<customUI><tab")
    with pytest.raises(ValueError, match="加载项清单"):
        rp.parse_manifest("<OfficeApp>")
